"""Prompt-1 logins under attack, end to end in registered mode: one address guessing a
thousand passwords is slowed, then refused unchecked, while a peer on another address logs in;
a password changed with ``isoill peers passwd`` counts after SIGHUP, without a restart."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from pathlib import Path

import pytest
from access_support import request
from gateway_harness import (
    RecordingPeer,
    exchange,
    json_logs,
    routes_for,
    run_cli,
    spawn_daemon,
    start_gateway,
    until,
    write_config,
)
from prometheus_client import REGISTRY
from test_gateway_access import acknowledged, security_problem

from isoill.access import credentials
from isoill.access.credentials import Credential, Credentials
from isoill.access.passwords import hash_password

pytestmark = pytest.mark.asyncio

ALIB_PASSWORD, BLIB_PASSWORD = "alib's own secret", "blib's own secret"
THROTTLE = "login_delay = 0.01\nlogin_max_delay = 0.04\nlogin_lockout_after = 5\n"


def registered_config(directory: Path, peer: RecordingPeer) -> Path:
    peers = {
        "ALIB": Credential(user_id="alib", password_hash=hash_password(ALIB_PASSWORD.encode())),
        "BLIB": Credential(user_id="blib", password_hash=hash_password(BLIB_PASSWORD.encode())),
    }
    credentials.save(directory / "credentials.toml", Credentials(peers=peers))
    return write_config(
        directory,
        routes_for({"RESPLIB": [peer.address]}),
        extra=f'[access]\nmode = "registered"\n{THROTTLE}'
        '[peers.ALIB]\nnetworks = ["127.0.0.2"]\n[peers.BLIB]\nnetworks = ["127.0.0.3"]\n',
    )


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("isoill_rejections_total", {"reason": reason}) or 0.0


async def login(port: int, symbol: str, password: str, number: int, source: str) -> bytes:
    ber = request(number, requester=symbol, login=(symbol.lower(), password))
    (answer,) = await exchange(port, [ber], source=source)
    return answer


async def test_a_login_flood_is_slowed_then_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = await RecordingPeer().start()
    failed, locked = rejections("login-failed"), rejections("login-locked")
    with json_logs():
        server = await start_gateway(registered_config(tmp_path, peer))
        try:
            port = server.ports[0]
            answers = []
            for n in range(1000):
                answers.append(await login(port, "ALIB", f"guess {n}", n, "127.0.0.2"))
                if n == 500:  # meanwhile, from its own address
                    good = await login(port, "BLIB", BLIB_PASSWORD, 5000, "127.0.0.3")
            # ALIB's own password is refused too while its address is locked out.
            right = await login(port, "ALIB", ALIB_PASSWORD, 6000, "127.0.0.2")
        finally:
            await server.stop()
            await peer.stop()
    problems = [security_problem(answer)[0] for answer in answers]
    assert problems[:5] == ["Prompt-1 credentials not accepted"] * 5
    assert problems[5:] == ["Prompt-1 login refused for now"] * 995
    assert acknowledged(good)
    assert security_problem(right)[0] == "Prompt-1 login refused for now"
    assert rejections("login-failed") == failed + 5
    assert rejections("login-locked") == locked + 996
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    slowed = [line for line in lines if line["event"] == "login failed"]
    assert [line["delay"] for line in slowed] == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert {line["user_id"] for line in slowed} == {"alib"}
    text = "\n".join(json.dumps(line) for line in lines)
    assert "guess 1" not in text and ALIB_PASSWORD not in text and BLIB_PASSWORD not in text


async def test_a_new_password_counts_after_sighup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = await RecordingPeer().start()
    config = registered_config(tmp_path, peer)
    process = await spawn_daemon(config)
    try:
        assert process.stderr is not None
        listening = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
        port = int(listening["address"].rsplit(":", 1)[1])
        await until((tmp_path / "isoill.pid").exists)
        assert acknowledged(await login(port, "ALIB", ALIB_PASSWORD, 1, "127.0.0.2"))

        monkeypatch.setattr("sys.stdin", io.StringIO("a new one\n"))
        assert run_cli(["peers", "passwd", "ALIB", "--stdin", "--config", str(config)]) == 0
        os.kill(process.pid, signal.SIGHUP)
        events = [json.loads(await asyncio.wait_for(process.stderr.readline(), 20))["event"]]
        while events[-1] != "credentials reloaded":
            events.append(json.loads(await process.stderr.readline())["event"])
        assert acknowledged(await login(port, "ALIB", "a new one", 2, "127.0.0.2"))
        old = await login(port, "ALIB", ALIB_PASSWORD, 3, "127.0.0.2")
        assert security_problem(old)[0] == "Prompt-1 credentials not accepted"

        # A file that cannot be used is refused, and the credentials in use stay.
        (tmp_path / "credentials.toml").write_text('["ALIB"]\nuser_id = "alib"\n')
        os.kill(process.pid, signal.SIGHUP)
        while (line := json.loads(await process.stderr.readline()))["event"] != (
            "credentials reload refused; the old ones stay"
        ):
            pass
        assert "password_hash" in line["error"]
        assert acknowledged(await login(port, "ALIB", "a new one", 4, "127.0.0.2"))
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        await peer.stop()
    assert "the daemon reads it at start and on SIGHUP" in capsys.readouterr().out
