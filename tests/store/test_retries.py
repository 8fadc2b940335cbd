"""Retries: a delivery that fails is tried again as the retry policy says (four attempts within
the hour by default) and then kept as failed; a peer's refusal fails it at once. A delivery
becomes delivered only when the forwarder says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_support import StoreUnderTest, accept, accepting, due_ids, states, stored
from store_values import NEW, OLD, T0

from isoill.core.retry import RetryPolicy
from isoill.store.backend import Backend
from isoill.store.writes import Delivered, Fail, Resend, RetryLater


def test_four_attempts_within_the_hour_then_failed(backend: Backend) -> None:
    message_id = accept(backend)
    later = accept(backend, "tx-2")
    tries = []
    now = T0
    while True:
        [delivery] = backend.due(now)
        assert delivery.message_id == message_id
        tries.append(now - T0)
        if not backend.commit(RetryLater(delivery.id, f"refused {len(tries)}", now)):
            break
        next_at = backend.next_due_at(now)
        assert next_at is not None
        assert backend.due(next_at - timedelta(seconds=1)) == []
        now = next_at

    assert tries == [timedelta(minutes=m) for m in (0, 5, 15, 35)]
    [view] = [m for m in backend.list_messages() if m.id == message_id]
    assert view.state == "failed"
    [delivery_view] = view.deliveries
    assert (delivery_view.attempts, delivery_view.last_error) == (4, "refused 4")
    assert delivery_view.last_attempt_at == T0 + timedelta(minutes=35)
    assert delivery_view.next_attempt_at is None
    # The failed head no longer blocks its address.
    assert due_ids(backend, now) == [(later, OLD)]


def test_the_backend_follows_its_retry_policy(store_under_test: StoreUnderTest) -> None:
    custom = RetryPolicy(max_attempts=2, first_delay=timedelta(seconds=30))
    backend = store_under_test.open(custom)
    try:
        accept(backend)
        [delivery] = backend.due(T0)
        assert backend.commit(RetryLater(delivery.id, "refused", T0))
        assert backend.due(T0 + timedelta(seconds=29)) == []
        later = T0 + timedelta(seconds=30)
        assert not backend.commit(RetryLater(delivery.id, "refused", later))
        assert states(backend) == {delivery.message_id: "failed"}
    finally:
        backend.close()


def test_a_retry_policy_must_fit_its_window() -> None:
    assert RetryPolicy().delay(1) == timedelta(minutes=5)
    with pytest.raises(ValueError, match="outside the window"):
        RetryPolicy(first_delay=timedelta(minutes=10))


def test_a_permanent_failure_and_unknown_deliveries(backend: Backend) -> None:
    accept(backend)
    [delivery] = backend.due(T0)
    backend.commit(Fail(delivery.id, "peer rejected the APDU", T0))
    assert states(backend) == {delivery.message_id: "failed"}
    for write in (Delivered(delivery.id, T0), RetryLater(999, "x", T0), Fail(999, "x", T0)):
        with pytest.raises(KeyError, match="no pending delivery"):
            backend.commit(write)


def test_forwarding_outcomes_in_one_group(backend: Backend) -> None:
    backend.commit(accepting("tx-1", (OLD, NEW)))
    old, new = sorted(backend.due(T0), key=lambda d: d.address != OLD)
    outcomes = backend.commit_all([Delivered(old.id, T0), RetryLater(new.id, "timeout", T0)])
    assert outcomes == [None, True]
    [view] = backend.list_messages()
    assert [(d.address, d.state) for d in view.deliveries] == [
        (OLD, "delivered"),
        (NEW, "pending"),
    ]
    backend.commit(Fail(new.id, "gone", T0))
    assert backend.list_messages("failed")[0].id == view.id


def test_delivered_keeps_the_scrubbed_bytes_once_no_delivery_is_pending(
    backend: Backend,
) -> None:
    """A secret kept for its deliveries (a forwarded login) is dropped once they are done."""
    message = stored(backend, accepting(addresses=[OLD, NEW], ber=b"with-secret"))
    first, second = (queued.delivery for queued in message.deliveries)
    backend.commit(Delivered(first.id, T0, scrubbed=b"scrubbed"))
    [left] = backend.due(T0)
    assert (left.id, left.ber) == (second.id, b"with-secret")  # still pending: kept as it was
    backend.commit(Delivered(second.id, T0, scrubbed=b"scrubbed"))
    backend.commit(Resend(message.message_id, T0))
    assert {d.ber for d in backend.due(T0)} == {b"scrubbed"}
