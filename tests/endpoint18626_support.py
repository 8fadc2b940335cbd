"""What the tests of the ISO 18626 endpoint share: a gateway in this process with ``[iso18626]``
on 127.0.0.1:0, its URL, POSTs to it with any headers, and the messages to POST (written by
the simulated peer's writer, so valid)."""

from __future__ import annotations

import io
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from gateway_harness import routes_for, start_gateway, write_config
from peer18626_support import REQ, SUP, now, request

from isoill.app import App
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.messages import Agency, Confirmation, Sent
from isoill.tools.peer18626.reading import read
from isoill.tools.peer18626.writing import write

XML = 'application/xml; charset="utf-8"'

__all__ = [
    "REQ",
    "SUP",
    "XML",
    "Answer",
    "agency",
    "endpoint_gateway",
    "now",
    "post",
    "request",
    "url",
    "with_authentication",
]


async def endpoint_gateway(
    directory: Path,
    routes: dict[str, list[str]],
    *,
    extra: str = "",
    endpoint: str = "",
) -> App:
    """A gateway routing by ``routes``, with the ISO 18626 endpoint (``endpoint``: more of
    its settings) and ``extra`` configuration."""
    section = f'\n[iso18626]\nhost = "127.0.0.1"\nport = 0\n{endpoint}\n'
    config = write_config(directory, routes_for(routes), extra=section + extra)
    return await start_gateway(config)


def url(app: App, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{app.iso18626_port}/iso18626"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def confirmation(self, version: Version = Version.V1_2) -> Confirmation:
        assert self.status == 200, (self.status, self.body)
        message = read(wire.parse(self.body, version=version))
        assert isinstance(message, Confirmation), message
        return message


async def post(
    target: str,
    body: bytes | Sent,
    *,
    version: Version = Version.V1_2,
    content_type: str | None = XML,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    data = body if isinstance(body, bytes) else write(body, version)
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    timeout = aiohttp.ClientTimeout(total=20)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(
            method, target, data=io.BytesIO(data), headers=sent, ssl=context or True
        ) as response,
    ):
        return Answer(response.status, dict(response.headers), await response.read())


def with_authentication(body: bytes, account: str, code: str) -> bytes:
    """``body`` (a v1.2 message the peer's writer wrote) with a
    ``requestingAgencyAuthentication`` in its header."""
    end = b"</ill:requestingAgencyRequestId>"
    assert body.count(end) == 1
    auth = (
        f"<ill:requestingAgencyAuthentication><ill:accountId>{account}</ill:accountId>"
        f"<ill:securityCode>{code}</ill:securityCode></ill:requestingAgencyAuthentication>"
    ).encode()
    return body.replace(end, end + auth)


def agency(symbol: str) -> Agency:
    return Agency("ISIL", symbol)
