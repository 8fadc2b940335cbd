"""Per-transaction locks: the APDUs of one transaction are decided and stored one at a time,
and an early APDU waits on its transaction for the one it follows. In this process only: a
store shared by several processes serialises them in the store as well."""

from __future__ import annotations

import asyncio
from types import TracebackType


class TransactionLocks:
    """One :class:`asyncio.Condition` per transaction in use, dropped when nobody holds it.

    Holding it serialises the APDUs of one transaction (state read, checked and written as
    one step); waiting on it lets an early APDU sleep until another APDU of its transaction
    has been accepted (:meth:`changed`).
    """

    def __init__(self) -> None:
        self._conditions: dict[str, tuple[asyncio.Condition, int]] = {}

    def holding(self, key: str) -> _Holding:
        """``async with`` it: the transaction's condition, held."""
        return _Holding(self, key)

    def _enter(self, key: str) -> asyncio.Condition:
        condition, users = self._conditions.get(key, (None, 0))
        if condition is None:
            condition = asyncio.Condition()
        self._conditions[key] = (condition, users + 1)
        return condition

    def _leave(self, key: str) -> None:
        condition, users = self._conditions[key]
        if users == 1:
            del self._conditions[key]
        else:
            self._conditions[key] = (condition, users - 1)

    def __len__(self) -> int:
        return len(self._conditions)


class _Holding:
    """The context of :meth:`TransactionLocks.holding`: a class, not an async generator (one
    fewer generator and contextlib's wrapping for every APDU)."""

    __slots__ = ("_condition", "_key", "_locks")

    def __init__(self, locks: TransactionLocks, key: str) -> None:
        self._locks = locks
        self._key = key
        self._condition: asyncio.Condition | None = None

    async def __aenter__(self) -> asyncio.Condition:
        condition = self._locks._enter(self._key)
        try:
            await condition.acquire()
        except BaseException:  # cancelled while waiting: not held, and no longer a user
            self._locks._leave(self._key)
            raise
        self._condition = condition
        return condition

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._condition is not None
        try:
            self._condition.release()
        finally:
            self._locks._leave(self._key)
