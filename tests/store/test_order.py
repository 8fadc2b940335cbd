"""Per-address order: a delivery is due only while it is the oldest pending one to its address,
so a later APDU never overtakes an earlier one there; each address has its own queue, so during
an address change the old and the new address of a peer progress independently. The caller's
clock is passed in, so every schedule here is exact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from store_support import accept, accepting, due_ids, states, stored
from store_values import NEW, OLD, T0

from isoill.store.backend import Backend
from isoill.store.writes import Delivered, Fail, Resend, RetryLater


def test_a_later_message_never_overtakes_an_earlier_one_to_the_same_address(
    backend: Backend,
) -> None:
    first = accept(backend, addresses=[OLD])
    second = accept(backend, "tx-2", [OLD])
    other = accept(backend, "tx-3", [NEW])
    assert due_ids(backend) == [(first, OLD), (other, NEW)]

    [head] = [d for d in backend.due(T0) if d.message_id == first]
    assert backend.commit(RetryLater(head.id, "connection refused", T0))
    assert due_ids(backend, T0 + timedelta(minutes=4)) == [(other, NEW)]
    assert due_ids(backend, T0 + timedelta(minutes=5)) == [(other, NEW), (first, OLD)]

    backend.commit(Delivered(head.id, T0 + timedelta(minutes=5)))
    assert due_ids(backend, T0 + timedelta(minutes=5)) == [(second, OLD), (other, NEW)]


def test_due_respects_its_limit_oldest_first(backend: Backend) -> None:
    ids = [
        accept(backend, addresses=[f"host{n}:499"], now=T0 + timedelta(seconds=n)) for n in range(5)
    ]
    assert [d.message_id for d in backend.due(T0 + timedelta(minutes=1), limit=2)] == ids[:2]


def test_next_due_at(backend: Backend) -> None:
    assert backend.next_due_at(T0) is None
    accept(backend, now=T0)
    assert backend.next_due_at(T0 + timedelta(seconds=3)) == T0 + timedelta(seconds=3)
    [delivery] = backend.due(T0)
    backend.commit(RetryLater(delivery.id, "timeout", T0))
    assert backend.next_due_at(T0) == T0 + timedelta(minutes=5)


def test_due_gives_each_address_its_run_in_order(backend: Backend) -> None:
    ids = [accept(backend, f"tx-{n}", [OLD]) for n in range(4)]
    other = accept(backend, "tx-9", [NEW])
    runs = [(d.message_id, d.address) for d in backend.due(T0, per_address=3)]
    assert runs == [(ids[0], OLD), (ids[1], OLD), (ids[2], OLD), (other, NEW)]
    assert [d.message_id for d in backend.due(T0)] == [ids[0], other]  # heads only
    assert [d.message_id for d in backend.due(T0, per_address=3, exclude=[OLD])] == [other]


def test_a_run_stops_at_a_delivery_not_due_yet(backend: Backend) -> None:
    earliest = accept(backend, "tx-0", [OLD])
    [head] = backend.due(T0)
    backend.commit(Delivered(head.id, T0))
    first, second = (accept(backend, f"tx-{n}", [OLD]) for n in (1, 2))
    [head] = backend.due(T0)
    assert head.message_id == first
    backend.commit(RetryLater(head.id, "refused", T0))  # due again in 5 minutes
    backend.commit(Resend(earliest, T0))  # older, so the head again, and due now
    # The run is the resent one alone: the one waiting for its retry holds back the rest.
    assert [d.message_id for d in backend.due(T0, per_address=5)] == [earliest]
    assert second not in [d.message_id for d in backend.due(T0 + timedelta(minutes=1), 10, 5)]


def test_an_accepted_delivery_names_the_one_pending_before_it(backend: Backend) -> None:
    """What the forwarder needs to take a new delivery at once without overtaking any."""
    first = stored(backend, accepting("tx-1", [OLD]))
    [queued] = first.deliveries
    assert queued.after is None  # nothing was pending to OLD
    [head] = backend.due(T0)
    assert queued.delivery == head  # as the forwarder's poll would read it
    second = stored(backend, accepting("tx-2", [OLD, NEW]))
    by_address = {q.delivery.address: q for q in second.deliveries}
    assert by_address[OLD].after == head.id
    assert by_address[NEW].after is None
    backend.commit(Delivered(head.id, T0))
    backend.commit(Delivered(by_address[OLD].delivery.id, T0))
    [third] = stored(backend, accepting("tx-3", [OLD])).deliveries
    assert third.after is None  # the ones before it are delivered
    backend.commit(RetryLater(third.delivery.id, "refused", T0))
    [fourth] = stored(backend, accepting("tx-4", [OLD])).deliveries
    assert fourth.after == third.delivery.id  # waiting for its retry: still pending


def test_an_address_change_fans_out_with_independent_states(backend: Backend) -> None:
    message_id = accept(backend, addresses=[OLD, NEW, OLD])  # a repeated address: sent once
    by_address = {d.address: d for d in backend.due(T0)}
    assert sorted(by_address) == sorted([OLD, NEW])

    backend.commit(Delivered(by_address[NEW].id, T0))
    backend.commit(RetryLater(by_address[OLD].id, "connection refused", T0))
    [view] = backend.list_messages()
    assert view.state == "pending"
    assert [(d.address, d.state, d.attempts) for d in view.deliveries] == [
        (OLD, "pending", 1),
        (NEW, "delivered", 1),
    ]
    assert view.deliveries[1].delivered_at == T0

    backend.commit(Fail(by_address[OLD].id, "gone", T0))
    assert states(backend) == {message_id: "failed"}
    assert backend.counts() == {"pending": 0, "failed": 1, "unroutable": 0, "held": 0}


@pytest.mark.parametrize("addresses", [[], OLD])  # none, and one address where a list belongs
def test_an_accepted_message_needs_a_list_of_addresses(
    backend: Backend, addresses: Sequence[str]
) -> None:
    with pytest.raises(ValueError, match="addresses"):
        accept(backend, addresses=addresses)
    assert backend.list_messages() == []
