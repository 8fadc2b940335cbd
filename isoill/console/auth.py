"""Who is at the console: logins checked against the accounts file with scrypt (off the event
loop) and throttled by address and by name, sessions in a signed cookie (HttpOnly,
SameSite=Strict, Secure with TLS), the CSRF token every change must carry, and the role each
route asks for. The accounts file is read again when it changes, so ``isoill operators add``
needs no reload, and a session whose operator went, or lost the role, loses it at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from isoill import logs
from isoill.access import operators, sessions
from isoill.access.operators import AccountsError, Operator
from isoill.access.passwords import hash_password, verify
from isoill.access.throttle import LoginThrottle
from isoill.config import Console

COOKIE = "isoill_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
#: A hash to check an unknown name's password against: the answer takes as long as a known
#: name's, so the time does not tell which names exist.
_NOBODY = hash_password(b"nobody")


class LoginRefused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Visitor:
    """A request's operator and session."""

    operator: Operator
    session: sessions.Session
    csrf: str


class Guard:
    def __init__(
        self,
        key: bytes,
        accounts: Path,
        settings: Console,
        *,
        secure: bool,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self.accounts_path = accounts
        self.settings = settings
        self.secure = secure
        self._clock = clock
        self._monotonic = monotonic
        self._accounts: dict[str, Operator] = {}
        self._stamp: tuple[int, int] | None = None
        self._ended: dict[str, float] = {}  # sessions logged out, by nonce: until they end
        self.throttle = LoginThrottle(
            settings.login_delay,
            settings.login_max_delay,
            settings.login_lockout_after,
            settings.login_lockout,
        )

    def accounts(self) -> dict[str, Operator]:
        """The accounts as the file now has them (read again when its size or time changed;
        a file that cannot be read leaves nobody able to log in)."""
        try:
            status = self.accounts_path.stat()
            stamp = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            self._accounts, self._stamp = {}, None
            return {}
        if stamp != self._stamp:
            try:
                self._accounts = operators.load(self.accounts_path)
            except AccountsError:
                self._accounts = {}
            self._stamp = stamp
        return self._accounts

    async def login(self, name: str, password: str, address: str) -> tuple[Operator, str]:
        """The operator and a new session's token; :class:`LoginRefused` (after the
        throttle's delay) for a wrong name or password, or at once while locked out."""
        keys = (f"address:{address}", f"name:{name}")
        log = logs.get().bind(operator=name, address=address)
        if self.throttle.locked(keys, self._monotonic()) is not None:
            log.warning("console login refused: locked out")
            raise LoginRefused("too many failed logins: try again later", 429)
        account = self.accounts().get(name)
        encoded = account.password_hash if account is not None else _NOBODY
        good = await asyncio.to_thread(verify, password.encode(), encoded)
        if account is None or not good:
            await asyncio.sleep(self.throttle.failed(keys, self._monotonic()))
            log.warning("console login failed")
            raise LoginRefused("wrong name or password", 401)
        self.throttle.succeeded(keys)
        log.info("console login", role=account.role)
        lifetime = self.settings.session_hours * 3600
        _, token = sessions.issue(self.key, name, self._clock(), lifetime)
        return account, token

    def visitor(self, token: str | None) -> Visitor | None:
        if not token:
            return None
        now = self._clock()
        session = sessions.verify(self.key, token, now)
        if session is None or session.nonce in self._ended:
            return None
        account = self.accounts().get(session.name)
        if account is None:
            return None
        return Visitor(account, session, sessions.csrf_token(self.key, session))

    def logout(self, session: sessions.Session) -> None:
        now = self._clock()
        self._ended = {n: end for n, end in self._ended.items() if end > now}
        self._ended[session.nonce] = session.expires

    def csrf_ok(self, visitor: Visitor, token: str | None) -> bool:
        return sessions.csrf_ok(self.key, visitor.session, token)

    def set_cookie(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self.settings.session_hours * 3600),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="Strict",
        )

    def clear_cookie(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="Strict")


def client_address(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if peer else "?"
