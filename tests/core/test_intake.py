"""Decisions about single APDUs, without sockets, store or clock (h11's style): an APDU and a
view of what the store knows go in, a decision value comes out. What the daemon tests assert
end to end, asserted here on the decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from access_support import request as captured_request
from intake_support import NOW, REQUESTER_AT, RESPONDER_AT, ROUTES, Ledger, incoming, policy
from transaction_apdus import REQUESTER, RESPONDER, apdu

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    CurrentState,
    GeneralProblem,
    ILLRequest,
    ReportSource,
    ShippedServiceType,
    StatusOrErrorReport,
    TransactionIdProblem,
    TransactionResults,
)
from isoill.core.decision import (
    Accept,
    AnswerFromHistory,
    ClientIdWithheld,
    Decision,
    Duplicate,
    Prohibited,
    Refuse,
    RuleFinding,
    Unroutable,
    WaitForPredecessor,
)
from isoill.core.intake import history_report
from isoill.core.parties import Refusal
from isoill.ill.prompt import login_of
from isoill.router import RoutingTable
from isoill.rules.engine import Severity


def report_of(decision: Decision) -> StatusOrErrorReport:
    assert isinstance(decision, Refuse | Unroutable), decision
    return decision.report


def acknowledged_state(reply: bytes | None) -> CurrentState | None:
    """The sender's state an acknowledgement reports; ``None`` for reason-no-report."""
    assert reply is not None
    ack = decode(reply)
    assert isinstance(ack, StatusOrErrorReport) and ack.error_report is None
    if ack.status_report is None:
        return None
    return ack.status_report.provider_status_report


ENFORCE = "".join(f'[peers.{symbol}]\nstate_machine = "enforce"\n' for symbol in ROUTES)


# -- the protocol machine -------------------------------------------------------------------


def test_a_whole_loan_moves_both_machines_and_each_sender_hears_its_state() -> None:
    ledger = Ledger(policy(ENFORCE))
    steps = [
        ("ILL-Request", {}, CurrentState.PENDING, RESPONDER),
        ("Shipped", {}, CurrentState.SHIPPED, REQUESTER),
        ("Received", {}, CurrentState.RECEIVED, RESPONDER),
        ("Renew", {}, None, RESPONDER),  # no most-recent-service: reason-no-report
        ("Renew-Answer", {"answer": True}, CurrentState.SHIPPED, REQUESTER),
        ("Returned", {}, CurrentState.RETURNED, RESPONDER),
        ("Checked-In", {}, CurrentState.CHECKED_IN, REQUESTER),
    ]
    for name, extra, state, target in steps:
        decision = ledger.decide(apdu(name, "LOAN", **extra))  # type: ignore[arg-type]
        assert isinstance(decision, Accept), (name, decision)
        assert decision.routing.target == target
        assert decision.routing.addresses == tuple(ROUTES[target])
        assert acknowledged_state(decision.reply) == state, name
    assert ledger.record is not None
    assert (ledger.record.requester_state, ledger.record.responder_state) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    late = report_of(ledger.decide(apdu("Received", "LOAN")))
    assert late.error_report is not None and late.error_report.provider_error_report is not None
    prohibited = late.error_report.provider_error_report.state_transition_prohibited
    assert prohibited is not None and prohibited.current_state is CurrentState.CHECKED_IN


def test_a_copy_needs_no_return() -> None:
    ledger = Ledger(policy(ENFORCE))
    shipped = apdu("Shipped", "COPY", shipped=ShippedServiceType.COPY_NON_RETURNABLE)
    for ber in (apdu("ILL-Request", "COPY"), shipped, apdu("Received", "COPY")):
        assert isinstance(ledger.decide(ber), Accept)


def test_an_apdu_of_a_transaction_nobody_started_is_refused() -> None:
    decision = Ledger(policy(ENFORCE)).decide(apdu("Shipped", "NOBODY"))
    assert isinstance(decision, Refuse) and decision.cause is None
    assert decision.keep is not None and decision.keep.apdu_type == "Shipped"
    report = decision.report
    assert report.error_report is not None and report.error_report.provider_error_report
    problem = report.error_report.provider_error_report.transaction_id_problem
    assert problem is TransactionIdProblem.UNKNOWN_TRANSACTION_ID
    (note,) = decision.notes
    assert isinstance(note, Prohibited) and note.mode == "enforce"


def test_an_early_apdu_waits_while_patience_lasts() -> None:
    """A Received before its Shipped may have overtaken it: wait; refused once patience is
    gone; accepted once the Shipped is in."""
    ledger = Ledger(policy(ENFORCE))
    ledger.decide(apdu("ILL-Request", "CROSS"))
    received = apdu("Received", "CROSS")
    waiting = ledger.decide(received)
    assert isinstance(waiting, WaitForPredecessor) and waiting.state == "PENDING"
    refused = report_of(ledger.decide(received, patience=False))
    assert refused.error_report is not None and refused.error_report.provider_error_report
    assert refused.error_report.provider_error_report.state_transition_prohibited is not None
    assert isinstance(ledger.decide(apdu("Shipped", "CROSS")), Accept)
    assert isinstance(ledger.decide(received), Accept)


def test_a_second_request_with_a_used_transaction_id_is_refused() -> None:
    ledger = Ledger(policy(ENFORCE))
    assert isinstance(ledger.decide(apdu("ILL-Request", "TWICE")), Accept)
    report = report_of(ledger.decide(apdu("ILL-Request", "TWICE")))
    assert report.error_report is not None and report.error_report.provider_error_report
    problem = report.error_report.provider_error_report.transaction_id_problem
    assert problem is TransactionIdProblem.DUPLICATE_TRANSACTION_ID


def test_warn_mode_forwards_what_the_state_forbids_and_notes_it() -> None:
    decision = Ledger(policy()).decide(apdu("Received", "WARN"))
    assert isinstance(decision, Accept) and decision.message.states is None
    (note,) = decision.notes
    assert note == Prohibited(
        'no transaction ["REQLIB", "grp", "WARN", null] has been started through this gateway',
        "warn",
    )


def test_an_apdu_received_again_is_acknowledged_and_stored_once() -> None:
    ledger = Ledger(policy(ENFORCE))
    request = apdu("ILL-Request", "RETRY")
    assert isinstance(ledger.decide(request), Accept)
    again = ledger.decide(request)
    assert isinstance(again, Duplicate) and again.earlier == 1
    assert acknowledged_state(again.reply) is CurrentState.PENDING


def test_a_status_query_is_answered_from_history_while_the_target_is_down() -> None:
    ledger = Ledger(policy(ENFORCE + "status_from_history = true\n"))  # for RESPLIB
    ledger.decide(apdu("ILL-Request", "QUERY"))
    assert isinstance(ledger.decide(apdu("Status-Query", "QUERY")), Accept)  # RESPLIB is up
    ledger.unreachable = frozenset(ROUTES[RESPONDER])
    query = apdu("Status-Query", "QUERY")
    decision = ledger.decide(query, symbols=frozenset({REQUESTER}))
    assert isinstance(decision, AnswerFromHistory)
    report = history_report(incoming(query), decision.routing, ledger.record, None)
    assert "from its history" in str(report.note)
    assert report.status_report is not None
    assert report.status_report.provider_status_report is CurrentState.IN_PROCESS


# -- rules ----------------------------------------------------------------------------------


def test_the_targets_profile_refuses_a_request_and_names_what_to_fix() -> None:
    oclc = policy(f'[peers.{RESPONDER}]\ntarget_profile = "oclc"\n')
    ber = captured_request(1, requester=REQUESTER)  # yaz-illclient's: not to OCLC's profile
    decision = Ledger(oclc).decide(ber)
    assert isinstance(decision, Refuse) and decision.cause == "rules"
    assert decision.keep is not None
    refusals = [n.finding for n in decision.notes if isinstance(n, RuleFinding)]
    assert refusals and all(f.severity is Severity.REFUSE for f in refusals)
    assert {f.profile for f in refusals} == {"oclc"}
    assert decision.report.error_report is not None
    assert decision.report.error_report.report_source is ReportSource.USER


def test_a_protocol_version_refusal_is_a_provider_error() -> None:
    decision = Ledger(policy(f'[peers.{RESPONDER}]\ntarget_profile = "ipig"\n')).decide(
        _with_version(apdu("ILL-Request", "V3"), 3)
    )
    report = report_of(decision)
    assert report.error_report is not None and report.error_report.provider_error_report
    problem = report.error_report.provider_error_report.general_problem
    assert problem is GeneralProblem.PROTOCOL_VERSION_NOT_SUPPORTED
    assert report.protocol_version_num == 2  # answered in the gateway's version


def test_the_senders_profile_and_a_rule_turned_down_to_a_warning() -> None:
    will_supply = apdu("ILL-Answer", "WILL", results=TransactionResults.WILL_SUPPLY)
    oclc = policy(f'[peers.{RESPONDER}]\nsender_profile = "oclc"\n')
    refused = report_of(Ledger(oclc).decide(will_supply))
    assert "send Shipped when the item is sent" in str(refused.note)
    lenient = policy(
        f'[peers.{RESPONDER}]\nsender_profile = "oclc-warn"\n'
        '[profiles.oclc-warn]\ninclude = ["oclc"]\nwarn = ["oclc-no-will-supply"]\n'
    )
    warned = Ledger(lenient).decide(will_supply)
    assert isinstance(warned, Accept)
    (finding,) = [n.finding for n in warned.notes if isinstance(n, RuleFinding)]
    assert (finding.rule.name, finding.severity) == ("oclc-no-will-supply", Severity.WARN)


def _with_version(ber: bytes, version: int) -> bytes:
    return encode(decode(ber).model_copy(update={"protocol_version_num": version}))


# -- held requests --------------------------------------------------------------------------


HOLDING = "hold_unknown_requesters = true\n[peers.KNOWN]\n"


def test_a_request_from_an_unknown_requester_is_held_and_acknowledged() -> None:
    decision = Ledger(policy(HOLDING)).decide(apdu("ILL-Request", "HELD"))
    assert isinstance(decision, Accept)
    assert decision.held == "requester REQLIB is not a configured peer"
    assert acknowledged_state(decision.reply) is CurrentState.PENDING
    known = Ledger(policy(HOLDING + f"[peers.{REQUESTER}]\n")).decide(apdu("ILL-Request", "OK"))
    assert isinstance(known, Accept) and known.held is None


def test_an_unroutable_request_is_not_held() -> None:
    routes = {REQUESTER: [REQUESTER_AT]}  # none for RESPLIB
    decision = Ledger(policy(HOLDING, routes=routes)).decide(apdu("ILL-Request", "NOWHERE"))
    assert isinstance(decision, Unroutable)
    assert decision.reason == "no route to RESPLIB"
    assert decision.report.error_report is not None


# -- routing ---------------------------------------------------------------------------------


def test_what_a_target_would_send_back_to_itself_is_unroutable() -> None:
    decision = Ledger(policy()).decide(apdu("Message", "LOOP"), symbols=frozenset({REQUESTER}))
    assert isinstance(decision, Accept) and decision.routing.target == RESPONDER
    looping = Ledger(policy()).decide(
        apdu("Shipped", "LOOP"), symbols=frozenset({REQUESTER})
    )  # a responder's APDU to the requester, from the requester's own connection
    assert isinstance(looping, Unroutable)
    assert looping.reason == "REQLIB is the sender: the APDU would come back to it"


def test_an_apdu_naming_no_target_goes_to_the_listeners_default() -> None:
    ber = captured_request(2, requester=REQUESTER, responder="")
    assert isinstance(Ledger(policy()).decide(ber), Unroutable)
    decision = Ledger(policy()).decide(ber, default=RESPONDER)
    assert isinstance(decision, Accept) and decision.routing.rule == "default"


# -- privacy and logins ----------------------------------------------------------------------


def test_the_patron_is_withheld_from_a_target_that_withholds_it() -> None:
    ber = captured_request(3, requester=REQUESTER)
    kept = Ledger(policy()).decide(ber)
    assert isinstance(kept, Accept) and kept.message.ber == ber and kept.notes == ()
    withholding = policy(f"[peers.{RESPONDER}]\nwithhold_client_id = true\n")
    decision = Ledger(withholding).decide(ber)
    assert isinstance(decision, Accept) and ClientIdWithheld() in decision.notes
    stored = decode(decision.message.ber)
    assert isinstance(stored, ILLRequest) and stored.client_id is None


def test_the_senders_login_is_cut_unless_the_target_asks_for_it() -> None:
    ber = captured_request(4, requester=REQUESTER, login=("reqlib", "secret"))
    arriving = incoming(ber)
    assert login_of(arriving.read.apdu) is not None and login_of(arriving.read.cut) is None
    decision = Ledger(policy()).decide(ber)
    assert isinstance(decision, Accept) and decision.message.ber == arriving.read.cut_ber
    assert b"secret" not in decision.message.ber and decision.reply is not None
    assert b"secret" not in decision.reply
    asking = Ledger(policy(f"[peers.{RESPONDER}]\nforward_sender_login = true\n"))
    passed = asking.decide(ber)
    assert isinstance(passed, Accept) and passed.message.ber == ber


# -- access ------------------------------------------------------------------------------------


def test_a_refused_login_is_answered_and_closes() -> None:
    refusal = Refusal("Prompt-1 credentials required", "the first APDU must log in", close=True)
    decision = Ledger(policy()).decide(
        apdu("ILL-Request", "LOGIN"), registered=True, symbols=frozenset(), authentication=refusal
    )
    assert isinstance(decision, Refuse) and decision.close and decision.cause == "security"
    assert decision.report.error_report is not None
    user = decision.report.error_report.user_error_report
    assert user is not None and user.security_problem is not None
    assert user.security_problem.text == "Prompt-1 credentials required"


def test_a_library_that_is_no_party_is_refused_and_kept_for_the_history() -> None:
    ledger = Ledger(policy(f"[peers.{REQUESTER}]\n[peers.{RESPONDER}]\n[peers.BLIB]\n"))
    assert isinstance(
        ledger.decide(
            apdu("ILL-Request", "ALIBS"), registered=True, symbols=frozenset({REQUESTER})
        ),
        Accept,
    )
    meddling = ledger.decide(apdu("Cancel", "ALIBS"), registered=True, symbols=frozenset({"BLIB"}))
    assert isinstance(meddling, Refuse) and meddling.cause == "security"
    assert meddling.keep is not None and meddling.keep.peer == "BLIB"
    own = ledger.decide(apdu("Cancel", "ALIBS"), registered=True, symbols=frozenset({REQUESTER}))
    assert isinstance(own, Accept)


def test_the_clock_is_what_the_caller_says() -> None:
    """Routes in a move window take effect at the time the APDU is decided at."""
    routes = policy()
    moved = RoutingTable.parse(
        f'[peers.{RESPONDER}]\naddresses = ["{RESPONDER_AT}"]\n'
        f'[peers.{RESPONDER}.move]\nto = ["192.0.2.30:499"]\n'
        f"start = {(NOW + timedelta(hours=1)).isoformat()}\n"
        f"cutover = {(NOW + timedelta(hours=2)).isoformat()}\n"
    )
    routes = replace(routes, routes=moved)
    before = Ledger(routes).decide(apdu("ILL-Request", "MOVE"))
    during = Ledger(routes).decide(apdu("ILL-Request", "MOVE"), now=NOW + timedelta(hours=1.5))
    after = Ledger(routes).decide(apdu("ILL-Request", "MOVE"), now=NOW + timedelta(hours=3))
    assert isinstance(before, Accept) and before.routing.addresses == (RESPONDER_AT,)
    assert isinstance(during, Accept)
    assert set(during.routing.addresses) == {RESPONDER_AT, "192.0.2.30:499"}
    assert isinstance(after, Accept) and after.routing.addresses == ("192.0.2.30:499",)


@pytest.mark.parametrize("name", ["Lost", "Damaged", "Expired", "Status-Query", "Message"])
def test_either_party_apdus_go_to_the_other_party(name: str) -> None:
    ledger = Ledger(policy())
    ledger.decide(apdu("ILL-Request", "EITHER"))
    from_responder = ledger.decide(apdu(name, "EITHER"), symbols=frozenset({RESPONDER}))
    assert isinstance(from_responder, Accept) and from_responder.routing.target == REQUESTER
