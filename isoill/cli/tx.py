"""``isoill tx``: the transactions the gateway tracks.

``isoill tx list`` shows the newest transactions (by party, state or qualifier), their parties
and the state of each party's protocol machine; ``isoill tx show ID`` shows one transaction and
every APDU of its history with the state of each delivery. Both read through
:mod:`isoill.service.queries`, as the console does. Neither ever prints an APDU's bytes: they
may carry patron data.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from isoill.cli.common import BadInput
from isoill.cli.storeopts import (
    DELIVERY_COLUMNS,
    database,
    json_default,
    message_rows,
    open_store,
    table,
    when,
)
from isoill.core.views import TransactionRecord
from isoill.ill.transaction_id import key_parts, shown
from isoill.service import queries
from isoill.service.queries import QueryError, TransactionSearch
from isoill.store.records import MessageView

_LIST_COLUMNS = (
    "ID",
    "CREATED",
    "UPDATED",
    "TRANSACTION",
    "REQUESTER",
    "STATE",
    "RESPONDER",
    "STATE",
)
_HISTORY_COLUMNS = ("ID", "RECEIVED", "APDU", "DIRECTION", "STATE", *DELIVERY_COLUMNS)


def run_list(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise BadInput(f"--limit must be at least 1, not {args.limit}")
    search = TransactionSearch(args.peer, args.state, args.qualifier, args.limit)
    with open_store(database(args)) as store:
        try:
            records = queries.transactions(store, search)
        except QueryError as error:
            raise BadInput(str(error)) from None
    if args.json:
        _dump([_record_json(record) for record in records])
    elif records:
        sys.stdout.write(table(_LIST_COLUMNS, [_list_row(record) for record in records]))
    else:
        sys.stdout.write("no transactions\n")


def run_show(args: argparse.Namespace) -> None:
    with open_store(database(args)) as store:
        try:
            record, messages = queries.history(store, args.id)
        except QueryError as error:
            raise BadInput(str(error)) from None
    if args.json:
        history = [dataclasses.asdict(message) for message in messages]
        _dump({"transaction": _record_json(record), "messages": history})
        return
    sys.stdout.write(_summary(record))
    if messages:
        rows = [row for message in messages for row in _history_rows(message)]
        sys.stdout.write("\n" + table(_HISTORY_COLUMNS, rows))


def _dump(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, default=json_default)
    sys.stdout.write("\n")


def _record_json(record: TransactionRecord) -> dict[str, Any]:
    """A transaction as JSON, with its transaction-id's parts (``null`` if the key has none);
    without its ``version``, the store's check of concurrent writes, not the transaction's."""
    parts = key_parts(record.key)
    transaction_id = None if parts is None else parts._asdict()
    fields = dataclasses.asdict(record)
    del fields["version"]
    return {**fields, "transaction_id": transaction_id}


def _quoted(part: str | None) -> str:
    """A part of a transaction-id as text, quoted so that an empty one shows (and control
    characters come escaped)."""
    return "(none)" if part is None else json.dumps(part, ensure_ascii=False)


def _list_row(record: TransactionRecord) -> tuple[str, ...]:
    return (
        str(record.id),
        when(record.created_at),
        when(record.updated_at),
        shown(record.key),
        record.requester_symbol or "-",
        record.requester_state or "-",
        record.responder_symbol or "-",
        record.responder_state or "-",
    )


def _summary(record: TransactionRecord) -> str:
    """The transaction itself, one ``name  value`` line each."""
    parts = key_parts(record.key)
    if parts is None:
        key = [("key", _quoted(record.key))]
    else:
        key = [(name.replace("_", " "), _quoted(part)) for name, part in parts._asdict().items()]
    lines = [
        ("transaction", str(record.id)),
        *key,
        ("requester", record.requester_symbol or "(unknown)"),
        ("requester state", record.requester_state or "(not tracked)"),
        ("responder", record.responder_symbol or "(unknown)"),
        ("responder state", record.responder_state or "(not tracked)"),
        ("forwarded by", ", ".join(record.intermediaries) or "-"),
        ("created", when(record.created_at)),
        ("updated", when(record.updated_at)),
    ]
    width = max(len(name) for name, _ in lines)
    return "".join(f"{name.ljust(width)}  {value}\n" for name, value in lines)


def _history_rows(message: MessageView) -> list[tuple[str, ...]]:
    head = (
        str(message.id),
        when(message.received_at),
        message.apdu_type,
        f"{message.peer} -> {message.target_symbol or '?'}",
        message.state,
    )
    return message_rows(head, message)
