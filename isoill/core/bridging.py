"""What an accepted APDU changes on its transaction's ISO 18626 side, decided by pure code.

Two things may happen to an APDU intake accepts, and both may (a broker between two ISO 18626
peers):

- it came in as an ISO 18626 message (``Incoming.via``): the transaction's bridge state learns
  from it (:func:`isoill.bridge.state.received`), and the message as it came in is kept
  beside the APDU;
- its target is an ISO 18626 peer (the routes say so): the APDU, as the target is to have it
  (the sender's login and a withheld client-id cut), becomes the message for the target's
  schema (:func:`isoill.bridge.outbound.outbound`), with the state after it. That message is
  what the store keeps beside the APDU, and what delivery POSTs (adding the securityCode
  the target may demand, which is never stored). An APDU ISO 18626 has no
  form for is refused to its sender instead.

And one thing may happen to a delivery: an ISO 18626 target answers with an ERROR
Confirmation, final, which goes back to the APDU's sender as ISO 10161 says it
(:func:`refused_by_target`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from isoill.bridge import confirmations
from isoill.bridge.messages import Authentication
from isoill.bridge.outbound import Unmappable, outbound
from isoill.bridge.settings import PeerSettings18626
from isoill.bridge.state import Bridged, received
from isoill.codec.models import IllApdu, StatusOrErrorReport, TransactionIdProblem
from isoill.core.decision import Incoming
from isoill.core.views import TransactionRecord
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.ill.symbols import symbol_key, symbol_of
from isoill.iso18626 import wire
from isoill.iso18626.wire import NotSerialisable
from isoill.router import Protocol, RoutingTable, protocol_of

__all__ = [
    "Bridging",
    "TargetRefusal",
    "Unmappable",
    "bridged",
    "outgoing",
    "refused_by_target",
    "sender_symbol",
    "target_settings",
]


@dataclass(frozen=True)
class Bridging:
    """What an accepted APDU stores beside its BER: ``xml``, its ISO 18626 form (``None``:
    none), and ``state``, the transaction's bridge state after it as JSON text (``None``:
    unchanged)."""

    xml: bytes | None = None
    state: str | None = None


def bridged(record: TransactionRecord | None) -> Bridged | None:
    """The bridge state the store keeps for a transaction; ``None``: it has none.
    :class:`ValueError` for a state the store holds that is not one (never written so)."""
    if record is None or record.bridge is None:
        return None
    return Bridged.from_json(json.loads(record.bridge))


def target_settings(
    routes: RoutingTable, authentications: Mapping[str, Authentication], target: str | None
) -> PeerSettings18626 | None:
    """The settings of ``target`` if it is an ISO 18626 peer, with the
    ``requestingAgencyAuthentication`` the credentials file gives it; ``None`` otherwise."""
    route = routes.route(target) if target else None
    settings = route.settings18626 if route is not None else None
    if route is None or settings is None:
        return None
    authentication = authentications.get(symbol_key(route.symbol))
    return settings if authentication is None else replace(settings, authentication=authentication)


def outgoing(
    incoming: Incoming,
    record: TransactionRecord | None,
    target: PeerSettings18626 | None,
    apdu: IllApdu,
    role: Role | None,
) -> Bridging | Unmappable:
    """What ``apdu`` (the accepted APDU as its target is to have it) stores beside it: see
    the module's text. ``role`` is its sender's (the core's ``Routing.role``)."""
    before = bridged(record)
    state, xml = before, incoming.xml
    if incoming.via is not None:
        state = received(state, incoming.via)
    if target is not None:
        result = outbound(apdu, state, _kept(target), incoming.now, sender=role)
        if isinstance(result, Unmappable):
            return result
        try:
            xml = wire.serialise(result.model)
        except NotSerialisable as error:  # the mapping's fault; the sender learns why
            return Unmappable(f"the message for the ISO 18626 peer would not be valid: {error}")
        state = result.state
    changed = state is not None and state != before
    return Bridging(xml, json.dumps(state.to_json()) if changed and state else None)


def _kept(target: PeerSettings18626) -> PeerSettings18626:
    """``target`` for the message the store keeps: without the securityCode, a password
    added only when the message is POSTed (:mod:`isoill.transport.iso18626.link`)."""
    authentication = target.authentication
    if authentication is None or authentication.security_code is None:
        return target
    return replace(target, authentication=replace(authentication, security_code=None))


def sender_symbol(apdu: IllApdu, target: str | None) -> str | None:
    """Who sent ``apdu`` (delivered to ``target``): the requester for what a requester sends,
    the responder for what a responder sends, and for what either sends the party that is
    not the target."""
    requester = symbol_of(apdu.requester_id) or symbol_of(apdu.transaction_id.initial_requester_id)
    responder = symbol_of(apdu.responder_id)
    flow = APDU_FLOW.get(apdu.apdu_type)
    if flow is Flow.FROM_REQUESTER:
        return requester
    if flow is Flow.FROM_RESPONDER:
        return responder
    folded = symbol_key(target) if target else None
    if requester is not None and symbol_key(requester) != folded:
        return requester
    if responder is not None and symbol_key(responder) != folded:
        return responder
    return None


@dataclass(frozen=True)
class TargetRefusal:
    """An ISO 18626 target's ERROR Confirmation, for the sender of the APDU delivered:
    ``report``, the error-report saying why, to go to ``sender`` at ``addresses`` (its ISO
    10161 addresses now; none: the sender cannot be told). ``arrived``: the refusal of an
    ILL-Request sent again after an attempt whose answer was lost, as a duplicate request id:
    the first attempt reached the target, so the Request is delivered (with a warning)."""

    report: StatusOrErrorReport
    sender: str | None
    addresses: tuple[str, ...]
    arrived: bool = False


def refused_by_target(
    confirmation: wire.Message,
    apdu: IllApdu,
    target: str | None,
    settings: PeerSettings18626,
    routes: RoutingTable,
    now: datetime,
    *,
    attempts: int = 0,
) -> TargetRefusal | None:
    """What becomes of ``apdu``, delivered to the ISO 18626 peer ``target`` (its
    ``settings``) after ``attempts`` earlier attempts, which answered with
    ``confirmation``: ``None`` for OK (delivered), else the refusal to tell its sender of,
    dated in the target's zone."""
    report = confirmations.error_report(confirmation, apdu, settings, now)
    if report is None:
        return None
    sender = sender_symbol(apdu, target)
    found = routes.addresses(sender, now) if sender else ()
    addresses = tuple(str(a) for a in found if protocol_of(str(a)) is Protocol.ISO10161)
    error = report.error_report
    problem = error.provider_error_report if error is not None else None
    duplicate = problem is not None and (
        problem.transaction_id_problem is TransactionIdProblem.DUPLICATE_TRANSACTION_ID
    )
    arrived = duplicate and attempts > 0 and apdu.apdu_type == "ILL-Request"
    return TargetRefusal(report, sender, addresses, arrived)
