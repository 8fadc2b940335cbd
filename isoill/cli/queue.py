"""``isoill queue``: what operators do with the store-and-forward queue.

``isoill queue list`` shows the newest messages and the state of each delivery;
``isoill queue resend ID`` puts a message's failed deliveries back in the queue, due now.
Neither ever prints an APDU's bytes: they may carry patron data. ``release`` and ``refuse``,
an operator's decision on a held ILL-Request, are in :mod:`isoill.cli.held`. The running
daemon's forwarder polls the store every few seconds, so what these commands queue is sent
without signalling it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime

from isoill.cli.common import BadInput
from isoill.cli.storeopts import (
    DELIVERY_COLUMNS,
    database,
    deliveries,
    json_default,
    message_rows,
    open_store,
    table,
    when,
)
from isoill.store.records import MessageView
from isoill.store.writes import Resend

_COLUMNS = (
    "ID",
    "RECEIVED",
    "PEER",
    "APDU",
    "TARGET",
    "TRANSACTION",
    "SIZE",
    "STATE",
    *DELIVERY_COLUMNS,
)


def run_list(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise BadInput(f"--limit must be at least 1, not {args.limit}")
    with open_store(database(args)) as store:
        messages = store.list_messages(args.state, args.limit)
    if args.json:
        views = [dataclasses.asdict(m) for m in messages]
        json.dump(views, sys.stdout, indent=2, default=json_default)
        sys.stdout.write("\n")
    elif messages:
        sys.stdout.write(table(_COLUMNS, [row for m in messages for row in _rows(m)]))
    else:
        sys.stdout.write("no messages\n")


def run_resend(args: argparse.Namespace) -> None:
    with open_store(database(args)) as store:
        try:
            count = store.commit(Resend(args.id, datetime.now(UTC)))
        except KeyError:
            raise BadInput(f"no message {args.id}") from None
    if count == 0:
        raise BadInput(f"message {args.id} has no deliveries (unroutable, held or refused)")
    sys.stdout.write(f"message {args.id}: {deliveries(count)} due now\n")


def _rows(message: MessageView) -> list[tuple[str, ...]]:
    head = (
        str(message.id),
        when(message.received_at),
        message.peer,
        message.apdu_type,
        message.target_symbol or "",
        message.transaction_key or "",
        str(message.size),
        message.state,
    )
    return message_rows(head, message)
