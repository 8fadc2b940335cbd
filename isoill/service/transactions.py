"""One transaction as an operator reads it: its record, each message with its deliveries and
its APDU decoded (the JSON form, docs/json-form.md), and the protocol machines step by step
(:mod:`isoill.core.timeline`). Patron fields, an ILL-Request's client-id and all under it,
are masked unless the caller asks for them (the console lets only some roles ask).

Apart from :mod:`isoill.service.queries` because it decodes: the listings need no codec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.jsonform import to_json
from isoill.core.timeline import Message, Step, steps
from isoill.core.views import TransactionRecord
from isoill.service.queries import history
from isoill.store.backend import Backend
from isoill.store.records import MessageView

#: The fields that name or reach the patron; masked wherever they appear.
PATRON_FIELDS = frozenset({"client-id"})
MASK = "(masked)"


@dataclass(frozen=True)
class Decoded:
    message: MessageView
    apdu: dict[str, Any] | None
    """The JSON form, patron fields masked unless revealed; ``None``: it does not decode."""
    error: str | None = None


@dataclass(frozen=True)
class TransactionDetail:
    record: TransactionRecord
    messages: tuple[Decoded, ...]
    steps: tuple[Step, ...]
    revealed: bool


def masked(value: Any) -> Any:
    """``value`` (a JSON form) with every patron field's value replaced by :data:`MASK`."""
    if isinstance(value, dict):
        return {k: MASK if k in PATRON_FIELDS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def detail(store: Backend, transaction_id: int, *, reveal: bool = False) -> TransactionDetail:
    """The transaction, its messages decoded and its steps; ``QueryError`` if unknown."""
    record, views = history(store, transaction_id)
    decoded: list[Decoded] = []
    judged: list[Message] = []
    for view in views:
        try:
            apdu = decode(store.apdu(view.id))
        except CodecError as error:
            decoded.append(Decoded(view, None, str(error)))
            continue
        form = to_json(apdu)
        decoded.append(Decoded(view, form if reveal else masked(form)))
        judged.append(Message(view.id, apdu, view.peer, view.state))
    timeline = steps(judged, record.requester_symbol, record.responder_symbol)
    return TransactionDetail(record, tuple(decoded), tuple(timeline), reveal)
