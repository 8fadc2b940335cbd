"""The simulated peer's HTTP: the endpoint it listens on, the client it sends with, and the
record of every exchange either makes.

The endpoint answers, as ISO 18626 servers do:

- 405 (``Allow: POST``) for any method but POST;
- 415 for a content type other than ``application/xml`` or ``text/xml`` (parameters such as
  ``charset`` are allowed);
- 413 for a body over :data:`~isoill.iso18626.wire.MAX_SIZE`;
- 400 with a line of text for a body that is no ISO 18626 message (not well-formed, another
  root, no known message inside, a Confirmation, which is only ever an answer);
- otherwise 200 with a Confirmation: ERROR for a message the schema refuses (its errorType
  and errorValue as the wire layer gives them), else what the role answers, which may also
  be an HTTP error of a scenario. A 200 carries ``X-Request-ID``: the message's
  requestingAgencyRequestId (a fresh id when it has none).

The client POSTs one message with ``Content-Type: application/xml; charset="utf-8"`` and
reads the answer as the Confirmation of that message, or as none (another status without
one, a wrong or unreadable body, no answer in time).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
from aiohttp import web

from isoill.iso18626 import wire
from isoill.iso18626.errors import Refusal
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626.messages import (
    CONFIRMATION_OF,
    Answer,
    Confirmation,
    HttpError,
    Message,
    Sent,
    describe,
    kind_of,
)
from isoill.tools.peer18626.reading import read
from isoill.tools.peer18626.writing import write

XML_TYPES = frozenset({"application/xml", "text/xml"})
CONTENT_TYPE = 'application/xml; charset="utf-8"'
REQUEST_ID_HEADER = "X-Request-ID"


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange: ``direction`` ``in`` (a POST to the peer) or ``out`` (one it sent);
    ``peer`` the other side's address (in) or URL (out); ``status`` None when no answer
    came; ``kind`` the message the request body held, if it held one; ``what`` and
    ``answer`` a few words on each side (:func:`~.messages.describe`, or the reason)."""

    at: datetime
    direction: Literal["in", "out"]
    peer: str
    method: str
    path: str
    status: int | None
    request_body: bytes
    response_body: bytes
    kind: MessageKind | None
    what: str
    answer: str
    transaction: str = "-"

    def __str__(self) -> str:
        when = self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = "-" if self.status is None else str(self.status)
        where = f"{self.peer} {self.method} {self.path}" if self.direction == "in" else self.path
        return (
            f"{when} {self.direction} {where} {self.what} {self.transaction}"
            f" -> {status} {self.answer}"
        )

    def record(self) -> dict[str, Any]:
        """The exchange as JSON values (bodies as text: ISO 18626 is UTF-8)."""
        return {
            "at": self.at.isoformat(),
            "direction": self.direction,
            "peer": self.peer,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "kind": None if self.kind is None else self.kind.value,
            "what": self.what,
            "answer": self.answer,
            "transaction": self.transaction,
            "request": self.request_body.decode("utf-8", "replace"),
            "response": self.response_body.decode("utf-8", "replace"),
        }


Take = Callable[[Sent], Answer]
Record = Callable[[Exchange], None]


class Endpoint:
    """The HTTP side of a peer that speaks ``version``: each message goes to ``take``, each
    exchange to ``record``."""

    def __init__(self, version: Version, take: Take, record: Record) -> None:
        self.version = version
        self._take = take
        self._record = record

    def application(self) -> web.Application:
        app = web.Application(client_max_size=wire.MAX_SIZE)
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = b""
        answer: Message | str
        response: web.Response
        kind: MessageKind | None = None
        what, transaction = request.method, "-"
        if request.method != "POST":
            answer = f"only POST is taken, not {request.method}"
            response = web.Response(status=405, text=answer, headers={"Allow": "POST"})
        elif request.content_type not in XML_TYPES:
            answer = (
                f"the content type must be application/xml or text/xml, not {request.content_type}"
            )
            response = web.Response(status=415, text=answer)
        else:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge as error:
                answer = error.text or "too large"
                response = web.Response(status=413, text=answer)
            else:
                kind, message, answer, response = self._answer(body)
                if message is not None:
                    what, transaction = describe(message), message.header.shown()
                else:
                    what = "refused" if kind is None else f"{kind} refused"
        self._record(
            Exchange(
                at=datetime.now(UTC),
                direction="in",
                peer=_address(
                    request.transport.get_extra_info("peername") if request.transport else None
                ),
                method=request.method,
                path=request.path,
                status=response.status,
                request_body=body,
                response_body=response.body if isinstance(response.body, bytes) else b"",
                kind=kind,
                what=what,
                answer=answer if isinstance(answer, str) else describe(answer),
                transaction=transaction,
            )
        )
        return response

    def _answer(
        self, body: bytes
    ) -> tuple[MessageKind | None, Sent | None, Message | str, web.Response]:
        """What ``body`` held (the kind, and the message if it was read), what it is
        answered with, and the response that says it."""
        now = datetime.now(UTC)
        try:
            parsed = wire.parse(body, version=self.version)
        except Refusal as refusal:
            if refusal.kind in CONFIRMATION_OF:
                refused = Confirmation(
                    kind=CONFIRMATION_OF[refusal.kind],
                    timestamp=now,
                    received=now,
                    ok=False,
                    error_type=refusal.error_type.value,
                    error_value=refusal.error_value,
                )
                return refusal.kind, None, refused, self._xml(refused, None)
            text = f"not an ISO 18626 message: {refusal.error_value}"
            return refusal.kind, None, text, web.Response(status=400, text=text)
        message = read(parsed)
        if isinstance(message, Confirmation):
            text = f"a {message.kind} is the answer in an exchange, not a message to POST"
            return parsed.kind, None, text, web.Response(status=400, text=text)
        answer = self._take(message)
        if isinstance(answer, HttpError):
            response = web.Response(status=answer.status, text=answer.text)
            return parsed.kind, message, answer.text, response
        return parsed.kind, message, answer, self._xml(answer, message.header.request_id)

    def _xml(self, confirmation: Confirmation, request_id: str | None) -> web.Response:
        return web.Response(
            status=200,
            body=write(confirmation, self.version),
            content_type="application/xml",
            charset="utf-8",
            headers={REQUEST_ID_HEADER: request_id or uuid.uuid4().hex},
        )


class Client:
    """POSTs messages in ``version`` to ``url``, each answer awaited at most ``timeout``
    seconds; each exchange goes to ``record``."""

    def __init__(self, version: Version, url: str, record: Record, *, timeout: float) -> None:
        self.version = version
        self.url = url
        self._record = record
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, message: Sent) -> Confirmation | None:
        """The Confirmation of ``message`` that came back, if one did."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = write(message, self.version)
        status: int | None = None
        data = b""
        confirmation: Confirmation | None = None
        try:
            async with self._session.post(
                self.url, data=body, headers={"Content-Type": CONTENT_TYPE}
            ) as response:
                status = response.status
                data = await _read_up_to(response.content, wire.MAX_SIZE + 1)
        except (aiohttp.ClientError, TimeoutError) as error:
            answer = f"no answer: {type(error).__name__} {error}".rstrip()
        else:
            confirmation, answer = self._confirmation(message, status, data)
        self._record(
            Exchange(
                at=datetime.now(UTC),
                direction="out",
                peer=self.url,
                method="POST",
                path=self.url,
                status=status,
                request_body=body,
                response_body=data,
                kind=kind_of(message),
                what=describe(message),
                answer=answer,
                transaction=message.header.shown(),
            )
        )
        return confirmation

    def _confirmation(
        self, message: Sent, status: int, data: bytes
    ) -> tuple[Confirmation | None, str]:
        expected = CONFIRMATION_OF[kind_of(message)]
        try:
            answer = read(wire.parse(data, version=self.version))
        except Refusal as refusal:
            text = repr(data[:200].decode("utf-8", "replace").strip())
            if status == 200:
                return None, f"no Confirmation ({refusal.error_value}): {text}"
            return None, f"no Confirmation: {text}"
        if not isinstance(answer, Confirmation) or answer.kind is not expected:
            return None, f"no {expected}: {describe(answer)}"
        return answer, str(answer)


async def _read_up_to(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The body whole, or its first ``limit`` bytes: one ``read(n)`` returns what has come so
    far, which may be a part."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := await stream.read(limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _address(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "-"
