"""``isoill send`` against a real gateway and simulated peers: acknowledged, refused, no
reply, wrong reply, one connection or one per APDU, the BER, hex and JSON forms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import routes_for, run_cli, start_gateway, write_config
from paths import CAPTURES
from structlog.testing import capture_logs
from transaction_apdus import party

from isoill.app import App
from isoill.cli import EXIT_BAD_INPUT, EXIT_USAGE
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest
from isoill.codec.text import Text
from isoill.core.acknowledgement import acknowledgement
from isoill.tools.peer import Script, SimulatedPeer
from isoill.tools.send import Status, worst

PERSISTENT_REQLIB = '[peers.REQLIB]\nconnection = "persistent"\n'


def request(number: int, responder: str = "RESPLIB") -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request) with its own transaction-qualifier."""
    base = decode((CAPTURES / "yaz-illclient-2.ber").read_bytes())
    assert isinstance(base, ILLRequest)
    tid = base.transaction_id.model_copy(
        update={"transaction_qualifier": Text.of(f"SEND-{number:04d}")}
    )
    return encode(base.model_copy(update={"transaction_id": tid, "responder_id": party(responder)}))


async def cli(*argv: str) -> int:
    """``isoill ARGV`` in this process, on a thread of its own: the gateway and the peers run
    on this test's event loop meanwhile."""
    return await asyncio.to_thread(run_cli, list(argv))


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[SimulatedPeer]:
    simulated = await SimulatedPeer("RESPLIB").start()
    yield simulated
    await simulated.stop()


@pytest_asyncio.fixture
async def gateway(tmp_path: Path, peer: SimulatedPeer) -> AsyncIterator[App]:
    """A gateway in this process routing RESPLIB and OZZ to ``peer``; its logs are kept off
    stdout, where the command prints the replies."""
    routes = routes_for({"RESPLIB": [peer.address], "OZZ": [peer.address]})
    config = write_config(tmp_path, routes, extra=PERSISTENT_REQLIB, default_target="RESPLIB")
    with capture_logs():
        server = await start_gateway(config)
        yield server
        await server.stop()


def gateway_address(server: App) -> str:
    return f"127.0.0.1:{server.ports[0]}"


@pytest.mark.asyncio
async def test_captures_are_acknowledged(
    gateway: App, peer: SimulatedPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(CAPTURES / f"yaz-illclient-{n}.ber") for n in (1, 2, 3)]
    assert await cli("send", gateway_address(gateway), *files, "--per-apdu") == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"{name} #1 ILL-Request: Ok" for name in files]
    replies = [line for line in out.splitlines() if not line.startswith(" ")]
    assert replies == ["Status-Or-Error-Report"] * 3
    assert out.count('most-recent-service: "iLL-REQUEST"') == 3
    assert await peer.wait_for(3) == [Path(name).read_bytes() for name in files]


@pytest.mark.asyncio
async def test_lock_step_on_one_connection_and_the_worst_status(
    tmp_path: Path, gateway: App, capsys: pytest.CaptureFixture[str]
) -> None:
    apdus = tmp_path / "apdus.ber"
    apdus.write_bytes(request(1) + request(2, responder="NOBODY") + request(3))
    assert await cli("send", gateway_address(gateway), str(apdus)) == Status.ERROR_REPORT
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{apdus} #1 ILL-Request: Ok",
        f"{apdus} #2 ILL-Request: user error intermediary-problem cannot-send-onward:"
        " no route to NOBODY",
        f"{apdus} #3 ILL-Request: Ok",
    ]
    assert out.count("Status-Or-Error-Report\n") == 3
    assert '      intermediary-problem: "cannot-send-onward"' in out.splitlines()


@pytest.mark.asyncio
async def test_refused_request_exits_7_with_the_reason(
    tmp_path: Path, gateway: App, capsys: pytest.CaptureFixture[str]
) -> None:
    unroutable = tmp_path / "unroutable.ber"
    unroutable.write_bytes(request(4, responder="NOBODY"))
    assert await cli("send", gateway_address(gateway), str(unroutable)) == 7
    err = capsys.readouterr().err
    assert err == (
        f"{unroutable} #1 ILL-Request: user error intermediary-problem cannot-send-onward:"
        " no route to NOBODY\n"
    )


@pytest.mark.asyncio
async def test_no_reply_exits_5_and_stops_the_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = await SimulatedPeer("RESPLIB", Script.parse('"*" = "none"')).start()
    try:
        apdus = tmp_path / "apdus.ber"
        apdus.write_bytes(request(1) + request(2))
        assert await cli("send", silent.address, str(apdus), "--timeout", "0.2") == 5
        assert capsys.readouterr().err.splitlines() == [
            f"{apdus} #1 ILL-Request: no reply within 0.2 s",
            f"{apdus} #2 ILL-Request: not sent, the connection failed before it",
        ]
        assert silent.received == [request(1)]
    finally:
        await silent.stop()


@pytest.mark.asyncio
async def test_wrong_reply_exits_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answering = await SimulatedPeer("RESPLIB", Script.parse('"*" = "ILL-Answer unfilled"')).start()
    try:
        apdus = tmp_path / "apdus.ber"
        apdus.write_bytes(request(1) + request(2))
        assert await cli("send", answering.address, str(apdus)) == 6
        out, err = capsys.readouterr()
        assert err.splitlines() == [
            f"{apdus} #{n} ILL-Request: wrong reply: ILL-Answer, not a Status-Or-Error-Report"
            for n in (1, 2)
        ]
        assert out.count("ILL-Answer\n") == 2
        assert '  transaction-results: "unfilled"' in out.splitlines()
    finally:
        await answering.stop()


@pytest.mark.asyncio
async def test_unreadable_reply_exits_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(bytes.fromhex("0403616263"))  # well-framed BER, not an ILL-APDU
        await writer.drain()
        await reader.read(65536)
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        apdus = tmp_path / "apdus.ber"
        apdus.write_bytes(request(1))
        assert await cli("send", f"127.0.0.1:{port}", str(apdus)) == 6
        assert "#1 ILL-Request: unreadable reply: " in capsys.readouterr().err
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_no_connection_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    apdus = tmp_path / "apdus.ber"
    apdus.write_bytes(request(1))
    assert await cli("send", f"127.0.0.1:{port}", str(apdus), "--per-apdu") == 4
    assert f"#1 ILL-Request: cannot connect to 127.0.0.1:{port}: " in capsys.readouterr().err


def test_worst_status_order() -> None:
    assert worst([]) is Status.OK
    assert worst([Status.OK, Status.ERROR_REPORT]) is Status.ERROR_REPORT
    assert worst([Status.WRONG_REPLY, Status.ERROR_REPORT]) is Status.WRONG_REPLY
    assert worst([Status.WRONG_REPLY, Status.NO_REPLY, Status.OK]) is Status.NO_REPLY
    assert worst([Status.NOT_SENT, Status.NO_REPLY]) is Status.NOT_SENT


class CountingListener:
    """Counts connections, and those the client closed; acknowledges every APDU."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        framer = Framer()
        while data := await reader.read(65536):
            framer.feed(data)
            while (ber := framer.next_apdu()) is not None:
                writer.write(acknowledgement(ber, datetime.now(UTC)))
        self.closed += 1
        writer.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(("per_apdu", "connections"), [(False, 1), (True, 3)])
async def test_one_connection_or_one_per_apdu_each_closed(
    tmp_path: Path, per_apdu: bool, connections: int
) -> None:
    listener = CountingListener()
    server = await asyncio.start_server(listener.serve, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        apdus = tmp_path / "apdus.ber"
        apdus.write_bytes(request(1) + request(2) + request(3))
        argv = ["send", f"127.0.0.1:{port}", str(apdus), *(["--per-apdu"] if per_apdu else [])]
        assert await cli(*argv) == 0
        async with asyncio.timeout(5):
            while listener.closed < connections:
                await asyncio.sleep(0.01)
        assert (listener.opened, listener.closed) == (connections, connections)
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_hex_form_sends_the_bytes_it_spells(
    tmp_path: Path, peer: SimulatedPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = request(1) + request(2)
    dump = tmp_path / "dump.txt"
    dump.write_text(data.hex(" ", 16).replace(" ", "\n", 5))
    assert await cli("send", peer.address, str(dump), "--form", "hex") == 0
    assert peer.received == [request(1), request(2)]
    assert capsys.readouterr().err.splitlines() == [
        f"{dump} #1 ILL-Request: Ok",
        f"{dump} #2 ILL-Request: Ok",
    ]


@pytest.mark.asyncio
async def test_json_form_in_and_out(
    tmp_path: Path, peer: SimulatedPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = str(CAPTURES / "yaz-illclient-2.ber")
    assert run_cli(["decode", "--format", "json", capture]) == 0
    document = tmp_path / "apdus.json"
    document.write_text(capsys.readouterr().out)
    assert await cli("send", peer.address, str(document), "--form", "json", "--json") == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["apdu"] == f"{document} #1"
    assert (record["type"], record["status"], record["reason"]) == ("ILL-Request", 0, "Ok")
    report = record["reply"]["Status-Or-Error-Report"]
    assert report["transaction-id"]["transaction-qualifier"] == "TX-0002"
    (received,) = peer.received
    assert decode(received) == decode(Path(capture).read_bytes())  # re-encoded, same APDU


@pytest.mark.asyncio
async def test_json_output_of_an_exchange_without_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = await SimulatedPeer("RESPLIB", Script.parse('"*" = "none"')).start()
    try:
        apdus = tmp_path / "apdus.ber"
        apdus.write_bytes(request(1))
        assert await cli("send", silent.address, str(apdus), "--json", "--timeout", "0.1") == 5
        assert json.loads(capsys.readouterr().out) == [
            {
                "apdu": f"{apdus} #1",
                "type": "ILL-Request",
                "status": 5,
                "reason": "no reply within 0.1 s",
                "reply": None,
            }
        ]
    finally:
        await silent.stop()


def test_bad_input_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.ber"
    assert run_cli(["send", "127.0.0.1:9", str(missing)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == f"isoill: {missing}: No such file or directory\n"
    truncated = tmp_path / "truncated.ber"
    truncated.write_bytes(request(1)[:-3])
    assert run_cli(["send", "127.0.0.1:9", str(truncated)]) == EXIT_BAD_INPUT
    assert "truncated APDU" in capsys.readouterr().err
    empty = tmp_path / "empty.ber"
    empty.write_bytes(b"")
    assert run_cli(["send", "127.0.0.1:9", str(empty)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == f"isoill: no APDUs in {empty}\n"
    for address in ("localhost", "127.0.0.1:0", "127.0.0.1:http", ":99"):
        assert run_cli(["send", address, str(empty)]) == EXIT_USAGE
        assert "is not HOST:PORT" in capsys.readouterr().err
