"""The ISO 18626 link against a real HTTP server on loopback: what it POSTs (the stored XML
as it is, the content type, the peer's headers) and how it classifies each answer: an OK
Confirmation is delivered, an ERROR one final (``Rejected``, with the Confirmation), and
everything else (5xx, 4xx or 2xx without a Confirmation of the message's type, a body that
is no message, silence, a refused or reset connection) an attempt to make again."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
from aiohttp import web
from paths import ISO18626_SAMPLES as SAMPLES

from isoill.bridge.messages import Authentication
from isoill.bridge.settings import PeerSettings18626
from isoill.iso18626 import wire
from isoill.iso18626.messages import MessageKind
from isoill.service.links import Refused, Rejected
from isoill.transport.iso18626.link import Iso18626Client

pytestmark = pytest.mark.asyncio

REQUEST = (SAMPLES / "RequestSample1.xml").read_bytes()
OK = (SAMPLES / "RequestConfirmationSample1.xml").read_bytes()
ERROR = (SAMPLES / "RequestConfirmationSampleError.xml").read_bytes()
OTHER = (SAMPLES / "SupplyingAgencyMessageConfirmationSample1.xml").read_bytes()
SETTINGS = PeerSettings18626(headers=(("X-Okapi-Tenant", "diku"),))


class Peer:
    """An HTTP server that answers every POST as ``answer`` says and keeps each request."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] | None = (200, OK)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((dict(request.headers), await request.read()))
        if self.answer is None:  # silence
            await asyncio.sleep(2)
        status, body = self.answer or (500, b"")
        if body == b"reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if body == b"trickle":  # a Confirmation's first bytes, then one byte a second
            response = web.StreamResponse(status=200)
            await response.prepare(request)
            for byte in OK[:10]:
                await response.write(bytes([byte]))
                await asyncio.sleep(1)
            return response
        return web.Response(status=status, body=body, content_type="application/xml")

    async def start(self) -> Peer:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/iso18626?tenant=x"


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[Peer]:
    running = await Peer().start()
    yield running
    assert running.runner is not None
    await running.runner.cleanup()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[Iso18626Client]:
    http = Iso18626Client(
        lambda symbol: SETTINGS if symbol == "RSLEND" else None, connect_timeout=2
    )
    yield http
    await http.close()


async def post(client: Iso18626Client, url: str, timeout: float = 5.0) -> bytes | None:
    return await client.link(url).exchange(
        REQUEST,
        b"ber",
        expects_reply=True,
        reply_timeout=timeout,
        capture=True,
        target="RSLEND",
        apdu_type="ILL-Request",
    )


async def test_an_ok_confirmation_is_delivered(peer: Peer, client: Iso18626Client) -> None:
    assert await post(client, peer.url) is None
    [(headers, body)] = peer.requests
    assert body == REQUEST
    assert headers["Content-Type"] == 'application/xml; charset="utf-8"'
    assert headers["X-Okapi-Tenant"] == "diku"
    assert headers["Content-Length"] == str(len(REQUEST))
    # A 201 or even a 400 with an OK Confirmation of the message's type is delivered too.
    for status in (201, 400):
        peer.answer = (status, OK)
        assert await post(client, peer.url) is None


async def test_the_security_code_is_added_to_what_is_posted_never_kept(peer: Peer) -> None:
    stored = wire.parse((SAMPLES / "RequestingAgencyMessageSample1.xml").read_bytes()).kept
    assert b"securityCode" not in stored and b"accountId>" in stored
    login = Authentication("isoill-1", "now-in-effect")
    settings = replace(SETTINGS, authentication=login)
    http = Iso18626Client(lambda symbol: settings, connect_timeout=2)
    peer.answer = (200, (SAMPLES / "RequestingAgencyMessageConfirmationSample1.xml").read_bytes())
    try:
        sent = await http.link(peer.url).exchange(
            stored,
            b"ber",
            expects_reply=True,
            reply_timeout=5,
            capture=False,
            target="RSLEND",
            apdu_type="Received",
        )
    finally:
        await http.close()
    assert sent is None
    [(_, body)] = peer.requests
    assert _authentication(body) == (_authentication(stored)[0], "now-in-effect")


def _authentication(body: bytes) -> tuple[str | None, str | None]:
    message = wire.parse(body).model.requesting_agency_message
    assert message is not None and message.header.requesting_agency_authentication is not None
    authentication = message.header.requesting_agency_authentication
    return authentication.account_id, authentication.security_code


async def test_a_document_without_an_authentication_gets_no_security_code() -> None:
    assert wire.with_security_code(REQUEST, "unused") is REQUEST


async def test_an_error_confirmation_is_final(peer: Peer, client: Iso18626Client) -> None:
    for status in (200, 400):  # mod-rs and crosslink answer 200, Koha 400
        peer.answer = (status, ERROR)
        with pytest.raises(Rejected) as caught:
            await post(client, peer.url)
        assert str(caught.value).startswith(f"HTTP {status}, ERROR Confirmation: ")
        parsed = wire.parse(ERROR)
        assert caught.value.confirmation == parsed.model


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (500, b"failed to process request", "HTTP 500 without a Confirmation"),
        (503, b"", "HTTP 503 without a Confirmation"),
        (415, b"unsupported media", "a 4xx mostly means a wrong URL, header or content type"),
        (404, b"<html>not found</html>", "HTTP 404 without a Confirmation"),
        (200, b"", "HTTP 200 without a Confirmation"),
        (200, b"<ok/>", "HTTP 200 without a Confirmation"),
        (200, OTHER, "not a requestConfirmation"),
        (200, REQUEST, "a request, not a requestConfirmation"),
    ],
)
async def test_an_answer_without_its_confirmation_is_tried_again(
    peer: Peer, client: Iso18626Client, status: int, body: bytes, said: str
) -> None:
    peer.answer = (status, body)
    with pytest.raises(Refused) as caught:
        await post(client, peer.url)
    assert said in str(caught.value)


async def test_silence_and_a_reset_are_tried_again(peer: Peer, client: Iso18626Client) -> None:
    peer.answer = None
    with pytest.raises(TimeoutError, match=r"no answer from .* within 0\.3 s"):
        await post(client, peer.url, timeout=0.3)
    peer.answer = (200, b"reset")
    with pytest.raises(OSError):
        await post(client, peer.url)


async def test_a_huge_or_trickling_answer_is_cut_short(peer: Peer, client: Iso18626Client) -> None:
    """A hostile peer's answer costs at most the size limit and the reply timeout."""
    peer.answer = (200, b"<x>" + b" " * (2 << 20) + b"</x>")  # 2 MiB
    with pytest.raises(Refused, match="over the limit of 1048576"):
        await post(client, peer.url)
    peer.answer = (200, b"trickle")
    with pytest.raises(TimeoutError):
        await post(client, peer.url, timeout=1.5)


async def test_a_refused_connection_is_tried_again(client: Iso18626Client) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError):
        await post(client, f"http://127.0.0.1:{port}/iso18626")


async def test_the_stored_xml_says_which_message_it_is() -> None:
    assert wire.own_kind(REQUEST) is MessageKind.REQUEST
    assert wire.own_kind((SAMPLES / "SupplyingAgencyMessageSample1.xml").read_bytes()) is (
        MessageKind.SUPPLYING_AGENCY_MESSAGE
    )
