"""Who may connect and speak, end to end: the daemon in this process on 127.0.0.1, in
``[access] mode = "registered"``, with real sockets, TLS and Prompt-1 credentials."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from access_support import Certificates, make_certificates, request
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, until, write_config
from prometheus_client import REGISTRY

from isoill.access import credentials
from isoill.access.credentials import Credential, Credentials
from isoill.access.passwords import hash_password
from isoill.app import App
from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import ReportSource, StatusOrErrorReport
from isoill.codec.splice import without_extensions

pytestmark = pytest.mark.asyncio

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("isoill_rejections_total", {"reason": reason}) or 0.0


def security_problem(answer: bytes) -> tuple[str, str]:
    """The security-problem and the note of a refusal; fails on anything else."""
    report = decode(answer)
    assert isinstance(report, StatusOrErrorReport)
    assert report.error_report is not None
    assert report.error_report.report_source is ReportSource.USER
    problem = report.error_report.user_error_report
    assert problem is not None and problem.security_problem is not None
    assert report.note is not None
    return problem.security_problem.text, report.note.text


def acknowledged(answer: bytes) -> bool:
    report = decode(answer)
    return isinstance(report, StatusOrErrorReport) and report.error_report is None


async def gateway(
    directory: Path, peer: RecordingPeer, peers: str, *, tls: str = "", logins: bool = False
) -> App:
    """A registered-mode gateway routing RESPLIB to ``peer``; with ``logins``, REQLIB's
    Prompt-1 userId is ``reqlib`` with :data:`PASSWORD`."""
    if logins:
        hashed = hash_password(PASSWORD.encode())
        entry = Credential(user_id="reqlib", password_hash=hashed)
        credentials.save(directory / "credentials.toml", Credentials(peers={"REQLIB": entry}))
    config = write_config(
        directory,
        routes_for({"RESPLIB": [peer.address]}),
        extra=f'[access]\nmode = "registered"\n{peers}',
    )
    if tls:
        text = config.read_text().replace("port = 0\n", f"port = 0\n{tls}", 1)
        config.write_text(text)
    return await start_gateway(config)


async def closed_at_once(port: int, context: ssl.SSLContext | None = None) -> bool:
    """Whether the gateway closes a new connection without reading an APDU from it."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1" if context else None
    )
    try:
        async with asyncio.timeout(5):
            return await reader.read(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True
    finally:
        writer.close()


async def lockstep(
    port: int, apdus: list[bytes], context: ssl.SSLContext | None = None
) -> tuple[list[bytes], bool]:
    """Like ``exchange``, over TLS with ``context``; also whether the gateway closed the
    connection after the last answer."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1" if context else None
    )
    answers, framer = [], Framer()
    try:
        async with asyncio.timeout(10):
            for apdu in apdus:
                writer.write(apdu)
                await writer.drain()
                while (answer := framer.next_apdu()) is None:
                    data = await reader.read(65536)
                    assert data, "gateway closed the connection"
                    framer.feed(data)
                answers.append(answer)
            try:
                closed = await asyncio.wait_for(reader.read(1), 1) == b""
            except TimeoutError:
                closed = False
    finally:
        writer.close()
    return answers, closed


async def test_connection_from_an_address_no_peer_has_is_closed_at_once(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = rejections("unregistered-address")
    server = await gateway(tmp_path, peer, '[peers.REQLIB]\nnetworks = ["192.0.2.0/24"]\n')
    try:
        assert await closed_at_once(server.ports[0])
    finally:
        await server.stop()
    assert rejections("unregistered-address") == before + 1
    assert "connection refused: no peer connects from here" in capsys.readouterr().out
    assert peer.received == []


async def test_apdu_naming_another_peer_is_refused_with_security_problem(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    peers = (
        '[peers.REQLIB]\nnetworks = ["127.0.0.0/8"]\nconnection = "persistent"\n'
        '[peers.OTHERLIB]\nnetworks = ["192.0.2.7"]\n'
    )
    before = rejections("security")
    server = await gateway(tmp_path, peer, peers)
    try:
        answers, closed = await lockstep(
            server.ports[0],
            [
                request(1, requester="OTHERLIB"),
                request(2, initial_requester="OTHERLIB"),  # no requester-id: the initial one
                request(3, requester="REQLIB"),
                request(4),  # names no requester: the connection's peer sends it
            ],
        )
        spoofed, initial, own, unnamed = answers
        assert security_problem(spoofed) == (
            "requester-id OTHERLIB is not a peer of this connection",
            "this connection speaks for REQLIB only",
        )
        assert security_problem(initial)[0] == (
            "initial-requester-id OTHERLIB is not a peer of this connection"
        )
        assert acknowledged(own) and acknowledged(unnamed)
        assert not closed  # a refused APDU does not end a persistent connection
        delivered = await peer.wait_for(2)
        assert {decode(ber).transaction_id.transaction_qualifier.text for ber in delivered} == {
            "TX-0003",
            "TX-0004",
        }
        refused = await server.writer.call(server.writer.backend.list_messages, "refused")
    finally:
        await server.stop()
    assert rejections("security") == before + 2
    assert [message.reason for message in refused] == ["this connection speaks for REQLIB only"] * 2
    assert "security problem" in capsys.readouterr().out


async def test_first_apdu_must_carry_the_peers_prompt1_credentials(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    peers = '[peers.REQLIB]\nnetworks = ["127.0.0.1"]\nconnection = "persistent"\n'
    server = await gateway(tmp_path, peer, peers, logins=True)
    try:
        port = server.ports[0]
        (missing,), closed = await lockstep(port, [request(1, requester="REQLIB")])
        assert security_problem(missing)[0] == "Prompt-1 credentials required"
        assert closed

        wrong = request(2, requester="REQLIB", login=("reqlib", "Tr0ub4dor&3"))
        (answer,), closed = await lockstep(port, [wrong])
        assert security_problem(answer) == (
            "Prompt-1 credentials not accepted",
            "userId 'reqlib' and this password are not a peer's; closing",
        )
        assert closed

        stranger = request(3, requester="REQLIB", login=("someone", PASSWORD))
        (answer,), _ = await lockstep(port, [stranger])
        assert security_problem(answer)[0] == "Prompt-1 credentials not accepted"

        right = request(4, requester="REQLIB", login=("reqlib", PASSWORD))
        answers, closed = await lockstep(port, [right, request(5, requester="REQLIB")])
        assert all(acknowledged(answer) for answer in answers)  # the second needs no login
        assert not closed
        await peer.wait_for(2)
    finally:
        await server.stop()
    out = capsys.readouterr().out
    assert "Tr0ub4dor&3" not in out and PASSWORD not in out and "scrypt$" not in out
    assert len(peer.received) == 2


async def test_peer_without_credentials_beside_one_with_them(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    """Two peers behind one address: no Prompt-1 leaves the one that needs none."""
    peers = (
        '[peers.REQLIB]\nnetworks = ["127.0.0.1"]\nconnection = "persistent"\n'
        '[peers.NEIGHBOUR]\nnetworks = ["127.0.0.1"]\nconnection = "persistent"\n'
    )
    server = await gateway(tmp_path, peer, peers, logins=True)
    try:
        port = server.ports[0]
        answers, _ = await lockstep(
            port, [request(1, requester="NEIGHBOUR"), request(2, requester="REQLIB")]
        )
        assert acknowledged(answers[0])
        assert security_problem(answers[1])[0] == (
            "requester-id REQLIB is not a peer of this connection"
        )
        login = ("reqlib", PASSWORD)
        answers, _ = await lockstep(
            port,
            [request(3, requester="REQLIB", login=login), request(4, requester="NEIGHBOUR")],
        )
        assert acknowledged(answers[0])
        assert security_problem(answers[1])[1] == "this connection speaks for REQLIB only"
    finally:
        await server.stop()


def client_context(
    certificates: Certificates, certificate: Path | None, key: Path | None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certificates.ca)
    if certificate is not None and key is not None:
        context.load_cert_chain(certificate, key)
    return context


def tls_section(certificates: Certificates, client_ca: bool = True) -> str:
    ca = f'client_ca = "{certificates.ca}"\n' if client_ca else ""
    return (
        f'[listeners.tls]\ncertificate = "{certificates.server}"\n'
        f'key = "{certificates.server_key}"\n{ca}'
    )


async def test_client_certificate_names_the_peer(tmp_path: Path, peer: RecordingPeer) -> None:
    certificates = make_certificates(tmp_path)
    peers = (
        '[peers.REQLIB]\nnetworks = ["127.0.0.1"]\ncertificate_cn = "reqlib.example"\n'
        'connection = "persistent"\n'
        '[peers.NEIGHBOUR]\nnetworks = ["127.0.0.1"]\nconnection = "persistent"\n'
    )
    server = await gateway(tmp_path, peer, peers, tls=tls_section(certificates))
    try:
        port = server.ports[0]
        with_certificate = client_context(
            certificates, certificates.client, certificates.client_key
        )
        answers, _ = await lockstep(
            port,
            [request(1, requester="REQLIB"), request(2, requester="NEIGHBOUR")],
            with_certificate,
        )
        assert acknowledged(answers[0])
        assert security_problem(answers[1])[1] == "this connection speaks for REQLIB only"

        without = client_context(certificates, None, None)
        answers, _ = await lockstep(
            port, [request(3, requester="NEIGHBOUR"), request(4, requester="REQLIB")], without
        )
        assert acknowledged(answers[0])
        assert security_problem(answers[1])[1] == "this connection speaks for NEIGHBOUR only"
        await peer.wait_for(2)
    finally:
        await server.stop()


async def test_certificate_the_ca_did_not_sign_fails_the_handshake(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    certificates = make_certificates(tmp_path)
    peers = '[peers.REQLIB]\nnetworks = ["127.0.0.1"]\ncertificate_cn = "reqlib.example"\n'
    before = rejections("tls-handshake")
    server = await gateway(tmp_path, peer, peers, tls=tls_section(certificates))
    try:
        port = server.ports[0]
        stranger = client_context(certificates, certificates.stranger, certificates.stranger_key)
        with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
            await lockstep(port, [request(1, requester="REQLIB")], stranger)
        await until(lambda: rejections("tls-handshake") == before + 1)
        before = rejections("no-certificate")
        assert await closed_at_once(port, client_context(certificates, None, None))
        await until(lambda: rejections("no-certificate") == before + 1)
    finally:
        await server.stop()
    assert peer.received == []


async def test_tls_listener_in_open_mode(tmp_path: Path, peer: RecordingPeer) -> None:
    certificates = make_certificates(tmp_path)
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    text = config.read_text().replace(
        "port = 0\n", f"port = 0\n{tls_section(certificates, False)}", 1
    )
    config.write_text(text)
    server = await start_gateway(config)
    try:
        context = client_context(certificates, None, None)
        answers, _ = await lockstep(server.ports[0], [request(1, requester="ANYLIB")], context)
        assert acknowledged(answers[0])
        with pytest.raises((ConnectionError, AssertionError, asyncio.IncompleteReadError)):
            await exchange(server.ports[0], [request(2, requester="ANYLIB")])  # not TLS
        (received,) = await peer.wait_for(1)
        assert received == request(1, requester="ANYLIB")
    finally:
        await server.stop()


async def illclient(client: str, port: int, cwd: Path, *options: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        client,
        *options,
        "-D",
        "ill,item-id,title=Dune",
        "-D",
        "ill,responder-id,person-or-institution-symbol,institution=RESPLIB",
        f"tcp:127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, stdout.decode().strip().splitlines()[-1]  # after -o's dump


async def test_yaz_illclient_authenticates_with_prompt1(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    """``yaz-illclient -o -u USER -p PASSWORD`` sends OCLC's Prompt-1 login; it names no
    requester, so the connection's peer (REQLIB, by address and login) sends it."""
    server = await gateway(
        tmp_path, peer, '[peers.REQLIB]\nnetworks = ["127.0.0.1"]\n', logins=True
    )
    try:
        port = server.ports[0]
        assert await illclient(yaz_illclient, port, tmp_path) == (
            7,
            "Security problem: Prompt-1 credentials required",
        )
        wrong = ("-o", "-u", "reqlib", "-p", "not it")
        assert await illclient(yaz_illclient, port, tmp_path, *wrong) == (
            7,
            "Security problem: Prompt-1 credentials not accepted",
        )
        right = ("-o", "-u", "reqlib", "-p", PASSWORD)
        assert await illclient(yaz_illclient, port, tmp_path, *right) == (0, "Ok")
        (received,) = await peer.wait_for(1)
        # the login was for the gateway (see test_gateway_prompt1)
        assert received == without_extensions((tmp_path / "req.apdu").read_bytes(), PROMPT_1)
    finally:
        await server.stop()
