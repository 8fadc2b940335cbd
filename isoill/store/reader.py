"""A second connection to the store, on a thread of its own, for the queries that must not wait
behind a group commit (the forwarder's polls, the queue's counts): it sees what has been
committed, whatever commit is under way."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from isoill.store.backend import Backend
from isoill.store.errors import StoreFault

P = ParamSpec("P")
T = TypeVar("T")


class StoreReader:
    def __init__(self, backend: Backend, executor: ThreadPoolExecutor) -> None:
        """Use :meth:`open`: ``backend`` belongs to ``executor``'s one thread."""
        self._backend = backend
        self._executor = executor
        #: The driver's failure of the last query, ``None`` once one has answered since.
        self.fault: StoreFault | None = None

    @classmethod
    async def open(cls, opener: Callable[[], Backend]) -> StoreReader:
        """A reader with the backend ``opener`` opens (on the reader's own thread)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-read")
        loop = asyncio.get_running_loop()
        try:
            backend = await loop.run_in_executor(executor, opener)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(backend, executor)

    @property
    def backend(self) -> Backend:
        """The backend the queries run with (on its thread only)."""
        return self._backend

    async def query(
        self, query: Callable[Concatenate[Backend, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``query`` (``Backend.due``, ...) with the backend on its thread."""
        loop = asyncio.get_running_loop()
        call = functools.partial(query, self._backend, *args, **kwargs)
        try:
            result = await loop.run_in_executor(self._executor, call)
        except StoreFault as fault:
            self.fault = fault
            raise
        self.fault = None
        return result

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._backend.close)
        self._executor.shutdown(wait=True)
