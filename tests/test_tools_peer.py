"""The simulated peer (``isoill peer``): scripts, every kind of answer, recording, the
per-APDU habit, and a peer's answer routed back through the gateway to the requester."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_harness import (
    RecordingPeer,
    exchange,
    routes_for,
    run_cli,
    start_gateway,
    until,
    write_config,
)
from paths import CAPTURES
from transaction_apdus import REQUESTER, RESPONDER, apdu, party

from isoill.cli import EXIT_BAD_INPUT, EXIT_USAGE
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    ILLAnswer,
    IllApdu,
    ILLRequest,
    ILLServiceType,
    RenewAnswer,
    Shipped,
    ShippedServiceType,
    StatusOrErrorReport,
    TransactionResults,
)
from isoill.codec.text import Text
from isoill.rules.engine import Context
from isoill.rules.profiles import BUILT_IN
from isoill.rules.standard import EXPLANATION_FOR
from isoill.tools.peer import APDU_ANSWERS, PROBLEMS, Answer, Script, ScriptError, SimulatedPeer
from isoill.tools.send import Status, describe_error, send

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)


def request(qualifier: str = "1", *services: ILLServiceType) -> IllApdu:
    base = decode(apdu("ILL-Request", qualifier))
    if services:
        base = base.model_copy(update={"ill_service_type": services})
    return base


def answer(text: str, received: IllApdu, symbol: str = RESPONDER) -> IllApdu:
    """The answer, through its BER and back, so that it is known to encode."""
    built = Answer.parse(text).respond(received, symbol, NOW)
    assert built is not None
    return decode(encode(built))


def assert_answers(reply: IllApdu, received: IllApdu) -> None:
    """Same transaction, same parties, this service's time now."""
    assert reply.transaction_id == received.transaction_id
    assert reply.requester_id == received.requester_id
    assert reply.responder_id == received.responder_id
    when = reply.service_date_time.date_time_of_this_service
    assert (when.date, when.time) == ("20260302", "101530")


def assert_meets_the_standard(reply: IllApdu) -> None:
    verdict = BUILT_IN["ipig"].judge(reply, Context(NOW))
    assert not verdict.findings, [finding.describe() for finding in verdict.findings]


def test_status_report_is_an_acknowledgement() -> None:
    received = request()
    reply = answer("status-report", received)
    assert isinstance(reply, StatusOrErrorReport)
    assert reply.error_report is None
    assert reply.status_report is not None
    history = reply.status_report.user_status_report
    assert history.most_recent_service.asn1_name == "iLL-REQUEST"
    assert history.initiator_of_most_recent_service == party(REQUESTER)
    assert_answers(reply, received)


def test_none_answers_nothing() -> None:
    assert Answer.parse("none").respond(request(), RESPONDER, NOW) is None


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        ((ILLServiceType.LOAN,), ShippedServiceType.LOAN),
        ((ILLServiceType.COPY_NON_RETURNABLE,), ShippedServiceType.COPY_NON_RETURNABLE),
        (
            (ILLServiceType.ESTIMATE, ILLServiceType.COPY_NON_RETURNABLE, ILLServiceType.LOAN),
            ShippedServiceType.COPY_NON_RETURNABLE,
        ),
    ],
)
def test_shipped_takes_its_service_type_from_the_request(
    services: tuple[ILLServiceType, ...], expected: ShippedServiceType
) -> None:
    received = request("1", *services)
    reply = answer("Shipped", received)
    assert isinstance(reply, Shipped)
    assert reply.shipped_service_type is expected
    assert reply.supply_details.date_shipped == "20260302"
    due = reply.supply_details.date_due
    assert (due is not None) == (expected is ShippedServiceType.LOAN)
    assert due is None or due.date_due_field == "20260330"
    assert_answers(reply, received)
    assert_meets_the_standard(reply)
    explicit = answer("Shipped loan", received)
    assert isinstance(explicit, Shipped)
    assert explicit.shipped_service_type is ShippedServiceType.LOAN


@pytest.mark.parametrize("result", list(TransactionResults))
def test_ill_answer_explains_each_result(result: TransactionResults) -> None:
    received = request()
    reply = answer(f"ILL-Answer {result.asn1_name}", received)
    assert isinstance(reply, ILLAnswer)
    assert reply.transaction_results is result
    assert reply.results_explanation is not None
    assert reply.results_explanation.chosen[0] == EXPLANATION_FOR[result]
    assert_answers(reply, received)
    assert_meets_the_standard(reply)


@pytest.mark.parametrize(("word", "yes"), [("yes", True), ("no", False)])
def test_renew_answer(word: str, yes: bool) -> None:
    received = decode(apdu("Renew", "1"))
    reply = answer(f"Renew-Answer {word}", received)
    assert isinstance(reply, RenewAnswer)
    assert reply.answer is yes
    assert (reply.date_due is not None) is yes
    assert_answers(reply, received)


@pytest.mark.parametrize("kind", list(APDU_ANSWERS))
def test_every_apdu_answer_is_a_valid_apdu_of_its_type(kind: str) -> None:
    values = APDU_ANSWERS[kind]
    text = f"{kind} {values[0]}" if values and kind not in ("Shipped", "Received") else kind
    received = decode(apdu("Shipped" if kind == "Received" else "ILL-Request", "1"))
    reply = answer(text, received)
    assert reply.apdu_type == kind
    assert_answers(reply, received)
    assert_meets_the_standard(reply)


def test_received_takes_the_service_type_of_the_shipped() -> None:
    shipped = decode(apdu("Shipped", "1", shipped=ShippedServiceType.COPY_NON_RETURNABLE))
    reply = answer("Received", shipped, symbol=REQUESTER)
    assert reply.shipped_service_type is ShippedServiceType.COPY_NON_RETURNABLE  # type: ignore[attr-defined]


ERRORS = [
    ("error unable-to-perform", "user error unable-to-perform other"),
    ("error unable-to-perform not-available", "user error unable-to-perform not-available"),
    ("error intermediary-problem", "user error intermediary-problem cannot-send-onward"),
    ("error security-problem not a member", "user error security-problem not a member"),
    ("error general-problem badly-structured-APDU", "provider error general-problem badly"),
    ("error transaction-id-problem", "provider error transaction-id-problem unknown-trans"),
    ("error state-transition-prohibited", 'provider error state-transition-prohibited {"aPDU'),
]


def test_error_cases_cover_every_problem() -> None:
    assert {text.split()[1] for text, _ in ERRORS} == set(PROBLEMS)


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_error_answers(text: str, expected: str) -> None:
    received = request()
    reply = answer(text, received)
    assert isinstance(reply, StatusOrErrorReport)
    assert reply.error_report is not None
    assert reply.error_report.correlation_information == Text.of("1")
    reason = describe_error(reply)
    assert reason.startswith(expected)
    assert reason.endswith(f": simulated peer {RESPONDER} answers {text}")
    assert_answers(reply, received)


def test_the_peer_signs_its_own_side_when_the_apdu_leaves_it_empty() -> None:
    capture = decode((CAPTURES / "yaz-illclient-1.ber").read_bytes())  # empty requester-id
    assert isinstance(capture, ILLRequest)
    reply = answer("ILL-Answer unfilled", capture, symbol="MYLIB")
    assert reply.responder_id == party("MYLIB")
    assert reply.requester_id == capture.requester_id
    # a Shipped is a responder's: the peer receiving it is the requester
    shipped = decode(apdu("Shipped", "1")).model_copy(update={"requester_id": None})
    reply = answer("Received", shipped, symbol="MYLIB")
    assert reply.requester_id == party("MYLIB")
    assert reply.responder_id == party(RESPONDER)


def test_script_answers_by_type_then_star_then_status_report() -> None:
    script = Script.parse('"ILL-Request" = "Shipped"\n"Renew" = "Renew-Answer no"\n')
    assert str(script.answer_for("ILL-Request")) == "Shipped"
    assert str(script.answer_for("Renew")) == "Renew-Answer no"
    assert str(script.answer_for("Cancel")) == "status-report"
    starred = Script.parse('"*" = "none"\n"Cancel" = "Cancel-Reply yes"')
    assert str(starred.answer_for("Lost")) == "none"
    assert str(starred.answer_for("Cancel")) == "Cancel-Reply yes"
    assert str(Script.DEFAULT.answer_for("ILL-Request")) == "status-report"


def test_a_list_answers_in_turn_and_its_last_answers_the_rest() -> None:
    script = Script.parse('"Renew" = ["Renew-Answer yes", "Renew-Answer no"]\n"*" = ["none"]')
    assert [str(script.answer_for("Renew", turn)) for turn in range(4)] == [
        "Renew-Answer yes",
        "Renew-Answer no",
        "Renew-Answer no",
        "Renew-Answer no",
    ]
    assert str(script.answer_for("Lost", 5)) == "none"
    assert str(Script.DEFAULT.answer_for("Renew", 3)) == "status-report"


def test_example_script_loads() -> None:
    script = Script.load(REPO / "config" / "peer-script.toml")
    assert str(script.answer_for("ILL-Request")) == "Shipped"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"ILL-Requst" = "Shipped"', "<script>: 'ILL-Requst' is not an APDU type"),
        ('"ILL-Request" = "Shiped"', "<script>: ILL-Request: unknown answer 'Shiped'"),
        ('"ILL-Request" = "ILL-Answer"', "ILL-Request: ILL-Answer takes one of conditional,"),
        ('"ILL-Request" = "ILL-Answer maybe"', "ILL-Answer takes one of conditional, retry"),
        ('"Renew" = "Renew-Answer"', "Renew: Renew-Answer takes one of yes, no, got nothing"),
        ('"Lost" = "Message hello"', "Lost: Message takes no argument, got 'hello'"),
        ('"*" = "none please"', "*: 'none' takes no argument"),
        ('"*" = "error"', "*: error with no problem: expected one of unable-to-perform,"),
        ('"*" = "error oops"', "*: error with unknown problem 'oops'"),
        ('"*" = "error unable-to-perform soon"', "expected one of not-available, resource-"),
        ('"*" = 3', "*: the answer must be a string or a list of them, got 3"),
        ('"*" = []', "*: the answer must be a string or a list of them, got []"),
        ('"*" = ["none", 3]', "*: the answer must be a string or a list of them"),
        ('"Renew" = ["Renew-Answer yes", "Renew-Answer"]', "Renew: Renew-Answer takes one of"),
        ("ILL-Request = ", "<script>: not TOML"),
    ],
)
def test_bad_scripts_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        Script.parse(text)
    assert message in str(caught.value)


def test_every_problem_of_a_script_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('"Cancel" = "Shiped"\n"Renew" = "Renew-Answer"\n')
    with pytest.raises(ScriptError) as caught:
        Script.load(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[:2] for line in lines] == [[str(path), "Cancel"], [str(path), "Renew"]]
    with pytest.raises(ScriptError, match="No such file"):
        Script.load(tmp_path / "missing.toml")


def test_cli_refuses_a_bad_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('"ILL-Request" = "Shipped later"\n')
    argv = ["peer", "--listen", "127.0.0.1:0", "--symbol", "RESPLIB", "--script", str(path)]
    assert run_cli(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == (
        f"isoill: {path}: ILL-Request: Shipped takes one of loan, copy-non-returnable,"
        " got 'later'\n"
    )


@pytest.mark.asyncio
async def test_peer_answers_lock_step_and_records() -> None:
    script = Script.parse('"ILL-Request" = "ILL-Answer will-supply"\n"Cancel" = "none"')
    peer = await SimulatedPeer(RESPONDER, script).start()
    try:
        port = int(peer.address.rsplit(":", 1)[1])
        sent = [apdu("ILL-Request", "7"), apdu("Renew", "7")]
        replies = await exchange(port, sent)
        assert [decode(reply).apdu_type for reply in replies] == [
            "ILL-Answer",
            "Status-Or-Error-Report",
        ]
        assert await peer.wait_for(2) == sent
        assert [a.apdu_type for a in peer.arrivals] == ["ILL-Request", "Renew"]
        assert [a.answer for a in peer.arrivals] == ["ILL-Answer", "Status-Or-Error-Report"]
        assert {a.transaction for a in peer.arrivals} == {'REQLIB/"grp"/"7"'}
        assert len({a.source for a in peer.arrivals}) == 1
        cancel = apdu("Cancel", "7")
        (exchanged,) = await send("127.0.0.1", port, [cancel], per_apdu=False, timeout=0.2)
        assert exchanged.status is Status.NO_REPLY
        assert (await peer.wait_for(3))[-1] == cancel
        with pytest.raises(TimeoutError):
            await peer.wait_for(4, timeout=0.1)
    finally:
        await peer.stop()


@pytest.mark.asyncio
async def test_peer_gives_a_types_answers_in_turn_whatever_the_connection() -> None:
    script = Script.parse('"Renew" = ["Renew-Answer yes", "Renew-Answer no"]')
    peer = await SimulatedPeer(RESPONDER, script).start()
    try:
        port = int(peer.address.rsplit(":", 1)[1])
        first = await exchange(port, [apdu("Renew", "7"), apdu("Received", "7")])
        (second,) = await exchange(port, [apdu("Renew", "8")])  # another connection
        (third,) = await exchange(port, [apdu("Renew", "7")])
        answers = [decode(reply) for reply in (*first, second, third)]
        assert [type(a).__name__ for a in answers] == [
            "RenewAnswer",
            "StatusOrErrorReport",
            "RenewAnswer",
            "RenewAnswer",
        ]
        assert [a.answer for a in answers if isinstance(a, RenewAnswer)] == [True, False, False]
    finally:
        await peer.stop()


@pytest.mark.asyncio
async def test_undecodable_apdu_is_recorded_and_answered_with_a_provider_error() -> None:
    peer = await SimulatedPeer(RESPONDER).start()
    try:
        port = int(peer.address.rsplit(":", 1)[1])
        (reply,) = await exchange(port, [bytes.fromhex("0403616263")])
        report = decode(reply)
        assert isinstance(report, StatusOrErrorReport)
        assert describe_error(report).startswith("provider error general-problem unrecognized")
        assert peer.arrivals[0].apdu_type == "undecodable"
    finally:
        await peer.stop()


@pytest.mark.asyncio
async def test_close_after_answer_answers_one_apdu_per_connection() -> None:
    peer = await SimulatedPeer(RESPONDER, close_after_answer=True).start()
    try:
        host, port = peer.address.rsplit(":", 1)
        sent = [apdu("ILL-Request", "8"), apdu("Cancel", "8")]
        first, second = await send(host, int(port), sent, per_apdu=False, timeout=5)
        assert first.status is Status.OK
        assert (second.status, second.reason) == (Status.NO_REPLY, "connection closed, no reply")
        assert peer.received == sent[:1]
        exchanges = await send(host, int(port), sent, per_apdu=True, timeout=5)
        assert [e.status for e in exchanges] == [Status.OK, Status.OK]
    finally:
        await peer.stop()


@pytest.mark.asyncio
async def test_gateway_routes_the_peers_shipped_back_to_the_requester(tmp_path: Path) -> None:
    requester = await RecordingPeer().start()
    responder = await SimulatedPeer(RESPONDER, Script.parse('"ILL-Request" = "Shipped"')).start()
    routes = routes_for({REQUESTER: [requester.address], RESPONDER: [responder.address]})
    server = await start_gateway(write_config(tmp_path, routes))
    try:
        sent = apdu("ILL-Request", "routed")
        (ack,) = await exchange(server.ports[0], [sent])
        report = decode(ack)
        assert isinstance(report, StatusOrErrorReport)
        assert report.error_report is None
        assert await responder.wait_for(1) == [sent]
        (shipped_ber,) = await requester.wait_for(1)
        shipped = decode(shipped_ber)
        assert isinstance(shipped, Shipped)
        assert shipped.transaction_id == decode(sent).transaction_id
        assert shipped.requester_id == party(REQUESTER)
        assert shipped.responder_id == party(RESPONDER)
        # The gateway's acknowledgement of that Shipped came back on the delivery connection:
        # kept as the reply to it, and not answered (nothing more reached the requester).
        await until(lambda: bool(responder.replies))
        (reply,) = responder.replies
        acknowledgement = decode(reply)
        assert isinstance(acknowledgement, StatusOrErrorReport)
        assert acknowledgement.error_report is None
        assert acknowledgement.transaction_id == shipped.transaction_id
        assert [str(a).rsplit(" -> ", 1)[1] for a in responder.arrivals] == [
            "Shipped",
            "none (the reply to its Shipped)",
        ]
        assert responder.received == [sent]
        assert len(requester.received) == 1
    finally:
        await server.stop()
        await responder.stop()
        await requester.stop()


async def _peer_process(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("isoill")),
        "peer",
        "--listen",
        "127.0.0.1:0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stderr.readline(), 20)).decode()
    assert " listening on 127.0.0.1:" in line, line
    return process, int(line.rsplit(":", 1)[1])


@pytest.mark.asyncio
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_cli_peer_prints_records_and_stops_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    record = tmp_path / "received.ber"
    record.write_bytes(b"earlier")
    script = str(REPO / "config" / "peer-script.toml")
    process, port = await _peer_process(
        "--symbol", RESPONDER, "--script", script, "--record", str(record)
    )
    try:
        sent = [apdu("ILL-Request", "cli"), apdu("Renew", "cli")]
        replies = await exchange(port, sent)
        assert [decode(reply).apdu_type for reply in replies] == ["Shipped", "Renew-Answer"]
        assert process.stdout is not None
        lines = [(await process.stdout.readline()).decode() for _ in sent]
    finally:
        process.send_signal(signum)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    assert [line.split()[2:] for line in lines] == [
        ["ILL-Request", 'REQLIB/"grp"/"cli"', "->", "Shipped"],
        ["Renew", 'REQLIB/"grp"/"cli"', "->", "Renew-Answer"],
    ]
    assert all(line.split()[1].startswith("127.0.0.1:") for line in lines)
    assert datetime.fromisoformat(lines[0].split()[0]).tzinfo is not None
    assert record.read_bytes() == b"earlier" + b"".join(sent)


@pytest.mark.asyncio
async def test_cli_peer_closes_after_answer_when_asked() -> None:
    process, port = await _peer_process("--symbol", RESPONDER, "--close-after-answer")
    try:
        sent = [apdu("ILL-Request", "per-apdu"), apdu("Cancel", "per-apdu")]
        first, second = await send("127.0.0.1", port, sent, per_apdu=False, timeout=5)
        assert (first.status, second.status) == (Status.OK, Status.NO_REPLY)
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 20) == 0


def test_cli_peer_cannot_listen_on_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["peer", "--listen", f"127.0.0.1:{port}", "--symbol", RESPONDER]
        assert run_cli(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith(f"isoill: cannot listen on 127.0.0.1:{port}: ")
    assert run_cli(["peer", "--listen", "nowhere", "--symbol", RESPONDER]) == EXIT_USAGE
