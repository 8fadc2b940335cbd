"""Stored once: an APDU received twice is stored once. A second message with the ``dedup_key``
of one not refused stores nothing and says which message has it (``Duplicate``), in a commit of
its own or in a group; a refused message's key may come again, to be judged anew."""

from __future__ import annotations

import pytest
from store_support import accept, accepting, hold, holding, parties
from store_values import T0

from isoill.store.backend import Backend
from isoill.store.errors import StoreError
from isoill.store.records import Duplicate, Failed, Stored
from isoill.store.writes import Delivered, Keep, Refuse


def test_duplicates_are_found_and_never_stored_twice(backend: Backend) -> None:
    assert backend.find_duplicate("d1") is None
    first = accept(backend, dedup_key="d1")
    other = accept(backend, dedup_key="d2")
    accept(backend)  # messages without a key are never duplicates
    accept(backend)
    assert (backend.find_duplicate("d1"), backend.find_duplicate("d2")) == (first, other)
    assert backend.commit(accepting(dedup_key="d1")) == Duplicate(first)
    assert backend.commit(holding(dedup_key="d2")) == Duplicate(other)
    assert len(backend.list_messages()) == 4
    assert backend.view("tx-7").record is None  # the held duplicate made no transaction


def test_a_duplicate_changes_nothing_of_its_transaction(backend: Backend) -> None:
    accept(backend, dedup_key="d1", states=("PENDING", "IN-PROCESS"))
    again = accepting(dedup_key="d1", states=("SHIPPED", "SHIPPED"), requester="OTHER")
    assert isinstance(backend.commit(again), Duplicate)
    record = backend.transaction("tx-1")
    assert record is not None
    assert (record.requester_symbol, record.requester_state) == ("BRW", "PENDING")
    assert len(backend.list_messages()) == len(backend.due(T0)) == 1


def test_a_write_that_fails_stores_none_of_it(backend: Backend) -> None:
    """The states cannot be stored: the message (and its delivery) is not stored either."""
    accept(backend, dedup_key="d1", states=("PENDING", "IN-PROCESS"))
    unstorable = (object(), "SHIPPED")
    with pytest.raises(StoreError):
        accept(backend, dedup_key="d2", states=unstorable)  # type: ignore[arg-type]
    record = backend.transaction("tx-1")
    assert record is not None
    assert (record.requester_state, record.responder_state) == ("PENDING", "IN-PROCESS")
    assert len(backend.list_messages()) == len(backend.due(T0)) == 1
    assert backend.find_duplicate("d2") is None


def test_a_write_that_fails_in_a_group_fails_alone(backend: Backend) -> None:
    unstorable = (object(), "SHIPPED")
    first, failed, last = backend.commit_all(
        [accepting("tx-1"), accepting("tx-2", states=unstorable), accepting("tx-3")]  # type: ignore[arg-type]
    )
    assert isinstance(first, Stored) and isinstance(last, Stored)
    assert isinstance(failed, Failed) and isinstance(failed.error, StoreError)
    assert backend.transaction("tx-2") is None
    assert sorted(m.id for m in backend.list_messages()) == [first.message_id, last.message_id]


def test_a_duplicate_in_a_group_commit_is_refused_alone(backend: Backend) -> None:
    first = accept(backend, dedup_key="d1")
    two, duplicate, missing, three = backend.commit_all(
        [
            accepting("tx-2", dedup_key="d2"),
            accepting("tx-1", dedup_key="d1", requester="OTHER"),
            Delivered(999, T0),  # no such delivery
            accepting("tx-3", dedup_key="d3"),
        ]
    )
    assert duplicate == Duplicate(first)
    assert isinstance(missing, Failed) and isinstance(missing.error, KeyError)
    assert isinstance(two, Stored) and isinstance(three, Stored)
    assert (two.transaction.key, three.transaction.key) == ("tx-2", "tx-3")
    listed = sorted(m.id for m in backend.list_messages())
    assert listed == [first, two.message_id, three.message_id]
    assert parties(backend, "tx-1") == ("BRW", "LND")  # the duplicate changed nothing
    assert backend.find_duplicate("d1") == first


def test_two_of_a_group_with_one_key_are_stored_once(backend: Backend) -> None:
    first, second = backend.commit_all([accepting(dedup_key="d1"), accepting(dedup_key="d1")])
    assert isinstance(first, Stored)
    assert second == Duplicate(first.message_id)


def test_a_refused_message_is_no_duplicate(backend: Backend) -> None:
    held = hold(backend, dedup_key="d1")
    assert backend.find_duplicate("d1") == held
    assert backend.view("tx-7").duplicates == {"d1": (held, True)}
    backend.commit(Refuse(held, "not a member", T0))
    assert backend.find_duplicate("d1") is None
    assert backend.view("tx-7").duplicates == {}
    again = hold(backend, dedup_key="d1")  # sent again after the refusal: judged anew
    assert backend.find_duplicate("d1") == again != held


def test_a_view_holds_the_keys_of_the_messages_not_refused(backend: Backend) -> None:
    first = accept(backend, dedup_key="d1")
    held = hold(backend, "tx-1", dedup_key="d2")
    refused = hold(backend, "tx-1", dedup_key="d3")
    backend.commit(Refuse(refused, "not a member", T0))
    backend.commit(
        Keep(
            peer="LND",
            apdu_type="Received",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=b"r",
            state="refused",
            reason="no",
            now=T0,
        )
    )
    view = backend.view("tx-1")
    assert view.record == backend.transaction("tx-1")
    assert view.duplicates == {"d1": (first, False), "d2": (held, True)}  # d3 was refused
    unknown = backend.view("tx-2")
    assert (unknown.record, unknown.duplicates) == (None, {})
