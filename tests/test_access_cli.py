"""``isoill peers passwd``: the hash goes into the credentials file, the password nowhere;
``isoill peers login``: the gateway's own login at a target goes there too."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from gateway_harness import run_cli

from isoill.access import credentials, passwords
from isoill.access.credentials import AgencyLogin, Credentials, GatewayLogin
from isoill.config import ConfigError, load

CONFIG = '[[listeners]]\nport = 0\n[access]\nmode = "{mode}"\n[peers.REQLIB]\n[peers.OTHER]\n'


def config(directory: Path, mode: str = "registered") -> Path:
    path = directory / "isoill.toml"
    path.write_text(CONFIG.format(mode=mode))
    return path


def passwd(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run_cli(["peers", "passwd", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_passwd_from_stdin_writes_a_hash_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path)
    code, out, _ = passwd(
        capsys, monkeypatch, "s3cret pw\n", "reqlib", "--config", str(path), "--stdin"
    )
    assert code == 0
    file = tmp_path / "credentials.toml"
    assert out == (
        f"REQLIB: Prompt-1 userId 'REQLIB' and password set in {file};"
        " the daemon reads it at start and on SIGHUP (isoill routes reload)\n"
    )
    assert "s3cret" not in file.read_text()
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    (entry,) = credentials.load(file).peers.values()
    assert entry.user_id == "REQLIB"
    assert passwords.verify(b"s3cret pw", entry.password_hash)

    args = ("OTHER", "--config", str(path), "--user", "other-1", "--stdin")
    assert passwd(capsys, monkeypatch, "another\n", *args)[0] == 0
    # a new password for REQLIB keeps its userId and leaves OTHER as it was
    assert passwd(capsys, monkeypatch, "new\n", "REQLIB", "--config", str(path), "--stdin")[0] == 0
    stored = credentials.load(file).peers
    assert stored["REQLIB"].user_id == "REQLIB"
    assert passwords.verify(b"new", stored["REQLIB"].password_hash)
    assert stored["OTHER"].user_id == "other-1"
    assert passwords.verify(b"another", stored["OTHER"].password_hash)


def test_passwd_prompts_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path)
    answers = iter(["first", "second"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = passwd(capsys, monkeypatch, "", "REQLIB", "--config", str(path))
    assert (code, err) == (3, "isoill: the passwords differ; nothing changed\n")
    assert not (tmp_path / "credentials.toml").exists()

    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "pw"

    monkeypatch.setattr("getpass.getpass", getpass)
    assert passwd(capsys, monkeypatch, "", "REQLIB", "--config", str(path))[0] == 0
    assert prompts == ["Prompt-1 password for REQLIB: ", "Again: "]


@pytest.mark.parametrize(
    ("mode", "symbol", "stdin", "message"),
    [
        ("open", "REQLIB", "pw\n", 'with [access] mode = "registered" only'),
        ("registered", "NEWLIB", "pw\n", "NEWLIB is not under [peers]"),
        ("registered", "REQLIB", "\n", "no password on stdin"),
    ],
)
def test_passwd_refusals(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    symbol: str,
    stdin: str,
    message: str,
) -> None:
    path = config(tmp_path, mode)
    code, _, err = passwd(capsys, monkeypatch, stdin, symbol, "--config", str(path), "--stdin")
    assert code == 3 and message in err
    assert not (tmp_path / "credentials.toml").exists()


def peers_login(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run_cli(["peers", "login", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_gateways_own_login_at_a_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept beside the peers' hashes, in clear (the gateway sends it), in either mode."""
    path = config(tmp_path, "open")
    file = tmp_path / "credentials.toml"
    argv = ("other", "--config", str(path), "--user", "gw-1", "--stdin")
    code, out, _ = peers_login(capsys, monkeypatch, "gw secret\n", *argv)
    assert code == 0
    assert out == (
        f"OTHER: the gateway logs in as 'gw-1' with each APDU it delivers there (set in {file});"
        " the daemon reads it at start and on SIGHUP (isoill routes reload)\n"
    )
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert credentials.load(file) == Credentials(
        logins={"OTHER": GatewayLogin(user_id="gw-1", password="gw secret")}
    )
    assert load(path).credentials.logins["OTHER"].user_id == "gw-1"  # the daemon reads it
    assert peers_login(capsys, monkeypatch, "", "OTHER", "--config", str(path), "--remove")[0] == 0
    assert credentials.load(file) == Credentials()


def test_the_gateways_own_login_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path)
    path.write_text(path.read_text() + "forward_sender_login = true\n")  # for [peers.OTHER]
    argv = ("--config", str(path), "--user", "gw", "--stdin")
    code, _, err = peers_login(capsys, monkeypatch, "pw\n", "OTHER", *argv)
    assert code == 3 and "OTHER has forward_sender_login" in err
    code, _, err = peers_login(capsys, monkeypatch, "pw\n", "NEWLIB", *argv)
    assert code == 3 and "NEWLIB is not under [peers]" in err
    code, _, err = peers_login(capsys, monkeypatch, "pw\n", "REQLIB", "--config", str(path))
    assert code == 3 and "--user USERID is needed" in err
    assert not (tmp_path / "credentials.toml").exists()
    # Written by hand, the same conflict stops the daemon's configuration from loading.
    login = GatewayLogin(user_id="gw", password="pw")
    credentials.save(tmp_path / "credentials.toml", Credentials(logins={"OTHER": login}))
    with pytest.raises(ConfigError, match="OTHER gets the gateway's own login"):
        load(path)


ROUTES_18626 = """
[peers.REQLIB]
addresses = ["127.0.0.1:9001"]
[peers.KOHA]
aliases = ["KOHA-ILL"]
protocol = "iso18626"
addresses = ["http://127.0.0.1:9100/iso18626"]
"""


def agency_auth(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run_cli(["peers", "agency-auth", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_iso18626_peers_authentication_goes_into_the_credentials_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never into the routes or the configuration; for an ISO 18626 peer of the routes, by
    any of its names; the daemon's configuration reads it."""
    path = config(tmp_path, "open")
    (tmp_path / "routes.toml").write_text(ROUTES_18626)
    file = tmp_path / "credentials.toml"
    argv = ("koha-ill", "--config", str(path), "--account-id", "isoill-1", "--stdin")
    code, out, _ = agency_auth(capsys, monkeypatch, "code 42\n", *argv)
    assert code == 0
    assert out.startswith("KOHA: the gateway authenticates as account 'isoill-1'")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert credentials.load(file) == Credentials(
        agencies={"KOHA": AgencyLogin(account_id="isoill-1", security_code="code 42")}
    )
    assert "code 42" not in repr(load(path).credentials)
    assert load(path).credentials.agencies["KOHA"].security_code == "code 42"
    remove = ("KOHA", "--config", str(path), "--remove")
    assert agency_auth(capsys, monkeypatch, "", *remove)[0] == 0
    assert credentials.load(file) == Credentials()
    for symbol, message in (("REQLIB", "REQLIB is no ISO 18626 peer"), ("NONE", "NONE is no")):
        code, _, err = agency_auth(capsys, monkeypatch, "x\n", symbol, *argv[1:])
        assert code == 3 and message in err
    code, _, err = agency_auth(capsys, monkeypatch, "x\n", "KOHA", "--config", str(path))
    assert code == 3 and "--account-id ID is needed" in err
    assert credentials.load(file) == Credentials()
