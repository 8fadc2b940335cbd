"""Rules end to end: yaz-illclient through the daemon to a peer whose profile is ``oclc``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import RecordingPeer, routes_for, start_gateway, write_config

from isoill.app import App

pytestmark = pytest.mark.asyncio

#: A copy request that meets OCLC's profile, as yaz-illclient -D settings. (yaz-illclient
#: spells the copyright key "copyright-complicance".)
OCLC_REQUEST = (
    "ill,transaction-id,initial-requester-id,person-or-institution-symbol,institution=REQLIB",
    "ill,transaction-id,transaction-qualifier=T-1",
    "ill,requester-id,person-or-institution-symbol,institution=REQLIB",
    "ill,responder-id,person-or-institution-symbol,institution=RESPLIB",
    "ill,ill-service-type=2",
    "ill,item-id,title=Journal of Interlending",
    "ill,item-id,verification-reference-source=WorldCat",
    "ill,delivery-address,postal-address,street-and-number=1 Main St",
    "ill,delivery-address,postal-address,city=Denton",
    "ill,search-type,need-before-date=20991231",
    "ill,copyright-complicance=CCG",
)


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


async def oclc_target_gateway(directory: Path, peer: RecordingPeer) -> App:
    """A gateway that routes RESPLIB to ``peer`` and holds what RESPLIB gets to ``oclc``."""
    config = write_config(
        directory,
        routes_for({"RESPLIB": [peer.address]}),
        extra='[peers.RESPLIB]\ntarget_profile = "oclc"\n',
    )
    return await start_gateway(config)


async def illclient(
    client: str, port: int, settings: tuple[str, ...], cwd: Path
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        client,
        *(arg for setting in settings for arg in ("-D", setting)),
        f"tcp:127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode(errors="replace")


async def test_oclc_profile_refuses_request_without_title_and_passes_complete_one(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    server = await oclc_target_gateway(tmp_path, peer)
    try:
        untitled = tuple(s for s in OCLC_REQUEST if ",title=" not in s)
        code, stdout, stderr = await illclient(yaz_illclient, server.ports[0], untitled, tmp_path)
        # yaz-illclient prints a user error's number and dumps the whole report (note
        # included) to stderr.
        assert code == 7, stdout
        assert stdout.strip() == "Unable to perform: 3"
        assert "ILL-REQUEST.item-id.title: missing; OCLC requires a title (oclc-title)" in stderr
        assert "oclc-verified" not in stderr  # only what is wrong is named

        code, stdout, _ = await illclient(yaz_illclient, server.ports[0], OCLC_REQUEST, tmp_path)
        assert (code, stdout.strip()) == (0, "Ok")
        (received,) = await peer.wait_for(1)
        assert received == (tmp_path / "req.apdu").read_bytes()
    finally:
        await server.stop()
    assert len(peer.received) == 1  # the refused request never reached the peer


async def test_protocol_version_refusal_is_a_provider_error_yaz_prints(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    server = await oclc_target_gateway(tmp_path, peer)
    try:
        settings = (*OCLC_REQUEST, "ill,protocol-version-num=3")
        code, stdout, _ = await illclient(yaz_illclient, server.ports[0], settings, tmp_path)
    finally:
        await server.stop()
    assert code == 7
    assert stdout.startswith("General Problem: 4:refused: ILL-REQUEST.protocol-version-num:")
    assert "send protocol version 2" in stdout
    assert peer.received == []
