"""What the store's tests share beyond store_values: the store under test as the contract
suite (tests/store/) sees it, whatever its backend, and writes built the way the gateway builds
them. ``accept``, ``hold`` and ``stored`` commit an Accept judged, as the gateway judges an
APDU, against its transaction as the store has it now (its version); an Accept built with
``accepting`` or ``holding`` alone names the version given (``None``: a new transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Concatenate, ParamSpec, Protocol

from store_values import BER, NEW, OLD, T0

from isoill.core.retry import RetryPolicy
from isoill.store.backend import Backend
from isoill.store.records import Notice, Stored
from isoill.store.writes import Accept, Delivered, Fail, Keep, Refuse

P = ParamSpec("P")


@dataclass(frozen=True)
class Plan:
    """How a backend runs one statement: its ``steps`` as the backend says them, the
    ``scans`` among them (a stored table read whole) and the ``sorts`` (rows sorted once
    read: all the matches read, not a walk that stops at the limit)."""

    statement: str
    steps: tuple[str, ...]
    scans: tuple[str, ...]
    sorts: tuple[str, ...]


class StoreUnderTest(Protocol):
    """A store of one backend, new for each test: ``setting`` is what
    :func:`isoill.store.open.open_store` takes (in a child process too), and each
    :meth:`open` another connection to it."""

    @property
    def setting(self) -> str: ...

    def open(self, policy: RetryPolicy | None = None) -> Backend: ...

    def plans(self, backend: Backend, run: Callable[[], object]) -> list[Plan]:
        """How ``backend`` ran each statement ``run`` made it run."""
        ...


def accepting(
    key: str = "tx-1",
    addresses: Sequence[str] = (OLD,),
    *,
    now: datetime = T0,
    ber: bytes = BER,
    peer: str = "BRW",
    apdu_type: str = "ILL-Request",
    requester: str | None = "BRW",
    responder: str | None = "LND",
    dedup_key: str | None = None,
    states: tuple[str, str] | None = None,
    version: int | None = None,
) -> Accept:
    return Accept(
        peer=peer,
        apdu_type=apdu_type,
        transaction_key=key,
        target_symbol="LND",
        ber=ber,
        addresses=addresses,
        requester_symbol=requester,
        responder_symbol=responder,
        now=now,
        expected_version=version,
        dedup_key=dedup_key,
        states=states,
    )


def holding(
    key: str = "tx-7",
    *,
    ber: bytes = BER,
    requester: str | None = "NEWLIB",
    dedup_key: str | None = None,
    states: tuple[str, str] | None = None,
    version: int | None = None,
) -> Accept:
    return Accept(
        peer="NEWLIB",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="LND",
        ber=ber,
        requester_symbol=requester,
        responder_symbol="LND",
        held="requester NEWLIB is not a configured peer",
        now=T0,
        expected_version=version,
        dedup_key=dedup_key,
        states=states,
    )


def judged(backend: Backend, write: Accept) -> Accept:
    """``write`` as judged against its transaction's record in the store now."""
    record = backend.transaction(write.transaction_key)
    return replace(write, expected_version=None if record is None else record.version)


def stored(backend: Backend, write: Accept) -> Stored:
    """Commit ``write``, judged against the store's record now, which must be stored (not a
    duplicate)."""
    result = backend.commit(judged(backend, write))
    assert isinstance(result, Stored), result
    return result


def _committed(build: Callable[P, Accept]) -> Callable[Concatenate[Backend, P], int]:
    """Commit the write ``build`` makes; the id of the message stored."""

    def commit(backend: Backend, /, *args: P.args, **kwargs: P.kwargs) -> int:
        return stored(backend, build(*args, **kwargs)).message_id

    return commit


accept = _committed(accepting)
hold = _committed(holding)


def unroutable(backend: Backend, *, reason: str = "?", now: datetime = T0) -> int:
    return backend.commit(
        Keep(
            peer="x",
            apdu_type="shipped",
            transaction_key=None,
            target_symbol=None,
            ber=BER,
            state="unroutable",
            reason=reason,
            now=now,
        )
    )


def notice(addresses: Sequence[str] = (NEW,)) -> Notice:
    return Notice("Status-Or-Error-Report", "NEWLIB", b"report", addresses)


def parties(backend: Backend, key: str) -> tuple[str | None, str | None]:
    """The (requester, responder) symbols known for a transaction, ``None`` where unknown."""
    record = backend.transaction(key)
    return (None, None) if record is None else (record.requester_symbol, record.responder_symbol)


def due_ids(backend: Backend, now: datetime = T0) -> list[tuple[int, str]]:
    return [(d.message_id, d.address) for d in backend.due(now)]


def states(backend: Backend, state: str | None = None) -> dict[int, str]:
    return {m.id: m.state for m in backend.list_messages(state)}


def queue_in_every_state(backend: Backend) -> dict[str, int]:
    """One message in each of MESSAGE_STATES; their ids by state."""
    ids = {
        "delivered": accept(backend, addresses=["a:1"]),
        "failed": accept(backend, addresses=["b:1"]),
        "pending": accept(backend, addresses=["c:1", "d:1"]),
    }
    for delivery in backend.due(T0):
        if delivery.address == "a:1":
            backend.commit(Delivered(delivery.id, T0))
        elif delivery.address in {"b:1", "d:1"}:
            backend.commit(Fail(delivery.id, "refused", T0))
    ids["unroutable"] = unroutable(backend)
    ids["held"] = hold(backend)
    ids["refused"] = hold(backend, key="tx-8")
    backend.commit(Refuse(ids["refused"], "not a member", T0))
    return ids
