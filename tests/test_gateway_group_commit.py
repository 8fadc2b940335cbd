"""Group commit through the daemon: an APDU is acknowledged only once the commit that holds it
has returned, concurrent senders share commits, deliveries to an address go on while their
outcomes are committed, without sending any twice, and an APDU another writer stored first is
a duplicate."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, write_config
from paths import CAPTURES
from prometheus_client import REGISTRY

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import ILLRequest, StatusOrErrorReport, SystemId
from isoill.codec.text import Text
from isoill.store.open import open_store
from isoill.store.records import Duplicate, Failed, Stored
from isoill.store.writes import Accept, Delivered, Write, WriteResult

pytestmark = pytest.mark.asyncio


def request(number: int) -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request to RESPLIB) with its own transaction-qualifier."""
    base = decode((CAPTURES / "yaz-illclient-2.ber").read_bytes())
    assert isinstance(base, ILLRequest)
    responder_id = SystemId.model_validate(
        {"person-or-institution-symbol": {"institution-symbol": "RESPLIB"}}
    )
    tid = base.transaction_id.model_copy(
        update={"transaction_qualifier": Text.of(f"GC-{number:04d}")}
    )
    return encode(base.model_copy(update={"transaction_id": tid, "responder_id": responder_id}))


def acknowledged(answer: bytes) -> bool:
    report = decode(answer)
    return isinstance(report, StatusOrErrorReport) and report.error_report is None


def stored_messages(config: Path) -> int:
    """How many messages another connection sees committed."""
    db = sqlite3.connect(config.parent / "store.sqlite3")
    try:
        (count,) = db.execute("SELECT count(*) FROM messages").fetchone()
    finally:
        db.close()
    return int(count)


def pending_deliveries(config: Path) -> int:
    """How many deliveries another connection sees still pending."""
    db = sqlite3.connect(config.parent / "store.sqlite3")
    try:
        (count,) = db.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()
    finally:
        db.close()
    return int(count)


async def wait_on_thread(event: threading.Event) -> None:
    assert await asyncio.get_running_loop().run_in_executor(None, event.wait, 10)


async def test_acknowledgement_waits_for_the_commit(tmp_path: Path) -> None:
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    server = await start_gateway(config)
    store = server.writer.backend
    committing, go_on = threading.Event(), threading.Event()
    commit_all = store.commit_all

    def held_up(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        committing.set()
        go_on.wait(10)
        return commit_all(writes)

    store.commit_all = held_up  # type: ignore[method-assign]
    try:
        answer = asyncio.create_task(exchange(server.ports[0], [request(1)]))
        await wait_on_thread(committing)
        await asyncio.sleep(0.3)
        assert not answer.done()  # no acknowledgement while the commit has not returned
        assert stored_messages(config) == 0
        go_on.set()
        (ack,) = await answer
        assert acknowledged(ack)
        assert stored_messages(config) == 1  # committed when the acknowledgement came
        assert await peer.wait_for(1) == [request(1)]
    finally:
        go_on.set()
        await server.stop()
        await peer.stop()


async def test_concurrent_senders_share_commits(tmp_path: Path) -> None:
    peer = await RecordingPeer().start()
    senders = 100  # connections at once, all from 127.0.0.1
    config = write_config(
        tmp_path,
        routes_for({"RESPLIB": [peer.address]}),
        extra=f"[limits]\nmax_connections_per_address = {senders}\n",
    )
    server = await start_gateway(config)
    store = server.writer.backend
    accepted: list[int] = []  # the APDUs accepted in each commit that accepted any
    commit_all = store.commit_all

    def counted(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        results = commit_all(writes)
        if count := sum(isinstance(result, Stored) for result in results):
            accepted.append(count)
        return results

    store.commit_all = counted  # type: ignore[method-assign]
    try:
        answers = await asyncio.gather(
            *(exchange(server.ports[0], [request(n)]) for n in range(senders))
        )
        assert all(acknowledged(answer) for (answer,) in answers)
        assert sum(accepted) == senders
        assert len(accepted) <= senders / 4, accepted  # batches formed
        received = await peer.wait_for(senders)
        assert sorted(received) == sorted(request(n) for n in range(senders))
    finally:
        await server.stop()
        await peer.stop()


async def test_delivery_goes_on_while_outcomes_are_committed(tmp_path: Path) -> None:
    """The next APDU to an address does not wait for the commit of the last one's outcome;
    the address is not polled again (nothing sent twice) until the run's outcomes are in."""
    probe = await RecordingPeer().start()
    port = probe.port
    await probe.stop()  # RESPLIB is down while the requests are accepted
    config = write_config(
        tmp_path,
        routes_for({"RESPLIB": [f"127.0.0.1:{port}"]}),
        extra='[peers.REQLIB]\nconnection = "persistent"\n',
    )
    server: App = await start_gateway(config)
    store = server.writer.backend
    recording, go_on = threading.Event(), threading.Event()
    commit_all = store.commit_all

    def held_up(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        if any(isinstance(write, Delivered) for write in writes):  # an outcome's commit
            recording.set()
            go_on.wait(10)
        return commit_all(writes)

    store.commit_all = held_up  # type: ignore[method-assign]
    peer = None
    requests = [request(number) for number in range(1, 4)]
    try:
        answers = await exchange(server.ports[0], requests)
        assert all(acknowledged(answer) for answer in answers)
        peer = await RecordingPeer().start(port)
        await wait_on_thread(recording)  # the first outcome's commit is held up
        assert await peer.wait_for(3) == requests  # ... and the others went meanwhile
        assert pending_deliveries(config) == 3
        go_on.set()
        async with asyncio.timeout(10):
            while pending_deliveries(config):
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # a poll that saw them still due would send them again now
        assert peer.received == requests
    finally:
        go_on.set()
        await server.stop()
        if peer is not None:
            await peer.stop()


async def test_a_steady_flow_goes_to_its_sender_without_polls(tmp_path: Path) -> None:
    """Each APDU stored goes straight to the run of the address's sender (or starts one), in
    order: the store is not polled for it."""
    peer = await RecordingPeer().start()
    config = write_config(
        tmp_path,
        routes_for({"RESPLIB": [peer.address]}),
        extra='[peers.REQLIB]\nconnection = "persistent"\n',
    )
    server: App = await start_gateway(config)
    reader = server.forwarder.reader.backend
    polls = 0
    due = reader.due

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal polls
        polls += 1
        return due(*args, **kwargs)

    reader.due = counted  # type: ignore[method-assign]
    requests = [request(number) for number in range(1, 21)]
    try:
        await asyncio.sleep(0.1)  # the forwarder's first poll, with nothing due
        polls = 0
        for apdu in requests:  # one at a time, each once the one before has arrived
            [answer] = await exchange(server.ports[0], [apdu])
            assert acknowledged(answer)
            await peer.wait_for(len(peer.received) + 1)
        assert peer.received == requests
        assert polls <= 2, polls  # one APDU each would have been 20
    finally:
        await server.stop()
        await peer.stop()


async def test_an_apdu_stored_meanwhile_by_another_writer_is_a_duplicate(tmp_path: Path) -> None:
    """Between the gateway's duplicate check and its commit, another writer of the store (a
    second gateway, on a store several share) stores the same APDU: the unique key refuses the
    gateway's copy, and the APDU is acknowledged as a duplicate, stored and delivered once."""
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    server = await start_gateway(config)
    store = server.writer.backend
    commit_all = store.commit_all
    results: list[WriteResult | Failed] = []

    def raced(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        other = open_store(config.parent / "store.sqlite3")
        try:
            for write in writes:
                if isinstance(write, Accept):
                    other.commit(write)  # the same APDU, stored first by the other writer
        finally:
            other.close()
        results.extend(commit_all(writes))
        return results

    store.commit_all = raced  # type: ignore[method-assign]
    duplicates = REGISTRY.get_sample_value("isoill_duplicates_total") or 0.0
    try:
        (ack,) = await exchange(server.ports[0], [request(1)])
        assert acknowledged(ack)
        assert [type(result) for result in results] == [Duplicate]
        assert REGISTRY.get_sample_value("isoill_duplicates_total") == duplicates + 1
        assert stored_messages(config) == 1
        assert await peer.wait_for(1) == [request(1)]
    finally:
        await server.stop()
        await peer.stop()
