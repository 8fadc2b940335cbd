"""Per-transaction locks: the APDUs of one transaction are decided and stored one at a time,
and an early APDU waits on its transaction for the one it follows. In this process only: a
store shared by several processes serialises them in the store as well."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class TransactionLocks:
    """One :class:`asyncio.Condition` per transaction in use, dropped when nobody holds it.

    Holding it serialises the APDUs of one transaction (state read, checked and written as
    one step); waiting on it lets an early APDU sleep until another APDU of its transaction
    has been accepted (:meth:`changed`).
    """

    def __init__(self) -> None:
        self._conditions: dict[str, tuple[asyncio.Condition, int]] = {}

    @asynccontextmanager
    async def holding(self, key: str) -> AsyncIterator[asyncio.Condition]:
        condition, users = self._conditions.get(key, (asyncio.Condition(), 0))
        self._conditions[key] = (condition, users + 1)
        try:
            async with condition:
                yield condition
        finally:
            condition, users = self._conditions[key]
            if users == 1:
                del self._conditions[key]
            else:
                self._conditions[key] = (condition, users - 1)

    def __len__(self) -> int:
        return len(self._conditions)
