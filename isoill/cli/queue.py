"""``isoill queue list``: the newest messages of the store-and-forward queue and the state of
each delivery, read through :mod:`isoill.service.queries` as the console reads them. It never
prints an APDU's bytes: they may carry patron data. What operators do to the queue
(``resend``, ``release``, ``refuse``) is :mod:`isoill.cli.actions`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

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
from isoill.service import queries
from isoill.service.queries import QueryError
from isoill.store.records import MessageView

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
        try:
            messages = queries.messages(store, args.state, args.peer, args.type, args.limit)
        except QueryError as error:
            raise BadInput(str(error)) from None
    if args.json:
        views = [dataclasses.asdict(m) for m in messages]
        json.dump(views, sys.stdout, indent=2, default=json_default)
        sys.stdout.write("\n")
    elif messages:
        sys.stdout.write(table(_COLUMNS, [row for m in messages for row in _rows(m)]))
    else:
        sys.stdout.write("no messages\n")


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
