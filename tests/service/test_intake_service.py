"""The intake service without sockets: APDUs handed to ``IntakeService.receive`` as a transport
would, over a real SQLite store (or two services over one PostgreSQL store, as two processes),
on a clock the test sets. The time the service stamps (what the store keeps, what the
acknowledgement says) is the injected clock's."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from transaction_apdus import REQUESTER, RESPONDER, apdu

from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport, TransactionResults
from isoill.config import Config
from isoill.ill.transaction_id import transaction_key
from isoill.router import RoutingTable
from isoill.service.access import AccessControl
from isoill.service.handoff import Handoff
from isoill.service.intake import (
    CONFLICT_REASON,
    JUDGEMENTS,
    REREAD_STEP,
    REREADS,
    IntakeService,
)
from isoill.service.origin import Origin
from isoill.service.reachability import Reachability
from isoill.store import writes
from isoill.store.backend import Backend
from isoill.store.group import GroupWriter
from isoill.store.open import open_store
from isoill.store.sqlite.backend import SqliteBackend

pytestmark = pytest.mark.asyncio

W = TypeVar("W", bound=writes.WriteResult)

START = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock that moves only when the test moves it."""

    at: datetime = START
    seconds: float = 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, by: timedelta) -> None:
        self.at += by
        self.seconds += by.total_seconds()


@dataclass
class Intake:
    service: IntakeService
    writer: GroupWriter
    clock: FakeClock


@asynccontextmanager
async def intake_on(
    opener: Callable[[], Backend], writer_type: type[GroupWriter] = GroupWriter
) -> AsyncIterator[Intake]:
    """An intake service over the store ``opener`` opens (on its writer's thread)."""
    config = Config.model_validate(
        tomllib.loads(
            "".join(f'[peers.{s}]\nstate_machine = "enforce"\n' for s in (REQUESTER, RESPONDER))
            + "[[listeners]]\nport = 0\n"
        )
    )
    routes = RoutingTable.parse(
        f'[peers.{REQUESTER}]\naddresses = ["192.0.2.1:499"]\n'
        f'[peers.{RESPONDER}]\naddresses = ["192.0.2.2:499"]\n'
    )
    executor = ThreadPoolExecutor(max_workers=1)
    backend = executor.submit(opener).result()
    writer = writer_type(backend, executor)
    writer.start()
    clock = FakeClock()
    access = AccessControl(config)
    service = IntakeService(config, routes, writer, Handoff(), access, Reachability(), clock)
    try:
        yield Intake(service, writer, clock)
    finally:
        await writer.close()
        executor.submit(backend.close).result()
        executor.shutdown()


@pytest_asyncio.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    async with intake_on(lambda: SqliteBackend(tmp_path / "store.sqlite3")) as intake:
        yield intake


def service_date(answer: bytes | None) -> tuple[str, str | None]:
    assert answer is not None
    report = decode(answer)
    assert isinstance(report, StatusOrErrorReport)
    this = report.service_date_time.date_time_of_this_service
    return this.date, this.time


async def test_the_time_is_the_clocks(intake: Intake) -> None:
    origin = Origin("192.0.2.9:40000")
    outcome = await intake.service.receive(apdu("ILL-Request", "CLOCK"), origin)
    assert service_date(outcome.reply) == ("20310203", "040506")
    intake.clock.advance(timedelta(days=1, hours=1))
    later = await intake.service.receive(apdu("Shipped", "CLOCK"), Origin("192.0.2.8:40000"))
    assert service_date(later.reply) == ("20310204", "050506")
    (shipped, request) = await intake.writer.call(intake.writer.backend.list_messages)
    assert (request.received_at, shipped.received_at) == (START, START + timedelta(days=1, hours=1))


async def test_patience_is_counted_on_the_clock(intake: Intake) -> None:
    """An APDU that may have overtaken its predecessor waits up to ``crossing_wait`` seconds
    of the injected clock: once the clock has passed it, the next change of the transaction
    (here a Message) wakes it to be refused, not accepted."""
    origin = Origin("192.0.2.9:40000", symbols={REQUESTER})
    await intake.service.receive(apdu("ILL-Request", "EARLY"), origin)
    early = asyncio.create_task(intake.service.receive(apdu("Received", "EARLY"), origin))
    await asyncio.sleep(0.05)
    assert not early.done()  # waiting for its Shipped
    intake.clock.advance(timedelta(seconds=31))  # past crossing_wait (30)
    message = await intake.service.receive(apdu("Message", "EARLY"), origin)
    assert message.reply is not None
    outcome = await asyncio.wait_for(early, 5)
    assert outcome.reply is not None
    report = decode(outcome.reply)
    assert isinstance(report, StatusOrErrorReport) and report.error_report is not None
    provider = report.error_report.provider_error_report
    assert provider is not None and provider.state_transition_prohibited is not None


async def test_an_apdu_judged_against_a_transaction_moved_on_elsewhere_is_judged_again(
    postgres_database: str,
) -> None:
    """Two gateways on one PostgreSQL store: one moves a transaction on that the other keeps
    in memory. The other's APDU of it, judged against what it kept, stores nothing the first
    time; judged again against the transaction as it now is, it is stored and acknowledged."""
    async with (
        intake_on(lambda: open_store(postgres_database)) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        responder = Origin("192.0.2.8:40000", symbols={RESPONDER})
        await here.service.receive(apdu("ILL-Request", "SHARED"), requester)
        [begun] = await here.writer.call(here.writer.backend.list_transactions)
        assert await here.writer.transaction(begun.key) == begun  # kept in memory
        shipped = await there.service.receive(apdu("Shipped", "SHARED"), responder)
        assert not refused(shipped.reply)
        before = judged_again()
        message = apdu("Message", "SHARED")  # allowed in any state: judged, not waiting
        outcome = await here.service.receive(message, requester)
        assert not refused(outcome.reply)
        assert judged_again() == before + 1
        messages = await here.writer.call(here.writer.backend.list_messages)
        assert [m.apdu_type for m in messages] == ["Message", "Shipped", "ILL-Request"]
        record = await here.writer.transaction(begun.key)
        assert record is not None and record.version == 3
        assert record.responder_state == "SHIPPED"  # the other's move kept, not overwritten


async def test_judged_again_an_apdu_the_transaction_now_forbids_is_refused(
    postgres_database: str,
) -> None:
    """The second judgement is the core's as for any APDU: a Shipped judged against the
    transaction in memory (its responder could ship) but written after the other gateway
    stored an ILL-Answer unfilled is refused for the state the transaction is in now."""
    async with (
        intake_on(lambda: open_store(postgres_database)) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        responder = Origin("192.0.2.8:40000", symbols={RESPONDER})
        await here.service.receive(apdu("ILL-Request", "FORBIDS"), requester)
        [begun] = await here.writer.call(here.writer.backend.list_transactions)
        assert await here.writer.transaction(begun.key) == begun  # kept in memory
        unfilled = apdu("ILL-Answer", "FORBIDS", results=TransactionResults.UNFILLED)
        assert not refused((await there.service.receive(unfilled, responder)).reply)
        outcome = await here.service.receive(apdu("Shipped", "FORBIDS"), responder)
        report = decode(outcome.reply or b"")
        assert isinstance(report, StatusOrErrorReport) and report.error_report is not None
        provider = report.error_report.provider_error_report
        assert provider is not None and provider.state_transition_prohibited is not None
        messages = await here.writer.call(here.writer.backend.list_messages)
        assert [m.apdu_type for m in messages] == ["Shipped", "ILL-Answer", "ILL-Request"]
        assert messages[0].state == "refused"  # kept for the history, not delivered


async def test_two_gateways_moving_one_transaction_at_once_store_every_apdu(
    postgres_database: str,
) -> None:
    """Both gateways take APDUs of one transaction at the same time, round after round: in
    each, one of the two writes finds the transaction moved on by the other and is judged
    again. Every APDU is acknowledged and stored, each write one version more."""
    async with (
        intake_on(lambda: open_store(postgres_database)) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        responder = Origin("192.0.2.8:40000", symbols={RESPONDER})
        await here.service.receive(apdu("ILL-Request", "RACE"), requester)
        before = judged_again()
        rounds = 15
        for _ in range(rounds):
            outcomes = await asyncio.gather(
                here.service.receive(apdu("Message", "RACE"), requester),
                there.service.receive(apdu("Message", "RACE"), responder),
            )
            assert not any(refused(outcome.reply) for outcome in outcomes)
        assert judged_again() > before  # the two did cross
        [record] = await here.writer.call(here.writer.backend.list_transactions)
        assert record.version == 1 + 2 * rounds
        messages = await here.writer.call(here.writer.backend.list_messages, limit=100)
        assert len(messages) == 1 + 2 * rounds


class MovingWriter(GroupWriter):
    """A writer whose every acceptance comes just after the other gateway stored a Message
    of the same transaction: each judgement is out of date by the time it is written."""

    other: IntakeService

    async def write(self, write: writes.Write[W]) -> W:
        if isinstance(write, writes.Accept) and write.apdu_type != "ILL-Request":
            origin = Origin("192.0.2.8:40000", symbols={RESPONDER})
            moved = await self.other.receive(apdu("Message", "MOVING"), origin)
            assert not refused(moved.reply)
        return await super().write(write)


async def test_an_apdu_whose_transaction_keeps_moving_is_refused_for_now(
    postgres_database: str,
) -> None:
    """Judged four times, and each time the other gateway has moved the transaction on before
    the write: the APDU stores nothing and is refused for now, saying why; the peer sends it
    again later."""
    async with (
        intake_on(lambda: open_store(postgres_database), MovingWriter) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        assert isinstance(here.writer, MovingWriter)
        here.writer.other = there.service
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        await here.service.receive(apdu("ILL-Request", "MOVING"), requester)
        before = judged_again()
        outcome = await here.service.receive(apdu("Message", "MOVING"), requester)
        assert refused(outcome.reply)
        report = decode(outcome.reply or b"")
        assert isinstance(report, StatusOrErrorReport)
        assert CONFLICT_REASON in str(report.note)
        assert str(report.note).startswith("temporary: ")
        assert judged_again() == before + JUDGEMENTS
        messages = await here.writer.call(here.writer.backend.list_messages)
        assert [m.apdu_type for m in messages] == ["Message"] * JUDGEMENTS + ["ILL-Request"]
        assert {m.peer for m in messages[:-1]} == {"192.0.2.8:40000"}  # the other's, not ours


class SlowWriter(GroupWriter):
    """A writer whose ILL-Requests reach the store ``delay`` seconds late: a commit under way
    that the other gateway cannot see yet."""

    delay = 0.25

    async def write(self, write: writes.Write[W]) -> W:
        if isinstance(write, writes.Accept) and write.apdu_type == "ILL-Request":
            await asyncio.sleep(self.delay)
        return await super().write(write)


async def test_an_apdu_behind_a_request_another_gateway_is_committing_is_accepted(
    postgres_database: str,
) -> None:
    """One gateway's lock makes an APDU of a transaction wait for the request it holds; the
    other gateway does not share that lock. Its Cancel, arriving while the request's commit
    is under way elsewhere, finds no transaction; it is refused as unknown only after the
    store has been read again a few times, and here it is accepted."""
    async with (
        intake_on(lambda: open_store(postgres_database), SlowWriter) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        begun = asyncio.create_task(
            here.service.receive(apdu("ILL-Request", "UNDERWAY"), requester)
        )
        await asyncio.sleep(0.05)  # the request is in its (slow) write
        message = await there.service.receive(apdu("Cancel", "UNDERWAY"), requester)
        assert not refused((await begun).reply)
        assert not refused(message.reply)
        messages = await there.writer.call(there.writer.backend.list_messages)
        assert [m.apdu_type for m in messages] == ["Cancel", "ILL-Request"]


async def test_an_apdu_of_a_transaction_never_started_is_refused_after_a_few_looks(
    postgres_database: str,
) -> None:
    """The looks are bounded: with no request anywhere, the APDU is refused as an unknown
    transaction (after REREADS more reads of the store, REREAD_STEP seconds apart)."""
    async with intake_on(lambda: open_store(postgres_database)) as there:
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = await there.service.receive(apdu("Cancel", "NEVER"), requester)
        took = loop.time() - started
        report = decode(outcome.reply or b"")
        assert isinstance(report, StatusOrErrorReport) and report.error_report is not None
        provider = report.error_report.provider_error_report
        assert provider is not None and provider.transaction_id_problem is not None
        assert REREADS * REREAD_STEP <= took < 5


async def test_what_one_gateway_remembers_of_a_transaction_does_not_refuse_it(
    postgres_database: str,
) -> None:
    """A gateway that refused a Shipped of a transaction nobody had started remembers it as
    unknown; once the other gateway has stored its request, a Shipped of it is judged against
    the store, not that memory."""
    async with (
        intake_on(lambda: open_store(postgres_database)) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        responder = Origin("192.0.2.8:40000", symbols={RESPONDER})
        early = await there.service.receive(apdu("ILL-Answer", "MEMORY"), responder)
        assert refused(early.reply)
        assert not refused(
            (await here.service.receive(apdu("ILL-Request", "MEMORY"), requester)).reply
        )
        later = await there.service.receive(apdu("ILL-Answer", "MEMORY"), responder)
        assert not refused(later.reply)


async def test_an_early_apdu_waits_for_its_predecessor_stored_by_another_gateway(
    postgres_database: str,
) -> None:
    """A Received before its Shipped waits for it; the Shipped comes to the other gateway,
    whose write wakes nobody here. The waiting gateway reads the store again every
    REREAD_STEP seconds, and the Received goes on soon after the Shipped is stored, not at
    the end of crossing_wait (30 s)."""
    async with (
        intake_on(lambda: open_store(postgres_database)) as here,
        intake_on(lambda: open_store(postgres_database)) as there,
    ):
        requester = Origin("192.0.2.9:40000", symbols={REQUESTER})
        responder = Origin("192.0.2.8:40000", symbols={RESPONDER})
        await here.service.receive(apdu("ILL-Request", "CROSSING"), requester)
        early = asyncio.create_task(here.service.receive(apdu("Received", "CROSSING"), requester))
        await asyncio.sleep(0.3)
        assert not early.done()  # waiting for its Shipped
        shipped = await there.service.receive(apdu("Shipped", "CROSSING"), responder)
        assert not refused(shipped.reply)
        received = await asyncio.wait_for(early, 5)
        assert not refused(received.reply)
        record = await here.writer.transaction(apdu_key("CROSSING"))
        assert record is not None and record.requester_state == "RECEIVED"


def apdu_key(qualifier: str) -> str:
    return transaction_key(decode(apdu("Message", qualifier)).transaction_id)


def judged_again() -> float:
    value = REGISTRY.get_sample_value("isoill_judged_again_total")
    return value or 0.0


def refused(answer: bytes | None) -> bool:
    """Whether ``answer`` is an error report (a refusal), not an acknowledgement."""
    assert answer is not None
    report = decode(answer)
    return isinstance(report, StatusOrErrorReport) and report.error_report is not None
