"""The routing table: which addresses reach a peer library (TCP ``host:port`` for an ISO 10161
peer, HTTP URLs for an ISO 18626 one, with that peer's settings), and which peer an APDU is for.

Plain data and pure functions, no I/O besides reading the routes file in ``RoutingTable.load``.
A table is immutable once built: a reload builds a new one and the caller swaps the reference.
The file format is described in docs/routing.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from isoill.bridge.agency import AgencyId, AgencyMap
from isoill.bridge.settings import Conditional, PeerSettings18626
from isoill.ill.apdus import APDU_FLOW, Flow
from isoill.ill.symbols import symbol_key
from isoill.iso18626.messages import Version

__all__ = [
    "Address",
    "Change",
    "Endpoint",
    "Iso18626",
    "Move",
    "Phase",
    "Protocol",
    "Route",
    "RouteStatus",
    "RoutesError",
    "RoutingTable",
    "Rule",
    "Target",
    "Url",
    "protocol_of",
    "select_target",
]

_HOSTNAME = re.compile(r"[A-Za-z0-9._-]+")
# An HTTP header's name: RFC 9110's token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the gateway writes itself, never a peer's settings.
_OWN_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding"})


class RoutesError(Exception):
    """A routes file that cannot be used. One line per problem, each naming the file."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


def _symbol(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("empty symbol")
    return stripped


def _aware(value: object) -> datetime:
    example = "such as 2026-11-01T00:00:00Z"
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(
                f"{value.isoformat()} has no timezone: add Z (UTC) or an offset, {example}"
            )
        return value
    if isinstance(value, date | time):
        raise ValueError(
            f"{value.isoformat()} is not a date and time with a timezone: write one {example}"
        )
    raise ValueError(f"expected an unquoted TOML date-time {example}, got {value!r}")


def _distinct(addresses: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
    if not addresses:
        raise ValueError("at least one address is needed")
    seen: set[Endpoint] = set()
    for address in addresses:
        if address in seen:
            raise ValueError(f"'{address}' is listed twice")
        seen.add(address)
    return addresses


_Symbol = Annotated[str, AfterValidator(_symbol)]
_AwareDatetime = Annotated[datetime, PlainValidator(_aware)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Frozen):
    """A TCP address. Written ``host:port``, an IPv6 host in brackets: ``[::1]:499``."""

    host: str
    port: int

    @model_validator(mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, dict | Address):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected 'host:port', got {value!r}")
        host, colon, port = value.strip().rpartition(":")
        if not colon or not host:
            raise ValueError(f"{value!r} is not host:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
            if ":" not in host:
                raise ValueError(f"{value!r}: brackets are for IPv6 addresses only")
        elif ":" in host:
            raise ValueError(f"{value!r}: put an IPv6 address in brackets, as in [::1]:499")
        if not (port.isascii() and port.isdigit()):
            raise ValueError(f"{value!r}: the port is not a number")
        return {"host": host, "port": int(port)}

    @model_validator(mode="after")
    def _check(self) -> Self:
        if ":" in self.host:
            try:
                ipaddress.IPv6Address(self.host)
            except ValueError:
                raise ValueError(f"'{self}': not an IPv6 address") from None
        elif not _HOSTNAME.fullmatch(self.host):
            raise ValueError(f"'{self}': not a host name or IP address")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"'{self}': the port must be 1..65535")
        return self

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Protocol(StrEnum):
    """How a peer is reached: ISO 10161 APDUs on TCP, or ISO 18626 messages POSTed over HTTP."""

    ISO10161 = "iso10161"
    ISO18626 = "iso18626"


class Url(_Frozen):
    """An ISO 18626 peer's endpoint: an ``http`` or ``https`` URL, as written (it is what the
    store names the peer's queue by)."""

    url: str

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, value: object) -> object:
        return {"url": value.strip()} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> Self:
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as error:
            raise ValueError(f"{self.url!r}: not a URL ({error})") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{self.url!r}: an ISO 18626 peer is reached by http or https")
        if not parts.hostname:
            raise ValueError(f"{self.url!r}: the URL names no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"{parts.scheme}://...@{parts.hostname}: no credentials in a URL (the routes"
                " are no place for secrets; see isoill peers agency-auth)"
            )
        if parts.fragment or any(c.isspace() for c in self.url):
            raise ValueError(f"{self.url!r}: a URL without a fragment or spaces is needed")
        if port == 0:
            raise ValueError(f"{self.url!r}: the port must be 1..65535")
        return self

    @property
    def secure(self) -> bool:
        return self.url.startswith("https:")

    def __str__(self) -> str:
        return self.url


#: Where one of a peer's messages goes: a TCP address (ISO 10161) or a URL (ISO 18626).
Endpoint = Address | Url


def protocol_of(address: str) -> Protocol:
    """The protocol of a stored delivery's address: a URL is ISO 18626's, ``host:port``
    ISO 10161's."""
    head = address[:8].lower()
    return Protocol.ISO18626 if head.startswith(("http://", "https://")) else Protocol.ISO10161


def _endpoint(value: object) -> Endpoint:
    if isinstance(value, Address | Url):
        return value
    if isinstance(value, str) and "://" in value:  # a URL, if a wrong one
        return Url.model_validate(value)
    return Address.model_validate(value)


_Addresses = Annotated[
    tuple[Annotated[Endpoint, PlainValidator(_endpoint)], ...], AfterValidator(_distinct)
]


def _agency(value: str) -> AgencyId:
    kind, colon, rest = value.strip().partition(":")
    if not (colon and kind.strip() and rest.strip()):
        raise ValueError(f"{value!r} is not an agency id: write TYPE:VALUE, such as ISIL:DK-710100")
    return AgencyId(kind.strip(), rest.strip())


def _header(name: str, value: str) -> tuple[str, str]:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"{name!r} is not an HTTP header name")
    if name.lower() in _OWN_HEADERS:
        raise ValueError(f"{name}: the gateway writes that header itself")
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name}: a header value holds no line break or NUL")
    return name, value


class Iso18626(_Frozen):
    """``[peers.SYMBOL.iso18626]``: what an ISO 18626 peer speaks, as
    :class:`~isoill.bridge.settings.PeerSettings18626` takes it (its defaults are those)."""

    version: Literal["1.2", "2021"] = "1.2"
    declared: str | None = Field(None, min_length=1)
    """The ``version`` attribute to write, if the peer wants another value than the schema's."""
    timezone: str = "UTC"
    conditional: Conditional = Conditional.RETRY
    expect_to_supply: bool = True
    headers: dict[str, str] = {}
    agencies: dict[str, str] = {}
    """Library symbol -> its agency id as the peer writes it (``TYPE:VALUE``)."""

    def settings(self) -> PeerSettings18626:
        """:class:`ValueError` for a value the settings refuse (an unknown zone, say)."""
        headers = tuple(_header(name, value) for name, value in self.headers.items())
        folded = [name.lower() for name, _ in headers]
        if len(set(folded)) != len(folded):
            raise ValueError("headers: a header is named twice (names ignore case)")
        agencies = AgencyMap(
            tuple((symbol_key(_symbol(s)), _agency(a)) for s, a in self.agencies.items())
        )
        return PeerSettings18626(
            version=Version.V2021 if self.version == "2021" else Version.V1_2,
            timezone=self.timezone,
            agencies=agencies,
            conditional=self.conditional,
            expect_to_supply=self.expect_to_supply,
            declared=self.declared,
            headers=headers,
        )


class Move(_Frozen):
    """An address change: from ``start`` old and new addresses, from ``cutover`` only ``to``."""

    to: _Addresses
    start: _AwareDatetime
    cutover: _AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.cutover:
            raise ValueError(
                f"start ({self.start.isoformat()}) must be before "
                f"cutover ({self.cutover.isoformat()})"
            )
        return self


class Phase(StrEnum):
    """Where a peer stands relative to its address change."""

    FIXED = "fixed"  # no move configured
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"


@dataclass(frozen=True)
class Change:
    """From ``at`` on, the peer's APDUs go to ``addresses``."""

    at: datetime
    addresses: tuple[Endpoint, ...]


@dataclass(frozen=True)
class RouteStatus:
    """One row of ``RoutingTable.effective``: a peer as of a given instant."""

    symbol: str
    aliases: tuple[str, ...]
    addresses: tuple[Endpoint, ...]
    phase: Phase
    changes: tuple[Change, ...]  # the whole window, past and future, in time order
    protocol: Protocol = Protocol.ISO10161
    settings18626: PeerSettings18626 | None = None


class Route(_Frozen):
    """A peer library: its symbol, other names it goes by, how it is reached (``protocol``)
    and where its messages are sent; an ISO 18626 peer's settings (``iso18626``, read as
    :attr:`settings18626`)."""

    symbol: _Symbol
    aliases: tuple[_Symbol, ...] = ()
    protocol: Protocol = Protocol.ISO10161
    addresses: _Addresses
    move: Move | None = None
    iso18626: Iso18626 | None = None
    _settings: PeerSettings18626 | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen = {symbol_key(self.symbol)}
        for alias in self.aliases:
            if symbol_key(alias) in seen:
                raise ValueError(f"alias {alias!r} repeats the symbol or another alias")
            seen.add(symbol_key(alias))
        if self.move is not None and set(self.move.to) == set(self.addresses):
            raise ValueError("move.to lists the same addresses as addresses: nothing moves")
        return self

    @model_validator(mode="after")
    def _spoken(self) -> Self:
        """The addresses are the protocol's; an ISO 18626 peer's settings are made once."""
        iso18626 = self.protocol is Protocol.ISO18626
        wanted, other = (Url, Address) if iso18626 else (Address, Url)
        listed = (*self.addresses, *(self.move.to if self.move is not None else ()))
        for address in listed:
            if isinstance(address, other):
                hint = (
                    "an ISO 18626 peer is reached by http:// or https:// URLs"
                    if iso18626
                    else 'a URL is an ISO 18626 peer\'s: set protocol = "iso18626"'
                )
                raise ValueError(f"'{address}': {hint}")
        assert all(isinstance(address, wanted) for address in listed)
        if not iso18626:
            if self.iso18626 is not None:
                raise ValueError('iso18626: the settings of a peer with protocol = "iso18626"')
            return self
        table = self.iso18626 if self.iso18626 is not None else Iso18626()
        try:
            self._settings = table.settings()
        except ValueError as error:
            raise ValueError(f"iso18626: {error}") from None
        return self

    @property
    def settings18626(self) -> PeerSettings18626 | None:
        """An ISO 18626 peer's settings (``None`` for an ISO 10161 peer), without the
        ``requestingAgencyAuthentication``, which the credentials file holds. (Read from
        pydantic's private values directly: its ``__getattr__``, which finds a private
        attribute, is Python code, and this is read for every APDU routed.)"""
        private = self.__pydantic_private__
        assert private is not None
        settings: PeerSettings18626 | None = private["_settings"]
        return settings

    def phase(self, now: datetime) -> Phase:
        if self.move is None:
            return Phase.FIXED
        if now < self.move.start:
            return Phase.BEFORE
        if now < self.move.cutover:
            return Phase.DURING
        return Phase.AFTER

    def addresses_at(self, now: datetime) -> tuple[Endpoint, ...]:
        """Every address that receives the peer's APDUs at ``now`` (an aware datetime)."""
        move = self.move
        if move is None or now < move.start:
            return self.addresses
        if now < move.cutover:
            return _union(self.addresses, move.to)
        return move.to

    def status(self, now: datetime) -> RouteStatus:
        changes: tuple[Change, ...] = ()
        if self.move is not None:
            both = _union(self.addresses, self.move.to)
            changes = (Change(self.move.start, both), Change(self.move.cutover, self.move.to))
        return RouteStatus(
            self.symbol,
            self.aliases,
            self.addresses_at(now),
            self.phase(now),
            changes,
            self.protocol,
            self._settings,
        )


def _union(first: tuple[Endpoint, ...], second: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
    return first + tuple(address for address in second if address not in first)


@dataclass(frozen=True)
class RoutingTable:
    """The peers, looked up by symbol or alias. Raises ``RoutesError`` if two peers share a name."""

    routes: tuple[Route, ...]
    #: The sha256 of the text the table was read from (what ``sha256sum`` says of the file):
    #: the version a process exports and that processes sharing a store compare.
    sha256: str = field(default="", compare=False)
    _index: Mapping[str, Route] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index, problems = _index(self.routes)
        if problems:
            raise RoutesError("<routes>", problems)
        object.__setattr__(self, "_index", MappingProxyType(index))

    @classmethod
    def load(cls, path: str | Path) -> RoutingTable:
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except OSError as error:
            raise RoutesError(str(path), [error.strerror or str(error)]) from None
        except UnicodeDecodeError as error:
            raise RoutesError(str(path), [f"not UTF-8 text: {error}"]) from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<routes>") -> RoutingTable:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RoutesError(source, [f"not valid TOML: {error}"]) from None
        routes, problems = _routes(document)
        problems += _index(routes)[1]
        if problems:
            raise RoutesError(source, problems)
        return cls(tuple(routes), hashlib.sha256(text.encode("utf-8")).hexdigest())

    def route(self, symbol: str) -> Route | None:
        return self._index.get(symbol_key(symbol))

    def peer(self, symbol: str) -> str | None:
        """The canonical symbol of the peer known by ``symbol`` (its symbol or an alias)."""
        route = self.route(symbol)
        return None if route is None else route.symbol

    def addresses(self, symbol: str, now: datetime) -> tuple[Endpoint, ...]:
        """Where an APDU for ``symbol`` goes at ``now``; empty when the symbol is unknown."""
        route = self.route(symbol)
        return () if route is None else route.addresses_at(now)

    def settings18626(self, symbol: str | None) -> PeerSettings18626 | None:
        """The settings of the ISO 18626 peer known by ``symbol``; ``None`` for a peer
        reached by ISO 10161, or unknown."""
        route = self.route(symbol) if symbol else None
        return None if route is None else route.settings18626

    def effective(self, now: datetime) -> tuple[RouteStatus, ...]:
        return tuple(route.status(now) for route in self.routes)


def _routes(document: Mapping[str, Any]) -> tuple[list[Route], list[str]]:
    problems = [
        f"unknown top-level key {key!r}: peers are [peers.SYMBOL] tables"
        for key in document
        if key != "peers"
    ]
    peers = document.get("peers", {})
    if not isinstance(peers, dict) or not peers:
        return [], [*problems, "no peers: add a [peers.SYMBOL] table for each peer library"]
    routes = []
    for symbol, entry in peers.items():
        if not isinstance(entry, dict):
            problems.append(f"peer {symbol}: expected a [peers.{symbol}] table")
        elif "symbol" in entry:
            problems.append(f"peer {symbol}: symbol: unknown key (the table name is the symbol)")
        else:
            try:
                routes.append(Route.model_validate({**entry, "symbol": symbol}))
            except ValidationError as error:
                problems += (f"peer {symbol}: {_describe(e)}" for e in error.errors())
    return routes, problems


def _describe(error: ErrorDetails) -> str:
    where = ".".join(part for part in error["loc"] if isinstance(part, str))
    kind = error["type"]
    if kind == "value_error":
        what = str(error["ctx"]["error"])
    elif kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "missing":
        what = "missing"
    elif kind in ("tuple_type", "list_type"):
        what = f"expected a list, got {error['input']!r}"
    elif kind == "string_type":
        what = f"expected a string, got {error['input']!r}"
    elif kind in ("model_type", "dict_type"):
        what = f"expected a table, got {error['input']!r}"
    else:
        what = f"{error['msg']}, got {error['input']!r}"
    return f"{where}: {what}" if where else what


def _index(routes: Iterable[Route]) -> tuple[dict[str, Route], list[str]]:
    index: dict[str, Route] = {}
    problems = []
    for route in routes:
        for name in (route.symbol, *route.aliases):
            key = symbol_key(name)
            other = index.get(key)
            if other is None:
                index[key] = route
            elif name == route.symbol:
                problems.append(f"peer {name}: the symbol is already used by peer {other.symbol}")
            else:
                problems.append(
                    f"peer {route.symbol}: alias {name!r} already names peer {other.symbol}"
                )
    return index, problems


class Rule(StrEnum):
    """Why ``select_target`` chose what it chose; for logs."""

    RESPONDER_ID = "responder-id"
    REQUESTER_ID = "requester-id"
    OTHER_PARTY = "other-party"
    TRANSACTION = "transaction"
    DEFAULT = "default"
    NONE = "none"


@dataclass(frozen=True)
class Target:
    symbol: str | None
    rule: Rule


def select_target(
    apdu_type: str,
    *,
    requester: str | None,
    responder: str | None,
    sender: Collection[str],
    counterpart: str | None,
    default: str | None,
) -> Target:
    """The symbol an APDU is to be sent to, and the rule that chose it.

    ``requester`` and ``responder`` are the APDU's requester-id and responder-id symbols,
    ``sender`` the symbol and aliases of the connected peer, ``counterpart`` the peer already
    known for the APDU's transaction-id, ``default`` the listener's default symbol. Blank
    symbols count as absent: peers send empty strings. Raises ``ValueError`` for an
    unknown ``apdu_type``.
    """
    try:
        flow = APDU_FLOW[apdu_type]
    except KeyError:
        raise ValueError(f"unknown APDU type {apdu_type!r}") from None
    requester, responder = _present(requester), _present(responder)
    if flow is Flow.FROM_REQUESTER and responder:
        return Target(responder, Rule.RESPONDER_ID)
    if flow is Flow.FROM_RESPONDER and requester:
        return Target(requester, Rule.REQUESTER_ID)
    if flow is Flow.EITHER:
        # Only when the sender is exactly one of the two parties: a sender that is neither
        # (an intermediary, a peer not in the table) says nothing about who the other side is.
        senders = {symbol_key(symbol) for symbol in sender}
        from_requester = requester is not None and symbol_key(requester) in senders
        from_responder = responder is not None and symbol_key(responder) in senders
        if from_requester and not from_responder and responder:
            return Target(responder, Rule.OTHER_PARTY)
        if from_responder and not from_requester and requester:
            return Target(requester, Rule.OTHER_PARTY)
    if counterpart := _present(counterpart):
        return Target(counterpart, Rule.TRANSACTION)
    if default := _present(default):
        return Target(default, Rule.DEFAULT)
    return Target(None, Rule.NONE)


def _present(symbol: str | None) -> str | None:
    if symbol is None:
        return None
    return symbol.strip() or None
