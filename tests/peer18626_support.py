"""What the tests of the simulated ISO 18626 peer share: a small requester endpoint of their
own that catches SAMs, POSTs over loopback, and the check that every message a peer wrote
is valid."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.http import Exchange
from isoill.tools.peer18626.messages import (
    Agency,
    Confirmation,
    Header,
    Request,
    RequestingAgencyMessage,
    Sent,
    SupplyingAgencyMessage,
    confirm,
)
from isoill.tools.peer18626.peer import HttpPeer
from isoill.tools.peer18626.reading import read
from isoill.tools.peer18626.writing import write

SUP, REQ = Agency("ISIL", "SUP1"), Agency("ISIL", "REQ1")
XML = 'application/xml; charset="utf-8"'


def now() -> datetime:
    return datetime.now(UTC)


def request(
    request_id: str = "req-1",
    *,
    note: str | None = None,
    supplier: Agency | None = SUP,
    requester: Agency = REQ,
) -> Request:
    """A Request for Dune (``dataclasses.replace`` for other fields)."""
    return Request(Header(supplier, requester, request_id, now()), title="Dune", note=note)


def ram(
    action: str, request_id: str = "req-1", supplier_request_id: str | None = None
) -> RequestingAgencyMessage:
    return RequestingAgencyMessage(Header(SUP, REQ, request_id, now(), supplier_request_id), action)


@dataclass
class Posted:
    status: int
    headers: dict[str, str]
    body: bytes

    def confirmation(self, version: Version = Version.V1_2) -> Confirmation:
        message = read(wire.parse(self.body, version=version))
        assert isinstance(message, Confirmation), message
        return message


async def post(
    url: str,
    body: bytes | Sent,
    *,
    version: Version = Version.V1_2,
    content_type: str = XML,
    method: str = "POST",
) -> Posted:
    data = body if isinstance(body, bytes) else write(body, version)
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(
            method, url, data=io.BytesIO(data), headers={"Content-Type": content_type}
        ) as response,
    ):
        return Posted(response.status, dict(response.headers), await response.read())


class Catcher:
    """A requester endpoint of the test's own: every SAM POSTed to it is kept (``sams``) and
    answered by ``answer`` (OK with the reason echoed, unless told otherwise)."""

    def __init__(self, version: Version = Version.V1_2) -> None:
        self.version = version
        self.sams: list[SupplyingAgencyMessage] = []
        self.answer: Callable[[SupplyingAgencyMessage], web.Response] = self._ok
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()
        self.url = ""

    async def start(self) -> Catcher:
        app = web.Application()
        app.router.add_post("/iso18626", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/iso18626"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[SupplyingAgencyMessage]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.sams) >= count)
        return list(self.sams)

    async def quiet(self, seconds: float) -> list[SupplyingAgencyMessage]:
        """The SAMs caught once ``seconds`` have passed (to see that no more came)."""
        await asyncio.sleep(seconds)
        return list(self.sams)

    def statuses(self) -> list[str]:
        return [sam.status for sam in self.sams]

    def _ok(self, sam: SupplyingAgencyMessage) -> web.Response:
        body = write(confirm(sam, now()), self.version)
        return web.Response(body=body, content_type="application/xml")

    async def _handle(self, http: web.Request) -> web.Response:
        message = read(wire.parse(await http.read(), version=self.version))
        assert isinstance(message, SupplyingAgencyMessage), message
        async with self._arrived:
            self.sams.append(message)
            self._arrived.notify_all()
        return self.answer(message)


@asynccontextmanager
async def catcher(version: Version = Version.V1_2) -> AsyncIterator[Catcher]:
    caught = await Catcher(version).start()
    try:
        yield caught
    finally:
        await caught.stop()


def written(exchange: Exchange) -> bytes | None:
    """What the peer itself wrote in ``exchange``, if it was a message: the body it sent,
    or the Confirmation it answered with."""
    if exchange.direction == "out":
        return exchange.request_body
    if exchange.status == 200 and exchange.response_body.startswith(b"<?xml"):
        return exchange.response_body
    return None


def assert_all_valid(peer: HttpPeer) -> int:
    """Every message ``peer`` wrote is valid in its version; how many there were."""
    bodies = [body for body in map(written, peer.exchanges) if body is not None]
    for body in bodies:
        assert wire.parse(body, version=peer.version).version is peer.version
    return len(bodies)
