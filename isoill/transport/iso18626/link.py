"""The ISO 18626 link to one target URL: each stored message POSTed as it is kept (its ISO
18626 XML), and the answer classified.

- a Confirmation of the message's own type, OK (200, 201, even another status): delivered,
  ``None``;
- such a Confirmation, ERROR: :class:`~isoill.service.links.Rejected`, final (the delivery
  ends, its sender is told);
- no answer (connection refused or reset, a TLS failure): :class:`OSError`
  (:class:`NotConnected` when nothing could be sent), tried again;
- no answer within the reply timeout: :class:`TimeoutError`, tried again;
- 5xx, 4xx or 2xx without a Confirmation of that type (a text, a body that does not parse):
  :class:`~isoill.service.links.Refused`, tried again; a 4xx mostly means a wrong URL,
  header or content type, and the error says so.

The message is kept without the ``securityCode`` the peer may demand: it is added to the
``requestingAgencyAuthentication`` at each POST, from the credentials in effect then.
Every POST says ``Content-Type: application/xml; charset="utf-8"`` and carries the peer's
own headers (:attr:`isoill.bridge.settings.PeerSettings18626.headers`); the answer is read
with the peer's schema, up to the wire layer's size limit. All ISO 18626 links share one
HTTP client (:class:`Iso18626Client`), so connections to a peer are kept and reused.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from isoill.bridge import forms
from isoill.bridge.messages import Confirmation
from isoill.bridge.settings import PeerSettings18626
from isoill.iso18626.errors import Refusal
from isoill.iso18626.messages import MessageKind
from isoill.iso18626.wire import MAX_SIZE, Message, own_kind, parse, with_security_code
from isoill.service.links import Refused, Rejected

CONTENT_TYPE = 'application/xml; charset="utf-8"'

#: Each message's Confirmation.
CONFIRMATION_OF = {
    MessageKind.REQUEST: MessageKind.REQUEST_CONFIRMATION,
    MessageKind.REQUESTING_AGENCY_MESSAGE: MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
    MessageKind.SUPPLYING_AGENCY_MESSAGE: MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
}

#: How much of an answer that is no Confirmation an error quotes.
QUOTED = 200

#: The settings of the peer a delivery is for, by its symbol (the routes in effect now).
Settings = Callable[[str], PeerSettings18626 | None]


class NotConnected(ConnectionError):
    """No connection to the peer could be made (refused, a name that does not resolve, a
    TLS handshake that failed): nothing was sent."""


class Iso18626Client:
    """The HTTP client every ISO 18626 link POSTs with: one pool of kept connections,
    opened on first use (on the running loop) and closed with :meth:`close`."""

    def __init__(self, settings: Settings, *, connect_timeout: float) -> None:
        self.settings = settings
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # The body is ours: let aiohttp add no Content-Type of its own guessing.
                skip_auto_headers=("Content-Type",),
                timeout=aiohttp.ClientTimeout(sock_connect=self.connect_timeout),
            )
        return self._session

    def link(self, address: str) -> Iso18626Link:
        return Iso18626Link(address, self)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Iso18626Link:
    """A :class:`isoill.service.links.Link` to one ISO 18626 URL."""

    def __init__(self, address: str, client: Iso18626Client) -> None:
        self.address = address
        self._client = client

    async def exchange(
        self,
        wire: bytes,
        recorded: bytes,
        *,
        expects_reply: bool,
        reply_timeout: float,
        capture: bool,
        target: str,
        apdu_type: str,
    ) -> bytes | None:
        """POST ``wire`` (the message's XML) and classify the answer (the module's table).
        An ISO 18626 peer always answers with a Confirmation, so ``expects_reply`` does not
        matter, and nothing is captured (the capture records TCP streams)."""
        settings = self._client.settings(target)
        authentication = settings.authentication if settings else None
        if authentication is not None and authentication.security_code is not None:
            wire = with_security_code(wire, authentication.security_code)
        headers = {"Content-Type": CONTENT_TYPE, **dict(settings.headers if settings else ())}
        # A request's timeout replaces the session's whole: both bounds, then.
        timeout = aiohttp.ClientTimeout(
            total=reply_timeout, sock_connect=self._client.connect_timeout
        )
        try:
            async with self._client.session.post(
                self.address, data=wire, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                status = response.status
                body = await _body(response)
        except TimeoutError:
            raise TimeoutError(
                f"no answer from {self.address} within {reply_timeout:g} s"
            ) from None
        except aiohttp.ClientConnectorError as error:  # refused, no such host, TLS
            raise NotConnected(f"{type(error).__name__}: {error}".rstrip(": ")) from None
        except aiohttp.ClientConnectionError as error:  # reset, gone mid-answer
            raise ConnectionError(f"{type(error).__name__}: {error}".rstrip(": ")) from None
        except aiohttp.ClientError as error:  # a malformed HTTP answer
            raise Refused(f"not an HTTP answer: {error}") from None
        confirmation, model = _confirmation(body, own_kind(wire), settings, status)
        if confirmation.ok:
            return None
        first = confirmation.errors[0] if confirmation.errors else None
        said = f"{first.type}: {first.value or ''}".rstrip(": ") if first else "no errorData"
        raise Rejected(f"HTTP {status}, ERROR Confirmation: {said}", model)

    async def send_back(self, reply: bytes, timeout: float, comment: str | None) -> None:
        """Nothing goes back in an ISO 18626 exchange: the peer's own messages come as POSTs
        of their own, to the gateway's endpoint."""
        raise ConnectionResetError("an ISO 18626 exchange has nothing to answer")

    def close(self) -> None:
        """The connections are the shared client's: nothing of this link's to close."""


async def _body(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body whole, or its first bytes past the wire layer's limit (which it then
    refuses by its size): never more is read or kept."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_SIZE:
            break
    return bytes(body)


def _confirmation(
    body: bytes, sent: MessageKind, settings: PeerSettings18626 | None, status: int
) -> tuple[Confirmation, Message]:
    """The answer as the Confirmation of ``sent``, and its model; :class:`Refused` for
    anything else."""
    expected = CONFIRMATION_OF[sent]
    try:
        parsed = parse(body, version=settings.version if settings else None)
    except Refusal as refusal:
        raise Refused(_no_confirmation(status, body, refusal.error_value)) from None
    if parsed.kind is not expected:
        raise Refused(_no_confirmation(status, body, f"a {parsed.kind}, not a {expected}"))
    zone = settings.where if settings is not None else PeerSettings18626().where
    try:
        read = forms.read(parsed.model, zone)
    except ValueError as error:  # a date-time beyond what the bridge holds
        raise Refused(_no_confirmation(status, body, str(error))) from None
    assert isinstance(read, Confirmation)
    return read, parsed.model


def _no_confirmation(status: int, body: bytes, why: str) -> str:
    quoted = body[:QUOTED].decode("utf-8", "replace").strip()
    said = f"HTTP {status} without a Confirmation ({why})"
    if 400 <= status < 500:
        said += "; a 4xx mostly means a wrong URL, header or content type"
    return f"{said}: {quoted!r}" if quoted else said
