"""PostgreSQL's errors as the store's faults, in the words a peer refused for now is told (the
same as the SQLite store's where the cause is the same), by the error's SQLSTATE: its class
(the first two characters) or the whole code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import psycopg

from isoill.store.errors import StoreFault

_UNREACHABLE = "its store is unreachable"
_LOCKED = "its store is locked"

# Each passes by itself: the server comes back (or a standby takes over), the disk has room
# again, the other transaction lets go of its lock.
_BY_CODE = {
    "53100": "its disk is full",
    "55P03": "its store is locked by another process",  # lock_timeout
    "40001": _LOCKED,  # serialization failure
    "40P01": _LOCKED,  # deadlock detected: the other transaction went on
    "57P01": _UNREACHABLE,  # the server is shutting down
    "57P02": _UNREACHABLE,  # crashed
    "57P03": _UNREACHABLE,  # starting up
    "57014": "its store timed out",  # statement_timeout
    "58030": "its disk failed (I/O error)",
    "25006": "its store is read-only (a standby)",
}
_BY_CLASS = {
    "08": _UNREACHABLE,  # connection exception
    "53": "its store is out of resources",  # memory, connections
}


def fault(error: psycopg.Error) -> StoreFault:
    """The driver's error as the store's fault. An error without an SQLSTATE is the client's
    own: a lost or refused connection (temporary) or a value it could not send (not)."""
    code = error.sqlstate
    if code is None:
        reason = _UNREACHABLE if isinstance(error, psycopg.OperationalError) else None
    else:
        reason = _BY_CODE.get(code) or _BY_CLASS.get(code[:2])
    translated = StoreFault(
        reason or "a store error", temporary=reason is not None, detail=str(error)
    )
    translated.__cause__ = error
    return translated


def is_fault(error: psycopg.Error) -> bool:
    """Whether ``error`` is the store's trouble (it passes by itself) rather than one write's."""
    return fault(error).temporary


P = ParamSpec("P")
R = TypeVar("R")


def translated(method: Callable[P, R]) -> Callable[P, R]:
    """``method``, raising :class:`StoreFault` for the driver's errors."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except psycopg.Error as error:
            raise fault(error) from error

    return wrapper
