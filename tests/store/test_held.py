"""Held messages: an ILL-Request held for an operator waits without deliveries until it is
released (queued like any later APDU, due now) or refused (kept with the reason, and the report
telling its sender queued in the same transaction). Only a held message is either."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial

import pytest
from store_support import (
    StoreUnderTest,
    accept,
    accepting,
    due_ids,
    hold,
    notice,
    parties,
    queue_in_every_state,
    states,
)
from store_values import BER, NEW, OLD, T0

from isoill.store.backend import Backend
from isoill.store.errors import StoreError
from isoill.store.records import GATEWAY_PEER, Failed, Notice, Stored
from isoill.store.writes import Delivered, Refuse, Release


def test_a_held_message_waits_without_deliveries(store_under_test: StoreUnderTest) -> None:
    first = store_under_test.open()
    held = hold(first)
    first.close()  # durable once committed

    backend = store_under_test.open()
    try:
        [view] = backend.list_messages("held")
        assert (view.id, view.state, view.peer, view.target_symbol) == (
            held,
            "held",
            "NEWLIB",
            "LND",
        )
        assert (view.reason, view.deliveries) == ("requester NEWLIB is not a configured peer", ())
        assert backend.due(T0 + timedelta(days=1)) == []
        assert backend.next_due_at(T0) is None
        assert backend.counts() == {"pending": 0, "failed": 0, "unroutable": 0, "held": 1}
        assert parties(backend, "tx-7") == ("NEWLIB", "LND")
        message = backend.held(held)
        assert (message.id, message.transaction_key, message.target_symbol, message.ber) == (
            held,
            "tx-7",
            "LND",
            BER,
        )
    finally:
        backend.close()


def test_release_queues_a_held_message_due_now(backend: Backend) -> None:
    earlier = accept(backend, addresses=[OLD])
    held = hold(backend)
    later = T0 + timedelta(hours=3)
    assert backend.commit(Release(held, [OLD, NEW, NEW], later)) == 2
    assert states(backend) == {held: "pending", earlier: "pending"}
    # On OLD it waits behind the message accepted before it, like any later APDU.
    assert due_ids(backend, later) == [(earlier, OLD), (held, NEW)]
    [head] = [d for d in backend.due(later) if d.message_id == earlier]
    backend.commit(Delivered(head.id, later))
    assert due_ids(backend, later) == [(held, OLD), (held, NEW)]
    [view] = [m for m in backend.list_messages() if m.id == held]
    assert view.reason is None
    assert view.received_at == T0
    assert [d.next_attempt_at for d in view.deliveries] == [later, later]
    assert backend.counts()["held"] == 0


def test_refuse_keeps_the_reason_and_queues_the_report(backend: Backend) -> None:
    held = hold(backend)
    report = backend.commit(Refuse(held, "not in our consortium", T0, notice([NEW, OLD])))
    assert report is not None
    [view] = backend.list_messages("refused")
    assert (view.id, view.state, view.reason, view.deliveries) == (
        held,
        "refused",
        "not in our consortium",
        (),
    )
    [sent] = [m for m in backend.list_messages() if m.id == report]
    assert (sent.peer, sent.apdu_type, sent.target_symbol, sent.transaction_key) == (
        GATEWAY_PEER,
        "Status-Or-Error-Report",
        "NEWLIB",
        "tx-7",
    )
    assert sorted((d.address, d.ber) for d in backend.due(T0)) == [
        (NEW, b"report"),
        (OLD, b"report"),
    ]
    assert backend.counts() == {"pending": 2, "failed": 0, "unroutable": 0, "held": 0}


def test_refuse_without_a_report(backend: Backend) -> None:
    held = hold(backend, requester=None)
    assert backend.commit(Refuse(held, "who is this?", T0)) is None
    assert states(backend) == {held: "refused"}
    assert backend.due(T0) == []


def test_a_refusal_and_its_report_are_one_transaction(backend: Backend) -> None:
    held = hold(backend)
    broken = Notice("Status-Or-Error-Report", "NEWLIB", None, [NEW])  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        backend.commit(Refuse(held, "no", T0, broken))
    assert states(backend) == {held: "held"}


def test_a_refusal_that_cannot_be_stored_fails_alone_in_a_group(backend: Backend) -> None:
    held = hold(backend)
    broken = Notice("Status-Or-Error-Report", "NEWLIB", None, [NEW])  # type: ignore[arg-type]
    before, refusal, after = backend.commit_all(
        [accepting("tx-1"), Refuse(held, "no", T0, broken), accepting("tx-2")]
    )
    assert isinstance(before, Stored) and isinstance(after, Stored)
    assert isinstance(refusal, Failed) and isinstance(refusal.error, StoreError)
    assert states(backend) == {
        held: "held",
        before.message_id: "pending",
        after.message_id: "pending",
    }


def test_only_held_messages_are_released_or_refused(backend: Backend) -> None:
    ids = queue_in_every_state(backend)

    def actions(message_id: int) -> list[Callable[[], object]]:
        return [
            partial(backend.held, message_id),
            partial(backend.commit, Release(message_id, [OLD], T0)),
            partial(backend.commit, Refuse(message_id, "no", T0)),
        ]

    for state, message_id in ids.items():
        if state == "held":
            continue
        for action in actions(message_id):
            with pytest.raises(ValueError, match=f"message {message_id} is .*, not held"):
                action()
    for action in actions(999):
        with pytest.raises(KeyError, match="no message 999"):
            action()
    assert states(backend, "held") == {ids["held"]: "held"}
    backend.commit(Release(ids["held"], [OLD], T0))
    with pytest.raises(ValueError, match="is accepted, not held"):
        backend.commit(Release(ids["held"], [OLD], T0))


@pytest.mark.parametrize("addresses", [[], OLD])  # none, and one address where a list belongs
def test_release_and_refuse_need_a_list_of_addresses(addresses: Sequence[str]) -> None:
    with pytest.raises(ValueError, match="addresses"):
        Release(1, addresses, T0)
    with pytest.raises(ValueError, match="addresses"):
        Refuse(1, "no", T0, notice(addresses))
