"""One ISO 18626 message through the gateway, from the body a peer POSTed to the answer it
gets, whatever carried it: read by :func:`isoill.iso18626.wire.parse` in the sending peer's
schema, mapped to its APDU by :func:`isoill.bridge.inbound.inbound`, judged and stored by
:meth:`IntakeService.receive`, and answered with the Confirmation of intake's answer
(:func:`isoill.bridge.confirmations.confirmation`). The HTTP around it is the endpoint's
(:mod:`isoill.transport.iso18626.endpoint`).

Which settings a message is read with: in registered mode, those of the one peer its
connection speaks for; otherwise those of the agency that sends it (the requesting agency of
a Request or a requesting agency message, the supplying agency of a supplying agency message),
whose message is read again in its own schema if it declared the other. A peer without ISO
18626 settings of its own gets :data:`DEFAULT_SETTINGS` in the schema it declares.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from isoill import logs, metrics
from isoill.bridge import confirmations, forms
from isoill.bridge.agency import AgencyId, symbol_for
from isoill.bridge.inbound import inbound
from isoill.bridge.messages import Authentication, Confirmation
from isoill.bridge.settings import PeerSettings18626
from isoill.bridge.times import OutOfRange
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import StatusOrErrorReport
from isoill.ill.prompt import Login
from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.messages import MessageKind, Version
from isoill.service.access import Identity
from isoill.service.clock import Clock
from isoill.service.intake import IntakeService
from isoill.service.origin import Origin

#: Seconds a peer is told to wait before it sends again a message that could not be stored.
RETRY_AFTER = 30

#: The ISO 18626 settings of the peer a symbol names; ``None`` for a peer that has none: it
#: gets :data:`DEFAULT_SETTINGS`, in the schema its message declares.
SettingsOf = Callable[[str], PeerSettings18626 | None]

DEFAULT_SETTINGS = PeerSettings18626()

_UTC = ZoneInfo("UTC")  # the sender's id is read before its zone is known; it has none


def no_peer_settings(symbol: str) -> PeerSettings18626 | None:
    """No peer has ISO 18626 settings of its own (an endpoint built without routes, as in
    tests): each is read in the schema its messages declare, with the rest of
    :data:`DEFAULT_SETTINGS`. The daemon gives the routes' settings instead."""
    return None


@dataclass(frozen=True)
class Sender:
    """Who a message comes from, as far as its connection says: the address, in registered
    mode the peers it may speak for (``None``: open mode), and the login the request carried
    outside the message (HTTP Basic auth)."""

    address: str
    peers: frozenset[str] | None = None
    login: Login | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Answer:
    """What to answer: an HTTP status, a body (a Confirmation when ``xml``, else a line of
    text), headers, and the message the body held, if that much was read."""

    status: int
    body: bytes
    xml: bool = False
    kind: MessageKind | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Messages:
    """What becomes of the messages an endpoint takes: ``settings_of`` gives a peer's ISO
    18626 settings by its symbol, ``max_size`` bounds a body, ``default_target`` is for a
    message that names no supplying agency."""

    def __init__(
        self,
        intake: IntakeService,
        clock: Clock,
        settings_of: SettingsOf,
        max_size: int,
        default_target: str | None,
    ) -> None:
        self.intake = intake
        self.clock = clock
        self.settings_of = settings_of
        self.max_size = max_size
        self.default_target = default_target
        self.log = logs.get(listener="iso18626")

    async def answer(self, body: bytes, sender: Sender) -> Answer:
        """The answer to one POSTed body."""
        prior = self._prior(sender)
        version = prior.version if prior is not None else None
        try:
            parsed = wire.parse(body, version=version, max_size=self.max_size)
            version = parsed.version
            if parsed.kind not in confirmations.CONFIRMATION_OF:
                return self._not_a_message(parsed.kind, sender)
            try:
                message = forms.read(parsed.model, _UTC)
            except OutOfRange as error:
                raise Refusal(
                    ErrorType.UNRECOGNISED_DATA_VALUE, str(error), kind=parsed.kind
                ) from None
            assert not isinstance(message, Confirmation)  # answered above
            header = message.header
            agency = _speaker(parsed.kind, header.requesting_agency, header.supplying_agency)
            settings = prior or self.settings_of(symbol_for(agency))
            if settings is None:
                settings = dataclasses.replace(DEFAULT_SETTINGS, version=parsed.version)
            elif settings.version is not parsed.version:  # the peer's schema, not the declared
                version = settings.version
                parsed = wire.parse(body, version=version, max_size=self.max_size)
            found = inbound(parsed, settings)
            if isinstance(found, Refusal):
                raise found
        except Refusal as refusal:
            return self._refused(refusal, version or Version.V1_2, sender)
        speaker = symbol_for(agency, settings.agencies)
        origin = self._origin(sender, speaker, parsed.kind, header.authentication)
        outcome = await self.intake.receive(encode(found.apdu), origin, found.via, xml=parsed.kept)
        report = _report(outcome.reply)
        if report is not None and confirmations.temporary(report):
            note = report.note.text if report.note is not None else "refused for now"
            metrics.REJECTIONS.labels("iso18626-unavailable").inc()
            self.log.warning("ISO 18626 message not stored", peer=sender.address, reason=note)
            return Answer(
                503,
                f"not stored: {note}\n".encode(),
                kind=parsed.kind,
                headers={"Retry-After": str(RETRY_AFTER)},
            )
        confirmation = confirmations.confirmation(found.via, report, self.clock.now())
        return Answer(200, wire.serialise(confirmation), xml=True, kind=parsed.kind)

    def _prior(self, sender: Sender) -> PeerSettings18626 | None:
        """The settings to read a message with before it says who sends it: those of the one
        peer a registered connection speaks for."""
        if sender.peers is None or len(sender.peers) != 1:
            return None
        (sole,) = sender.peers
        return self.settings_of(sole)

    def _origin(
        self,
        sender: Sender,
        speaker: str,
        kind: MessageKind,
        authentication: Authentication | None,
    ) -> Origin:
        """Intake's origin of one message: in open mode the agency that sends it
        (``speaker``) as the symbol seen, as an ISO 10161 connection's sender is (an APDU
        either party sends names none, and would be routed back to its sender); in
        registered mode the peers it may speak for and the login it carries (HTTP Basic auth
        first, else a Request's or requesting agency message's
        ``requestingAgencyAuthentication``)."""
        if sender.peers is None:
            return Origin(sender.address, self.default_target, {speaker})
        peers = set(sender.peers)
        login = sender.login
        if login is None and kind is not MessageKind.SUPPLYING_AGENCY_MESSAGE:
            login = _header_login(authentication)
        identity = Identity(peers, http=True, login=login)
        return Origin(sender.address, self.default_target, peers, identity=identity)

    def _refused(self, refusal: Refusal, version: Version, sender: Sender) -> Answer:
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
            text = f"not an ISO 18626 message: {refusal.error_value}\n"
            return Answer(400, text.encode(), kind=refusal.kind)
        return Answer(200, wire.serialise(model), xml=True, kind=refusal.kind)

    def _not_a_message(self, kind: MessageKind, sender: Sender) -> Answer:
        reason = f"a {kind} is the answer in an exchange, not a message to POST"
        metrics.REJECTIONS.labels("iso18626-confirmation").inc()
        self.log.warning("ISO 18626 message refused", peer=sender.address, error=reason)
        return Answer(400, f"{reason}\n".encode(), kind=kind)


def _speaker(kind: MessageKind, requesting: AgencyId, supplying: AgencyId | None) -> AgencyId:
    """The agency that sends a message: the supplying agency of a supplying agency message,
    the requesting agency of the others."""
    if kind is MessageKind.SUPPLYING_AGENCY_MESSAGE and supplying is not None:
        return supplying
    return requesting


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
