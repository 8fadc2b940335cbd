"""Operator accounts, sessions and the audit log: hashes in a file of their own, the daemon
user's alone; sessions signed, ending on time, refused when altered; a CSRF token per session
that no one without the key can make; audit entries appended, never holding a secret."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from isoill.access import operators, sessions
from isoill.access.operators import AccountsError, Operator
from isoill.access.passwords import hash_password, verify
from isoill.config import Console
from isoill.console.auth import COOKIE, Guard
from isoill.service.audit import AuditLog


def test_accounts_are_saved_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "operators.toml"
    hashed = hash_password(b"secret")
    operators.save(path, {"alice": Operator("alice", "admin", hashed)})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (alice,) = operators.load(path).values()
    assert (alice.name, alice.role) == ("alice", "admin")
    assert verify(b"secret", alice.password_hash)
    assert "scrypt" not in repr(alice)
    assert operators.load(tmp_path / "none.toml") == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[operators.alice]\nrole = "root"\npassword_hash = "x"\n', "role must be"),
        ('[operators.alice]\nrole = "admin"\npassword_hash = "x"\n', "scrypt"),
        ('[operators."Al ice"]\nrole = "admin"\n', "operator name"),
        ("[others]\n", "unknown key"),
        ("[operators", "operators.toml"),
    ],
)
def test_a_bad_accounts_file_is_refused_with_where(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "operators.toml"
    path.write_text(text)
    with pytest.raises(AccountsError, match=problem):
        operators.load(path)


def test_roles_are_ordered() -> None:
    viewer = Operator("v", "viewer", "")
    admin = Operator("a", "admin", "")
    assert viewer.may("viewer") and not viewer.may("operator")
    assert admin.may("viewer") and admin.may("operator") and admin.may("admin")


def test_a_session_holds_until_it_ends_and_only_as_signed() -> None:
    key = sessions.new_key()
    session, token = sessions.issue(key, "alice", now=1000.0, lifetime=60)
    assert sessions.verify(key, token, 1059.0) == session
    assert sessions.verify(key, token, 1060.0) is None  # ended
    assert sessions.verify(sessions.new_key(), token, 1000.0) is None  # another key
    payload, _, signature = token.partition(".")
    assert sessions.verify(key, payload[:-2] + "xx." + signature, 1000.0) is None
    assert sessions.verify(key, "garbage", 1000.0) is None


def test_the_csrf_token_is_the_sessions_and_the_keys() -> None:
    key = sessions.new_key()
    session, _ = sessions.issue(key, "alice", 0.0, 60)
    other, _ = sessions.issue(key, "alice", 0.0, 60)
    token = sessions.csrf_token(key, session)
    assert sessions.csrf_ok(key, session, token)
    assert not sessions.csrf_ok(key, other, token)
    assert not sessions.csrf_ok(sessions.new_key(), session, token)
    assert not sessions.csrf_ok(key, session, None)


def test_the_audit_log_appends_private_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "var" / "audit.jsonl")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    log.record("alice", "release", at, {"message": 3})
    log.record("bob", "refuse", at, {"message": 4, "reason": "unknown library"})
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    newest, oldest = log.entries()
    assert newest == {
        "at": at.isoformat(),
        "who": "bob",
        "action": "refuse",
        "message": 4,
        "reason": "unknown library",
    }
    assert oldest["who"] == "alice"
    assert log.entries(limit=1) == [newest]


def test_the_session_cookie_is_secure_with_tls(tmp_path: Path) -> None:
    key = sessions.new_key()
    for secure in (False, True):
        guard = Guard(key, tmp_path / "operators.toml", Console(), secure=secure)
        response = web.Response()
        guard.set_cookie(response, "token")
        cookie = response.cookies[COOKIE]
        assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "Strict", "/")
        assert bool(cookie["secure"]) is secure


def test_a_removed_or_demoted_operator_loses_the_session_at_once(tmp_path: Path) -> None:
    path = tmp_path / "operators.toml"
    hashed = hash_password(b"x")
    operators.save(path, {"alice": Operator("alice", "admin", hashed)})
    guard = Guard(sessions.new_key(), path, Console(), secure=False)
    _, token = sessions.issue(guard.key, "alice", time.time(), 60)
    visitor = guard.visitor(token)
    assert visitor is not None and visitor.operator.role == "admin"
    operators.save(
        path, {"alice": Operator("alice", "viewer", hashed), "b": Operator("b", "viewer", hashed)}
    )
    visitor = guard.visitor(token)
    assert visitor is not None and visitor.operator.role == "viewer"
    operators.save(path, {})
    assert guard.visitor(token) is None
