"""What the console asks of a store besides the commands' listings: the traffic of a period
counted by step, a message's bytes, the queue filtered by peer and type, transactions found by
their qualifier; the traffic reads an index range, the qualifier search seeks, neither a table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from store_support import StoreUnderTest, accept, hold
from store_values import BER, OLD, T0

from isoill.store.backend import Backend


def key(qualifier: str, requester: str = "BRW") -> str:
    """A transaction key as the gateway makes them (isoill.ill.transaction_id)."""
    return json.dumps([requester, "", qualifier, None])


def test_traffic_counts_the_messages_of_each_step(backend: Backend) -> None:
    for minutes in (0, 1, 59, 60, 61, 180, 24 * 60):
        accept(backend, key(f"q{minutes}"), [OLD], now=T0 + timedelta(minutes=minutes))
    hour = timedelta(hours=1)
    assert backend.traffic(T0, hour, 4) == [3, 2, 0, 1]
    assert backend.traffic(T0 + hour, hour, 2) == [2, 0]
    assert backend.traffic(T0 - hour, hour, 1) == [0]
    assert sum(backend.traffic(T0, hour, 25)) == 7


def test_a_message_s_bytes_are_returned_as_kept(backend: Backend) -> None:
    message_id = accept(backend, key("q1"), [OLD], ber=BER + b"x")
    assert backend.apdu(message_id) == BER + b"x"
    with pytest.raises(KeyError):
        backend.apdu(message_id + 100)


def test_the_queue_filters_by_peer_either_way_and_by_type(backend: Backend) -> None:
    request = accept(backend, key("q1"), [OLD])
    answer = accept(
        backend, key("q1"), [OLD], peer="LND", apdu_type="ILL-Answer", dedup_key="answer"
    )
    other = hold(backend, key("q2", "NEWLIB"))
    assert [m.id for m in backend.list_messages(peer="brw")] == [request]
    # LND is the target of every message here, and sent the answer
    assert [m.id for m in backend.list_messages(peer="LND")] == [other, answer, request]
    assert [m.id for m in backend.list_messages(apdu_type="ILL-Answer")] == [answer]
    assert [m.id for m in backend.list_messages("held", peer="NEWLIB")] == [other]
    assert backend.list_messages("held", peer="BRW") == []
    assert backend.list_messages(peer="LND", apdu_type="Shipped") == []


def test_transactions_are_found_by_qualifier(backend: Backend) -> None:
    accept(backend, key("42"), [OLD], states=("PENDING", "PENDING"))
    accept(backend, key("43"), [OLD], dedup_key="b")
    accept(backend, key("42", "OTHER"), [OLD], requester="OTHER", dedup_key="c")
    found = backend.list_transactions(qualifier="42")
    assert sorted(record.key for record in found) == sorted([key("42"), key("42", "OTHER")])
    assert [r.key for r in backend.list_transactions(qualifier="42", peer="other")] == [
        key("42", "OTHER")
    ]
    assert [r.key for r in backend.list_transactions("pending", qualifier="42")] == [key("42")]
    assert backend.list_transactions(qualifier="4") == []


def test_traffic_and_the_qualifier_search_read_an_index(
    store_under_test: StoreUnderTest, backend: Backend
) -> None:
    for n in range(20):
        accept(backend, key(str(n)), [OLD], now=T0 + timedelta(minutes=n), dedup_key=f"d{n}")

    def queries() -> None:
        backend.traffic(T0, timedelta(hours=1), 24)
        backend.list_transactions(qualifier="7")
        backend.apdu(3)

    found = store_under_test.plans(backend, queries)
    assert any(plan.steps for plan in found), found
    for plan in found:
        # the traffic's range is bounded on both sides: the last day's entries, not all
        assert all(">" in step and "<" in step for step in plan.scans), plan
