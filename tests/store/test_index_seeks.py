"""Index-only reads: every query the gateway makes per APDU and the forwarder per delivery or
poll is an index seek, so its cost does not grow with the number of stored messages or
transactions (nor does the gateway's sort what it found); the operators' transaction queries
read no whole table either, and list the newest first by walking an index that stops at the
limit. Each backend says how it ran each
statement (``StoreUnderTest.plans``: SQLite's EXPLAIN QUERY PLAN, say)."""

from __future__ import annotations

from collections.abc import Callable

from store_support import Plan, StoreUnderTest, accept, accepting, hold, notice
from store_values import NEW, OLD, T0

from isoill.store.backend import Backend
from isoill.store.writes import Delivered, Fail, Keep, Refuse, Release, Resend, RetryLater


def filled(backend: Backend) -> None:
    """Enough rows of each kind that a plan has tables and indexes to choose between."""
    for n in range(20):
        accept(
            backend,
            f"tx-{n}",
            [OLD if n % 2 else NEW],
            dedup_key=f"d{n}",
            states=("PENDING", "IN-PROCESS"),
        )
    hold(backend, "tx-held", dedup_key="h")


def plans(under_test: StoreUnderTest, backend: Backend, run: Callable[[], object]) -> list[Plan]:
    found = under_test.plans(backend, run)
    assert any(plan.steps for plan in found), found  # the hook saw what ran
    return found


def test_the_gateways_queries_per_apdu_seek_an_index(
    store_under_test: StoreUnderTest, backend: Backend
) -> None:
    filled(backend)

    def per_apdu() -> None:
        backend.view("tx-3")
        backend.view("tx-unknown")
        backend.transaction("tx-3")
        backend.find_duplicate("d3")
        backend.last_service("tx-3")
        backend.commit(accepting("tx-3", [OLD], dedup_key="d-new", states=("SHIPPED", "SHIPPED")))
        backend.commit(accepting("tx-4", dedup_key="d4"))  # a duplicate
        backend.commit(
            Keep(
                peer="LND",
                apdu_type="Received",
                transaction_key="tx-3",
                target_symbol="BRW",
                ber=b"r",
                state="refused",
                reason="no",
                now=T0,
            )
        )

    for plan in plans(store_under_test, backend, per_apdu):
        assert not plan.scans and not plan.sorts, plan


def test_the_forwarders_queries_seek_an_index(
    store_under_test: StoreUnderTest, backend: Backend
) -> None:
    filled(backend)
    first, second, third = backend.due(T0, per_address=2)[:3]

    def per_delivery() -> None:
        backend.due(T0, 500, 64, exclude=[NEW])
        backend.due(T0)
        backend.next_due_at(T0)
        backend.counts()
        backend.commit_all(
            [
                Delivered(first.id, T0, scrubbed=b"scrubbed"),
                RetryLater(second.id, "timeout", T0),
                Fail(third.id, "refused", T0),
            ]
        )

    for plan in plans(store_under_test, backend, per_delivery):
        assert not plan.scans, plan


def test_the_operators_transaction_queries_walk_an_index(
    store_under_test: StoreUnderTest, backend: Backend
) -> None:
    filled(backend)
    held, other = backend.list_messages("held")[0].id, hold(backend, "tx-other")

    def listings() -> None:
        for state, peer in (("PENDING", None), (None, "BRW"), ("PENDING", "BRW")):
            backend.list_transactions(state, peer)

    for plan in plans(store_under_test, backend, listings):
        assert not plan.scans and not plan.sorts, plan

    def decisions() -> None:
        backend.transaction_history(1)
        backend.held(held)
        backend.commit(Release(held, [OLD], T0))
        backend.commit(Refuse(other, "no", T0, notice([OLD])))
        backend.commit(Resend(1, T0))

    for plan in plans(store_under_test, backend, decisions):
        assert not plan.scans, plan
