"""``isoill tx``: the transactions the gateway tracks.

``isoill tx list`` shows the newest transactions (by party, state or qualifier), their parties
and the state of each party's protocol machine; ``isoill tx show ID`` shows one transaction and
every APDU of its history with the state of each delivery, and, for a transaction with an ISO
18626 side, its bridge state and which messages have an ISO 18626 form. Both read through
:mod:`isoill.service.queries`, as the console does. Neither prints an APDU's content (it may
carry patron data) unless ``tx show --messages`` asks for both sides of each message: the
APDU decoded and its ISO 18626 XML.
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
from isoill.store.backend import Backend
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
        forms = [_forms(store, message) for message in messages] if args.messages else []
    if args.json:
        history = [dataclasses.asdict(message) for message in messages]
        for shown, (apdu, xml) in zip(history, forms, strict=False):
            shown |= {"apdu": apdu, "xml": xml}
        _dump({"transaction": _record_json(record), "messages": history})
        return
    sys.stdout.write(_summary(record))
    if messages:
        rows = [row for message in messages for row in _history_rows(message)]
        sys.stdout.write("\n" + table(_HISTORY_COLUMNS, rows))
    for message, (apdu, xml) in zip(messages, forms, strict=False):
        sys.stdout.write(f"\n--- message {message.id}: {message.apdu_type}\n")
        sys.stdout.write(_rendered(apdu))
        if xml is not None:
            sys.stdout.write(f"--- message {message.id} as ISO 18626\n{xml.rstrip()}\n")


def _forms(store: Backend, message: MessageView) -> tuple[object, str | None]:
    """Both sides of a message: its APDU decoded (the JSON form; the reason if it does not
    decode) and its ISO 18626 XML, if it has one."""
    # Imported for --messages alone: the codec is slow to import, and the listings stay quick.
    from isoill.codec.decoder import decode  # noqa: PLC0415
    from isoill.codec.errors import CodecError  # noqa: PLC0415
    from isoill.codec.jsonform import to_json  # noqa: PLC0415

    ber, xml = queries.forms(store, message.id)
    try:
        apdu: object = to_json(decode(ber))
    except CodecError as error:
        apdu = f"(does not decode: {error})"
    return apdu, None if xml is None else xml.decode("utf-8", "replace")


def _rendered(apdu: object) -> str:
    if isinstance(apdu, str):
        return apdu + "\n"
    from isoill.codec.jsonform import from_json  # noqa: PLC0415
    from isoill.codec.textform import render  # noqa: PLC0415

    return render(from_json(apdu))


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
    fields["bridge"] = None if record.bridge is None else json.loads(record.bridge)
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
        *_bridge_lines(record.bridge),
        ("created", when(record.created_at)),
        ("updated", when(record.updated_at)),
    ]
    width = max(len(name) for name, _ in lines)
    return "".join(f"{name.ljust(width)}  {value}\n" for name, value in lines)


def _bridge_lines(bridge: str | None) -> list[tuple[str, str]]:
    """The ISO 18626 side's state, read as JSON (the bridge's own reader is not needed to
    show it, and would cost the listing its quick start)."""
    if bridge is None:
        return []
    try:
        state = json.loads(bridge)
        requesting, supplying = state["requesting_agency"], state["supplying_agency"]
        asked = state["question"]
        lines = [
            (
                "iso18626 requester",
                f"{':'.join(requesting)} {_quoted(state['requesting_request_id'])}",
            ),
            (
                "iso18626 supplier",
                f"{':'.join(supplying) if supplying else '(unknown)'}"
                f" {_quoted(state['supplying_request_id'])}",
            ),
            (
                "iso18626 status",
                f"{state['status'] or '(none stated yet)'} (schema {state['version']})",
            ),
            ("iso18626 answered", "yes" if state["answered"] else "no"),
            ("iso18626 question", asked or "-"),
        ]
    except (ValueError, KeyError, TypeError):
        return [("iso18626 state", f"(not readable: {bridge[:80]!r})")]
    return lines


def _history_rows(message: MessageView) -> list[tuple[str, ...]]:
    form = " +ISO 18626" if message.xml_size is not None else ""
    head = (
        str(message.id),
        when(message.received_at),
        message.apdu_type + form,
        f"{message.peer} -> {message.target_symbol or '?'}",
        message.state,
    )
    return message_rows(head, message)
