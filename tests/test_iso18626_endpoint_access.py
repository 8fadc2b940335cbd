"""Who may POST to the ISO 18626 endpoint, in ``[access] mode = "registered"``: the daemon in
this process on 127.0.0.1, real sockets, TLS with client certificates, the credentials file's
scrypt hashes checked against HTTP Basic auth or a message's requestingAgencyAuthentication,
failed logins throttled; a peer speaking for another refused in its Confirmation."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from access_support import Certificates, make_certificates
from endpoint18626_support import (
    agency,
    endpoint_gateway,
    post,
    request,
    url,
    with_authentication,
)
from gateway_harness import RecordingPeer, until
from prometheus_client import REGISTRY

from isoill.access import credentials
from isoill.access.credentials import Credential, Credentials
from isoill.access.passwords import hash_password
from isoill.app import App
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.writing import write

pytestmark = pytest.mark.asyncio

PASSWORD = "correct horse battery staple"
LOCAL = '[peers.REQ1]\nnetworks = ["127.0.0.1"]\n'
ELSEWHERE = '[peers.FAR1]\nnetworks = ["192.0.2.0/24"]\n'


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("isoill_rejections_total", {"reason": reason}) or 0.0


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def registered(
    directory: Path, peer: RecordingPeer, peers: str, *, logins: bool = False, tls: str = ""
) -> App:
    """A registered-mode gateway routing SUP1 to ``peer``; with ``logins``, REQ1's account
    is ``req1`` with :data:`PASSWORD`."""
    if logins:
        entry = Credential(user_id="req1", password_hash=hash_password(PASSWORD.encode()))
        credentials.save(directory / "credentials.toml", Credentials(peers={"REQ1": entry}))
    return await endpoint_gateway(
        directory,
        {"SUP1": [peer.address]},
        endpoint=tls,
        extra=f'[access]\nmode = "registered"\nlogin_delay = 0.05\n{peers}',
    )


async def test_an_address_no_peer_has_is_answered_403_unread(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = rejections("unregistered-address")
    server = await registered(tmp_path, peer, ELSEWHERE)
    try:
        answer = await post(url(server), request("req-1"))
        assert answer.status == 403
        assert answer.body == b"no peer connects from here\n"
    finally:
        await server.stop()
    assert rejections("unregistered-address") == before + 1
    assert "ISO 18626 POST refused" in capsys.readouterr().out
    assert peer.received == []


async def test_a_peer_speaking_for_another_gets_an_error_confirmation(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await registered(tmp_path, peer, LOCAL + ELSEWHERE)
    try:
        before = rejections("security")
        own = await post(url(server), request("req-1"))
        assert own.confirmation().ok
        hostile = request("req-2", requester=agency("FAR1"))
        confirmation = (await post(url(server), hostile)).confirmation()
        assert not confirmation.ok
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value is not None
        assert "this connection speaks for REQ1 only" in confirmation.error_value
        assert rejections("security") == before + 1
        await peer.wait_for(1)
        assert len(peer.received) == 1  # only REQ1's own request went on
    finally:
        await server.stop()
    assert "security problem" in capsys.readouterr().out


async def test_a_peer_with_a_password_logs_in_by_basic_auth_or_in_the_header(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await registered(tmp_path, peer, LOCAL, logins=True)
    try:
        missing = (await post(url(server), request("req-1"))).confirmation()
        assert not missing.ok
        assert missing.error_value is not None
        assert "ISO 18626 credentials required" in missing.error_value

        by_basic = await post(url(server), request("req-2"), headers=basic("req1", PASSWORD))
        assert by_basic.confirmation().ok

        body = with_authentication(write(request("req-3"), Version.V1_2), "req1", PASSWORD)
        assert (await post(url(server), body)).confirmation().ok
        await until(lambda: len(peer.received) == 2)
    finally:
        await server.stop()


async def test_failed_logins_are_refused_and_throttled(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await registered(tmp_path, peer, LOCAL, logins=True)
    try:
        before = rejections("login-failed")
        for serial in (1, 2, 3):
            wrong = await post(
                url(server), request(f"req-{serial}"), headers=basic("req1", "Tr0ub4dor&3")
            )
            refused = wrong.confirmation()
            assert not refused.ok
            assert refused.error_value is not None
            assert "ISO 18626 credentials not accepted" in refused.error_value
        body = with_authentication(write(request("req-4"), Version.V1_2), "req1", "guess")
        assert not (await post(url(server), body)).confirmation().ok
        assert rejections("login-failed") == before + 4
        assert peer.received == []
    finally:
        await server.stop()
    delays = [line for line in capsys.readouterr().out.splitlines() if "login failed" in line]
    assert len(delays) == 4
    for delay, line in zip((0.05, 0.1, 0.2, 0.4), delays, strict=True):  # doubling each time
        assert f"delay={delay}" in line


def tls_section(certificates: Certificates) -> str:
    return (
        f'[iso18626.tls]\ncertificate = "{certificates.server}"\n'
        f'key = "{certificates.server_key}"\nclient_ca = "{certificates.ca}"\n'
    )


async def test_a_peer_with_a_certificate_rule_must_present_its_certificate(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    certificates = make_certificates(tmp_path)
    peers = '[peers.REQ1]\nnetworks = ["127.0.0.1"]\ncertificate_cn = "reqlib.example"\n'
    server = await registered(tmp_path, peer, peers, tls=tls_section(certificates))
    try:
        with_certificate = ssl.create_default_context(cafile=certificates.ca)
        with_certificate.load_cert_chain(certificates.client, certificates.client_key)
        answer = await post(url(server, "https"), request("req-1"), context=with_certificate)
        assert answer.confirmation().ok

        before = rejections("no-certificate")
        without = ssl.create_default_context(cafile=certificates.ca)
        answer = await post(url(server, "https"), request("req-2"), context=without)
        assert answer.status == 403
        assert answer.body == b"not the certificate of a peer\n"
        assert rejections("no-certificate") == before + 1
        await peer.wait_for(1)
    finally:
        await server.stop()


async def test_a_login_remembered_is_checked_anew_once_its_password_changes(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await registered(tmp_path, peer, LOCAL, logins=True)
    try:
        for serial in (1, 2):  # the second is remembered
            answer = await post(
                url(server), request(f"req-{serial}"), headers=basic("req1", PASSWORD)
            )
            assert answer.confirmation().ok
        changed = Credential(user_id="req1", password_hash=hash_password(b"a new one"))
        credentials.save(tmp_path / "credentials.toml", Credentials(peers={"REQ1": changed}))
        assert server.reload_credentials()
        old = await post(url(server), request("req-3"), headers=basic("req1", PASSWORD))
        assert not old.confirmation().ok
        new = await post(url(server), request("req-4"), headers=basic("req1", "a new one"))
        assert new.confirmation().ok
        await until(lambda: len(peer.received) == 3)
    finally:
        await server.stop()
