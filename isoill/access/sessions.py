"""The console's sessions: a token the browser keeps in a cookie, signed with HMAC-SHA256 by a
key only the daemon reads, naming the operator and when the session ends; and the CSRF token
of each session, derived from it with the same key, that every change must carry.

Nothing is kept on the server but the key (and, in the process, the sessions logged out
before their end), so every worker of one daemon, sharing the key file, accepts a session any
of them issued. Pure: the caller passes the time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

KEY_BYTES = 32


@dataclass(frozen=True)
class Session:
    name: str
    expires: float
    """Seconds since the epoch."""
    nonce: str
    """What tells this session from another of the same operator (and logs it out)."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def issue(key: bytes, name: str, now: float, lifetime: float) -> tuple[Session, str]:
    """A new session of ``name`` and its token."""
    session = Session(name, now + lifetime, secrets.token_urlsafe(16))
    body = json.dumps({"n": session.name, "e": session.expires, "x": session.nonce})
    payload = _b64(body.encode())
    return session, f"{payload}.{_sign(key, payload)}"


def verify(key: bytes, token: str, now: float) -> Session | None:
    """The session a token stands for, if its signature holds and it has not ended."""
    payload, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(signature, _sign(key, payload)):
        return None
    try:
        body = json.loads(_unb64(payload))
        session = Session(str(body["n"]), float(body["e"]), str(body["x"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if now < session.expires else None


def csrf_token(key: bytes, session: Session) -> str:
    """The session's CSRF token: the same for the whole session, unknown to anyone without
    the key."""
    return _sign(key, "csrf:" + session.nonce)


def csrf_ok(key: bytes, session: Session, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(token, csrf_token(key, session))


def _sign(key: bytes, text: str) -> str:
    return _b64(hmac.new(key, text.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
