"""``isoill replay`` end to end: a capture the daemon recorded, and a pcap tcpdump wrote of
yaz-illclient traffic, replayed against a fresh daemon whose target is a simulated peer."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import pytest
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, write_config
from transaction_apdus import RESPONDER, apdu

from isoill.capture.reader import read_capture
from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport
from isoill.tools.replay import client_apdus

pytestmark = pytest.mark.asyncio

ISOILL = str(Path(sys.executable).with_name("isoill"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def isoill(*args: str) -> tuple[int, str]:
    """``isoill ARGS`` as a process (replay runs its own event loop); exit status and stdout."""
    process = await asyncio.create_subprocess_exec(
        ISOILL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def outcome(reply: bytes) -> str:
    report = decode(reply)
    assert isinstance(report, StatusOrErrorReport)
    return "acknowledged" if report.error_report is None else "error"


async def test_daemon_recording_replays_against_a_fresh_daemon(tmp_path: Path) -> None:
    # The first run: a daemon that records, a peer, three APDUs (the Shipped has no route).
    first = tmp_path / "first"
    first.mkdir()
    peer = await RecordingPeer().start()
    config = write_config(
        first, routes_for({RESPONDER: [peer.address]}), extra='[capture]\ndirectory = "rec"\n'
    )
    apdus = [apdu("ILL-Request", "R1"), apdu("Shipped", "R2"), apdu("Renew", "R1")]
    server = await start_gateway(config)
    try:
        listener_port = server.ports[0]
        replies = [(await exchange(listener_port, [ber]))[0] for ber in apdus]
        await peer.wait_for(2)
    finally:
        await server.stop()
        await peer.stop()
    outcomes = [outcome(reply) for reply in replies]
    assert outcomes == ["acknowledged", "error", "acknowledged"]
    delivered = [apdus.index(ber) + 1 for ber in peer.received]
    (recording,) = (first / "rec").iterdir()
    inbound = client_apdus(read_capture(recording), port=listener_port)
    assert [c.ber for c in inbound] == apdus  # the deliveries to the peer are streams too

    # The replay: a fresh daemon whose RESPLIB is the simulated peer replay starts.
    second = tmp_path / "second"
    second.mkdir()
    simulated = f"127.0.0.1:{free_port()}"
    expectations = second / "expect.toml"
    expectations.write_text(
        f'[peers.{RESPONDER}]\nlisten = "{simulated}"\n'
        + "".join(f'[[reply]]\napdu = {n}\nstatus = "{o}"\n' for n, o in enumerate(outcomes, 1))
        + f'[[receive]]\npeer = "{RESPONDER}"\napdus = {delivered}\n'
    )
    fresh = await start_gateway(write_config(second, routes_for({RESPONDER: [simulated]})))
    try:
        code, out = await isoill(
            "replay",
            str(recording),
            "--to",
            f"127.0.0.1:{fresh.ports[0]}",
            "--port",
            str(listener_port),
            "--expect",
            str(expectations),
        )
    finally:
        await fresh.stop()
    assert code == 0, out
    assert "replayed 3 APDUs on 3 connections: all 4 expectations held" in out
    assert f"PASS {RESPONDER} received APDU 1, APDU 3" in out


@pytest.fixture
def tcpdump() -> str:
    path = shutil.which("tcpdump")
    if path is None:
        pytest.skip("tcpdump not installed (Debian package tcpdump)")
    return path


async def test_tcpdump_pcap_of_yaz_illclient_replays_with_expectations(
    tmp_path: Path, tcpdump: str, yaz_illclient: str
) -> None:
    # yaz-illclient talks to a daemon while tcpdump records the loopback traffic.
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({RESPONDER: [peer.address]}))
    server = await start_gateway(config)
    pcap = tmp_path / "yaz.pcap"
    port = server.ports[0]
    # As root, tcpdump gives up root for its own user before it writes: keep root (-Z), or it
    # cannot create the file in the test's private directory.
    keep_root = ["-Z", "root"] if os.geteuid() == 0 else []
    capture = await asyncio.create_subprocess_exec(
        tcpdump, *keep_root, "--immediate-mode", "-i", "lo", "-U", "-w", str(pcap),
        "tcp", "port", str(port),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert capture.stderr is not None
        line = await asyncio.wait_for(capture.stderr.readline(), 10)
        if b"listening on" not in line:
            pytest.skip(f"tcpdump cannot capture here: {line.decode().strip()}")
        client = await asyncio.create_subprocess_exec(
            yaz_illclient,
            "-D", "ill,item-id,title=Dune",
            "-D", f"ill,responder-id,person-or-institution-symbol,institution={RESPONDER}",
            f"tcp:127.0.0.1:{port}",
            stdout=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )  # fmt: skip
        stdout, _ = await asyncio.wait_for(client.communicate(), 20)
        assert stdout.decode().strip() == "Ok"
        await peer.wait_for(1)
        await asyncio.sleep(0.2)  # let tcpdump write the last packets
    finally:
        capture.send_signal(signal.SIGINT)
        await capture.wait()
        await server.stop()
        await peer.stop()
    sent = (tmp_path / "req.apdu").read_bytes()

    simulated = f"127.0.0.1:{free_port()}"
    good, wrong = tmp_path / "good.toml", tmp_path / "wrong.toml"
    good.write_text(
        f'[peers.{RESPONDER}]\nlisten = "{simulated}"\n'
        f'[[receive]]\npeer = "{RESPONDER}"\napdus = [1]\n'
    )
    wrong.write_text(
        f'[peers.{RESPONDER}]\nlisten = "{simulated}"\n'
        '[[reply]]\napdu = 1\nstatus = "error"\n'
        f'[[receive]]\npeer = "{RESPONDER}"\ntypes = ["Shipped"]\nwithin = 1\n'
    )
    results = []
    for expectations in (good, wrong):  # each against a fresh daemon: a replay is not a retry
        (fresh_dir := tmp_path / expectations.stem).mkdir()
        fresh = await start_gateway(write_config(fresh_dir, routes_for({RESPONDER: [simulated]})))
        try:
            target = f"127.0.0.1:{fresh.ports[0]}"
            results.append(
                await isoill("replay", str(pcap), "--to", target, "--expect", str(expectations))
            )
        finally:
            await fresh.stop()
    (code, out), (bad_code, bad_out) = results
    assert [c.ber for c in read_capture(pcap) if c.from_client] == [sent]
    assert code == 0, out
    assert "PASS reply to APDU 1 (ILL-Request, stream 0): acknowledged" in out
    assert f"PASS {RESPONDER} received APDU 1" in out
    assert bad_code == 1, bad_out
    assert "FAIL reply to APDU 1 (ILL-Request, stream 0): expected error, got acknowledged" in (
        bad_out
    )
    assert f"FAIL {RESPONDER}: expected Shipped; received ILL-Request" in bad_out
    assert "2 of 2 expectations failed" in bad_out
