"""What the gateway does with one APDU: decode it, choose its target, store it durably, and
say what to answer. The server feeds it APDUs from connections; the forwarder feeds it the
APDUs peers send back on delivery connections.

The store is SQLite, used from one worker thread so that its connection stays on one thread and
writes never block the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from isoill import logs, metrics, reports
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.models import GeneralProblem, SystemId, TransactionId
from isoill.codec.values import ApduModel
from isoill.config import Config
from isoill.router import APDU_FLOW, Flow, RoutingTable, select_target
from isoill.store import Store

T = TypeVar("T")


@dataclass
class Origin:
    """Where an APDU came from: a peer's connection, or a reply on a delivery connection."""

    address: str
    listener_default: str | None = None
    symbols: set[str] = field(default_factory=set)  # sender symbols seen on this connection
    malformed: int = 0


@dataclass(frozen=True)
class Outcome:
    """What to send back (``reply``), whether the connection must close afterwards (``close``),
    and whether the peer expects it closed once nothing more is pending (``done``)."""

    reply: bytes | None
    close: bool = False
    done: bool = False


def symbol_of(system_id: SystemId | None) -> str | None:
    """The library symbol a System-Id carries (institution or person), normalised."""
    if system_id is None or system_id.person_or_institution_symbol is None:
        return None
    _, text = system_id.person_or_institution_symbol.chosen
    symbol = str(text).strip().upper()
    return symbol or None


def transaction_key(transaction_id: TransactionId) -> str:
    """The whole transaction-id as one string: initial requester, group, qualifier, sub."""
    sub = transaction_id.sub_transaction_qualifier
    parts = [
        symbol_of(transaction_id.initial_requester_id),
        transaction_id.transaction_group_qualifier.text,
        transaction_id.transaction_qualifier.text,
        sub.text if sub is not None else None,
    ]
    return json.dumps(parts, ensure_ascii=False)


class Gateway:
    def __init__(self, config: Config, routes: RoutingTable) -> None:
        self.config = config
        self.routes = routes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-store")
        self._store: Store | None = None
        self.delivery_wanted = asyncio.Event()

    async def open(self) -> None:
        self.config.store.parent.mkdir(parents=True, exist_ok=True)
        self._store = await self._run(Store, self.config.store, self.config.delivery.policy())

    async def close(self) -> None:
        if self._store is not None:
            await self._run(self._store.close)
        self._executor.shutdown(wait=True)

    async def store(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store method on the store's thread."""
        return await self._run(method, *args, **kwargs)

    @property
    def db(self) -> Store:
        assert self._store is not None, "gateway not opened"
        return self._store

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    async def receive(self, ber: bytes, origin: Origin) -> Outcome:
        now = datetime.now(UTC)
        log = logs.get(peer=origin.address)
        try:
            apdu = decode(ber)
        except CodecError as error:
            return self._malformed(error, origin, log, now)
        sender = self._sender(apdu)
        if sender is not None:
            origin.symbols.add(sender)
        peer = self.config.peer(sender)
        done = peer.connection == "per-apdu"
        key = transaction_key(apdu.transaction_id)  # type: ignore[attr-defined]
        log = log.bind(apdu=apdu.apdu_type, transaction=key)
        metrics.APDUS_IN.labels(apdu.apdu_type, sender or origin.address).inc()
        requester = symbol_of(getattr(apdu, "requester_id", None))
        responder = symbol_of(getattr(apdu, "responder_id", None))
        known = await self.store(self.db.counterpart, key)
        chosen = select_target(
            apdu.apdu_type,
            requester=requester,
            responder=responder,
            sender=origin.symbols,
            counterpart=_other_party(known, origin.symbols),
            default=origin.listener_default,
        )
        target, rule = chosen.symbol, chosen.rule
        looping = target is not None and target.upper() in origin.symbols
        addresses = self.routes.addresses(target, now) if target and not looping else ()
        if not addresses:
            reason = f"no route to {target}" if target else "no target symbol for this APDU"
            if looping:
                reason = f"{target} is the sender: the APDU would come back to it"
            await self.store(
                self.db.accept_unroutable,
                peer=sender or origin.address,
                apdu_type=apdu.apdu_type,
                transaction_key=key,
                ber=ber,
                reason=reason,
                now=now,
            )
            metrics.REJECTIONS.labels("unroutable").inc()
            log.warning("unroutable", reason=reason)
            return Outcome(encode(reports.cannot_send_onward(apdu, reason, now)), done=done)
        try:
            message_id = await self.store(
                self.db.accept,
                peer=sender or origin.address,
                apdu_type=apdu.apdu_type,
                transaction_key=key,
                target_symbol=target,
                ber=ber,
                addresses=[str(address) for address in addresses],
                requester_symbol=requester,
                responder_symbol=responder,
                now=now,
            )
        except Exception as error:  # the store refused: say so, never acknowledge
            metrics.REJECTIONS.labels("store").inc()
            log.error("store failed", error=repr(error))
            refusal = reports.unable_to_perform(apdu, "cannot store now", now)
            return Outcome(encode(refusal), done=done)
        self.delivery_wanted.set()
        log.info("accepted", id=message_id, target=target, rule=rule, addresses=len(addresses))
        if peer.ack == "none":
            return Outcome(None, done=done)
        ack = reports.acknowledgement(apdu, getattr(apdu, "requester_id", None), now)
        return Outcome(encode(ack), done=done)

    def _sender(self, apdu: ApduModel) -> str | None:
        """The sending party's symbol, where the APDU type says which party sends it."""
        flow = APDU_FLOW[apdu.apdu_type]
        if flow is Flow.EITHER:
            return None
        party = "responder_id" if flow is Flow.FROM_RESPONDER else "requester_id"
        return symbol_of(getattr(apdu, party, None))

    def _malformed(self, error: CodecError, origin: Origin, log: Any, now: datetime) -> Outcome:
        origin.malformed += 1
        metrics.REJECTIONS.labels("malformed").inc()
        log.warning("malformed APDU", error=str(error), count=origin.malformed)
        problem = GeneralProblem.from_value(error.general_problem)
        report = encode(reports.provider_error(None, problem, str(error), now))
        close = origin.malformed >= self.config.limits.max_malformed
        return Outcome(report, close=close, done=self.config.default_peer.connection == "per-apdu")


def _other_party(known: tuple[str | None, str | None], senders: set[str]) -> str | None:
    requester, responder = known
    if requester is not None and requester in senders:
        return responder
    if responder is not None and responder in senders:
        return requester
    return responder or requester
