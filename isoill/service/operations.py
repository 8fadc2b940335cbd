"""What an operator does to the queue: resend a message's failed deliveries, release a held
request to its target, refuse it and tell its requester. One place for every front (the
``isoill queue`` commands, a console): each operation works on a store backend and the routes
in effect, commits in one transaction, and raises :class:`OperationError` with a sentence for
the operator when it cannot be done; nothing is half done.

The running daemon's forwarder finds what an operation queues at its next poll (within
:data:`~isoill.service.handoff.IDLE_POLL` seconds), without a signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.core import reports
from isoill.ill.symbols import symbol_of
from isoill.router import RoutingTable
from isoill.store.backend import Backend
from isoill.store.records import HeldMessage, Notice
from isoill.store.writes import Refuse, Release, Resend, Write

R = TypeVar("R")


class OperationError(Exception):
    """The operation cannot be done (unknown message, not held, no route); nothing changed."""


@dataclass(frozen=True)
class Released:
    target: str
    deliveries: int


@dataclass(frozen=True)
class Refused:
    requester: str | None
    report_id: int | None
    """The message id of the report queued to the requester; ``None``: it could not be told
    (it names no requester, or has no route)."""


def resend(store: Backend, message_id: int, now: datetime) -> int:
    """Put a message's failed deliveries back in the queue, due now; how many."""
    try:
        count = store.commit(Resend(message_id, now))
    except KeyError:
        raise OperationError(f"no message {message_id}") from None
    if count == 0:
        raise OperationError(
            f"message {message_id} has no deliveries (unroutable, held or refused)"
        )
    return count


def release(store: Backend, routes: RoutingTable, message_id: int, now: datetime) -> Released:
    """Queue a held request for its target's addresses as the routes give them now."""
    held = _held(store, message_id)
    target = held.target_symbol
    addresses = [str(a) for a in routes.addresses(target, now)] if target else []
    if not target or not addresses:
        raise OperationError(f"message {message_id}: no route to {target}; it stays held")
    return Released(target, _commit(store, message_id, Release(message_id, addresses, now)))


def refuse(
    store: Backend, routes: RoutingTable, message_id: int, reason: str, now: datetime
) -> Refused:
    """Refuse a held request for good with ``reason``, and queue a report telling its
    requester (user error security-problem: not registered), where it has a route."""
    request = decode(_held(store, message_id).ber)  # it was decoded once already, when received
    requester = symbol_of(request.requester_id)
    addresses = [str(a) for a in routes.addresses(requester, now)] if requester else []
    notice = None
    if requester and addresses:
        report = reports.not_registered(request, requester, reason, now)
        notice = Notice(report.apdu_type, requester, encode(report), addresses)
    report_id = _commit(store, message_id, Refuse(message_id, reason, now, notice))
    return Refused(requester, report_id)


def _held(store: Backend, message_id: int) -> HeldMessage:
    try:
        return store.held(message_id)
    except KeyError:
        raise OperationError(f"no message {message_id}") from None
    except ValueError as error:  # not held
        raise OperationError(str(error)) from None


def _commit(store: Backend, message_id: int, write: Write[R]) -> R:
    try:
        return store.commit(write)
    except KeyError:
        raise OperationError(f"no message {message_id}") from None
    except ValueError as error:
        raise OperationError(str(error)) from None
