"""Intake decisions without sockets, store or clock: a policy from configuration text, an
incoming APDU on a made-up connection, and a ledger that keeps a transaction's record as the
store would, for the core's tests and bench/instructions.py."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from transaction_apdus import REQUESTER, RESPONDER

from isoill.codec.decoder import decode
from isoill.config import Config
from isoill.core.decision import Accept, Connection, Decision, Incoming, View
from isoill.core.intake import Policy, decide, read
from isoill.core.parties import Refusal
from isoill.core.views import TransactionRecord
from isoill.router import RoutingTable

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REQUESTER_AT, RESPONDER_AT = "192.0.2.10:499", "192.0.2.20:499"
ROUTES = {REQUESTER: [REQUESTER_AT], RESPONDER: [RESPONDER_AT]}


def policy(settings: str = "", routes: dict[str, list[str]] = ROUTES) -> Policy:
    config = Config.model_validate(tomllib.loads(settings + "\n[[listeners]]\nport = 0\n"))
    table = RoutingTable.parse(
        "".join(f'[peers."{s}"]\naddresses = {a!r}\n'.replace("'", '"') for s, a in routes.items())
    )
    return Policy(config, table, config.rule_profiles())


def incoming(
    ber: bytes,
    *,
    symbols: frozenset[str] = frozenset(),
    registered: bool = False,
    default: str | None = None,
    now: datetime = NOW,
    authentication: Refusal | None = None,
) -> Incoming:
    connection = Connection("192.0.2.99:40000", symbols, registered, default)
    return Incoming(read(decode(ber), ber), connection, now, authentication)


@dataclass
class Ledger:
    """A transaction as the store would keep it through the accepted APDUs of a test: the
    record (its first parties, its states) and the dedup keys of what was stored."""

    policy: Policy
    record: TransactionRecord | None = None
    stored: dict[str, int] = field(default_factory=dict)
    unreachable: frozenset[str] = frozenset()

    def decide(self, ber: bytes, *, patience: bool = True, **connection: object) -> Decision:
        arriving = incoming(ber, **connection)  # type: ignore[arg-type]
        view = View(self.record, self.stored.get(arriving.read.dedup_key), self.unreachable)
        decision = decide(arriving, view, self.policy, patience=patience)
        if isinstance(decision, Accept):
            self._store(decision)
        return decision

    def _store(self, accepted: Accept) -> None:
        message = accepted.message
        self.stored[message.dedup_key or ""] = len(self.stored) + 1
        record = self.record or TransactionRecord(
            1, message.transaction_key, None, None, None, None, NOW, NOW
        )
        states = message.states or (record.requester_state, record.responder_state)
        self.record = replace(
            record,
            requester_symbol=record.requester_symbol or message.requester_symbol,
            responder_symbol=record.responder_symbol or message.responder_symbol,
            requester_state=states[0],
            responder_state=states[1],
        )
