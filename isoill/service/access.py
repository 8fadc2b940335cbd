"""Who may speak on a connection, in ``[access] mode = "registered"``.

At accept, a connection is admitted for the peers whose ``networks`` hold its source address;
a client certificate that matches a peer's ``certificate_cn`` or ``certificate_sha256``
narrows them to the peers it matches, and a peer that has a certificate rule is admitted only
with its certificate. The first APDU then narrows them by its Prompt-1 response: to the peers
whose credentials it matches, or, when it carries none, to the peers that have no credentials.
Failed logins are throttled (:mod:`isoill.access.throttle`). From then on, each APDU must name
one of them as its sender, and come from a party of its transaction
(:mod:`isoill.access.parties`).

The ISO 18626 endpoint admits each POST the same way, its login read from HTTP Basic auth or
the message's ``requestingAgencyAuthentication`` instead (:attr:`Identity.http`); since it
logs in with every message, a login that succeeded is remembered rather than checked by
scrypt again.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, NamedTuple

from isoill import metrics
from isoill.access import passwords
from isoill.access.credentials import Credential, GatewayLogin
from isoill.access.throttle import LoginThrottle
from isoill.codec.models import IllApdu
from isoill.config import Config, Peer
from isoill.core.parties import Refusal
from isoill.ill.prompt import Login, login_of

#: Successful logins remembered, so that a peer logging in again is not checked by scrypt.
REMEMBERED_LOGINS = 1024


class ClientCertificate(NamedTuple):
    """A client certificate the handshake verified against the listener's ``client_ca``."""

    common_names: frozenset[str]
    sha256: str  # fingerprint: lower-case hex, no separators


@dataclass
class Identity:
    """The peers one connection speaks for: ``peers`` is the connection's sender symbols
    (:attr:`isoill.gateway.Origin.symbols`, the same set), narrowed in place."""

    peers: set[str]
    authenticated: bool = False
    """Whether the first APDU's credentials have been checked."""
    http: bool = False
    """Whether the peers' credentials come over HTTP (the ISO 18626 endpoint: HTTP Basic
    auth, or a message's ``requestingAgencyAuthentication``), as :attr:`login`, rather than
    in a Prompt-1 response."""
    login: Login | None = None
    """With :attr:`http`: the login the request carried, if any."""


class AccessControl:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.credentials: dict[str, Credential] = config.credentials.peers
        """The peers' Prompt-1 credentials; replaced by a reload of the credentials file."""
        self.logins: dict[str, GatewayLogin] = config.credentials.logins
        """The gateway's own Prompt-1 login at each target that has one; replaced likewise."""
        self._key = secrets.token_bytes(32)
        self._succeeded: dict[bytes, frozenset[str]] = {}  # logins verified, see _verified
        access = config.access
        self.throttle = LoginThrottle(
            access.login_delay,
            access.login_max_delay,
            access.login_lockout_after,
            access.login_lockout,
        )

    @property
    def registered(self) -> bool:
        return self.config.access.mode == "registered"

    def known(self, host: str) -> bool:
        """Whether some peer connects from ``host`` (asked before any TLS handshake)."""
        return bool(self._from(host))

    def admit(self, host: str, certificate: ClientCertificate | None) -> set[str]:
        """The symbols of the peers a connection from ``host`` may speak for."""
        by_address = self._from(host)
        if certificate is not None:
            holders = {s for s, peer in by_address.items() if _holds(peer, certificate)}
            if holders:
                return holders
        return {
            symbol
            for symbol, peer in by_address.items()
            if not (peer.certificate_cn or peer.certificate_sha256)
        }

    def speaker(self, sender: str | None, identity: Identity | None) -> str | None:
        """Whose settings (``ack``, ``connection``, profiles) apply to an APDU: its sender's;
        in registered mode, the connection's peer's when the APDU names none of its peers
        and the connection speaks for one peer only."""
        if identity is None or sender in identity.peers or len(identity.peers) != 1:
            return sender
        (sole,) = identity.peers
        return sole

    def _from(self, host: str) -> dict[str, Peer]:
        address = _address(host)
        if address is None:
            return {}
        return {
            symbol: peer
            for symbol, peer in self.config.peers.items()
            if any(address in network for network in peer.networks)
        }

    async def authenticate(
        self, apdu: IllApdu, identity: Identity | None, host: str, log: Any
    ) -> Refusal | None:
        """Authenticate the connection on its first APDU (its Prompt-1 login, if its peers
        have credentials); ``None``: it may go on; always so in open mode (no ``identity``)."""
        if identity is None:
            return None
        if not identity.authenticated:
            identity.authenticated = True
            refusal = await self._authenticate(apdu, identity, host, log)
            if refusal is not None:
                identity.peers.clear()
                return refusal
        if not identity.peers:  # failed to authenticate, and the answer did not close it
            return Refusal("not authenticated", "this connection speaks for no peer", close=True)
        return None

    async def _authenticate(
        self, apdu: IllApdu, identity: Identity, host: str, log: Any
    ) -> Refusal | None:
        credentials = self.credentials
        needing = {symbol for symbol in identity.peers if symbol in credentials}
        if not needing:
            return None
        login = identity.login if identity.http else login_of(apdu)
        words = _HTTP_WORDS if identity.http else _PROMPT1_WORDS
        if login is None:
            identity.peers -= needing
            if identity.peers:
                return None
            return Refusal(f"{words.name} credentials required", words.required, close=True)
        candidates = [s for s in sorted(needing) if credentials[s].user_id == login.user_id]
        # A userId is throttled only where it could log in: another peer's failures with
        # it cannot lock its owner out.
        keys = [f"address {host}", *([f"userId {login.user_id}"] if candidates else [])]
        now = asyncio.get_running_loop().time()
        locked = self.throttle.locked(keys, now)
        if locked is not None:
            metrics.REJECTIONS.labels("login-locked").inc()
            log.warning("login refused: too many failures", user_id=login.user_id, key=locked)
            return Refusal(
                f"{words.name} login refused for now",
                f"too many failed logins ({locked}); try again later",
                close=True,
            )
        accepted = await self._verified(login, credentials, candidates)
        if accepted:
            self.throttle.succeeded(keys)
            identity.peers &= accepted
            return None
        delay = self.throttle.failed(keys, now)
        metrics.REJECTIONS.labels("login-failed").inc()
        log.warning("login failed", user_id=login.user_id, delay=round(delay, 3))
        await asyncio.sleep(delay)  # the answer waits: guessing is slow
        return Refusal(
            f"{words.name} credentials not accepted",
            f"{words.user} {login.user_id!r} and this {words.password} are not a peer's"
            + ("" if identity.http else "; closing"),
            close=True,
        )

    async def _verified(
        self, login: Login, credentials: dict[str, Credential], candidates: list[str]
    ) -> set[str]:
        """The candidates whose password the login has; scrypt takes tens of milliseconds
        by design, so off the event loop. A login that succeeded is remembered (under a keyed
        hash of it and of the hashes it matched, so a changed credential is checked anew):
        an ISO 18626 peer logs in with every POST, and must not pay scrypt each time."""
        hashes = [credentials[symbol].password_hash for symbol in candidates]
        key = hmac.digest(
            self._key,
            b"\0".join([login.user_id.encode(), login.password, *map(str.encode, hashes)]),
            "sha256",
        )
        known = self._succeeded.get(key)
        if known is not None:
            return set(known)
        matches = await asyncio.to_thread(_verified, login.password, hashes)
        accepted = {symbol for symbol, match in zip(candidates, matches, strict=True) if match}
        if accepted:
            if len(self._succeeded) >= REMEMBERED_LOGINS:
                del self._succeeded[next(iter(self._succeeded))]  # the oldest
            self._succeeded[key] = frozenset(accepted)
        return accepted


class _Words(NamedTuple):
    """How refusals name a login: what carries it, and its two parts."""

    name: str
    required: str
    user: str
    password: str


_PROMPT1_WORDS = _Words(
    "Prompt-1",
    "the first APDU of a connection must carry a Prompt-1 response (1.2.840.10003.8.1)"
    " with userId and password",
    "userId",
    "password",
)
_HTTP_WORDS = _Words(
    "ISO 18626",
    "this peer must log in: HTTP Basic auth, or requestingAgencyAuthentication"
    " (accountId and securityCode) in the message's header",
    "account",
    "password or securityCode",
)


def _verified(password: bytes, hashes: Iterable[str]) -> list[bool]:
    return [passwords.verify(password, encoded) for encoded in hashes]


def _holds(peer: Peer, certificate: ClientCertificate) -> bool:
    """Whether ``certificate`` is the one ``peer``'s certificate rule names."""
    if not (peer.certificate_cn or peer.certificate_sha256):
        return False
    if peer.certificate_cn is not None and peer.certificate_cn not in certificate.common_names:
        return False
    return peer.certificate_sha256 is None or peer.certificate_sha256 == certificate.sha256


def _address(host: str) -> IPv4Address | IPv6Address | None:
    """The connection's source address; an IPv4-mapped IPv6 one as the IPv4 address."""
    try:
        address = ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
