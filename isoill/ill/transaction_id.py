"""The transaction-id as the key the gateway keeps a transaction under, and as people read it.

A transaction-id is unique only whole: initial requester, group qualifier, qualifier and
sub-qualifier. The key is those four as a JSON list, the initial requester's symbol as
:func:`~isoill.ill.symbols.symbol_key` keeps it and the qualifiers as their text:
``["ALIB", "grp", "42", null]``. Stores hold keys in that form, byte for byte, so it does not
change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, NamedTuple

from isoill.ill.symbols import symbol_of

if TYPE_CHECKING:  # read, not built: ``isoill tx`` shows keys without loading the models
    from isoill.codec.models import TransactionId

__all__ = ["KeyParts", "key_parts", "shown", "transaction_key"]


class KeyParts(NamedTuple):
    """A transaction-id's parts in a key, in its order."""

    initial_requester: str | None
    group_qualifier: str
    qualifier: str
    sub_qualifier: str | None


def json_array(parts: Sequence[str | None], ascii_only: bool = False) -> str:
    """``json.dumps(parts, ensure_ascii=ascii_only)`` of a list of strings and ``None``s, the
    same text written directly by the json module's string encoders: keys are made for every
    APDU, and json.dumps's own path (an encoder object a call) costs several times as much."""
    encode = encode_basestring_ascii if ascii_only else encode_basestring
    return "[" + ", ".join("null" if part is None else encode(part) for part in parts) + "]"


def transaction_key(transaction_id: TransactionId) -> str:
    """The key of the transaction ``transaction_id`` names."""
    sub = transaction_id.sub_transaction_qualifier
    parts = [
        symbol_of(transaction_id.initial_requester_id),
        transaction_id.transaction_group_qualifier.text,
        transaction_id.transaction_qualifier.text,
        sub.text if sub is not None else None,
    ]
    return json_array(parts)


def key_parts(key: str) -> KeyParts | None:
    """The parts of a key; ``None`` for a string of another form."""
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    if not isinstance(parts, list) or len(parts) != len(KeyParts._fields):
        return None
    initial, group, qualifier, sub = parts
    if not (isinstance(group, str) and isinstance(qualifier, str)):
        return None
    if not all(part is None or isinstance(part, str) for part in (initial, sub)):
        return None
    return KeyParts(initial, group, qualifier, sub)


def shown(key: str) -> str:
    """A key on one line as people read it: ``ALIB/"grp"/"42"``, the initial requester (``-``
    if none), then the qualifiers quoted (so an empty one shows, and control characters come
    escaped), the sub-qualifier only if there is one. A string of another form is quoted."""
    parts = key_parts(key)
    if parts is None:
        return _quoted(key)
    qualifiers = [parts.group_qualifier, parts.qualifier]
    if parts.sub_qualifier is not None:
        qualifiers.append(parts.sub_qualifier)
    return "/".join([parts.initial_requester or "-", *map(_quoted, qualifiers)])


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
