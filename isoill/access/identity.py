"""Who may speak on a connection, in ``[access] mode = "registered"``.

At accept, a connection is admitted for the peers whose ``networks`` hold its source address;
a client certificate that matches a peer's ``certificate_cn`` or ``certificate_sha256``
narrows them to the peers it matches, and a peer that has a certificate rule is admitted only
with its certificate. The first APDU then narrows them by its Prompt-1 response: to the peers
whose credentials it matches, or, when it carries none, to the peers that have no credentials.
From then on, each APDU that names its sender (``requester-id`` of a requester's APDU, else
its transaction-id's ``initial-requester-id``; ``responder-id`` of a responder's) must name one
of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from isoill.access import passwords
from isoill.access.prompt import login_of
from isoill.access.tls import ClientCertificate
from isoill.codec.values import ApduModel
from isoill.config import Config, Peer
from isoill.router import APDU_FLOW, Flow


@dataclass
class Identity:
    """The peers one connection speaks for: ``peers`` is the connection's sender symbols
    (:attr:`isoill.gateway.Origin.symbols`, the same set), narrowed in place."""

    peers: set[str]
    authenticated: bool = False
    """Whether the first APDU's credentials have been checked."""


@dataclass(frozen=True)
class Refusal:
    """Why an APDU is refused: ``problem`` goes in the user-error-report's security-problem,
    ``reason`` in the note; ``close`` ends the connection after the answer."""

    problem: str
    reason: str
    close: bool = False


class AccessControl:
    def __init__(self, config: Config) -> None:
        self.config = config

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

    async def check(
        self,
        apdu: ApduModel,
        identity: Identity | None,
        sender: str | None,
        initial_requester: str | None,
    ) -> Refusal | None:
        """Authenticate the connection on its first APDU, then check that ``apdu`` names
        one of its peers as sender (``sender`` as the gateway reads it). ``None``: it may go
        on; always so in open mode (no ``identity``)."""
        if identity is None:
            return None
        if not identity.authenticated:
            identity.authenticated = True
            refusal = await self._authenticate(apdu, identity)
            if refusal is not None:
                identity.peers.clear()
                return refusal
        if not identity.peers:  # failed to authenticate, and the answer did not close it
            return Refusal("not authenticated", "this connection speaks for no peer", close=True)
        flow = APDU_FLOW[apdu.apdu_type]
        if flow is Flow.FROM_RESPONDER:
            element, named = "responder-id", sender
        elif sender is not None:
            element, named = "requester-id", sender
        else:
            element, named = "initial-requester-id", initial_requester
        if flow is Flow.EITHER or named is None or named in identity.peers:
            return None
        return Refusal(
            f"{element} {named} is not a peer of this connection",
            f"this connection speaks for {_listed(identity.peers)} only",
        )

    async def _authenticate(self, apdu: ApduModel, identity: Identity) -> Refusal | None:
        credentials = self.config.credentials
        needing = {symbol for symbol in identity.peers if symbol in credentials}
        if not needing:
            return None
        login = login_of(apdu)
        if login is None:
            identity.peers -= needing
            if identity.peers:
                return None
            return Refusal(
                "Prompt-1 credentials required",
                "the first APDU of a connection must carry a Prompt-1 response"
                " (1.2.840.10003.8.1) with userId and password",
                close=True,
            )
        candidates = [s for s in sorted(needing) if credentials[s].user_id == login.user_id]
        hashes = [credentials[symbol].password_hash for symbol in candidates]
        # scrypt takes tens of milliseconds by design: off the event loop
        matches = await asyncio.to_thread(_verified, login.password, hashes)
        accepted = {symbol for symbol, match in zip(candidates, matches, strict=True) if match}
        if not accepted:
            return Refusal(
                "Prompt-1 credentials not accepted",
                f"userId {login.user_id!r} and this password are not a peer's; closing",
                close=True,
            )
        identity.peers &= accepted
        return None


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


def _listed(symbols: Iterable[str]) -> str:
    return ", ".join(sorted(symbols)) or "no peer"
