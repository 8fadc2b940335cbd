"""The ISO 18626 endpoint: where ISO 18626 peers POST their messages, over HTTP or HTTPS.

One message per POST, answered in the same exchange once intake is done with it, which is
once the store holds it: never later, so the answer never waits for the other side. The
answers, in the order a request is judged:

- a connection past ``max_connections`` or ``max_connections_per_address`` (of the last
  ``reserved_connections``, past one from its address) closed at once; one that waits for
  its next request, or takes to send a request's headers, longer than ``idle_timeout``
  closed;
- 404 for another path than ``[iso18626] path``; 405 (``Allow: POST``) for another method;
  415 for a content type other than ``application/xml`` or ``text/xml``;
- in registered mode, 403 for an address no peer connects from, or without the client
  certificate of a peer (before the body is read);
- 413 for a body over ``max_body`` (a ``Content-Length`` over it is refused unread, with no
  ``100 Continue``; a chunked body is read up to the limit); 408 for a body that has not
  arrived whole ``body_timeout`` seconds after its headers;
- a body :func:`isoill.iso18626.wire.parse` refuses: 200 with an ERROR Confirmation when the
  refusal says which message it was, else 400 with a line of text; a Confirmation POSTed as
  if it were a message: 400;
- a message: its APDU through :meth:`IntakeService.receive`, then 200 with the Confirmation
  of intake's answer (OK, or ERROR with the refusal's errorType and errorValue), or 503 with
  ``Retry-After`` when intake could not store it (the peer sends it again): what becomes of
  the body is :mod:`isoill.transport.iso18626.messages`' to say, the HTTP around it this
  module's;
- anything unexpected (a bug): 500, logged with its traceback and counted.

Every refusal is logged with the limit or reason and counted (``isoill_rejections_total``);
every answer is counted by message and status (``isoill_iso18626_posts_total``).
"""

from __future__ import annotations

import asyncio
import binascii
import socket
import ssl
from collections.abc import Callable, Sequence

from aiohttp import BasicAuth, hdrs, web

from isoill import logs, metrics
from isoill.capture.recorder import socket_address
from isoill.config import Iso18626Listener
from isoill.ill.prompt import Login
from isoill.iso18626.messages import MessageKind
from isoill.process.sockets import BACKLOG
from isoill.service.access import AccessControl
from isoill.service.clock import Clock
from isoill.service.intake import IntakeService
from isoill.transport.iso18626.messages import Messages, Sender, SettingsOf, no_peer_settings
from isoill.transport.limits import over_limit
from isoill.transport.tls import client_certificate, server_context

#: The content types a message may come as (parameters such as ``charset`` aside).
XML_TYPES = frozenset({"application/xml", "text/xml"})
CONTENT_TYPE = "application/xml; charset=utf-8"

#: Seconds the unread rest of a refused body is read and dropped before the connection is
#: closed (closing on unread bytes would reset it, and the peer might lose the answer).
LINGER = 2.0

#: Seconds in-flight requests have to finish on stop (as an APDU in hand on a listener).
DRAIN_TIMEOUT = 10.0


class _Refused(Exception):
    """A request answered before its message is read: the HTTP status and the reason."""

    def __init__(self, status: int, reason: str, cause: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.cause = cause  # the rejections metric's label
        self.headers = headers or {}


class _Admitting(asyncio.Protocol):
    """A new connection, judged by its address once it is made: closed at once if it is over
    the limits, else handed to the protocol ``admitted`` gives (aiohttp's)."""

    def __init__(
        self,
        refused: Callable[[str], str | None],
        admitted: Callable[[], asyncio.BaseProtocol],
    ) -> None:
        self._refused = refused
        self._admitted = admitted

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        address = socket_address(transport.get_extra_info("peername"))
        if self._refused(address) is not None:
            transport.close()
            return
        protocol = self._admitted()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


class Endpoint:
    """The ISO 18626 endpoint of ``listener``, handing each message to ``intake``;
    ``settings_of`` gives a peer's ISO 18626 settings by its symbol."""

    def __init__(
        self,
        listener: Iso18626Listener,
        intake: IntakeService,
        access: AccessControl,
        clock: Clock,
        settings_of: SettingsOf = no_peer_settings,
    ) -> None:
        self.listener = listener
        self.access = access
        self.messages = Messages(
            intake, clock, settings_of, listener.max_body, listener.default_target
        )
        self._runner: web.AppRunner | None = None
        self._servers: list[asyncio.Server] = []
        self.log = logs.get(listener="iso18626")

    # -- life -------------------------------------------------------------------------------

    async def start(self, sockets: Sequence[socket.socket]) -> None:
        """Serve on ``sockets``, bound already (shared with the other workers, if any)."""
        listener = self.listener
        tls = None if listener.tls is None else server_context(listener.tls)
        app = web.Application(client_max_size=listener.max_body)
        app.router.add_route("*", "/{path:.*}", self._handle, expect_handler=self._expect)
        # No access log: intake logs each message, and this logs each refusal.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=DRAIN_TIMEOUT,
            lingering_time=LINGER,
            # from a connection's start and between its requests: a request line and headers
            # sent slowly are cut off by it too (aiohttp has no timeout of their own)
            keepalive_timeout=listener.idle_timeout,
        )
        await runner.setup()
        self._runner = runner
        assert runner.server is not None  # set up
        loop = asyncio.get_running_loop()
        handshake = None if listener.tls is None else listener.tls.handshake_timeout
        for sock in sockets:
            server = await loop.create_server(
                self._protocol, sock=sock, ssl=tls, backlog=BACKLOG, ssl_handshake_timeout=handshake
            )
            self._servers.append(server)
            scheme = "https" if tls is not None else "http"
            where = socket_address(sock.getsockname())
            self.log.info("listening", address=where, url=f"{scheme}://{where}{listener.path}")

    def _protocol(self) -> asyncio.BaseProtocol:
        """A new connection's protocol: judged by its address once it is made."""
        assert self._runner is not None and self._runner.server is not None
        return _Admitting(self._over_limit, self._runner.server)

    def _over_limit(self, address: str) -> str | None:
        """Why a new connection from ``address`` is refused (logged and counted), or
        ``None`` (:func:`isoill.transport.limits.over_limit`)."""
        assert self._runner is not None and self._runner.server is not None
        held = self._runner.server.connections
        host = _host(address)
        listener = self.listener
        limit = over_limit(
            len(held),
            sum(1 for handler in held if _host(_peer(handler)) == host),
            max_connections=listener.max_connections,
            per_address=listener.max_connections_per_address,
            reserved=listener.reserved_connections,
        )
        if limit is not None:
            metrics.REJECTIONS.labels(limit).inc()
            self.log.warning("connection refused: limit reached", peer=address, limit=limit)
        return limit

    @property
    def ports(self) -> list[int]:
        """The bound ports (port 0 binds a free one)."""
        return [server.sockets[0].getsockname()[1] for server in self._servers if server.sockets]

    async def stop(self) -> None:
        """Stop listening, and let the requests in hand finish (at most DRAIN_TIMEOUT)."""
        for server in self._servers:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._servers.clear()

    # -- one request ------------------------------------------------------------------------

    async def _expect(self, request: web.Request) -> web.StreamResponse | None:
        """``Expect: 100-continue``: a request refused on its headers is answered before the
        peer sends its body; any other goes on."""
        try:
            self._admitted(request)
        except _Refused as refused:
            return self._refusal(refused, request)
        if request.version >= (1, 1) and request.headers.get(hdrs.EXPECT, "").lower() == (
            "100-continue"
        ):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind: MessageKind | None = None
        try:
            sender = self._admitted(request)
            body = await self._body(request)
            answer = await self.messages.answer(body, sender)
        except _Refused as refused:
            response = self._refusal(refused, request)
        except Exception:  # a bug below: this request fails, the endpoint goes on
            metrics.INTERNAL_ERRORS.labels("iso18626").inc()
            self.log.exception("internal error; POST answered 500", peer=_address(request))
            response = web.Response(status=500, text="internal error\n")
        else:
            kind = answer.kind
            content_type = CONTENT_TYPE if answer.xml else "text/plain; charset=utf-8"
            headers = {**answer.headers, hdrs.CONTENT_TYPE: content_type}
            response = web.Response(status=answer.status, body=answer.body, headers=headers)
        metrics.ISO18626_POSTS.labels(kind.value if kind else "none", str(response.status)).inc()
        return response

    def _admitted(self, request: web.Request) -> Sender:
        """The sender of a request whose path, method, type, size and origin pass."""
        listener = self.listener
        if request.path != listener.path:
            raise _Refused(404, f"no ISO 18626 endpoint at {request.path[:200]}", "iso18626-path")
        if request.method != "POST":
            raise _Refused(
                405,
                f"only POST is taken, not {request.method[:20]}",
                "iso18626-method",
                {"Allow": "POST"},
            )
        if request.content_type not in XML_TYPES:
            raise _Refused(
                415,
                "the content type must be application/xml or text/xml,"
                f" not {request.content_type[:100]}",
                "iso18626-content-type",
            )
        length = request.content_length
        if length is not None and length > listener.max_body:
            raise _Refused(
                413,
                f"the body is {length} bytes, over the limit of {listener.max_body} (max_body)",
                "iso18626-too-large",
            )
        address = _address(request)
        access = self.access
        if not access.registered:
            return Sender(address)
        host = address.rsplit(":", 1)[0]
        if not access.known(host):
            raise _Refused(403, "no peer connects from here", "unregistered-address")
        transport = request.transport
        ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
        certificate = (
            client_certificate(ssl_object) if isinstance(ssl_object, ssl.SSLObject) else None
        )
        peers = access.admit(host, certificate)
        if not peers:
            raise _Refused(403, "not the certificate of a peer", "no-certificate")
        return Sender(address, frozenset(peers), _basic(request))

    async def _body(self, request: web.Request) -> bytes:
        """The whole body, read within ``body_timeout`` of its headers and up to
        ``max_body`` bytes."""
        limit, timeout = self.listener.max_body, self.listener.body_timeout
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while chunk := await request.content.readany():
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(
                            413,
                            f"the body is over the limit of {limit} bytes (max_body)",
                            "iso18626-too-large",
                        )
                    chunks.append(chunk)
        except TimeoutError:
            raise _Refused(
                408,
                f"the body was not whole after {timeout:g} s (body_timeout): {size} bytes came",
                "iso18626-body-timeout",
            ) from None
        return b"".join(chunks)

    def _refusal(self, refused: _Refused, request: web.Request) -> web.Response:
        metrics.REJECTIONS.labels(refused.cause).inc()
        self.log.warning(
            "ISO 18626 POST refused",
            peer=_address(request),
            status=refused.status,
            reason=refused.reason,
        )
        response = web.Response(
            status=refused.status, text=refused.reason + "\n", headers=refused.headers
        )
        if refused.status in (408, 413):  # the rest of the body is not wanted
            response.force_close()
        return response


def _basic(request: web.Request) -> Login | None:
    """The request's HTTP Basic credentials, if it has usable ones."""
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    try:
        auth = BasicAuth.decode(header, encoding="utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return Login(auth.login, auth.password.encode("utf-8"))


def _address(request: web.Request) -> str:
    transport = request.transport
    return socket_address(transport.get_extra_info("peername") if transport else None)


def _peer(handler: web.RequestHandler) -> str:
    transport = handler.transport
    return socket_address(transport.get_extra_info("peername") if transport else None)


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0]
