"""The ISO 10161 transaction-id and the ISO 18626 request ids, both ways, with no lookup.

An ISO 18626 transaction is named by its requesting agency and the ``requestingAgencyRequestId``
that agency gave it; an ISO 10161 one by its whole transaction-id (initial requester, group
qualifier, qualifier, sub-qualifier). The requesting agency is the transaction's requester on
both sides, so what has to be carried is the rest:

- **Started on ISO 10161.** The request id is an encoding of the transaction-id:
  ``GROUP/QUALIFIER``, then ``/SUB`` for a sub-qualifier, ``+N`` for the N-th Retry the
  bridge sent for it (ISO 18626 needs a new request for a retry; ISO 10161 goes on in the
  same transaction), and ``@INITIAL`` when the initial requester is not the requester's
  institution symbol (``@`` alone: none). Each part is the qualifier's bytes with every byte
  outside printable ASCII, and ``% / @ +``, written ``%XX`` (upper-case hex): so the request id
  is ASCII, and any qualifier, of any bytes, comes back exactly.
- **Started on ISO 18626.** The transaction-id is (the requester, :data:`GROUP` ``ISO18626``,
  the request id as the qualifier). A Retry that reuses its request id starts a new
  transaction, so it gets a sub-qualifier of its own, ``retry-`` and its header's timestamp in
  UTC (:func:`retry_transaction_id`).

One rule tells the two apart, and makes both directions exact inverses: a request id is an
encoding when it parses as one and the encoding of what it parses to is that same string;
anything else is a request id an ISO 18626 requester chose. (An id such as ``2024/15`` is
then read as group ``2024``, qualifier ``15``: a different transaction-id, but the same one
every time, and written back as ``2024/15``.)

The one case a request id cannot carry is the Retry that reuses an id: its later messages
carry the old id. The bridge therefore gives an ISO 18626 requester, as the
``supplyingAgencyRequestId`` of the messages it sends, an encoding of the whole transaction-id
(:func:`supplying_request_id_for`), which such a requester echoes in its own messages; it is
believed only when it agrees with the request id beside it (:func:`transaction_for`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from isoill.codec.models import SystemId, TransactionId
from isoill.codec.text import Text
from isoill.ill.symbols import symbol_key, system_id

__all__ = [
    "GROUP",
    "RETRY_PREFIX",
    "Keyed",
    "request_id_for",
    "retry_transaction_id",
    "supplying_request_id_for",
    "transaction_for",
    "xml_text",
]

#: The transaction-group-qualifier of a transaction an ISO 18626 requester started.
GROUP = "ISO18626"

#: How the sub-qualifier of a Retry that reuses its request id begins.
RETRY_PREFIX = "retry-"

_RESERVED = frozenset(b"%/@+")
_SAFE = frozenset(byte for byte in range(0x21, 0x7F) if byte not in _RESERVED)
_ESCAPE = re.compile(r"%([0-9A-F]{2})")
_RETRY_COUNT = re.compile(r"[1-9][0-9]*")
# The characters XML 1.0 can carry (its Char production).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Keyed:
    """A transaction-id read from ISO 18626 ids, and which of the bridge's Retries of it the
    request id names (0: the first request)."""

    transaction_id: TransactionId
    retry: int = 0


def request_id_for(transaction_id: TransactionId, requester: str, retry: int = 0) -> str:
    """The ``requestingAgencyRequestId`` of ``transaction_id``, whose requester is the library
    ``requester``; ``retry`` counts the Retries the bridge sent for it."""
    requester = symbol_key(requester)
    started_on_18626 = _started_on_18626(transaction_id, requester)
    if retry == 0 and started_on_18626 is not None:
        return started_on_18626
    return _encoded(transaction_id, requester, retry)


def transaction_for(
    requester: str, request_id: str, supplying_request_id: str | None = None
) -> Keyed:
    """The transaction-id (and Retry count) of an ISO 18626 message from or to ``requester``
    with ``request_id``: by the bridge's own ``supplying_request_id`` when it has one that
    agrees with ``request_id`` (a Retry that reused its id), else by ``request_id``."""
    requester = symbol_key(requester)
    if supplying_request_id is not None:
        parsed = _parsed(supplying_request_id, requester)
        if parsed is not None and request_id_for(parsed.transaction_id, requester) == request_id:
            return Keyed(parsed.transaction_id)
    parsed = _parsed(request_id, requester)
    if parsed is not None and (
        request_id_for(parsed.transaction_id, requester, parsed.retry) == request_id
    ):
        return parsed
    return Keyed(_from_18626(requester, request_id))


def supplying_request_id_for(transaction_id: TransactionId, requester: str) -> str:
    """The ``supplyingAgencyRequestId`` the bridge gives an ISO 18626 requester for
    ``transaction_id``: its whole transaction-id, encoded."""
    return _encoded(transaction_id, symbol_key(requester), 0)


def retry_transaction_id(requester: str, request_id: str, timestamp: datetime) -> TransactionId:
    """The transaction-id of a Retry that reuses ``request_id``, sent at ``timestamp``."""
    stamp = timestamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _from_18626(symbol_key(requester), request_id).model_copy(
        update={"sub_transaction_qualifier": Text.of(RETRY_PREFIX + stamp)}
    )


def xml_text(text: str) -> bool:
    """Whether an XML document can carry ``text`` (every character is an XML Char)."""
    return _NOT_XML.search(text) is None


def _from_18626(requester: str, request_id: str) -> TransactionId:
    return TransactionId(
        initial_requester_id=system_id(requester),
        transaction_group_qualifier=Text.of(GROUP),
        transaction_qualifier=Text.of(request_id),
    )


def _started_on_18626(transaction_id: TransactionId, requester: str) -> str | None:
    """The request id a transaction an ISO 18626 requester started was named by, or ``None``
    for a transaction-id of another form (which is encoded instead)."""
    group, qualifier = (
        transaction_id.transaction_group_qualifier,
        transaction_id.transaction_qualifier,
    )
    sub = transaction_id.sub_transaction_qualifier
    if group != Text.of(GROUP) or qualifier.edifact:
        return None
    if transaction_id.initial_requester_id != system_id(requester):
        return None
    try:
        text = qualifier.raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not xml_text(text):
        return None
    if sub is not None:  # the Retry of a reused id: the id is the one it reuses
        reused = not sub.edifact and sub.raw.startswith(RETRY_PREFIX.encode())
        return text if reused else None
    # Read back, the id must name this transaction, not one it looks like the encoding of.
    return text if transaction_for(requester, text).transaction_id == transaction_id else None


def _encoded(transaction_id: TransactionId, requester: str, retry: int) -> str:
    parts = [transaction_id.transaction_group_qualifier, transaction_id.transaction_qualifier]
    sub = transaction_id.sub_transaction_qualifier
    if sub is not None:
        parts.append(sub)
    text = "/".join(_escape(part.raw) for part in parts)
    if retry:
        text += f"+{retry}"
    initial = transaction_id.initial_requester_id
    if initial != system_id(requester):
        text += "@" + _escape(_symbol_bytes(initial))
    return text


def _parsed(text: str, requester: str) -> Keyed | None:
    """What an encoding made by :func:`_encoded` holds; ``None`` for text of another form."""
    main, at, initial_text = text.partition("@")
    core, plus, count = main.partition("+")
    if plus and not _RETRY_COUNT.fullmatch(count):
        return None
    pieces = [_unescape(piece) for piece in core.split("/")]
    if not 2 <= len(pieces) <= 3:
        return None
    qualifiers = [piece for piece in pieces if piece is not None]
    if len(qualifiers) != len(pieces):
        return None
    initial: SystemId | None = system_id(requester)
    if at:
        raw = _unescape(initial_text)
        if raw is None:
            return None
        initial = _institution(raw) if raw else None
    transaction_id = TransactionId(
        initial_requester_id=initial,
        transaction_group_qualifier=Text(qualifiers[0]),
        transaction_qualifier=Text(qualifiers[1]),
        sub_transaction_qualifier=Text(qualifiers[2]) if len(qualifiers) == 3 else None,
    )
    return Keyed(transaction_id, int(count) if plus else 0)


def _escape(raw: bytes) -> str:
    return "".join(chr(byte) if byte in _SAFE else f"%{byte:02X}" for byte in raw)


def _unescape(text: str) -> bytes | None:
    """The bytes :func:`_escape` wrote as ``text``; ``None`` if it did not write it."""
    out = bytearray()
    position = 0
    while position < len(text):
        char = text[position]
        if char == "%":
            match = _ESCAPE.match(text, position)
            if match is None:
                return None
            byte = int(match.group(1), 16)
            if byte in _SAFE:  # would have been written as itself
                return None
            out.append(byte)
            position = match.end()
        elif ord(char) < 0x80 and ord(char) in _SAFE:
            out.append(ord(char))
            position += 1
        else:
            return None
    return bytes(out)


def _symbol_bytes(system: SystemId | None) -> bytes:
    if system is None or system.person_or_institution_symbol is None:
        return b""
    _, text = system.person_or_institution_symbol.chosen
    assert isinstance(text, Text)
    return text.raw


def _institution(raw: bytes) -> SystemId:
    return SystemId.model_validate({"person-or-institution-symbol": {"institution-symbol": raw}})
