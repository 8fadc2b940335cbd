"""The daemon's configuration: one TOML file, validated at start with clear messages.

Relative paths in the file are relative to the file's own directory; a PostgreSQL store's URL
is not a path, and stays as it is.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from isoill.access import credentials as credentials_file
from isoill.access.credentials import Credentials, CredentialsError
from isoill.core.retry import RetryPolicy
from isoill.ill.symbols import symbol_key
from isoill.rules.engine import Profile
from isoill.rules.profiles import BUILT_IN, compose
from isoill.store.backend import BUSY_TIMEOUT_SECONDS
from isoill.store.errors import StoreError
from isoill.store.setting import is_url, store_setting


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tls(_Section):
    certificate: Path
    """The listener's certificate chain (PEM), relative to the config file."""
    key: Path
    """Its private key (PEM, unencrypted)."""
    client_ca: Path | None = None
    """CA certificates (PEM) that client certificates must chain to; a self-signed client
    certificate listed here verifies too. Absent: no client certificate is asked for."""
    require_client_certificate: bool = False
    """Refuse the handshake of a client that sends no certificate (needs ``client_ca``)."""
    handshake_timeout: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _ca_for_required(self) -> Self:
        if self.require_client_certificate and self.client_ca is None:
            raise ValueError("require_client_certificate needs client_ca")
        return self


def _check_reserve(reserved: int, max_connections: int) -> None:
    if reserved >= max_connections:
        raise ValueError("reserved_connections must be less than max_connections")


class Listener(_Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    default_target: str | None = None
    """Symbol for APDUs that name no target and belong to no known transaction."""
    tls: Tls | None = None
    """TLS on this listener; absent: plain TCP."""


class Iso18626Listener(Listener):
    """The ISO 18626 endpoint: where ISO 18626 peers POST their messages over HTTP (or HTTPS,
    with ``tls``), as a ``[[listeners]]`` entry takes ISO 10161 APDUs over TCP."""

    path: str = Field("/iso18626", pattern=r"^/[^?#\s]*$")
    """The URL path messages are POSTed to; any other path is answered 404."""
    max_body: int = Field(1 << 20, ge=1024)
    """Bytes a POST body may hold; a larger one is refused (413), never read whole."""
    body_timeout: float = Field(30.0, gt=0)
    """Seconds a POST's body may take to arrive whole, from the end of its headers; a slower
    one is cut off (408)."""
    idle_timeout: float = Field(60.0, gt=0)
    """Seconds a connection may wait for its next request, or take to send a request's line
    and headers, before it is closed."""
    max_connections: int = Field(512, ge=1)
    """Connections the endpoint holds at once; one more is closed as soon as it is made."""
    max_connections_per_address: int = Field(64, ge=1)
    """Connections one address may hold at once; one more from it is closed at once."""
    reserved_connections: int = Field(0, ge=0)
    """Of ``max_connections``, how many only an address holding at most one connection may
    take (as ``[limits]`` reserves on the listeners; none unless set)."""

    @model_validator(mode="after")
    def _reserve_fits(self) -> Self:
        _check_reserve(self.reserved_connections, self.max_connections)
        return self


class Limits(_Section):
    max_connections: int = Field(512, ge=1)
    max_connections_per_address: int = Field(64, ge=1)
    reserved_connections: int = Field(64, ge=0)
    """Of ``max_connections``, how many only an address holding at most one connection may
    take: a flood from some addresses cannot lock the others out."""
    max_apdu_size: int = Field(1 << 20, ge=64)
    max_depth: int = Field(64, ge=4)
    max_elements: int = Field(10_000, ge=16)
    """BER elements in one APDU: decoding costs time and memory by the element, not by the
    byte (a 1 MiB APDU of 85,000 elements decodes to over 40 MiB of values)."""
    idle_timeout: float = Field(300.0, gt=0)
    """Seconds a connection may stay silent, or leave the gateway's answer unread, before it
    is closed."""
    apdu_timeout: float = Field(60.0, gt=0)
    """Seconds an APDU may take to arrive whole, from its first byte: a peer that trickles
    bytes is closed although it is never silent for ``idle_timeout``."""
    max_malformed: int = Field(3, ge=1)
    """Malformed APDUs tolerated on one connection; the next one closes it."""
    store_busy_timeout: float = Field(BUSY_TIMEOUT_SECONDS, gt=0)
    """Seconds a group commit waits for a lock another process holds on the store (a backup,
    an ``sqlite3`` shell) before the APDUs in it are refused for now."""

    @model_validator(mode="after")
    def _reserve_fits(self) -> Self:
        _check_reserve(self.reserved_connections, self.max_connections)
        return self


class Delivery(_Section):
    max_attempts: int = Field(4, ge=1)
    window: float = Field(3600.0, gt=0)
    """Seconds within which the attempts must fall (ILLiad: 4 tries within an hour)."""
    first_delay: float = Field(300.0, gt=0)
    """Seconds before the second attempt."""
    backoff_factor: float = Field(2.0, ge=1)
    """Each later wait is this many times the one before."""
    connect_timeout: float = Field(10.0, gt=0)
    reply_timeout: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _fits_window(self) -> Self:
        self.policy()  # the store's own rule: every attempt within the window
        return self

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            window=timedelta(seconds=self.window),
            first_delay=timedelta(seconds=self.first_delay),
            factor=self.backoff_factor,
        )


class Peer(_Section):
    ack: Literal["status-report", "none"] = "status-report"
    """What the gateway answers once an APDU from this peer is stored."""
    expects_reply: bool = True
    """Whether this peer answers each delivered APDU (lock-step) before the next is sent."""
    connection: Literal["per-apdu", "persistent"] = "per-apdu"
    """How this peer connects: "per-apdu" peers (yaz-illclient, ILLiad) wait for the gateway to
    close after its answer; "persistent" peers (OCLC) send the next APDU on the same connection."""
    sender_profile: str = "permissive"
    """Rules profile every APDU this peer sends must pass (see ``isoill rules``)."""
    target_profile: str = "permissive"
    """Rules profile every APDU sent to this peer must pass."""
    withhold_client_id: bool = False
    """Patron privacy: forward ILL-Requests to this peer without their client-id."""
    state_machine: Literal["enforce", "warn", "off"] = "warn"
    """What becomes of an APDU from this peer that its transaction's state forbids: "enforce"
    refuses it (state-transition-prohibited; transaction-id-problem unknown for a transaction
    nobody started), "warn" forwards and logs it, "off" does not check."""
    status_from_history: bool = False
    """Answer a Status-Query for this peer from the gateway's history while the peer cannot
    be reached, instead of queueing it."""
    capture: bool = True
    """With ``[capture]`` on: record the APDUs this peer sends and those sent to it, and the
    answers to them."""
    forward_sender_login: bool = False
    """Deliver to this peer the Prompt-1 login the sender put in an APDU, instead of cutting
    it out. Its password is then kept in the store with the APDU until every delivery of it
    is done; see docs/access.md."""
    networks: tuple[IPvAnyNetwork, ...] = ()
    """With ``[access] mode = "registered"``: the source addresses (``192.0.2.7``) or
    networks (``192.0.2.0/24``) this peer connects from."""
    certificate_cn: str | None = None
    """With ``[access] mode = "registered"``: this peer's connections must present a client
    certificate (verified against the listener's ``client_ca``) with this subject commonName."""
    certificate_sha256: str | None = None
    """As ``certificate_cn``, by the certificate's SHA-256 fingerprint (hex, colons allowed)."""

    @field_validator("certificate_sha256")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        """As ``openssl x509 -fingerprint -sha256`` prints it, or plain hex: kept as
        lower-case hex without colons."""
        if value is None:
            return None
        digits = value.replace(":", "").strip().lower()
        if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
            raise ValueError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
        return digits

    @property
    def admission_rules(self) -> bool:
        """Whether this peer says where or with which certificate it connects."""
        return bool(self.networks or self.certificate_cn or self.certificate_sha256)


class ProfileSpec(_Section):
    """A profile composed from others (see :func:`isoill.rules.profiles.compose`)."""

    include: tuple[str, ...] = Field(min_length=1)
    warn: tuple[str, ...] = ()
    off: tuple[str, ...] = ()
    summary: str = ""


class Transactions(_Section):
    crossing_wait: float = Field(30.0, ge=0)
    """Seconds an APDU that arrives before the one it follows (a Received before its Shipped)
    waits for it, unanswered, before it is refused."""


class Capture(_Section):
    directory: Path
    """Where the daemon writes one capture file per run, relative to the config file."""
    format: Literal["pcapng", "pcap"] = "pcapng"


class Admin(_Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    tls: Tls | None = None
    """TLS on the admin listener (metrics, health and the console); absent: plain HTTP."""


class Console(_Section):
    """The operator console and its JSON API, on the admin listener (see docs/console.md)."""

    enabled: bool = True
    accounts: Path = Path("operators.toml")
    """The operators' accounts (``isoill operators add``), relative to the config file; like
    the credentials file, readable by the daemon's user alone."""
    session_hours: float = Field(8.0, gt=0)
    """How long a login lasts."""
    patron_roles: tuple[Literal["viewer", "operator", "admin"], ...] = ("admin",)
    """The roles that may ask to see patron fields (an ILL-Request's client-id) unmasked."""
    max_body: int = Field(65536, ge=1024)
    """Bytes a request body may hold; a larger one is refused (413) unread."""
    login_delay: float = Field(0.5, ge=0)
    """Seconds the answer to a failed login waits; doubled for each further failure from the
    same address or for the same name, up to ``login_max_delay``."""
    login_max_delay: float = Field(10.0, ge=0)
    login_lockout_after: int = Field(10, ge=1)
    login_lockout: float = Field(900.0, gt=0)


class Access(_Section):
    mode: Literal["open", "registered"] = "open"
    """"open": anyone may connect and name any symbol as sender (peers' ``networks``,
    certificates and credentials are not allowed). "registered": a connection is accepted only
    from a peer's ``networks`` (and with its certificate, if it has one), must authenticate
    with Prompt-1 if the peer has credentials, and may speak only for that peer's symbols."""
    credentials: Path = Path("credentials.toml")
    """The Prompt-1 credentials file (``isoill peers passwd``), relative to the config file;
    read at start and again on SIGHUP (``isoill routes reload``)."""
    login_delay: float = Field(0.5, ge=0)
    """Seconds the answer to a failed Prompt-1 login waits; each further failure from the same
    address (or for the same userId) doubles it, up to ``login_max_delay``."""
    login_max_delay: float = Field(10.0, ge=0)
    login_lockout_after: int = Field(10, ge=1)
    """Failed logins in a row from one address (or for one userId) after which its logins
    are refused, unchecked, for ``login_lockout`` seconds."""
    login_lockout: float = Field(900.0, gt=0)


class Log(_Section):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(_Section):
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    """What ``isoill serve`` runs on: uvloop (libuv: the same code, about a fifth less CPU
    per APDU, see docs/performance.md), or the standard library's loop."""
    store: Path | str = Path("../var/isoill.sqlite3")
    """The store-and-forward queue: an SQLite file, or a PostgreSQL database's libpq URL
    (``postgresql://...``; its password in ``PGPASSWORD`` or a password file, never here). See
    :func:`isoill.store.open.open_store`."""
    pid_file: Path = Path("../var/isoill.pid")
    """Where the running daemon keeps its process id (``isoill routes reload`` reads it):
    beside an SQLite store unless set."""
    routes: Path = Path("routes.toml")
    listeners: tuple[Listener, ...] = Field(min_length=1)
    iso18626: Iso18626Listener | None = None
    """The ISO 18626 endpoint (HTTP); absent: none."""
    limits: Limits = Limits()
    delivery: Delivery = Delivery()
    transactions: Transactions = Transactions()
    admin: Admin | None = None
    console: Console | None = None
    """The operator console on the admin listener; absent: the listener serves only the
    metrics and health."""
    access: Access = Access()
    capture: Capture | None = None
    """Record every APDU in and out (see docs/capture.md); absent: off."""
    log: Log = Log()
    peers: dict[str, Peer] = {}
    default_peer: Peer = Peer()
    profiles: dict[str, ProfileSpec] = {}
    hold_unknown_requesters: bool = False
    """Hold ILL-Requests whose requester is not in ``peers`` for an operator to release or
    refuse (``isoill queue release|refuse``) instead of forwarding them."""
    credentials: Credentials = Credentials()
    """Prompt-1 credentials by peer symbol: read from ``[access] credentials`` by :func:`load`,
    never from the configuration file itself."""

    @field_validator("store", mode="before")
    @classmethod
    def _store_supported(cls, value: object) -> object:
        """A URL stays text (a path would fold its "//"); anything else is a path."""
        if isinstance(value, str | Path):
            try:
                return store_setting(value)
            except StoreError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _pid_file_beside_the_store(cls, data: object) -> object:
        if isinstance(data, dict) and "pid_file" not in data:
            store = data.get("store")
            if isinstance(store, str | Path) and not is_url(store) and Path(store).name:
                return {**data, "pid_file": Path(store).with_name("isoill.pid")}
        return data

    @model_validator(mode="after")
    def _access_rules(self) -> Self:
        if self.default_peer.admission_rules:
            raise ValueError("default_peer: networks and certificates belong to [peers.SYMBOL]")
        registered = self.access.mode == "registered"
        for symbol, peer in self.peers.items():
            if peer.admission_rules and not registered:
                raise ValueError(
                    f'peers.{symbol}: networks and certificates need [access] mode = "registered"'
                )
        certificates = any(p.certificate_cn or p.certificate_sha256 for p in self.peers.values())
        if certificates and not any(
            listener.tls is not None and listener.tls.client_ca is not None
            for listener in self.bound_listeners
        ):
            raise ValueError("peers with certificates need a listener with tls.client_ca")
        return self

    @model_validator(mode="after")
    def _console_on_admin(self) -> Self:
        if self.console is not None and self.console.enabled and self.admin is None:
            raise ValueError("console: it is served on the admin listener: add [admin]")
        return self

    @model_validator(mode="after")
    def _profiles_known(self) -> Self:
        known = self.rule_profiles()
        for symbol, peer in {"default_peer": self.default_peer, **self.peers}.items():
            for profile in (peer.sender_profile, peer.target_profile):
                if profile not in known:
                    names = ", ".join(known)
                    raise ValueError(f"{symbol}: unknown profile {profile!r} (known: {names})")
        return self

    def rule_profiles(self) -> dict[str, Profile]:
        """The built-in profiles and those of ``[profiles.NAME]``, which may include any
        profile defined before them."""
        known = dict(BUILT_IN)
        for name, spec in self.profiles.items():
            if name in BUILT_IN:
                raise ValueError(f"profiles.{name}: a built-in profile cannot be redefined")
            known[name] = compose(
                name, spec.include, warn=spec.warn, off=spec.off, summary=spec.summary, known=known
            )
        return known

    @property
    def console_key(self) -> Path:
        """The key that signs the console's sessions (made on first start, mode 0600): in the
        daemon's state directory, the pid file's."""
        return self.pid_file.with_name("console.key")

    @property
    def audit_log(self) -> Path:
        """The console's audit log: one JSON line per change, who, when, what."""
        return self.pid_file.with_name("audit.jsonl")

    @property
    def routes_history(self) -> Path:
        """The directory of earlier routes versions, one file each with who and when."""
        return self.pid_file.with_name("routes-history")

    @property
    def bound_listeners(self) -> tuple[Listener, ...]:
        """Every listener that binds a socket, in order: the ``[[listeners]]``, then the
        ISO 18626 endpoint if there is one (the order of :mod:`isoill.process.sockets`)."""
        return self.listeners if self.iso18626 is None else (*self.listeners, self.iso18626)

    def peer(self, symbol: str | None) -> Peer:
        """Settings for a peer symbol; the defaults for one not configured."""
        if symbol is None:
            return self.default_peer
        return self.peers.get(symbol_key(symbol), self.default_peer)


_L = TypeVar("_L", bound=Listener)


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    if "credentials" in data:
        raise ConfigError(f"{path}: credentials: kept in [access] credentials, not here")
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    base = path.parent
    peers = {symbol_key(symbol): peer for symbol, peer in config.peers.items()}
    capture = config.capture
    if capture is not None:
        capture = capture.model_copy(update={"directory": base / capture.directory})
    access = config.access.model_copy(update={"credentials": base / config.access.credentials})
    admin = config.admin
    if admin is not None and admin.tls is not None:
        admin = admin.model_copy(update={"tls": _rebased_tls(admin.tls, base)})
    console = config.console
    if console is not None:
        console = console.model_copy(update={"accounts": base / console.accounts})
    return config.model_copy(
        update={
            "store": base / config.store if isinstance(config.store, Path) else config.store,
            "pid_file": base / config.pid_file,
            "routes": base / config.routes,
            "peers": peers,
            "capture": capture,
            "listeners": tuple(_rebased(listener, base) for listener in config.listeners),
            "iso18626": None if config.iso18626 is None else _rebased(config.iso18626, base),
            "access": access,
            "admin": admin,
            "console": console,
            "credentials": load_credentials(access, peers),
        }
    )


def _rebased(listener: _L, base: Path) -> _L:
    if listener.tls is None:
        return listener
    return listener.model_copy(update={"tls": _rebased_tls(listener.tls, base)})


def _rebased_tls(tls: Tls, base: Path) -> Tls:
    paths = {"certificate": base / tls.certificate, "key": base / tls.key}
    if tls.client_ca is not None:
        paths["client_ca"] = base / tls.client_ca
    return tls.model_copy(update=paths)


def load_credentials(access: Access, peers: dict[str, Peer]) -> Credentials:
    """The credentials file's entries, each for a configured peer: peers' logins in
    registered mode only, the gateway's own logins at targets in either mode;
    :class:`ConfigError` names what is wrong."""
    path = access.credentials
    try:
        credentials = credentials_file.load(path)
    except CredentialsError as error:
        raise ConfigError(str(error)) from None
    if credentials.peers and access.mode != "registered":
        raise ConfigError(f'{path}: Prompt-1 credentials need [access] mode = "registered"')
    for symbol in sorted(credentials.peers.keys() | credentials.logins.keys()):
        if symbol not in peers:
            raise ConfigError(f"{path}: {symbol} is not under [peers]")
        if symbol in credentials.logins and peers[symbol].forward_sender_login:
            raise ConfigError(
                f"{path}: {symbol} gets the gateway's own login; forward_sender_login would"
                " give it the sender's: set one of them"
            )
    return credentials
