"""What the intake core is given about one APDU, and what it decides: plain frozen values.

An :class:`Incoming` APDU (transport-neutral: an ISO 10161 connection, a delivery link, an
HTTP request) and a :class:`View` of what the store knows go into
:func:`isoill.core.intake.decide`, which returns one :class:`Decision`. The service carries it
out: it stores what the decision says to store, sends its ``reply`` only once that is
durable, and logs and counts its :data:`Note` values.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from isoill.bridge.via import Via
from isoill.codec.models import IllApdu, StatusOrErrorReport
from isoill.core.parties import Named, Refusal
from isoill.core.views import Forward, TransactionRecord
from isoill.ill.apdus import Role
from isoill.rules.engine import Finding


# A dataclass made on every APDU writes its __init__ out (init=False): compiled by mypyc, the
# one dataclasses generates stays Python, some fourteen times the cost (docs/performance.md).
# tests/test_build.py holds each to its fields.
@dataclass(frozen=True, init=False)
class Connection:
    """Where an APDU came from, as far as intake is concerned."""

    address: str
    symbols: frozenset[str]
    """The sender symbols seen on it (open mode), or the peers it speaks for (registered)."""
    registered: bool = False
    """In registered mode (or a delivery connection there): ``symbols`` are all it may name."""
    listener_default: str | None = None

    def __init__(
        self,
        address: str,
        symbols: frozenset[str],
        registered: bool = False,
        listener_default: str | None = None,
    ) -> None:
        object.__setattr__(self, "address", address)
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "registered", registered)
        object.__setattr__(self, "listener_default", listener_default)


@dataclass(frozen=True, init=False)
class Read:
    """What is read off an APDU before anything else is known: its keys, the parties it
    names, and the APDU without the sender's Prompt-1 login."""

    apdu: IllApdu
    ber: bytes
    key: str  # the whole transaction-id (isoill.ill.transaction_id's form)
    dedup_key: str
    named: Named
    sender: str | None  # the symbol in the element that says who sends it
    cut: IllApdu  # without Prompt-1
    cut_ber: bytes

    def __init__(
        self,
        apdu: IllApdu,
        ber: bytes,
        key: str,
        dedup_key: str,
        named: Named,
        sender: str | None,
        cut: IllApdu,
        cut_ber: bytes,
    ) -> None:
        object.__setattr__(self, "apdu", apdu)
        object.__setattr__(self, "ber", ber)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "dedup_key", dedup_key)
        object.__setattr__(self, "named", named)
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "cut", cut)
        object.__setattr__(self, "cut_ber", cut_ber)


@dataclass(frozen=True, init=False)
class Incoming:
    """One decoded APDU on its way in."""

    read: Read
    connection: Connection
    now: datetime
    authentication: Refusal | None = None
    """The first APDU's Prompt-1 login refused (the service checked it)."""
    via: Via | None = None
    """An APDU mapped from an ISO 18626 message: what the message said beside it."""
    xml: bytes | None = None
    """And the message as it came in, kept beside the APDU."""

    def __init__(
        self,
        read: Read,
        connection: Connection,
        now: datetime,
        authentication: Refusal | None = None,
        via: Via | None = None,
        xml: bytes | None = None,
    ) -> None:
        object.__setattr__(self, "read", read)
        object.__setattr__(self, "connection", connection)
        object.__setattr__(self, "now", now)
        object.__setattr__(self, "authentication", authentication)
        object.__setattr__(self, "via", via)
        object.__setattr__(self, "xml", xml)


@dataclass(frozen=True, init=False)
class View:
    """What the store knows that intake decides by."""

    record: TransactionRecord | None
    duplicate: int | None = None
    """The id of a message stored before with this APDU's dedup key (not refused)."""
    unreachable: Container[str] = frozenset()
    """Addresses whose last delivery attempt found nobody (for status from history)."""

    def __init__(
        self,
        record: TransactionRecord | None,
        duplicate: int | None = None,
        unreachable: Container[str] = frozenset(),
    ) -> None:
        object.__setattr__(self, "record", record)
        object.__setattr__(self, "duplicate", duplicate)
        object.__setattr__(self, "unreachable", unreachable)


# -- notes: what the service logs and counts beside carrying the decision out ---------------


@dataclass(frozen=True)
class RuleFinding:
    finding: Finding


@dataclass(frozen=True)
class Prohibited:
    """The transaction's state forbids the APDU; ``mode`` is the sender's ``state_machine``."""

    reason: str
    mode: str


@dataclass(frozen=True)
class ClientIdWithheld:
    pass


Note: TypeAlias = RuleFinding | Prohibited | ClientIdWithheld


# -- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Routing:
    """Who sent the APDU and where it goes, as every decision knows it."""

    sender: str | None  # the symbol that says who sends it, if the APDU type says
    speaker: str | None  # whose settings apply (``sender``, else the connection's one peer)
    role: Role | None  # the sender's role in the transaction
    target: str | None
    rule: str  # which routing rule chose the target
    addresses: tuple[str, ...]  # where it goes now; empty: unroutable
    looping: bool = False  # the target is the sender itself

    def __init__(
        self,
        sender: str | None,
        speaker: str | None,
        role: Role | None,
        target: str | None,
        rule: str,
        addresses: tuple[str, ...],
        looping: bool = False,
    ) -> None:
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "speaker", speaker)
        object.__setattr__(self, "role", role)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "rule", rule)
        object.__setattr__(self, "addresses", addresses)
        object.__setattr__(self, "looping", looping)


@dataclass(frozen=True, init=False)
class Message:
    """An APDU to store, as the store keeps it."""

    peer: str  # whom the store names as its sender
    apdu_type: str
    transaction_key: str
    target_symbol: str | None
    ber: bytes
    requester_symbol: str | None = None
    responder_symbol: str | None = None
    dedup_key: str | None = None
    states: tuple[str, str] | None = None  # requester's, responder's; None: unchanged
    forward: Forward | None = None
    xml: bytes | None = None  # its ISO 18626 form (what an ISO 18626 target is sent)
    bridge: str | None = None  # the transaction's bridge state after it (JSON); None: unchanged

    def __init__(
        self,
        peer: str,
        apdu_type: str,
        transaction_key: str,
        target_symbol: str | None,
        ber: bytes,
        requester_symbol: str | None = None,
        responder_symbol: str | None = None,
        dedup_key: str | None = None,
        states: tuple[str, str] | None = None,
        forward: Forward | None = None,
        xml: bytes | None = None,
        bridge: str | None = None,
    ) -> None:
        object.__setattr__(self, "peer", peer)
        object.__setattr__(self, "apdu_type", apdu_type)
        object.__setattr__(self, "transaction_key", transaction_key)
        object.__setattr__(self, "target_symbol", target_symbol)
        object.__setattr__(self, "ber", ber)
        object.__setattr__(self, "requester_symbol", requester_symbol)
        object.__setattr__(self, "responder_symbol", responder_symbol)
        object.__setattr__(self, "dedup_key", dedup_key)
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "forward", forward)
        object.__setattr__(self, "xml", xml)
        object.__setattr__(self, "bridge", bridge)


@dataclass(frozen=True, init=False)
class Accept:
    """Store ``message`` for delivery to the routing's addresses (or hold it, ``held`` saying
    why), then answer ``reply`` (``None``: the sender wants no acknowledgement)."""

    routing: Routing
    message: Message
    held: str | None
    reply: bytes | None
    notes: tuple[Note, ...] = ()

    def __init__(
        self,
        routing: Routing,
        message: Message,
        held: str | None,
        reply: bytes | None,
        notes: tuple[Note, ...] = (),
    ) -> None:
        object.__setattr__(self, "routing", routing)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "held", held)
        object.__setattr__(self, "reply", reply)
        object.__setattr__(self, "notes", notes)


@dataclass(frozen=True)
class Duplicate:
    """Received before (message ``earlier``): acknowledge again, store nothing."""

    routing: Routing
    earlier: int
    reply: bytes | None
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Refuse:
    """Answer ``report`` and forward nothing; keep the APDU as refused (``keep``) for the
    transaction's history. ``cause`` is the rejection's metric label (``None``: counted as
    its notes say)."""

    routing: Routing
    report: StatusOrErrorReport
    cause: str | None
    keep: Message | None
    close: bool = False
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Unroutable:
    """Keep ``message`` for operators (nowhere to go, ``reason``) and answer ``report``."""

    routing: Routing
    message: Message
    reason: str
    report: StatusOrErrorReport
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class AnswerFromHistory:
    """A Status-Query the gateway answers itself: its target cannot be reached. The report
    needs the transaction's last service, which the service reads
    (:func:`isoill.core.intake.history_report`)."""

    routing: Routing
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class WaitForPredecessor:
    """An APDU that may only have overtaken the one it follows (a Received before its
    Shipped): decide again once the transaction changes, or once patience runs out."""

    routing: Routing
    state: str  # the state that forbids it now
    notes: tuple[Note, ...] = ()


Decision: TypeAlias = (
    Accept | Duplicate | Refuse | Unroutable | AnswerFromHistory | WaitForPredecessor
)
