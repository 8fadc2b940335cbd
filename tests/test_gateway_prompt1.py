"""Prompt-1 credentials are the gateway's alone, end to end: the daemon in this process cuts
them out of the APDU (in ``[access] mode = "registered"`` once it has read the login, and in
open mode too), so no password reaches the target, the store or the capture; unless the
target asks for the sender's login (``forward_sender_login``)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from access_support import request
from gateway_harness import (
    AnsweringTarget,
    RecordingPeer,
    exchange,
    json_logs,
    routes_for,
    start_gateway,
    until,
    write_config,
)
from test_gateway_access import (
    PASSWORD,
    acknowledged,
    gateway,
    illclient,
    lockstep,
    security_problem,
)
from transaction_apdus import apdu as transaction_apdu

from isoill.access import credentials
from isoill.access.credentials import Credentials, GatewayLogin
from isoill.app import App
from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.capture.reader import read_capture
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import External, ILLRequest
from isoill.codec.splice import with_extension, without_extensions
from isoill.ill.prompt import extensions_of, login_extension, login_of

pytestmark = pytest.mark.asyncio

WRONG = "Tr0ub4dor&3"
PROMPT_1_OID = bytes.fromhex("06072a8648ce130801")
CAPTURE = '[capture]\ndirectory = "captures"\n'


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


def with_other_extension(ber: bytes) -> bytes:
    """``ber`` (an ILL-Request) with one more extension, not Prompt-1's, after its own."""
    document = to_json(decode(ber))
    document["ILL-Request"]["iLL-request-extensions"].append(
        {"identifier": 26, "item": "0403616263"}
    )
    return encode(from_json(document))


def stored(directory: Path) -> list[tuple[str, bytes]]:
    """(state, ber) of every message in the gateway's store."""
    with sqlite3.connect(directory / "store.sqlite3") as db:
        return sorted(db.execute("SELECT state, ber FROM messages"))


def captured(directory: Path) -> list[bytes]:
    """The APDUs the capture recorded as received from a client, on the listener."""
    (path,) = (directory / "captures").iterdir()
    return [
        apdu.ber
        for apdu in read_capture(path)
        if apdu.from_client and "isoill ->" not in (apdu.comment or "")
    ]


def assert_nowhere(directory: Path, passwords: list[str]) -> None:
    """No password, nor any Prompt-1 extension, in the store or the capture file."""
    kept = [ber for _, ber in stored(directory)] + [
        path.read_bytes() for path in (directory / "captures").iterdir()
    ]
    for data in kept:
        assert PROMPT_1_OID not in data
        assert all(password.encode() not in data for password in passwords)


async def test_prompt1_credentials_go_no_further_than_the_gateway(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    peers = f'[peers.REQLIB]\nnetworks = ["127.0.0.1"]\nconnection = "persistent"\n{CAPTURE}'
    wrong = request(1, requester="REQLIB", login=("reqlib", WRONG))
    nowhere = request(2, requester="REQLIB", responder="NOWHERE", login=("reqlib", PASSWORD))
    right = with_other_extension(request(3, requester="REQLIB", login=("reqlib", PASSWORD)))
    server = await gateway(tmp_path, peer, peers, logins=True)
    try:
        port = server.ports[0]
        (refused,), _ = await lockstep(port, [wrong])
        assert security_problem(refused)[0] == "Prompt-1 credentials not accepted"
        (unroutable,), _ = await lockstep(port, [nowhere])
        assert not acknowledged(unroutable)
        (accepted,), _ = await lockstep(port, [right])
        assert acknowledged(accepted)
        (received,) = await peer.wait_for(1)
    finally:
        await server.stop()
    assert PASSWORD.encode() in right and WRONG.encode() in wrong
    assert received == without_extensions(right, PROMPT_1) != right
    sent = decode(right)
    assert isinstance(sent, ILLRequest) and sent.ill_request_extensions is not None
    assert decode(received) == sent.model_copy(
        update={"ill_request_extensions": sent.ill_request_extensions[1:]}
    )
    cut = [without_extensions(ber, PROMPT_1) for ber in (wrong, nowhere, right)]
    assert stored(tmp_path) == sorted(zip(("refused", "unroutable", "accepted"), cut, strict=True))
    assert sorted(captured(tmp_path)) == sorted(cut)
    assert_nowhere(tmp_path, [PASSWORD, WRONG])


async def test_yaz_illclient_password_stays_with_the_gateway(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    """``yaz-illclient -o -u -p``: the target gets the request without the login."""
    peers = f'[peers.REQLIB]\nnetworks = ["127.0.0.1"]\n{CAPTURE}'
    server = await gateway(tmp_path, peer, peers, logins=True)
    try:
        port = server.ports[0]
        wrong = ("-o", "-u", "reqlib", "-p", WRONG)
        assert (await illclient(yaz_illclient, port, tmp_path, *wrong))[0] == 7
        right = ("-o", "-u", "reqlib", "-p", PASSWORD)
        assert await illclient(yaz_illclient, port, tmp_path, *right) == (0, "Ok")
        (received,) = await peer.wait_for(1)
    finally:
        await server.stop()
    sent = (tmp_path / "req.apdu").read_bytes()  # the last one: the right login
    assert PASSWORD.encode() in sent and PROMPT_1_OID in sent
    assert received == without_extensions(sent, PROMPT_1)
    # -o sends OCLC's ILL-Request extension beside the login: that one goes on.
    kept = [
        each
        for each in extensions_of(decode(sent))
        if not (isinstance(each.item, External) and each.item.direct_reference == PROMPT_1)
    ]
    assert len(kept) == 1
    assert decode(received) == decode(sent).model_copy(
        update={"ill_request_extensions": tuple(kept)}
    )
    assert [state for state, _ in stored(tmp_path)] == ["accepted", "refused"]
    assert without_extensions(sent, PROMPT_1) in captured(tmp_path)
    assert_nowhere(tmp_path, [PASSWORD, WRONG])


async def open_gateway(directory: Path, peer: RecordingPeer, target: str = "") -> App:
    """An open-mode gateway routing RESPLIB to ``peer``, recording a capture."""
    routes = routes_for({"RESPLIB": [peer.address]})
    return await start_gateway(write_config(directory, routes, extra=CAPTURE + target))


async def test_open_mode_keeps_no_login(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """In open mode too the sender's login is cut out: neither the store, the capture, the
    target's bytes nor a debug log line holds the password."""
    with json_logs("debug"):
        server = await open_gateway(tmp_path, peer)
        try:
            login = ("-o", "-u", "reqlib", "-p", PASSWORD)
            assert await illclient(yaz_illclient, server.ports[0], tmp_path, *login) == (0, "Ok")
            (received,) = await peer.wait_for(1)
        finally:
            await server.stop()
    sent = (tmp_path / "req.apdu").read_bytes()
    assert PASSWORD.encode() in sent
    assert received == without_extensions(sent, PROMPT_1) != sent
    assert_nowhere(tmp_path, [PASSWORD])
    log = capsys.readouterr().err
    assert '"level": "debug"' in log and '"event": "accepted"' in log
    assert PASSWORD not in log


async def test_a_target_that_takes_the_senders_login(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    """``forward_sender_login``: the target gets the APDU with the sender's login, which the
    store keeps until the APDU is delivered, and no longer."""
    opt_in = "[peers.RESPLIB]\nforward_sender_login = true\n"
    server = await open_gateway(tmp_path, peer, opt_in)
    try:
        login = ("-o", "-u", "reqlib", "-p", PASSWORD)
        assert await illclient(yaz_illclient, server.ports[0], tmp_path, *login) == (0, "Ok")
        (received,) = await peer.wait_for(1)
        sent = (tmp_path / "req.apdu").read_bytes()
        assert received == sent
        cut = without_extensions(sent, PROMPT_1)
        await until(lambda: stored(tmp_path) == [("accepted", cut)])  # the delivery committed
    finally:
        await server.stop()
    assert_nowhere(tmp_path, [PASSWORD])  # the capture records the APDU without it, too


async def test_a_target_gets_the_gateways_own_login(tmp_path: Path, peer: RecordingPeer) -> None:
    """``isoill peers login``: every APDU delivered to the target carries the gateway's login
    (a sender's own login cut out and replaced); the store and the capture hold none."""
    login = GatewayLogin(user_id="isoill-gw", password="gateway's secret")
    credentials.save(tmp_path / "credentials.toml", Credentials(logins={"RESPLIB": login}))
    server = await open_gateway(tmp_path, peer, "[peers.RESPLIB]\n")
    plain = request(1, requester="REQLIB")
    own = request(2, requester="REQLIB", login=("reqlib", PASSWORD))
    try:
        for ber in (plain, own):  # one connection each, as yaz-illclient does
            (answer,) = await exchange(server.ports[0], [ber])
            assert acknowledged(answer)
        received = await peer.wait_for(2)
    finally:
        await server.stop()
    extension = login_extension(login.user_id, login.password.encode())
    cut = [without_extensions(ber, PROMPT_1) for ber in (plain, own)]
    assert received == [with_extension(ber, extension) for ber in cut]
    assert [login_of(decode(ber)) for ber in received] == [("isoill-gw", b"gateway's secret")] * 2
    assert stored(tmp_path) == sorted(("accepted", ber) for ber in cut)
    assert_nowhere(tmp_path, [PASSWORD, login.password])


async def test_a_login_in_a_targets_own_apdu_is_cut_too(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    """A target answers its delivery with a Shipped that carries a login: the capture, the
    store and the requester get the Shipped without it."""
    secret = "the target's secret"
    shipped = decode(transaction_apdu("Shipped", "ANSWERED"))
    shipped_ber = encode(shipped)
    target = await AnsweringTarget(
        with_extension(shipped_ber, login_extension("resplib", secret.encode()))
    ).start()
    routes = routes_for({"RESPLIB": [target.address], "REQLIB": [peer.address]})
    server = await start_gateway(write_config(tmp_path, routes, extra=CAPTURE))
    try:
        (answer,) = await exchange(server.ports[0], [transaction_apdu("ILL-Request", "ANSWERED")])
        assert acknowledged(answer)
        assert await peer.wait_for(1) == [shipped_ber]
        await until(lambda: bool(target.replies))
    finally:
        await server.stop()
        await target.stop()
    assert ("accepted", shipped_ber) in stored(tmp_path)
    assert_nowhere(tmp_path, [secret])
