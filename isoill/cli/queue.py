"""``isoill queue``: what operators do with the store-and-forward queue.

``isoill queue list`` shows the newest messages and the state of each delivery;
``isoill queue resend ID`` puts a message's failed deliveries back in the queue, due now.
Neither ever prints an APDU's bytes: they may carry patron data.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from isoill.cli.common import BadInput
from isoill.config import ConfigError, load
from isoill.store import MESSAGE_STATES, MessageView, Store, StoreError

DEFAULT_DB = Path("var/isoill.sqlite3")

_COLUMNS = (
    "ID",
    "RECEIVED",
    "PEER",
    "APDU",
    "TARGET",
    "TRANSACTION",
    "SIZE",
    "STATE",
    "ADDRESS",
    "DELIVERY",
    "TRIES",
    "NEXT TRY",
    "NOTE",
)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``queue list`` and ``queue resend`` to the ``isoill`` command."""
    queue = subparsers.add_parser("queue", help="list and resend queued APDUs")
    actions = queue.add_subparsers(required=True, metavar="ACTION")

    list_cmd = actions.add_parser("list", help="the newest messages and their deliveries")
    list_cmd.add_argument("--state", choices=MESSAGE_STATES, help="only messages in this state")
    list_cmd.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    list_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_db_option(list_cmd)
    list_cmd.set_defaults(run=_list)

    resend_cmd = actions.add_parser("resend", help="queue a message's failed deliveries again")
    resend_cmd.add_argument("id", type=int, metavar="ID", help="message id from queue list")
    _add_db_option(resend_cmd)
    resend_cmd.set_defaults(run=_resend)


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="the daemon's configuration: use its store")
    where.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"queue database (default {DEFAULT_DB})"
    )


def _database(args: argparse.Namespace) -> Path:
    if args.config is None:
        path: Path = args.db
        return path
    try:
        return load(args.config).store
    except ConfigError as error:
        raise BadInput(str(error)) from None


@contextmanager
def _open(path: Path) -> Iterator[Store]:
    """The queue at ``path``; an operator's typo must not create an empty database."""
    if not path.is_file():
        raise BadInput(f"{path}: no queue database")
    try:
        store = Store(path)
    except (sqlite3.Error, StoreError) as error:
        raise BadInput(f"{path}: {error}") from None
    try:
        yield store
    finally:
        store.close()


def _list(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise BadInput(f"--limit must be at least 1, not {args.limit}")
    with _open(_database(args)) as store:
        messages = store.list_messages(args.state, args.limit)
    if args.json:
        json.dump([dataclasses.asdict(m) for m in messages], sys.stdout, indent=2, default=_iso)
        sys.stdout.write("\n")
    elif messages:
        sys.stdout.write(_table([row for m in messages for row in _rows(m)]))
    else:
        sys.stdout.write("no messages\n")


def _resend(args: argparse.Namespace) -> None:
    with _open(_database(args)) as store:
        try:
            count = store.resend(args.id, datetime.now(UTC))
        except KeyError:
            raise BadInput(f"no message {args.id}") from None
    if count == 0:
        raise BadInput(f"message {args.id} has no deliveries (unroutable or held)")
    noun = "delivery" if count == 1 else "deliveries"
    sys.stdout.write(f"message {args.id}: {count} {noun} due now\n")


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _rows(message: MessageView) -> list[tuple[str, ...]]:
    """One row per delivery (one for a message without any); the message on the first only."""
    head = (
        str(message.id),
        _when(message.received_at),
        message.peer,
        message.apdu_type,
        message.target_symbol or "",
        message.transaction_key or "",
        str(message.size),
        message.state,
    )
    if not message.deliveries:
        return [(*head, "", "", "", "", message.reason or "")]
    blank = ("",) * len(head)
    return [
        (
            *(blank if index else head),
            delivery.address,
            delivery.state,
            str(delivery.attempts),
            _when(delivery.next_attempt_at),
            delivery.last_error or "",
        )
        for index, delivery in enumerate(message.deliveries)
    ]


def _table(rows: list[tuple[str, ...]]) -> str:
    lines = [_COLUMNS, *rows]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )
