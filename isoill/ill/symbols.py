"""Library symbols (a System-Id's person-or-institution-symbol) as the gateway keeps and
compares them.

One rule, :func:`symbol_key`: outer spaces stripped, then upper case (Python's full case
mapping: ``straße`` is ``STRASSE``, the dotless i U+0131 is ``I``). A symbol is kept in that
form (in the store, in transaction keys, in ``[peers]`` and the credentials file as read),
and two symbols are the same when their keys are equal: in routes and aliases, ``[peers]``,
credentials, target selection and the loop check alike.

Why upper case and not :meth:`str.casefold`: stores hold symbols upper-cased already and
compare them as they are (a transaction's key holds its initial requester's symbol), so any
comparison coarser than the kept form would make the gateway call two symbols one that its
store keeps apart. The two rules part on seven characters only: casefold alone makes the
capital sharp s U+1E9E ``ss``, ``İ`` (U+0130) an ``i`` with a combining dot, the Kelvin,
Ångström and Ohm signs and U+03F4 their letters; upper case alone makes U+0131 ``I``. No
Unicode normalisation either: an ``İ`` written as ``I`` and a combining dot is not the
precomposed one, as in the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # read, not built, here: commands that read the store import this module
    from isoill.codec.models import SystemId

__all__ = ["symbol_key", "symbol_of", "system_id"]


def symbol_key(symbol: str) -> str:
    """The form a symbol is kept and compared in: two symbols are the same library when their
    keys are equal."""
    return symbol.strip().upper()


def symbol_of(system_id: SystemId | None) -> str | None:
    """The symbol a System-Id carries (institution or person), as :func:`symbol_key` keeps
    it; ``None`` for none or a blank one (peers send empty strings)."""
    if system_id is None or system_id.person_or_institution_symbol is None:
        return None
    _, text = system_id.person_or_institution_symbol.chosen
    return symbol_key(str(text)) or None


def system_id(symbol: str) -> SystemId:
    """The System-Id of the institution with ``symbol``."""
    from isoill.codec.models import SystemId  # noqa: PLC0415 - see the import above

    return SystemId.model_validate({"person-or-institution-symbol": {"institution-symbol": symbol}})
