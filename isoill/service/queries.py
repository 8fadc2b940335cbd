"""What operators read of the store: the queue by state, peer and type, transactions by
party, qualifier or state, one transaction's history, the recent refusals. One place for every
front (``isoill queue list``, ``isoill tx``, the console): each query is a function of a store
backend, checks what it is asked, and raises :class:`QueryError` with a sentence for the
operator when it cannot answer. Nothing here returns an APDU's bytes but :func:`forms`, which
an operator asks for by name, and nothing imports the codec or the configuration: the listing
commands stay quick to start."""

from __future__ import annotations

from dataclasses import dataclass

from isoill.core.views import TransactionRecord
from isoill.ill.symbols import symbol_key
from isoill.store.backend import Backend
from isoill.store.records import MESSAGE_STATES, MessageView

#: The most rows one listing returns.
MAX_LIMIT = 1000


class QueryError(Exception):
    """The query cannot be answered as asked (a bad limit or state, an unknown id)."""


@dataclass(frozen=True)
class TransactionSearch:
    """Transactions where either party is ``peer``, either machine is in ``state`` (both
    regardless of case), whose transaction-qualifier is ``qualifier``."""

    peer: str | None = None
    state: str | None = None
    qualifier: str | None = None
    limit: int = 50


def messages(
    store: Backend,
    state: str | None = None,
    peer: str | None = None,
    apdu_type: str | None = None,
    limit: int = 50,
) -> list[MessageView]:
    """The newest messages, optionally in one state, from or to one peer, of one type."""
    _check_limit(limit)
    if state is not None and state not in MESSAGE_STATES:
        raise QueryError(f"unknown state {state!r}; expected one of {', '.join(MESSAGE_STATES)}")
    return store.list_messages(state, limit, peer=_symbol(peer), apdu_type=_present(apdu_type))


def refusals(store: Backend, limit: int = 50) -> list[MessageView]:
    """The newest refused messages, each with its reason."""
    return messages(store, "refused", limit=limit)


def transactions(store: Backend, search: TransactionSearch) -> list[TransactionRecord]:
    _check_limit(search.limit)
    return store.list_transactions(
        _present(search.state),
        _symbol(search.peer),
        search.limit,
        qualifier=search.qualifier or None,
    )


def history(store: Backend, transaction_id: int) -> tuple[TransactionRecord, list[MessageView]]:
    """A transaction and every message of it, oldest first."""
    try:
        return store.transaction_history(transaction_id)
    except KeyError:
        raise QueryError(f"no transaction {transaction_id}") from None


def forms(store: Backend, message_id: int) -> tuple[bytes, bytes | None]:
    """A message's BER and its ISO 18626 form (``None``: it has none), for an operator who
    asks to see both sides of it."""
    try:
        return store.apdu(message_id), store.xml(message_id)
    except KeyError:
        raise QueryError(f"no message {message_id}") from None


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be 1..{MAX_LIMIT}, not {limit}")


def _present(text: str | None) -> str | None:
    return (text or "").strip() or None


def _symbol(symbol: str | None) -> str | None:
    """A symbol as the store keeps them (see :func:`~isoill.ill.symbols.symbol_key`)."""
    present = _present(symbol)
    return None if present is None else symbol_key(present)
