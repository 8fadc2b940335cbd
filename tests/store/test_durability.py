"""Durable: a write is stored for good once ``commit`` or ``commit_all`` has returned. Another
connection sees it at once, and so does the store reopened after the writing process was
killed right after the commit returned."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from store_support import StoreUnderTest, accept, accepting, hold, parties
from store_values import BER, NEW, OLD, T0

from isoill.store.records import Stored

# Commits one write alone and two in a group, prints the message ids, and waits to be killed.
WRITER = """
import sys, time
from datetime import UTC, datetime
from isoill.store.open import open_store
from isoill.store.writes import Accept

def accepting(key, address):
    return Accept(peer="BRW", apdu_type="Shipped", transaction_key=key, target_symbol="LND",
                  ber=bytes.fromhex(sys.argv[2]), addresses=[address], requester_symbol="BRW",
                  responder_symbol="LND", now=datetime.now(UTC), expected_version=None,
                  dedup_key=key)

store = open_store(sys.argv[1])
alone = store.commit(accepting("tx-9", sys.argv[3]))
grouped = store.commit_all([accepting("tx-10", sys.argv[3]), accepting("tx-11", sys.argv[4])])
print(alone.message_id, *(stored.message_id for stored in grouped), flush=True)
time.sleep(60)
"""


def test_a_second_connection_sees_each_commit_at_once(store_under_test: StoreUnderTest) -> None:
    writer, reader = store_under_test.open(), store_under_test.open()
    try:
        message_id = accept(writer)
        assert [m.id for m in reader.list_messages()] == [message_id]
        assert parties(reader, "tx-1") == ("BRW", "LND")
        grouped = writer.commit_all([accepting("tx-2", dedup_key="d2"), accepting("tx-3")])
        assert all(isinstance(result, Stored) for result in grouped)
        assert len(reader.list_messages()) == 3
        assert reader.find_duplicate("d2") is not None
        assert [d.message_id for d in reader.due(T0)] == [message_id]  # per address, in order
    finally:
        writer.close()
        reader.close()


def test_accepted_messages_survive_close_and_reopen(store_under_test: StoreUnderTest) -> None:
    first = store_under_test.open()
    message_id = accept(first, addresses=[OLD, NEW])
    held = hold(first)
    first.close()

    reopened = store_under_test.open()
    try:
        [one, two] = reopened.due(T0)
        assert (one.message_id, one.address, one.ber) == (message_id, OLD, BER)
        assert (two.message_id, two.address, two.ber) == (message_id, NEW, BER)
        assert one.received_at == T0
        assert (one.apdu_type, one.target_symbol, one.attempts) == ("ILL-Request", "LND", 0)
        assert [m.id for m in reopened.list_messages("held")] == [held]
    finally:
        reopened.close()


def test_messages_survive_sigkill_right_after_the_commit(store_under_test: StoreUnderTest) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_under_test.setting, BER.hex(), OLD, NEW],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    with child.stdout:
        alone, first, second = map(int, child.stdout.readline().split())
        child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL

    store = store_under_test.open()
    try:
        due = store.due(datetime.now(UTC), per_address=2)
        runs = {
            address: [(d.message_id, d.ber) for d in due if d.address == address]
            for address in (OLD, NEW)
        }
        assert runs == {OLD: [(alone, BER), (first, BER)], NEW: [(second, BER)]}
        assert parties(store, "tx-11") == ("BRW", "LND")
        assert store.find_duplicate("tx-10") == first
    finally:
        store.close()
