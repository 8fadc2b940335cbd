"""``isoill operators``: accounts added, changed and removed in their own file, the daemon
user's alone, with a hash and never the password; a new operator needs a role."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from gateway_harness import run_cli, write_config

from isoill.access import operators
from isoill.access.passwords import verify


def add(monkeypatch: pytest.MonkeyPatch, config: Path, *argv: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return run_cli(["operators", "add", *argv, "--config", str(config), "--stdin"])


def test_operators_are_added_changed_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, '[peers.A]\naddresses = ["127.0.0.1:1"]\n')
    assert add(monkeypatch, config, "alice", "--role", "admin", password="first") == 0
    path = tmp_path / "operators.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "first" not in path.read_text()
    assert verify(b"first", operators.load(path)["alice"].password_hash)
    assert add(monkeypatch, config, "alice", password="second") == 0  # the role stays
    alice = operators.load(path)["alice"]
    assert alice.role == "admin" and verify(b"second", alice.password_hash)
    assert add(monkeypatch, config, "bob", password="x") == 3  # a new one needs a role
    assert "--role is needed" in capsys.readouterr().err
    assert add(monkeypatch, config, "Bob Smith", "--role", "viewer", password="x") == 3
    assert add(monkeypatch, config, "bob", "--role", "viewer", password="x") == 0
    capsys.readouterr()
    assert run_cli(["operators", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "alice  admin\nbob  viewer\n"
    assert run_cli(["operators", "remove", "bob", "--config", str(config)]) == 0
    assert list(operators.load(path)) == ["alice"]
    assert run_cli(["operators", "remove", "bob", "--config", str(config)]) == 3
