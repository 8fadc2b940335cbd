"""The access package without sockets: password hashes, the credentials file, Prompt-1
logins, which peers a connection is admitted for, what an APDU may name, and the
configuration's access settings."""

from __future__ import annotations

import stat
from ipaddress import ip_network
from pathlib import Path

import pytest
import structlog
from access_support import request
from transaction_apdus import apdu as transaction_apdu

from isoill.access import credentials, passwords
from isoill.access.credentials import Credential, Credentials, CredentialsError, GatewayLogin
from isoill.access.passwords import PasswordHashError
from isoill.codec.decoder import decode
from isoill.config import Config, ConfigError, Peer, load
from isoill.ill.prompt import login_of
from isoill.service.access import AccessControl, ClientCertificate, Identity

FINGERPRINT = "ab" * 32


# -- passwords ------------------------------------------------------------------------------


def test_hash_is_self_describing_salted_and_verifies() -> None:
    first = passwords.hash_password("sésame".encode())
    second = passwords.hash_password("sésame".encode())
    scheme, n, r, p, salt, _ = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert first != second and salt != second.split("$")[4]  # a salt of its own each time
    assert "sésame" not in first
    assert passwords.verify("sésame".encode(), first)
    assert passwords.verify("sésame".encode(), second)
    assert not passwords.verify(b"sesame", first)
    assert not passwords.verify(b"", first)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("bcrypt$16384$8$1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0ZGlnZXN0", "not a scrypt"),
        ("scrypt$16384$8$1$c2FsdHNhbHQ", "not a scrypt"),
        ("scrypt$1000$8$1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0ZGlnZXN0", "unusable"),  # not 2^k
        ("scrypt$1048576$8$1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0ZGlnZXN0", "unusable"),  # 1 GiB
        ("scrypt$16384$8$1$c2FsdHNhbHQ$not*base64", "malformed"),
        ("scrypt$16384$x$1$c2FsdHNhbHQ$ZGlnZXN0ZGlnZXN0ZGlnZXN0", "malformed"),
        ("scrypt$16384$8$1$c2FsdA$ZGlnZXN0ZGlnZXN0ZGlnZXN0", "too short"),
    ],
)
def test_unusable_hashes_are_refused_not_computed(encoded: str, message: str) -> None:
    with pytest.raises(PasswordHashError, match=message):
        passwords.verify(b"x", encoded)


# -- the credentials file -------------------------------------------------------------------


def test_credentials_file_round_trip_readable_by_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    assert credentials.load(path) == Credentials()
    hashed = passwords.hash_password(b"pw")
    odd = 'o"dd\\ \x7f ü'  # TOML escapes: quote, backslash, DEL; UTF-8 as is
    written = Credentials(
        peers={
            "REQLIB": Credential(user_id="reqlib", password_hash=hashed),
            "A B": Credential(user_id=odd, password_hash=hashed),
        },
        logins={
            "A B": GatewayLogin(user_id=odd, password=odd),
            "OCLC": GatewayLogin(user_id="100-123", password="gateway's own"),
        },
    )
    credentials.save(path, written)
    assert credentials.load(path) == written
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.toml"]  # no temporary left
    assert hashed not in repr(written) and hashed not in str(written.peers["REQLIB"])
    assert "gateway's own" not in repr(written) and "gateway's own" not in str(written.logins)


def test_bad_credentials_file_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text('[reqlib]\nuser_id = "reqlib"\npassword_hash = "plain text"\n')
    with pytest.raises(CredentialsError, match=r"credentials.toml: reqlib.password_hash: .*scrypt"):
        credentials.load(path)
    path.write_text('[REQLIB]\nuser_id = ""\npassword_hash = "x"\n')
    with pytest.raises(CredentialsError, match=r"REQLIB\.user_id"):
        credentials.load(path)
    path.write_text('[REQLIB]\nuser_id = "reqlib"\n')
    with pytest.raises(CredentialsError, match=r"REQLIB: .*user_id and password_hash go together"):
        credentials.load(path)
    path.write_text('[OCLC.login]\nuser_id = "gw"\n')
    with pytest.raises(CredentialsError, match=r"OCLC\.login\.password: Field required"):
        credentials.load(path)


# -- Prompt-1 ------------------------------------------------------------------------------


def test_login_of_prompt1_response() -> None:
    login = login_of(decode(request(1, login=("reqlib", "pässword"))))
    assert login is not None
    assert (login.user_id, login.password) == ("reqlib", "pässword".encode())
    assert "pässword" not in repr(login)
    assert login_of(decode(request(2))) is None
    assert login_of(decode(transaction_apdu("Shipped", "T-1"))) is None


# -- who a connection is ----------------------------------------------------------------------


def registered(peers: dict[str, Peer], logins: dict[str, Credential] | None = None) -> Config:
    config = Config.model_validate(
        {
            "listeners": [{"port": 0, "tls": {"certificate": "c", "key": "k", "client_ca": "a"}}],
            "access": {"mode": "registered"},
            "peers": peers,
        }
    )
    return config.model_copy(update={"credentials": Credentials(peers=logins or {})})


def peer(*networks: str, cn: str | None = None, sha256: str | None = None) -> Peer:
    return Peer(
        networks=tuple(ip_network(n) for n in networks),
        certificate_cn=cn,
        certificate_sha256=sha256,
    )


def test_admitted_by_address_network_and_ipv4_mapped_ipv6() -> None:
    access = AccessControl(
        registered({"A": peer("192.0.2.0/24"), "B": peer("192.0.2.7", "2001:db8::/32")})
    )
    assert access.admit("192.0.2.7", None) == {"A", "B"}
    assert access.admit("192.0.2.8", None) == {"A"}
    assert access.admit("[::ffff:192.0.2.8]", None) == {"A"}
    assert access.admit("[2001:db8::1]", None) == {"B"}
    assert access.admit("198.51.100.1", None) == set()
    assert access.known("192.0.2.200") and not access.known("198.51.100.1")


def test_client_certificate_narrows_to_its_peer() -> None:
    access = AccessControl(
        registered(
            {
                "BYCN": peer("192.0.2.0/24", cn="bycn.example"),
                "BYPRINT": peer("192.0.2.0/24", sha256=FINGERPRINT),
                "BOTH": peer("192.0.2.0/24", cn="both.example", sha256=FINGERPRINT),
                "PLAIN": peer("192.0.2.0/24"),
                "ELSEWHERE": peer("198.51.100.0/24", cn="bycn.example"),
            }
        )
    )
    host = "192.0.2.1"
    assert access.admit(host, ClientCertificate(frozenset({"bycn.example"}), "00" * 32)) == {"BYCN"}
    assert access.admit(host, ClientCertificate(frozenset({"x"}), FINGERPRINT)) == {"BYPRINT"}
    both = ClientCertificate(frozenset({"both.example"}), FINGERPRINT)
    assert access.admit(host, both) == {"BYPRINT", "BOTH"}
    # no certificate, or one no peer has: the peers that need none
    assert access.admit(host, None) == {"PLAIN"}
    assert access.admit(host, ClientCertificate(frozenset({"x"}), "00" * 32)) == {"PLAIN"}


def test_speaker_of_a_connection() -> None:
    access = AccessControl(registered({"RESPLIB": peer("192.0.2.0/24")}))
    identity = Identity({"RESPLIB"})
    assert access.speaker("OTHER", identity) == "RESPLIB"
    assert access.speaker(None, Identity({"A", "B"})) is None
    assert access.speaker("OTHER", None) == "OTHER"


@pytest.mark.asyncio
async def test_failed_login_leaves_the_connection_no_peer() -> None:
    hashed = passwords.hash_password(b"right")
    access = AccessControl(
        registered(
            {"REQLIB": peer("192.0.2.0/24")},
            {"REQLIB": Credential(user_id="reqlib", password_hash=hashed)},
        )
    )
    log = structlog.get_logger()
    assert await access.authenticate(decode(request(1)), None, "192.0.2.1", log) is None  # open
    identity = Identity({"REQLIB"})
    wrong = decode(request(1, login=("reqlib", "wrong")))
    refusal = await access.authenticate(wrong, identity, "192.0.2.1", log)
    assert refusal is not None and refusal.close
    assert identity.peers == set()
    # should the connection go on, nothing more passes
    later = await access.authenticate(decode(request(2)), identity, "192.0.2.1", log)
    assert later is not None and later.problem == "not authenticated"


# -- configuration ----------------------------------------------------------------------------


def write(directory: Path, text: str, logins: str | None = None) -> Path:
    if logins is not None:
        (directory / "credentials.toml").write_text(logins)
    path = directory / "isoill.toml"
    path.write_text("[[listeners]]\nport = 0\n" + text)
    return path


def test_registered_config_with_tls_paths_and_credentials(tmp_path: Path) -> None:
    hashed = passwords.hash_password(b"pw")
    path = write(
        tmp_path,
        '[listeners.tls]\ncertificate = "tls/gw.pem"\nkey = "tls/gw.key"\nclient_ca = "ca.pem"\n'
        '[access]\nmode = "registered"\n'
        '[peers.reqlib]\nnetworks = ["192.0.2.0/24", "2001:db8::1"]\n'
        f'certificate_sha256 = "{":".join(["AB"] * 32)}"\n',
        f'[reqlib]\nuser_id = "u"\npassword_hash = "{hashed}"\n',
    )
    config = load(path)
    tls = config.listeners[0].tls
    assert tls is not None and tls.certificate == tmp_path / "tls/gw.pem"
    assert tls.client_ca == tmp_path / "ca.pem"
    assert config.peers["REQLIB"].certificate_sha256 == FINGERPRINT
    assert config.credentials == Credentials(
        peers={"REQLIB": Credential(user_id="u", password_hash=hashed)}
    )
    assert config.access.credentials == tmp_path / "credentials.toml"


@pytest.mark.parametrize(
    ("text", "logins", "message"),
    [
        ('[peers.A]\nnetworks = ["192.0.2.1"]\n', None, 'need \\[access\\] mode = "registered"'),
        ('[default_peer]\nnetworks = ["192.0.2.1"]\n', None, "default_peer"),
        (
            '[access]\nmode = "registered"\n[peers.A]\ncertificate_cn = "a"\n',
            None,
            "need a listener with tls.client_ca",
        ),
        ('[peers.A]\ncertificate_sha256 = "abcd"\n', None, "64 hex digits"),
        ('[peers.A]\nnetworks = ["192.0.2.1/24"]\n', None, "networks"),  # host bits set
        ("[peers.A]\n", '[A]\nuser_id = "a"\npassword_hash = "{hash}"\n', "need \\[access\\]"),
        (
            '[access]\nmode = "registered"\n[peers.A]\n',
            '[B]\nuser_id = "b"\npassword_hash = "{hash}"\n',
            "B is not under \\[peers\\]",
        ),
        ('[credentials.A]\nuser_id = "a"\n', None, "not here"),
    ],
)
def test_access_settings_that_cannot_be_used(
    tmp_path: Path, text: str, logins: str | None, message: str
) -> None:
    hashed = passwords.hash_password(b"pw")
    path = write(tmp_path, text, None if logins is None else logins.replace("{hash}", hashed))
    with pytest.raises(ConfigError, match=message):
        load(path)


def test_client_certificate_required_needs_a_ca(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[listeners.tls]\ncertificate = "c"\nkey = "k"\nrequire_client_certificate = true\n',
    )
    with pytest.raises(ConfigError, match="require_client_certificate needs client_ca"):
        load(path)
