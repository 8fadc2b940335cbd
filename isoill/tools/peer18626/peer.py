"""The simulated ISO 18626 peers, running: a supplier or a requester on an HTTP port, sending
to the other side's URL, every exchange recorded (``exchanges``) and passed to
``on_exchange``.

What each role decides is in :mod:`.supplier` and :mod:`.requester`; here it is carried
out: answers written in the exchange they belong to, then what they lead to sent, each
message after ``delay`` seconds (the supplier's SAMs one at a time per transaction, each
after the last was confirmed; a chain stops when a Confirmation does not come back).

From Python (tests, harnesses)::

    sup, req = Agency.parse("ISIL:SUP"), Agency.parse("ISIL:REQ")
    requester = await SimulatedRequester(req, sup, "http://127.0.0.1:9/").start()
    supplier = await SimulatedSupplier(sup, requester.url).start()
    requester.peer_url = supplier.url
    await requester.order(Order(title="Dune", note="MOCK:LOANED"))
    await requester.wait_until(lambda: requester.ended)
    await supplier.wait_until(lambda: supplier.idle)
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import web

from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import Version
from isoill.tools.peer18626 import scenario
from isoill.tools.peer18626.http import Client, Endpoint, Exchange
from isoill.tools.peer18626.messages import (
    Agency,
    Answer,
    Confirmation,
    Request,
    RequestingAgencyMessage,
    Sent,
    SupplyingAgencyMessage,
    confirm,
)
from isoill.tools.peer18626.requester import Order, Post, Requester, ReturnLater
from isoill.tools.peer18626.scenario import Scenario
from isoill.tools.peer18626.supplier import Key, Supplier

DELAY = 0.1
RETURN_AFTER = 1.0
TIMEOUT = 10.0
PATH = "/iso18626"


def _now() -> datetime:
    return datetime.now(UTC)


class HttpPeer(ABC):
    """What both roles share: the endpoint, the client, the record, the tasks."""

    role = "peer"

    def __init__(
        self,
        peer_url: str,
        *,
        version: Version = Version.V1_2,
        delay: float = DELAY,
        timeout: float = TIMEOUT,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.version = version
        self.delay = delay
        self.exchanges: list[Exchange] = []
        self._on_exchange = on_exchange
        self._changed = asyncio.Condition()
        self._endpoint = Endpoint(version, self._take, self._record)
        self._client = Client(version, peer_url, self._record, timeout=timeout)
        self._runner: web.AppRunner | None = None
        self._address = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._posting = 0  # messages sent whose Confirmation has not come back yet

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        runner = web.AppRunner(self._endpoint.application(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._address = (
            f"[{bound_host}]:{bound_port}" if ":" in bound_host else f"{bound_host}:{bound_port}"
        )
        return self

    @property
    def address(self) -> str:
        """``host:port`` actually bound (an IPv6 host in brackets)."""
        assert self._runner is not None, "peer not started"
        return self._address

    @property
    def url(self) -> str:
        """Where the other side POSTs to (any path is taken; this is the usual one)."""
        return f"http://{self.address}{PATH}"

    @property
    def peer_url(self) -> str:
        """Where the peer sends to; settable, for two peers started on ports 0 that each
        learn the other's URL once both listen."""
        return self._client.url

    @peer_url.setter
    def peer_url(self, url: str) -> None:
        self._client.url = url

    async def wait_until(self, condition: Callable[[], bool], timeout: float | None = 10.0) -> None:
        """Return once ``condition()`` holds, checked at each exchange; TimeoutError after
        ``timeout`` seconds (None: no limit)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def stop(self) -> None:
        """Stop what is still to be sent, stop listening, close the client."""
        await self._cancel_tasks()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._cancel_tasks()  # any an exchange in progress started
        await self._client.close()

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @abstractmethod
    def _take(self, message: Sent) -> Answer:
        """The answer to ``message``, the follow-ups it leads to started."""

    async def _post(self, message: Sent) -> Confirmation | None:
        self._posting += 1
        try:
            return await self._client.post(message)
        finally:
            self._posting -= 1

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if self._on_exchange is not None:
            self._on_exchange(exchange)
        self._spawn(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _wrong_role(self, message: Sent, error: ErrorType) -> Confirmation:
        value = f"the simulated {self.role} does not take a {type(message).__name__}"
        return confirm(message, _now(), (error, value))


class SimulatedSupplier(HttpPeer):
    """An ISO 18626 supplier playing ``agency`` that runs each Request's scenario (``default``
    when it names none) and sends its SAMs to ``requester_url``; with ``unknown_error``, a
    RAM for an unknown transaction is answered ERROR rather than OK."""

    role = "supplier"

    def __init__(
        self,
        agency: Agency,
        requester_url: str,
        *,
        default: Scenario = scenario.DEFAULT,
        unknown_error: bool = False,
        version: Version = Version.V1_2,
        delay: float = DELAY,
        timeout: float = TIMEOUT,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        super().__init__(
            requester_url, version=version, delay=delay, timeout=timeout, on_exchange=on_exchange
        )
        self.supplier = Supplier(agency, default, unknown_error=unknown_error)
        self._chains: set[Key] = set()

    @property
    def idle(self) -> bool:
        """Whether no SAM is waiting to be sent or awaiting its Confirmation."""
        return not self._chains

    def _take(self, message: Sent) -> Answer:
        if isinstance(message, SupplyingAgencyMessage):
            return self._wrong_role(message, ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE)
        answer = self.supplier.take(message, _now())
        key = self.supplier.key(message.header)
        if self.supplier.owes(key) and key not in self._chains:
            self._chains.add(key)
            self._spawn(self._chain(key))
        return answer

    async def _chain(self, key: Key) -> None:
        """Send the SAMs owed for ``key``, one after the other, while they are confirmed."""
        try:
            while True:
                await asyncio.sleep(self.delay)
                sam = self.supplier.next_sam(key, _now())
                if sam is None:
                    return
                confirmation = await self._post(sam)
                if confirmation is None or not confirmation.ok:
                    self.supplier.halt(key)
                    return
        finally:
            self._chains.discard(key)
            self._spawn(self._notify())


class SimulatedRequester(HttpPeer):
    """An ISO 18626 requester playing ``agency`` that asks ``supplier`` at ``supplier_url``
    for what it is ordered, and takes each loan to its end; a loaned item is returned
    ``return_after`` seconds after it came (or was renewed)."""

    role = "requester"

    def __init__(
        self,
        agency: Agency,
        supplier: Agency,
        supplier_url: str,
        *,
        version: Version = Version.V1_2,
        delay: float = DELAY,
        return_after: float = RETURN_AFTER,
        timeout: float = TIMEOUT,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        super().__init__(
            supplier_url, version=version, delay=delay, timeout=timeout, on_exchange=on_exchange
        )
        self.return_after = return_after
        self.requester = Requester(agency, supplier, lambda: f"req-{uuid.uuid4().hex[:12]}")

    @property
    def ended(self) -> bool:
        """Whether every transaction it started has ended (or stopped), and every message
        it sent has had its answer: the supplier's last message may come in before the
        Confirmation of the requester's one before it."""
        return self.requester.ended and not self._posting

    async def order(self, order: Order) -> Confirmation | None:
        """Send the Request for ``order`` now; the Confirmation that came back, if any."""
        return await self._request(self.requester.request(order, _now()))

    async def _request(self, request: Request) -> Confirmation | None:
        confirmation = await self._post(request)
        self.requester.requested(request, confirmation)
        await self._notify()
        return confirmation

    def _take(self, message: Sent) -> Answer:
        if isinstance(message, Request):
            return self._wrong_role(message, ErrorType.UNRECOGNISED_DATA_ELEMENT)
        if isinstance(message, RequestingAgencyMessage):
            return self._wrong_role(message, ErrorType.UNSUPPORTED_ACTION_TYPE)
        confirmation, effects = self.requester.take(message, _now())
        for effect in effects:
            if isinstance(effect, Post):
                self._spawn(self._send_later(effect.message))
            else:
                self._spawn(self._return_later(effect))
        return confirmation

    async def _send_later(self, message: Request | RequestingAgencyMessage) -> None:
        await asyncio.sleep(self.delay)
        if isinstance(message, Request):
            await self._request(message)
        else:
            await self._ram(message)

    async def _return_later(self, later: ReturnLater) -> None:
        await asyncio.sleep(self.return_after)
        ram = self.requester.return_due(later.request_id, later.generation, _now())
        if ram is not None:
            await self._ram(ram)

    async def _ram(self, ram: RequestingAgencyMessage) -> None:
        self.requester.confirmed(ram, await self._post(ram))
        await self._notify()
