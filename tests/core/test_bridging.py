"""The core's part of the bridge, without sockets or store: an APDU accepted for an ISO 18626
target carries the message the target is POSTed and the transaction's next bridge state, in
the target's schema and with its authentication; an APDU ISO 18626 has no form for is refused
to its sender; an APDU that came in as ISO 18626 leaves the state it learnt and the message as
it came; an ERROR Confirmation from a target is the report its sender gets."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bridge_support import apdu, ill_request, received
from bridge_support import peer as settings18626

from isoill.bridge.messages import Authentication
from isoill.bridge.state import Bridged
from isoill.bridge.state import received as learnt
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import IntermediaryProblem, StatusOrErrorReport
from isoill.config import Config
from isoill.core import bridging
from isoill.core.decision import Accept, Connection, Incoming, Refuse, View
from isoill.core.intake import Policy, decide, read
from isoill.core.views import TransactionRecord
from isoill.iso18626 import wire
from isoill.iso18626.messages import MessageKind, Version
from isoill.router import RoutingTable

NOW = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
URL = "http://127.0.0.1:9100/iso18626"
DATA = Path(__file__).resolve().parents[1] / "data" / "iso18626"
ROUTES = f"""
[peers.REQLIB]
addresses = ["192.0.2.10:499"]
[peers.RESPLIB]
protocol = "iso18626"
addresses = ["{URL}"]
[peers.RESPLIB.iso18626]
version = "2021"
timezone = "Europe/Berlin"
"""


def policy(routes: str = ROUTES, **authentications: Authentication) -> Policy:
    config = Config.model_validate(tomllib.loads("[[listeners]]\nport = 0\n"))
    return Policy(config, RoutingTable.parse(routes), config.rule_profiles(), authentications)


def incoming(ber: bytes, **extra: object) -> Incoming:
    connection = Connection("192.0.2.10:40000", frozenset({"REQLIB"}))
    return Incoming(read(decode(ber), ber), connection, NOW, **extra)  # type: ignore[arg-type]


def test_a_request_for_an_iso18626_target_carries_its_message_and_state() -> None:
    ber = encode(ill_request())
    koha = Authentication("isoill-1", "secret")
    decision = decide(incoming(ber), View(None), policy(RESPLIB=koha))
    assert isinstance(decision, Accept), decision
    assert decision.routing.addresses == (URL,)
    message = decision.message
    assert message.ber == ber  # the APDU is stored as received, the XML beside it
    assert message.xml is not None
    parsed = wire.parse(message.xml, version=Version.V2021)
    assert parsed.kind is MessageKind.REQUEST
    header = parsed.model.request.header  # type: ignore[union-attr]
    assert header.requesting_agency_request_id.value == "grp/42"
    auth = header.requesting_agency_authentication
    # The password is added at each POST, never stored: the account stays.
    assert auth is not None and (auth.account_id, auth.security_code) == ("isoill-1", None)
    assert b"secret" not in message.xml
    assert message.bridge is not None
    state = Bridged.from_json(json.loads(message.bridge))
    assert (state.requesting_request_id, state.version) == ("grp/42", Version.V2021)
    assert decision.reply is not None  # acknowledged as usual


def test_the_state_goes_on_from_the_stored_one() -> None:
    first = decide(incoming(encode(ill_request())), View(None), policy())
    assert isinstance(first, Accept) and first.message.bridge is not None
    record = TransactionRecord(
        1, first.message.transaction_key, "REQLIB", "RESPLIB", "PENDING", "PENDING", NOW, NOW
    )
    record = replace(record, bridge=first.message.bridge)
    cancel_ber = encode(apdu("Cancel", NOW, {"requester-note": "not needed"}))
    decision = decide(incoming(cancel_ber), View(record), policy())
    assert isinstance(decision, Accept), decision
    assert decision.message.xml is not None
    parsed = wire.parse(decision.message.xml, version=Version.V2021)
    assert parsed.kind is MessageKind.REQUESTING_AGENCY_MESSAGE
    assert decision.message.bridge is not None
    state = Bridged.from_json(json.loads(decision.message.bridge))
    assert state.question is not None and state.question.value == "Cancel"


def test_an_apdu_iso18626_cannot_carry_is_refused_to_its_sender() -> None:
    ber = encode(ill_request({"iLL-service-type": ["locations"]}))
    decision = decide(incoming(ber), View(None), policy())
    assert isinstance(decision, Refuse), decision
    assert decision.cause == "bridge"
    report = decision.report
    error = report.error_report
    assert error is not None and error.user_error_report is not None
    problem = error.user_error_report.intermediary_problem
    assert problem is IntermediaryProblem.CANNOT_SEND_ONWARD
    assert report.note is not None
    assert "RESPLIB speaks ISO 18626, which has no form for it" in report.note.text
    assert "not locations" in report.note.text
    assert decision.keep is not None  # kept for the transaction's history


def test_an_iso10161_target_gets_no_xml() -> None:
    routes = '[peers.REQLIB]\naddresses = ["192.0.2.10:499"]\n'
    routes += '[peers.RESPLIB]\naddresses = ["192.0.2.20:499"]\n'
    decision = decide(incoming(encode(ill_request())), View(None), policy(routes))
    assert isinstance(decision, Accept)
    assert (decision.message.xml, decision.message.bridge) == (None, None)


def test_a_message_that_came_in_as_iso18626_leaves_its_state_and_itself() -> None:
    routes = '[peers.DE-SUP1]\naddresses = ["192.0.2.20:499"]\n'
    body = (DATA / "v2021" / "Request.xml").read_bytes()
    found = received(body, settings18626(Version.V2021))
    ber = encode(found.apdu)
    arriving = incoming(ber, via=found.via, xml=body)
    decision = decide(arriving, View(None), policy(routes))
    assert isinstance(decision, Accept), decision
    assert decision.message.xml == body
    assert decision.message.bridge is not None
    assert Bridged.from_json(json.loads(decision.message.bridge)) == learnt(None, found.via)


def test_an_error_confirmation_is_the_report_for_the_sender() -> None:
    request = ill_request()
    body = (DATA / "RequestConfirmationSampleError.xml").read_bytes()
    confirmation = wire.parse(body).model
    table = RoutingTable.parse(ROUTES)
    settings = table.settings18626("RESPLIB")
    assert settings is not None
    refusal = bridging.refused_by_target(confirmation, request, "RESPLIB", settings, table, NOW)
    assert refusal is not None
    assert (refusal.sender, refusal.addresses) == ("REQLIB", ("192.0.2.10:499",))
    assert isinstance(refusal.report, StatusOrErrorReport)
    assert refusal.report.transaction_id == request.transaction_id
    assert refusal.report.note is not None
    assert "the ISO 18626 peer refused the message" in refusal.report.note.text
    ok = wire.parse((DATA / "RequestConfirmationSample1.xml").read_bytes()).model
    assert bridging.refused_by_target(ok, request, "RESPLIB", settings, table, NOW) is None


def test_a_withheld_client_id_is_not_in_the_message_either() -> None:
    """The message is made from the APDU as the target is to have it: a target that must not
    see the patron gets no patronInfo."""
    config = Config.model_validate(
        tomllib.loads("[[listeners]]\nport = 0\n[peers.RESPLIB]\nwithhold_client_id = true\n")
    )
    withheld = Policy(config, RoutingTable.parse(ROUTES), config.rule_profiles())
    ber = encode(ill_request())
    for chosen, patron in ((policy(), True), (withheld, False)):
        decision = decide(incoming(ber), View(None), chosen)
        assert isinstance(decision, Accept), decision
        assert decision.message.xml is not None
        assert (b"patronInfo" in decision.message.xml) is patron
        assert (b"P-1" in decision.message.xml) is patron
