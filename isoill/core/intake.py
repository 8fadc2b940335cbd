"""What becomes of one APDU, decided by pure code: no I/O, no clock, no store.

:func:`read` takes what is known from the APDU alone (its transaction key, its dedup key, the
parties it names, the APDU without the sender's login). :func:`decide` takes an
:class:`~isoill.core.decision.Incoming` APDU, a :class:`~isoill.core.decision.View` of what
the store knows about its transaction, the gateway's :class:`Policy` and ``patience`` (whether
an APDU that may only have overtaken its predecessor may still wait for it), and returns one
:data:`~isoill.core.decision.Decision`, in this order of precedence:

1. a security refusal (the first APDU's login, in registered mode the sender and party
   checks);
2. a duplicate: acknowledged again, stored once;
3. a refusal by rules (the sender's ``sender_profile`` and the target's ``target_profile``);
4. the protocol machine: a new state, or (``enforce``) a wait for the predecessor or a
   refusal; ``warn`` and ``off`` let it pass, noted;
5. a Status-Query answered from history, when its target asks for that and cannot be reached;
6. unroutable: kept for operators, answered cannot-send-onward;
7. accepted (or held for an operator), acknowledged with the sender's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from isoill.bridge.messages import Authentication
from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.models import GeneralProblem, IllApdu, StatusOrErrorReport, TransactionIdProblem
from isoill.core import bridging, parties, privacy, reports
from isoill.core.acknowledgement import Party, acknowledgement
from isoill.core.decision import (
    Accept,
    AnswerFromHistory,
    ClientIdWithheld,
    Connection,
    Decision,
    Duplicate,
    Incoming,
    Message,
    Note,
    Prohibited,
    Read,
    Refuse,
    Routing,
    RuleFinding,
    Unroutable,
    View,
    WaitForPredecessor,
)
from isoill.core.parties import Named, Parties, Refusal
from isoill.core.tracking import NEW, dedup_key, sender_role, states_of
from isoill.core.views import Forward, TransactionRecord
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.ill.symbols import symbol_key, symbol_of, system_id
from isoill.ill.transaction_id import shown, transaction_key
from isoill.router import RoutingTable, select_target
from isoill.rules.engine import Context, Profile, judge
from isoill.transactions.machine import States, advance, event_of, may_follow


class PeerSettings(Protocol):
    """What intake reads of one peer's settings (``[peers.SYMBOL]``)."""

    @property
    def ack(self) -> Literal["status-report", "none"]: ...
    @property
    def sender_profile(self) -> str: ...
    @property
    def target_profile(self) -> str: ...
    @property
    def withhold_client_id(self) -> bool: ...
    @property
    def state_machine(self) -> Literal["enforce", "warn", "off"]: ...
    @property
    def status_from_history(self) -> bool: ...
    @property
    def forward_sender_login(self) -> bool: ...


class Settings(Protocol):
    """What intake reads of the gateway's configuration (:class:`isoill.config.Config`)."""

    @property
    def hold_unknown_requesters(self) -> bool: ...
    @property
    def peers(self) -> Mapping[str, PeerSettings]: ...
    def peer(self, symbol: str | None) -> PeerSettings: ...


@dataclass(frozen=True)
class Policy:
    """What intake decides by besides the APDU: the settings, the routes in effect (swapped
    whole on a reload), the rules profiles by name, and the ``requestingAgencyAuthentication``
    each ISO 18626 peer that demands one gets (by symbol, from the credentials file)."""

    settings: Settings
    routes: RoutingTable
    profiles: Mapping[str, Profile]
    authentications: Mapping[str, Authentication] = field(default_factory=dict)


def named_in(apdu: IllApdu) -> Named:
    """The parties an APDU names."""
    return Named(
        requester=symbol_of(apdu.requester_id),
        responder=symbol_of(apdu.responder_id),
        # Forward-Notification's alone; read from the fields, as a missing attribute of a pydantic
        # model raises (and catching that costs more than the rest of this function)
        intermediary=symbol_of(apdu.__dict__.get("intermediary_id")),
        initial=symbol_of(apdu.transaction_id.initial_requester_id),
    )


def read(apdu: IllApdu, ber: bytes, sent_at: datetime | None = None) -> Read:
    """What the APDU says of itself, before anything else is known; ``sent_at``: the timestamp
    of the ISO 18626 message it was mapped from, if it was."""
    named = named_in(apdu)
    key = transaction_key(apdu.transaction_id)
    cut, cut_ber = privacy.without_login(apdu, ber)
    return Read(
        apdu=apdu,
        ber=ber,
        key=key,
        dedup_key=dedup_key(cut, key, cut_ber, sent_at),
        named=named,
        sender=parties.sender_of(apdu.apdu_type, named)[1],
        cut=cut,
        cut_ber=cut_ber,
    )


def speaker(sender: str | None, connection: Connection) -> str | None:
    """Whose settings (``ack``, ``connection``, profiles) apply to an APDU: its sender's; in
    registered mode, the connection's peer's when the APDU names none of its peers and the
    connection speaks for one peer only."""
    symbols = connection.symbols
    if not connection.registered or sender in symbols or len(symbols) != 1:
        return sender
    (sole,) = symbols
    return sole


def decide(incoming: Incoming, view: View, policy: Policy, *, patience: bool = True) -> Decision:
    routing = route(incoming, view, policy)
    security = incoming.authentication or _party_refusal(incoming, view, policy)
    if security is not None:
        report = reports.security_problem(
            incoming.read.cut, security.problem, security.reason, incoming.now
        )
        keep = _kept(incoming, routing)
        return Refuse(routing, report, "security", keep, close=security.close)
    if view.duplicate is not None:
        reply = _acknowledgement(incoming, routing, states_of(view.record), policy)
        return Duplicate(routing, view.duplicate, reply)
    notes, refusal = _judge(incoming, routing, policy)
    if refusal is not None:
        return Refuse(routing, refusal, "rules", _kept(incoming, routing), notes=notes)
    step = _step(incoming, routing, view, policy, patience)
    if isinstance(step, WaitForPredecessor):
        return step
    states, prohibited, refusal = step
    notes += prohibited
    if refusal is not None:
        return Refuse(routing, refusal, None, _kept(incoming, routing), notes=notes)
    if _answered_from_history(incoming, routing, view, policy):
        return AnswerFromHistory(routing, notes)
    if not routing.addresses:
        reason = _unroutable(routing)
        report = reports.cannot_send_onward(incoming.read.cut, reason, incoming.now)
        return Unroutable(routing, _message(incoming, routing, None), reason, report, notes)
    return _accept(incoming, routing, view, policy, states, notes)


def _unmappable(incoming: Incoming, routing: Routing, reason: str) -> Refuse:
    """An APDU accepted for an ISO 18626 target that ISO 18626 has no form for: refused to
    its sender, the reason as the note, kept for the transaction's history."""
    note = f"the target {routing.target} speaks ISO 18626, which has no form for it: {reason}"
    report = reports.cannot_send_onward(incoming.read.cut, note, incoming.now)
    return Refuse(routing, report, "bridge", _kept(incoming, routing))


def route(incoming: Incoming, view: View, policy: Policy) -> Routing:
    """Who sent the APDU and where it goes (see :func:`isoill.router.select_target`)."""
    read, connection, now = incoming.read, incoming.connection, incoming.now
    named, apdu_type, symbols = read.named, read.apdu.apdu_type, connection.symbols
    record = view.record
    known = (None, None) if record is None else (record.requester_symbol, record.responder_symbol)
    role = sender_role(
        apdu_type, set(symbols), known[0] or named.requester, known[1] or named.responder
    )
    chosen = select_target(
        apdu_type,
        requester=named.requester,
        responder=named.responder,
        sender=symbols,
        counterpart=_other_party(known, symbols),
        default=connection.listener_default,
    )
    target = chosen.symbol
    looping = target is not None and symbol_key(target) in symbols
    addresses = policy.routes.addresses(target, now) if target and not looping else ()
    return Routing(
        sender=read.sender,
        speaker=speaker(read.sender, connection),
        role=role,
        target=target,
        rule=chosen.rule,
        addresses=tuple(str(address) for address in addresses),
        looping=looping,
    )


def history_report(
    incoming: Incoming,
    routing: Routing,
    record: TransactionRecord | None,
    last: tuple[str, datetime] | None,
) -> StatusOrErrorReport:
    """The answer to a Status-Query from the gateway's history: the state of the party it
    asks about, and the transaction's last service (``last``: its type and time, as the
    store has it; none: the query itself, now)."""
    now = incoming.now
    service, at = last if last is not None else (incoming.read.apdu.apdu_type, now)
    states = states_of(record)
    asked = states.requester if routing.role is Role.RESPONDER else states.responder
    initiator = None
    if record is not None and APDU_FLOW[service] is not Flow.EITHER:
        by_requester = APDU_FLOW[service] is Flow.FROM_REQUESTER
        symbol = record.requester_symbol if by_requester else record.responder_symbol
        initiator = system_id(symbol) if symbol else None
    return reports.status_from_history(
        incoming.read.cut, service, at, initiator, asked.current_state, now
    )


def malformed(error: CodecError, now: datetime) -> StatusOrErrorReport:
    """The refusal of an APDU that does not decode: provider error, the general-problem the
    codec names, the reason in the note."""
    problem = GeneralProblem.from_value(error.general_problem)
    return reports.provider_error(None, problem, str(error), now)


# -- the steps of decide ------------------------------------------------------------------


def _party_refusal(incoming: Incoming, view: View, policy: Policy) -> Refusal | None:
    """In registered mode: the sender check, and the party check on a known transaction."""
    connection, read = incoming.connection, incoming.read
    if not connection.registered:
        return None
    record = view.record
    known = None
    if record is not None:
        known = Parties(
            record.requester_symbol or read.named.initial,
            record.responder_symbol,
            frozenset(record.intermediaries),
        )
    return parties.check(
        read.apdu.apdu_type,
        read.named,
        connection.symbols,
        known,
        shown(read.key),
        policy.settings.peers,
    )


def _judge(
    incoming: Incoming, routing: Routing, policy: Policy
) -> tuple[tuple[Note, ...], StatusOrErrorReport | None]:
    """The sender's and the target's profiles: what they find, and the refusal if any rule
    refuses the APDU."""
    settings = policy.settings
    sender = settings.peer(routing.speaker).sender_profile
    target = settings.peer(routing.target).target_profile
    apdu = incoming.read.cut
    verdict = judge(apdu, Context(incoming.now), (policy.profiles[sender], policy.profiles[target]))
    notes: tuple[Note, ...] = tuple(RuleFinding(finding) for finding in verdict.findings)
    if not verdict.refused:
        return notes, None
    return notes, reports.rule_refusal(apdu, verdict.refusals, incoming.now)


def _step(
    incoming: Incoming, routing: Routing, view: View, policy: Policy, patience: bool
) -> WaitForPredecessor | tuple[States | None, tuple[Note, ...], StatusOrErrorReport | None]:
    """The transaction's two protocol machines moved by this APDU: the new states; or, when
    its state forbids it, a wait (``enforce``, an APDU that may have overtaken its
    predecessor, with ``patience``), or ``None`` with a note and the refusal (``enforce``) or
    none (``warn``, ``off``)."""
    apdu, key = incoming.read.cut, incoming.read.key
    mode = policy.settings.peer(routing.speaker).state_machine
    event = event_of(apdu)
    states = states_of(view.record)
    result = advance(states, event, routing.role)
    if isinstance(result, States):
        return result, (), None
    early = apdu.apdu_type != "ILL-Request" and may_follow(states, event, routing.role)
    if mode == "enforce" and early and patience:
        return WaitForPredecessor(routing, result.state.value)
    if states == NEW:
        reason = f"no transaction {key} has been started through this gateway"
    elif apdu.apdu_type == "ILL-Request":
        reason = f"transaction {key} exists already"
    else:
        role = result.role.value
        reason = f"{apdu.apdu_type} is not allowed while the {role} is {result.state.value}"
    notes: tuple[Note, ...] = (Prohibited(reason, mode),)
    if mode != "enforce":
        return None, notes, None
    now = incoming.now
    if states == NEW:
        problem = TransactionIdProblem.UNKNOWN_TRANSACTION_ID
        return None, notes, reports.transaction_id_problem(apdu, problem, reason, now)
    if apdu.apdu_type == "ILL-Request":
        problem = TransactionIdProblem.DUPLICATE_TRANSACTION_ID
        return None, notes, reports.transaction_id_problem(apdu, problem, reason, now)
    current = result.state.current_state
    return None, notes, reports.state_transition_prohibited(apdu, current, reason, now)


def _answered_from_history(
    incoming: Incoming, routing: Routing, view: View, policy: Policy
) -> bool:
    """Whether a Status-Query is answered by the gateway: its target asks for it
    (``status_from_history``) and cannot be reached now."""
    if incoming.read.apdu.apdu_type != "Status-Query":
        return False
    if not policy.settings.peer(routing.target).status_from_history:
        return False
    return all(address in view.unreachable for address in routing.addresses)


def _accept(
    incoming: Incoming,
    routing: Routing,
    view: View,
    policy: Policy,
    states: States | None,
    notes: tuple[Note, ...],
) -> Accept | Refuse:
    """Store the APDU for delivery (or hold it for an operator), with its transaction's new
    ``states`` (``None``: unchanged), and acknowledge it."""
    read, settings = incoming.read, policy.settings
    target = settings.peer(routing.target)
    # The bytes stored are the bytes sent: the sender's login only to a target that asks.
    received = read.ber if target.forward_sender_login else read.cut_ber
    ber = privacy.withheld(received, read.cut, target.withhold_client_id)
    if ber is not None:
        notes += (ClientIdWithheld(),)
    message = _message(incoming, routing, states, received if ber is None else ber)
    settings18626 = bridging.target_settings(policy.routes, policy.authentications, routing.target)
    if settings18626 is not None or incoming.via is not None:
        # The message the target gets is the APDU it is to have: a withheld client-id cut.
        sent = read.cut if ber is None else decode(ber)
        bridged = bridging.outgoing(incoming, view.record, settings18626, sent, routing.role)
        if isinstance(bridged, bridging.Unmappable):
            return _unmappable(incoming, routing, bridged.reason)
        message = replace(message, xml=bridged.xml, bridge=bridged.state)
    after = states if states is not None else states_of(view.record)
    reply = _acknowledgement(incoming, routing, after, policy)
    return Accept(routing, message, _held_because(incoming, policy), reply, notes)


def _message(
    incoming: Incoming, routing: Routing, states: States | None, ber: bytes | None = None
) -> Message:
    """The APDU as the store keeps it (without the sender's login unless ``ber`` says)."""
    read = incoming.read
    named = read.named
    forward = None
    if read.apdu.apdu_type == "Forward-Notification" and named.responder and named.intermediary:
        forward = Forward(named.responder, named.intermediary)
    return Message(
        peer=routing.speaker or incoming.connection.address,
        apdu_type=read.apdu.apdu_type,
        transaction_key=read.key,
        target_symbol=routing.target,
        ber=read.cut_ber if ber is None else ber,
        requester_symbol=named.requester,
        responder_symbol=named.responder,
        dedup_key=read.dedup_key,
        states=None if states is None else (states.requester.value, states.responder.value),
        forward=forward,
        xml=incoming.xml,
    )


def _kept(incoming: Incoming, routing: Routing) -> Message:
    """A refused APDU as the transaction's history keeps it."""
    return _message(incoming, routing, None)


def _acknowledgement(
    incoming: Incoming, routing: Routing, states: States, policy: Policy
) -> bytes | None:
    """The answer to a stored APDU: a status-report with its sender's state now."""
    if policy.settings.peer(routing.speaker).ack == "none":
        return None
    responder = routing.role is Role.RESPONDER
    own = states.responder if responder else states.requester
    initiator: Party = "responder-id" if responder else "requester-id"
    return acknowledgement(incoming.read.cut_ber, incoming.now, own.current_state, initiator)


def _held_because(incoming: Incoming, policy: Policy) -> str | None:
    """Why an ILL-Request is held for an operator to release or refuse (with
    ``hold_unknown_requesters``, when its requester is not in ``peers``); ``None`` when it
    goes on."""
    settings = policy.settings
    if not settings.hold_unknown_requesters or incoming.read.apdu.apdu_type != "ILL-Request":
        return None
    requester = incoming.read.named.requester
    if requester in settings.peers:
        return None
    return f"requester {requester} is not a configured peer" if requester else "no requester"


def _unroutable(routing: Routing) -> str:
    target = routing.target
    if target is not None and routing.looping:
        return f"{target} is the sender: the APDU would come back to it"
    return f"no route to {target}" if target else "no target symbol for this APDU"


def _other_party(known: tuple[str | None, str | None], senders: frozenset[str]) -> str | None:
    requester, responder = known
    if requester is not None and requester in senders:
        return responder
    if responder is not None and responder in senders:
        return requester
    return responder or requester
