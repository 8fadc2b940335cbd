"""The ISO 18626 endpoint: where ISO 18626 peers POST their messages, over HTTP or HTTPS.

One message per POST, answered in the same exchange once intake is done with it, which is
once the store holds it: never later, so the answer never waits for the other side. The
answers, in the order a request is judged:

- a connection past ``max_connections`` closed at once; one that waits for its next request,
  or takes to send a request's headers, longer than ``idle_timeout`` closed;
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
  ``Retry-After`` when intake could not store it (the peer sends it again);
- anything unexpected (a bug): 500, logged with its traceback and counted.

Every refusal is logged with the limit or reason and counted (``isoill_rejections_total``);
every answer is counted by message and status (``isoill_iso18626_posts_total``).
"""

from __future__ import annotations

import asyncio
import binascii
import dataclasses
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import BasicAuth, hdrs, web

from isoill import logs, metrics
from isoill.bridge import confirmations, forms
from isoill.bridge.agency import AgencyId, symbol_for
from isoill.bridge.inbound import inbound
from isoill.bridge.messages import Authentication, Confirmation
from isoill.bridge.settings import PeerSettings18626
from isoill.bridge.times import OutOfRange
from isoill.capture.recorder import socket_address
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import StatusOrErrorReport
from isoill.config import Iso18626Listener
from isoill.ill.prompt import Login
from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.messages import MessageKind, Version
from isoill.process.sockets import BACKLOG
from isoill.service.access import AccessControl, Identity
from isoill.service.clock import Clock
from isoill.service.intake import IntakeService
from isoill.service.origin import Origin
from isoill.transport.tls import client_certificate, server_context

#: The content types a message may come as (parameters such as ``charset`` aside).
XML_TYPES = frozenset({"application/xml", "text/xml"})
CONTENT_TYPE = "application/xml; charset=utf-8"

#: Seconds a peer is told to wait before it sends again a message that could not be stored.
RETRY_AFTER = 30

#: Seconds the unread rest of a refused body is read and dropped before the connection is
#: closed (closing on unread bytes would reset it, and the peer might lose the answer).
LINGER = 2.0

#: Seconds in-flight requests have to finish on stop (as an APDU in hand on a listener).
DRAIN_TIMEOUT = 10.0

#: The ISO 18626 settings of the peer a symbol names; ``None`` for a peer that has none: it
#: gets :data:`DEFAULT_SETTINGS`, in the schema its message declares.
SettingsOf = Callable[[str], PeerSettings18626 | None]

DEFAULT_SETTINGS = PeerSettings18626()

_UTC = ZoneInfo("UTC")  # the sender's id is read before its zone is known; it has none


def no_peer_settings(symbol: str) -> PeerSettings18626 | None:
    """No peer has ISO 18626 settings of its own (until the routes carry them): each is read
    in the schema its messages declare, with the rest of :data:`DEFAULT_SETTINGS`."""
    return None


class _Refused(Exception):
    """A request answered before its message is read: the HTTP status and the reason."""

    def __init__(self, status: int, reason: str, cause: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.cause = cause  # the rejections metric's label
        self.headers = headers or {}


class _Closing(asyncio.Protocol):
    """A connection over the limit: closed as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


@dataclass(frozen=True)
class _Sender:
    """Who a request comes from, as far as the connection says: its address, and in
    registered mode the peers it may speak for."""

    address: str
    peers: frozenset[str] | None  # None: open mode


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
        self.intake = intake
        self.access = access
        self.clock = clock
        self.settings_of = settings_of
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
        """aiohttp's protocol for a new connection, or, past ``max_connections``, one that
        closes it at once."""
        assert self._runner is not None and self._runner.server is not None
        server = self._runner.server
        if len(server.connections) >= self.listener.max_connections:
            metrics.REJECTIONS.labels("connection-limit").inc()
            self.log.warning("connection refused: limit reached", limit="max_connections")
            return _Closing()
        return server()

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
            response, kind = await self._message(body, sender, request)
        except _Refused as refused:
            response = self._refusal(refused, request)
        except Exception:  # a bug below: this request fails, the endpoint goes on
            metrics.INTERNAL_ERRORS.labels("iso18626").inc()
            self.log.exception("internal error; POST answered 500", peer=_address(request))
            response = web.Response(status=500, text="internal error\n")
        metrics.ISO18626_POSTS.labels(kind.value if kind else "none", str(response.status)).inc()
        return response

    def _admitted(self, request: web.Request) -> _Sender:
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
            return _Sender(address, None)
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
        return _Sender(address, frozenset(peers))

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

    async def _message(
        self, body: bytes, sender: _Sender, request: web.Request
    ) -> tuple[web.Response, MessageKind | None]:
        """The answer to one body, and the message it held (if that much was read)."""
        prior = self._prior(sender)
        version = prior.version if prior is not None else None
        limit = self.listener.max_body
        try:
            parsed = wire.parse(body, version=version, max_size=limit)
            version = parsed.version
            if parsed.kind not in confirmations.CONFIRMATION_OF:
                raise _Refused(
                    400,
                    f"a {parsed.kind} is the answer in an exchange, not a message to POST",
                    "iso18626-confirmation",
                )
            try:
                message = forms.read(parsed.model, _UTC)
            except OutOfRange as error:
                raise Refusal(
                    ErrorType.UNRECOGNISED_DATA_VALUE, str(error), kind=parsed.kind
                ) from None
            assert not isinstance(message, Confirmation)  # refused above
            header = message.header
            agency = _speaker(parsed.kind, header.requesting_agency, header.supplying_agency)
            settings = prior or self.settings_of(symbol_for(agency))
            if settings is None:
                settings = dataclasses.replace(DEFAULT_SETTINGS, version=parsed.version)
            elif settings.version is not parsed.version:  # the peer's schema, not the declared
                version = settings.version
                parsed = wire.parse(body, version=version, max_size=limit)
            found = inbound(parsed, settings)
            if isinstance(found, Refusal):
                raise found
        except Refusal as refusal:
            answer = self._wire_refusal(refusal, version or Version.V1_2, sender)
            return answer, refusal.kind
        origin = self._origin(sender, parsed.kind, header.authentication, request)
        outcome = await self.intake.receive(encode(found.apdu), origin, found.via)
        report = _report(outcome.reply)
        if report is not None and confirmations.temporary(report):
            note = report.note.text if report.note is not None else "refused for now"
            raise _Refused(
                503,
                f"not stored: {note}",
                "iso18626-unavailable",
                {"Retry-After": str(RETRY_AFTER)},
            )
        confirmation = confirmations.confirmation(found.via, report, self.clock.now())
        return _xml(wire.serialise(confirmation)), parsed.kind

    def _prior(self, sender: _Sender) -> PeerSettings18626 | None:
        """The settings to read a message with before it says who sends it: those of the one
        peer a registered connection speaks for."""
        if sender.peers is None or len(sender.peers) != 1:
            return None
        (sole,) = sender.peers
        return self.settings_of(sole)

    def _origin(
        self,
        sender: _Sender,
        kind: MessageKind,
        authentication: Authentication | None,
        request: web.Request,
    ) -> Origin:
        """Intake's origin of one message: in registered mode with the peers it may speak for
        and the login it carries (HTTP Basic auth first, else a Request's or requesting
        agency message's ``requestingAgencyAuthentication``)."""
        default = self.listener.default_target
        if sender.peers is None:
            return Origin(sender.address, default)
        peers = set(sender.peers)
        login = _basic(request)
        if login is None and kind is not MessageKind.SUPPLYING_AGENCY_MESSAGE:
            login = _header_login(authentication)
        identity = Identity(peers, http=True, login=login)
        return Origin(sender.address, default, peers, identity=identity)

    def _wire_refusal(self, refusal: Refusal, version: Version, sender: _Sender) -> web.Response:
        """A body the wire layer (or the mapping) refused: its ERROR Confirmation, else 400."""
        metrics.REJECTIONS.labels("iso18626-refused").inc()
        self.log.warning(
            "ISO 18626 message refused",
            peer=sender.address,
            message=refusal.kind.value if refusal.kind else None,
            error_type=refusal.error_type.value,
            error=refusal.error_value,
        )
        model = confirmations.refusal_confirmation(refusal, version, self.clock.now())
        if model is None:
            return web.Response(
                status=400, text=f"not an ISO 18626 message: {refusal.error_value}\n"
            )
        return _xml(wire.serialise(model))

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


def _speaker(kind: MessageKind, requesting: AgencyId, supplying: AgencyId | None) -> AgencyId:
    """The agency that sends a message: the supplying agency of a supplying agency message,
    the requesting agency of the others."""
    if kind is MessageKind.SUPPLYING_AGENCY_MESSAGE and supplying is not None:
        return supplying
    return requesting


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


def _header_login(authentication: Authentication | None) -> Login | None:
    if authentication is None or not authentication.account_id:
        return None
    return Login(authentication.account_id, (authentication.security_code or "").encode("utf-8"))


def _report(reply: bytes | None) -> StatusOrErrorReport | None:
    """Intake's answer, as the report it is (``None``: acknowledged without one)."""
    if reply is None:
        return None
    report = decode(reply)
    if not isinstance(report, StatusOrErrorReport):
        raise TypeError(f"intake answered with a {report.apdu_type}")
    return report


def _xml(body: bytes) -> web.Response:
    return web.Response(status=200, body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE})


def _address(request: web.Request) -> str:
    transport = request.transport
    return socket_address(transport.get_extra_info("peername") if transport else None)
