"""What operators see and do: nothing is dropped silently (unroutable, failed and refused APDUs
are kept, with their reasons, and listed), failed and delivered messages can be resent, and the
transactions are kept with their parties, their machines' states and their histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from store_support import (
    accept,
    accepting,
    due_ids,
    hold,
    holding,
    notice,
    parties,
    queue_in_every_state,
    states,
    stored,
    unroutable,
)
from store_values import BER, NEW, OLD, T0

from isoill.core.views import Forward, TransactionRecord
from isoill.store.backend import Backend
from isoill.store.records import GATEWAY_PEER, Duplicate
from isoill.store.writes import Accept, Delivered, Keep, Refuse, Resend, RetryLater

# -- messages -------------------------------------------------------------------------------


def test_list_filters(backend: Backend) -> None:
    ids = queue_in_every_state(backend)
    for state, message_id in ids.items():
        assert states(backend, state) == {message_id: state}
    assert list(states(backend)) == sorted(ids.values(), reverse=True)
    assert len(backend.list_messages(limit=2)) == 2
    with pytest.raises(ValueError, match="unknown state"):
        backend.list_messages("lost")


def test_resend_failed_deliveries(backend: Backend) -> None:
    ids = queue_in_every_state(backend)
    later = T0 + timedelta(hours=2)
    assert backend.commit(Resend(ids["failed"], later)) == 1
    assert backend.commit(Resend(ids["pending"], later)) == 1  # only d:1 failed; c:1 stays
    assert sorted(due_ids(backend, later)) == [
        (ids["failed"], "b:1"),
        (ids["pending"], "c:1"),
        (ids["pending"], "d:1"),
    ]
    [view] = [m for m in backend.list_messages() if m.id == ids["failed"]]
    assert (view.state, view.deliveries[0].attempts) == ("pending", 0)


def test_resend_a_delivered_message_sends_it_again(backend: Backend) -> None:
    ids = queue_in_every_state(backend)
    assert backend.commit(Resend(ids["delivered"], T0)) == 1
    assert (ids["delivered"], "a:1") in due_ids(backend)
    with pytest.raises(KeyError, match="no message 999"):
        backend.commit(Resend(999, T0))


def test_an_unroutable_apdu_is_kept_for_operators(backend: Backend) -> None:
    lost = unroutable(backend, reason="no route for responder ZZZ")
    [view] = backend.list_messages("unroutable")
    assert (view.id, view.reason, view.size, view.deliveries) == (
        lost,
        "no route for responder ZZZ",
        len(BER),
        (),
    )
    assert states(backend, "held") == {}
    assert backend.due(T0) == []
    assert backend.counts()["unroutable"] == 1
    assert backend.commit(Resend(lost, T0)) == 0


def test_a_refused_apdu_is_kept_in_the_history(backend: Backend) -> None:
    accept(backend, states=("PENDING", "IN-PROCESS"))
    refused = backend.commit(
        Keep(
            peer="LND",
            apdu_type="Received",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=BER,
            state="refused",
            reason="Received is not allowed while the responder is IN-PROCESS",
            now=T0 + timedelta(minutes=1),
        )
    )
    [view] = backend.list_messages("refused")
    assert (view.id, view.state, view.apdu_type, view.deliveries) == (
        refused,
        "refused",
        "Received",
        (),
    )
    assert view.reason == "Received is not allowed while the responder is IN-PROCESS"
    record, history = backend.transaction_history(1)
    assert [m.id for m in history] == [1, refused]
    assert record.updated_at == T0  # the refusal changed nothing of the transaction
    assert (record.requester_state, record.responder_state) == ("PENDING", "IN-PROCESS")
    assert [d.message_id for d in backend.due(T0 + timedelta(hours=1))] == [1]
    assert backend.commit(Resend(refused, T0)) == 0


def test_a_kept_apdu_is_unroutable_or_refused() -> None:
    with pytest.raises(ValueError, match="unroutable or refused"):
        Keep(
            peer="x",
            apdu_type="Shipped",
            transaction_key=None,
            target_symbol=None,
            ber=BER,
            state="held",  # type: ignore[arg-type]
            reason="?",
            now=T0,
        )


def test_a_naive_time_is_refused_when_the_write_is_built() -> None:
    with pytest.raises(ValueError, match="naive"):
        accepting(now=datetime(2024, 5, 1, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        Delivered(1, datetime(2024, 5, 1))


def test_a_held_message_has_no_addresses_yet() -> None:
    with pytest.raises(ValueError, match="no deliveries"):
        replace(accepting(), held="who is this?")


# -- transactions ---------------------------------------------------------------------------


def test_transaction_states_are_written_with_the_message(backend: Backend) -> None:
    assert backend.transaction("tx-1") is None
    accept(backend, responder=None)  # an APDU of an untracked transaction
    first = backend.transaction("tx-1")
    assert first is not None
    assert (first.key, first.requester_state, first.responder_state) == ("tx-1", None, None)
    assert first.created_at == first.updated_at == T0

    later = T0 + timedelta(minutes=1)
    accept(backend, now=later, states=("PENDING", "IN-PROCESS"))
    accept(backend, now=later + timedelta(minutes=1))  # no states: they stay as they are
    record = backend.transaction("tx-1")
    assert record == TransactionRecord(
        first.id,
        "tx-1",
        "BRW",
        "LND",
        "PENDING",
        "IN-PROCESS",
        T0,
        later + timedelta(minutes=1),
        version=record.version if record else 0,  # see test_the_version_counts_the_apdus
    )
    held = stored(backend, holding("tx-2", dedup_key="held-1", states=("PENDING", "IDLE")))
    assert held.transaction == backend.transaction("tx-2")
    assert (held.transaction.requester_state, held.transaction.responder_state) == (
        "PENDING",
        "IDLE",
    )
    assert backend.find_duplicate("held-1") == held.message_id
    assert parties(backend, "tx-2") == ("NEWLIB", "LND")


def test_a_write_returns_its_transaction_as_stored(backend: Backend) -> None:
    first = stored(backend, accepting(states=("PENDING", "IN-PROCESS")))
    assert first.transaction.requester_state == "PENDING"
    again = stored(backend, accepting(requester=None))
    assert again.transaction == backend.transaction("tx-1")
    assert (again.transaction.requester_symbol, again.transaction.requester_state) == (
        "BRW",
        "PENDING",
    )


def test_a_write_that_learns_or_moves_a_party_returns_its_transaction_as_stored(
    backend: Backend,
) -> None:
    forward = Forward(responder="NEXT", intermediary="LND")
    for write in (
        accepting(requester=None, responder=None),
        accepting(requester="BRW", responder=None),
        accepting(requester=None, responder="LND", states=("PENDING", "IN-PROCESS")),
        replace(accepting(responder="NEXT"), forward=forward),
    ):
        assert stored(backend, write).transaction == backend.transaction("tx-1")
    assert parties(backend, "tx-1") == ("BRW", "NEXT")


def test_parties_are_learned_and_stay(backend: Backend) -> None:
    assert parties(backend, "tx-1") == (None, None)
    accept(backend, requester="BRW", responder=None)
    assert parties(backend, "tx-1") == ("BRW", None)
    accept(backend, requester=None, responder="LND")
    assert parties(backend, "tx-1") == ("BRW", "LND")
    accept(backend, requester=None, responder=None)  # an APDU without ids forgets nothing
    accept(backend, requester="OTHER", responder="ELSE")  # a later APDU naming others
    assert parties(backend, "tx-1") == ("BRW", "LND")


def test_only_a_forward_moves_the_responder(backend: Backend) -> None:
    accept(backend, requester="BRW", responder="LND")
    for intermediary, responder in (("LND", "NEXT"), ("NEXT", "LAST")):
        known = backend.transaction("tx-1")
        assert known is not None
        backend.commit(
            Accept(
                peer=intermediary,
                apdu_type="Forward-Notification",
                transaction_key="tx-1",
                target_symbol="BRW",
                ber=BER,
                addresses=[OLD],
                requester_symbol="BRW",
                responder_symbol=responder,
                now=T0,
                expected_version=known.version,
                forward=Forward(responder=responder, intermediary=intermediary),
            )
        )
    record = backend.transaction("tx-1")
    assert record is not None
    assert (record.requester_symbol, record.responder_symbol) == ("BRW", "LAST")
    assert record.intermediaries == ("LND", "NEXT")


def test_last_service_is_the_newest_apdu_accepted(backend: Backend) -> None:
    assert backend.last_service("tx-1") is None
    accept(backend, apdu_type="ILL-Request")
    accept(backend, apdu_type="Shipped", now=T0 + timedelta(hours=1))
    backend.commit(
        Keep(
            peer="LND",
            apdu_type="Received",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=BER,
            state="refused",
            reason="no",
            now=T0 + timedelta(hours=2),
        )
    )
    assert backend.last_service("tx-1") == ("Shipped", T0 + timedelta(hours=1))
    hold(backend, "tx-1")  # held counts too
    assert backend.last_service("tx-1") == ("ILL-Request", T0)


def transactions(backend: Backend) -> dict[str, int]:
    """Four transactions between BRW, LND and OTH; their ids by key."""
    for key, requester, responder, machines in [
        ("a", "BRW", "LND", ("PENDING", "IN-PROCESS")),
        ("b", "LND", "oth", ("SHIPPED", "SHIPPED")),
        ("c", "OTH", "BRW", None),
        ("d", "brw", "OTH", ("SHIPPED", "PENDING")),
    ]:
        accept(backend, key, requester=requester, responder=responder, states=machines)
    return {t.key: t.id for t in backend.list_transactions()}


def listed(
    backend: Backend, state: str | None = None, peer: str | None = None, limit: int = 50
) -> str:
    return "".join(t.key for t in backend.list_transactions(state, peer, limit))


def test_list_transactions_newest_first_with_filters(backend: Backend) -> None:
    ids = transactions(backend)
    assert list(ids) == ["d", "c", "b", "a"]
    assert list(ids.values()) == sorted(ids.values(), reverse=True)
    assert listed(backend, limit=2) == "dc"
    assert listed(backend, peer="BRW") == "dca"  # as requester or responder, in any case
    assert listed(backend, peer="oth") == "dcb"
    assert listed(backend, peer="OTH", limit=2) == "dc"
    assert listed(backend, state="shipped") == "db"  # either machine's state
    assert listed(backend, state="PENDING") == "da"
    assert listed(backend, state="PENDING", limit=1) == "d"
    assert listed(backend, state="SHIPPED", peer="LND") == "b"
    assert listed(backend, state="IN-PROCESS", peer="OTH") == ""
    assert listed(backend, peer="NOBODY") == listed(backend, state="LOST") == ""


def test_transaction_history_in_order_with_deliveries(backend: Backend) -> None:
    request = accept(backend, "tx-7", [OLD, NEW], dedup_key="r")
    accept(backend, "tx-other")
    held = hold(backend, "tx-7")
    report = backend.commit(Refuse(held, "not a member", T0, notice([NEW])))
    by_address = {d.address: d for d in backend.due(T0) if d.message_id == request}
    backend.commit(Delivered(by_address[OLD].id, T0))
    backend.commit(RetryLater(by_address[NEW].id, "connection refused", T0))

    ids = {t.key: t.id for t in backend.list_transactions()}
    record, history = backend.transaction_history(ids["tx-7"])
    assert (record.id, record.key) == (ids["tx-7"], "tx-7")
    assert [(m.id, m.peer, m.apdu_type, m.state) for m in history] == [
        (request, "BRW", "ILL-Request", "pending"),
        (held, "NEWLIB", "ILL-Request", "refused"),
        (report, GATEWAY_PEER, "Status-Or-Error-Report", "pending"),
    ]
    assert [(d.address, d.state, d.attempts, d.last_error) for d in history[0].deliveries] == [
        (OLD, "delivered", 1, None),
        (NEW, "pending", 1, "connection refused"),
    ]
    assert history[1].reason == "not a member"
    with pytest.raises(KeyError, match="no transaction 999"):
        backend.transaction_history(999)


def test_the_version_counts_the_apdus(backend: Backend) -> None:
    """In a store several processes share, each APDU stored in a transaction moves its
    version on (what a write names, to be refused if another process wrote first); a refused
    APDU or a duplicate does not. A store one process writes keeps none."""
    versions = [stored(backend, accepting(dedup_key="d1")).transaction.version]
    versions.append(stored(backend, holding("tx-1")).transaction.version)
    assert isinstance(backend.commit(accepting(dedup_key="d1", version=versions[-1])), Duplicate)
    backend.commit(
        Keep(
            peer="LND",
            apdu_type="Received",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=BER,
            state="refused",
            reason="no",
            now=T0,
        )
    )
    record = backend.transaction("tx-1")
    assert record is not None
    versions.append(record.version)
    assert versions == ([1, 2, 2] if backend.capabilities.shared else [0, 0, 0])
