"""What the operator console asks of the running daemon, in one place: the read models (the
dashboard, the queue, transactions, refusals, peers, routes) and the changes (resend, release,
refuse; a routes edit, a restore). Each runs the same functions the commands run
(:mod:`~isoill.service.operations`, :mod:`~isoill.service.queries`,
:mod:`~isoill.service.transactions`): queries on the store's reader thread, operations on its
writer's, so the event loop never waits on the store; file work (the routes, the audit log) in
a worker thread. Every change is written to the audit log with who made it.

A routes change is checked as ``isoill routes check`` checks a file, written at once, kept in
the history (:mod:`~isoill.service.route_history`), and applied: ``apply_routes`` (the app's)
loads it in this process and tells its siblings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from isoill.config import Config
from isoill.core.views import TransactionRecord
from isoill.router import RouteStatus, RoutingTable
from isoill.rules.engine import Profile
from isoill.service import operations, queries
from isoill.service.audit import AuditLog
from isoill.service.clock import Clock
from isoill.service.handoff import Handoff
from isoill.service.reachability import Reachability
from isoill.service.route_edits import Proposal, RouteEdit, check, propose
from isoill.service.route_history import HistoryError, RoutesHistory, Version, digest
from isoill.service.transactions import TransactionDetail, detail
from isoill.store.backend import Backend
from isoill.store.group import GroupWriter
from isoill.store.reader import StoreReader
from isoill.store.records import MessageView

#: The dashboard's chart: the last day, by the hour.
TRAFFIC_STEP = timedelta(hours=1)
TRAFFIC_STEPS = 24


class RouteChangeError(Exception):
    """A routes change that cannot be applied: its problems, one line each; nothing changed."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class AddressStatus:
    address: str
    reachable: bool
    last_error: tuple[datetime, str] | None


@dataclass(frozen=True)
class PeerStatus:
    route: RouteStatus
    addresses: tuple[AddressStatus, ...]


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    counts: dict[str, int]
    peers: tuple[PeerStatus, ...]
    traffic_since: datetime
    traffic_step: timedelta
    traffic: tuple[int, ...]


@dataclass(frozen=True)
class RoutesView:
    now: datetime
    source: str
    text: str
    digest: str
    effective: tuple[RouteStatus, ...]
    versions: tuple[Version, ...]


@dataclass(frozen=True)
class PeerView:
    """A peer as configured (its settings under ``[peers]``, or the defaults) and routed."""

    symbol: str
    configured: bool
    settings: dict[str, object]
    sender_profile: Profile
    target_profile: Profile
    route: RouteStatus | None


class ConsoleService:
    def __init__(
        self,
        config: Config,
        reader: StoreReader,
        writer: GroupWriter,
        routes: Callable[[], RoutingTable],
        apply_routes: Callable[[], bool],
        reachability: Reachability,
        handoff: Handoff,
        clock: Clock,
        history: RoutesHistory,
        audit: AuditLog,
    ) -> None:
        self.config = config
        self.reader = reader
        self.writer = writer
        self._routes = routes
        self._apply_routes = apply_routes
        self.reachability = reachability
        self.handoff = handoff
        self.clock = clock
        self.history = history
        self.audit = audit
        self._routes_lock = asyncio.Lock()

    # -- reading ----------------------------------------------------------------------------

    async def dashboard(self) -> Dashboard:
        now = self.clock.now()
        since = now.replace(minute=0, second=0, microsecond=0) - TRAFFIC_STEP * (TRAFFIC_STEPS - 1)
        counts = await self.reader.query(_counts)
        traffic = await self.reader.query(_traffic, since)
        peers = tuple(
            PeerStatus(
                row,
                tuple(
                    AddressStatus(
                        str(address),
                        str(address) not in self.reachability,
                        self.reachability.last_error(str(address)),
                    )
                    for address in row.addresses
                ),
            )
            for row in self._routes().effective(now)
        )
        return Dashboard(now, counts, peers, since, TRAFFIC_STEP, tuple(traffic))

    async def messages(
        self,
        state: str | None = None,
        peer: str | None = None,
        apdu_type: str | None = None,
        limit: int = 50,
    ) -> list[MessageView]:
        return await self.reader.query(queries.messages, state, peer, apdu_type, limit)

    async def refusals(self, limit: int = 50) -> list[MessageView]:
        return await self.reader.query(queries.refusals, limit)

    async def transactions(self, search: queries.TransactionSearch) -> list[TransactionRecord]:
        return await self.reader.query(queries.transactions, search)

    async def transaction(
        self, transaction_id: int, who: str, *, reveal: bool = False
    ) -> TransactionDetail:
        """One transaction decoded; ``reveal`` (which the caller allows) shows patron fields,
        and is audited."""
        found = await self.reader.query(detail, transaction_id, reveal=reveal)
        if reveal:
            await self._audit(who, "show-patron-data", {"transaction": transaction_id})
        return found

    def peers(self) -> list[PeerView]:
        """Every peer configured or routed, by symbol."""
        now = self.clock.now()
        routes = {row.symbol: row for row in self._routes().effective(now)}
        profiles = self.config.rule_profiles()
        symbols = sorted(set(self.config.peers) | set(routes))
        views = []
        for symbol in symbols:
            peer = self.config.peer(symbol)
            table = self._routes().route(symbol)
            route = routes.get(table.symbol) if table is not None else None
            views.append(
                PeerView(
                    symbol,
                    symbol in self.config.peers,
                    peer.model_dump(mode="json", exclude={"sender_profile", "target_profile"}),
                    profiles[peer.sender_profile],
                    profiles[peer.target_profile],
                    route,
                )
            )
        return views

    async def routes_view(self) -> RoutesView:
        text = await asyncio.to_thread(self.history.current)
        versions = await asyncio.to_thread(self.history.versions)
        now = self.clock.now()
        effective = self._routes().effective(now)
        source = str(self.history.routes)
        return RoutesView(now, source, text, digest(text), effective, tuple(versions))

    async def audit_entries(self, limit: int = 100) -> list[dict[str, object]]:
        return await asyncio.to_thread(self.audit.entries, limit)

    # -- the queue --------------------------------------------------------------------------

    async def resend(self, message_id: int, who: str) -> int:
        now = self.clock.now()
        count = await self.writer.call(operations.resend, self.writer.backend, message_id, now)
        self.handoff.wanted.set()  # the forwarder polls now rather than at its next idle poll
        await self._audit(who, "resend", {"message": message_id, "deliveries": count})
        return count

    async def release(self, message_id: int, who: str) -> operations.Released:
        now = self.clock.now()
        routes = self._routes()
        released = await self.writer.call(
            operations.release, self.writer.backend, routes, message_id, now
        )
        self.handoff.wanted.set()
        details = {"message": message_id, "target": released.target}
        await self._audit(who, "release", details)
        return released

    async def refuse(self, message_id: int, reason: str, who: str) -> operations.Refused:
        now = self.clock.now()
        routes = self._routes()
        refused = await self.writer.call(
            operations.refuse, self.writer.backend, routes, message_id, reason, now
        )
        self.handoff.wanted.set()
        details = {"message": message_id, "reason": reason, "report": refused.report_id}
        await self._audit(who, "refuse", details)
        return refused

    # -- routes -----------------------------------------------------------------------------

    async def propose(self, edit: RouteEdit) -> Proposal:
        text = await asyncio.to_thread(self.history.current)
        return propose(text, edit, self.history.routes.name)

    async def apply(self, edit: RouteEdit, who: str, expected: str) -> Version:
        """Apply ``edit`` to the routes as they were when it was shown (``expected``: their
        digest): checked, written, kept, loaded."""
        async with self._routes_lock:
            proposal = await self.propose(edit)
            note = f"{'remove' if edit.remove else 'set'} peer {edit.symbol}"
            return await self._replace(proposal, who, note, expected, "routes-edit")

    async def restore(self, number: int, who: str, expected: str) -> Version:
        """Make version ``number`` the routes again (as a new version)."""
        async with self._routes_lock:
            _, text = await asyncio.to_thread(self.history.version, number)
            current = await asyncio.to_thread(self.history.current)
            proposal = check(current, text, self.history.routes.name)
            return await self._replace(
                proposal, who, f"restore version {number}", expected, "routes-restore"
            )

    async def _replace(
        self, proposal: Proposal, who: str, note: str, expected: str, action: str
    ) -> Version:
        if proposal.problems:
            raise RouteChangeError(proposal.problems)
        if digest(proposal.before) != expected:
            raise HistoryError(
                f"{self.history.routes} changed since this edit was shown: look at it again"
            )
        if not proposal.diff:
            raise RouteChangeError(("nothing changes",))
        version = await asyncio.to_thread(
            self.history.replace,
            proposal.after,
            who=who,
            note=note,
            now=self.clock.now(),
            expected=expected,
        )
        applied = self._apply_routes()
        details = {
            "version": version.number,
            "note": note,
            "applied": applied,
            "before": proposal.before,
            "after": proposal.after,
        }
        await self._audit(who, action, details)
        if not applied:  # checked above: only a file changed meanwhile on disk gets here
            raise RouteChangeError(("written, but the daemon refused to load it: see its log",))
        return version

    async def _audit(self, who: str, action: str, details: dict[str, object]) -> None:
        await asyncio.to_thread(self.audit.record, who, action, self.clock.now(), details)


def _counts(store: Backend) -> dict[str, int]:
    return store.counts()


def _traffic(store: Backend, since: datetime) -> list[int]:
    return store.traffic(since, TRAFFIC_STEP, TRAFFIC_STEPS)
