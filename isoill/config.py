"""The daemon's configuration: one TOML file, validated at start with clear messages.

Relative paths in the file are relative to the file's own directory.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from isoill.rules.engine import Profile
from isoill.rules.profiles import BUILT_IN, compose
from isoill.store import RetryPolicy


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Listener(_Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    default_target: str | None = None
    """Symbol for APDUs that name no target and belong to no known transaction."""


class Limits(_Section):
    max_connections: int = Field(512, ge=1)
    max_connections_per_address: int = Field(64, ge=1)
    max_apdu_size: int = Field(1 << 20, ge=64)
    max_depth: int = Field(64, ge=4)
    idle_timeout: float = Field(300.0, gt=0)
    """Seconds a connection may stay silent before it is closed."""
    max_malformed: int = Field(3, ge=1)
    """Malformed APDUs tolerated on one connection; the next one closes it."""


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


class Log(_Section):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(_Section):
    store: Path = Path("../var/isoill.sqlite3")
    routes: Path = Path("routes.toml")
    listeners: tuple[Listener, ...] = Field(min_length=1)
    limits: Limits = Limits()
    delivery: Delivery = Delivery()
    transactions: Transactions = Transactions()
    admin: Admin | None = None
    capture: Capture | None = None
    """Record every APDU in and out (see docs/capture.md); absent: off."""
    log: Log = Log()
    peers: dict[str, Peer] = {}
    default_peer: Peer = Peer()
    profiles: dict[str, ProfileSpec] = {}
    hold_unknown_requesters: bool = False
    """Hold ILL-Requests whose requester is not in ``peers`` for an operator to release or
    refuse (``isoill queue release|refuse``) instead of forwarding them."""

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
    def pid_file(self) -> Path:
        """Where the running daemon keeps its process id: beside its store."""
        return self.store.with_name("isoill.pid")

    def peer(self, symbol: str | None) -> Peer:
        """Settings for a peer symbol; the defaults for one not configured."""
        if symbol is None:
            return self.default_peer
        return self.peers.get(symbol.strip().upper(), self.default_peer)


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    base = path.parent
    peers = {symbol.strip().upper(): peer for symbol, peer in config.peers.items()}
    capture = config.capture
    if capture is not None:
        capture = capture.model_copy(update={"directory": base / capture.directory})
    return config.model_copy(
        update={
            "store": base / config.store,
            "routes": base / config.routes,
            "peers": peers,
            "capture": capture,
        }
    )
