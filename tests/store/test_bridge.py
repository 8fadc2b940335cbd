"""The ISO 18626 bridge's part of the store: a message keeps its ISO 18626 form beside its BER
(what an ISO 18626 target is POSTed, with each delivery; or the message the APDU was mapped
from), and a transaction its bridge state, which each Accept that names one replaces and
every other leaves as it is; a delivery an ISO 18626 peer refused for good is failed with the
report to the sender queued in the same transaction."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from store_support import StoreUnderTest, accepting, due_ids, holding, judged, notice, stored
from store_values import BER, NEW, OLD, T0

from isoill.store.backend import Backend
from isoill.store.records import GATEWAY_PEER, Failed, Stored
from isoill.store.writes import Delivered, Fail, Keep

URL = "http://127.0.0.1:9100/iso18626"
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<ill:ISO18626Message/>'
STATE = json.dumps({"requesting_request_id": "BRW/x/1", "status": None, "answered": False})
LATER = json.dumps({"requesting_request_id": "BRW/x/1", "status": "Loaned", "answered": True})


def _bridge(backend: Backend, key: str = "tx-1") -> object:
    record = backend.transaction(key)
    assert record is not None
    return None if record.bridge is None else json.loads(record.bridge)


def test_the_xml_goes_with_each_delivery_and_stays_with_the_message(
    store_under_test: StoreUnderTest,
) -> None:
    first = store_under_test.open()
    result = stored(first, replace(accepting(addresses=[URL]), xml=XML, bridge=STATE))
    first.close()  # durable once committed

    backend = store_under_test.open()
    try:
        [queued] = result.deliveries
        assert queued.delivery.xml == XML
        [due] = backend.due(T0)
        assert (due.address, due.ber, due.xml) == (URL, BER, XML)
        assert backend.xml(result.message_id) == XML
        assert backend.apdu(result.message_id) == BER
        [view] = backend.list_messages()
        assert (view.size, view.xml_size) == (len(BER), len(XML))
        record, [history] = backend.transaction_history(result.transaction.id)
        assert history.xml_size == len(XML)
        assert record.bridge is not None and json.loads(record.bridge) == json.loads(STATE)
    finally:
        backend.close()


def test_a_message_without_xml_has_none(backend: Backend) -> None:
    result = stored(backend, accepting())
    [due] = backend.due(T0)
    assert due.xml is None
    assert backend.xml(result.message_id) is None
    [view] = backend.list_messages()
    assert view.xml_size is None
    assert _bridge(backend) is None
    with pytest.raises(KeyError):
        backend.xml(result.message_id + 100)


def test_each_accept_naming_a_state_replaces_it_and_others_leave_it(backend: Backend) -> None:
    first = stored(backend, replace(accepting(), bridge=STATE))
    assert first.transaction.bridge is not None
    assert json.loads(first.transaction.bridge) == json.loads(STATE)
    # An APDU of the transaction that says nothing of its ISO 18626 side leaves the state.
    second = stored(backend, accepting(apdu_type="Message", dedup_key="m-2"))
    assert second.transaction.bridge is not None
    assert json.loads(second.transaction.bridge) == json.loads(STATE)
    assert _bridge(backend) == json.loads(STATE)
    third = stored(backend, replace(accepting(apdu_type="Shipped", dedup_key="m-3"), bridge=LATER))
    assert third.transaction.bridge is not None
    assert json.loads(third.transaction.bridge) == json.loads(LATER)
    assert _bridge(backend) == json.loads(LATER)
    assert [record.bridge is not None for record in backend.list_transactions()] == [True]


def test_a_duplicate_changes_no_state(backend: Backend) -> None:
    stored(backend, replace(accepting(dedup_key="d-1"), bridge=STATE))
    again = backend.commit(judged(backend, replace(accepting(dedup_key="d-1"), bridge=LATER)))
    assert not isinstance(again, Stored)
    assert _bridge(backend) == json.loads(STATE)


def test_a_held_message_keeps_its_xml(backend: Backend) -> None:
    held = stored(backend, replace(holding(key="tx-1"), xml=XML, bridge=STATE))
    assert backend.xml(held.message_id) == XML
    assert _bridge(backend) == json.loads(STATE)


def test_a_refused_message_keeps_the_xml_it_came_as(backend: Backend) -> None:
    kept = backend.commit(
        Keep(
            peer="RS",
            apdu_type="ILL-Request",
            transaction_key="tx-9",
            target_symbol="LND",
            ber=BER,
            state="refused",
            reason="no",
            now=T0,
            xml=XML,
        )
    )
    assert backend.xml(kept) == XML
    [view] = backend.list_messages("refused")
    assert view.xml_size == len(XML)


def test_a_final_refusal_fails_the_delivery_and_queues_the_report(backend: Backend) -> None:
    result = stored(backend, replace(accepting(addresses=[URL]), xml=XML, bridge=STATE))
    [delivery] = backend.due(T0)
    later = T0 + timedelta(seconds=3)
    report_id = backend.commit(Fail(delivery.id, "ERROR: not held", later, notice([OLD])))
    assert isinstance(report_id, int)
    _, history = backend.transaction_history(result.transaction.id)
    assert [(m.id, m.peer, m.apdu_type, m.state) for m in history] == [
        (result.message_id, "BRW", "ILL-Request", "failed"),
        (report_id, GATEWAY_PEER, "Status-Or-Error-Report", "pending"),
    ]
    assert history[0].deliveries[0].last_error == "ERROR: not held"
    assert due_ids(backend, later) == [(report_id, OLD)]
    [report] = backend.due(later)
    assert (report.ber, report.xml, report.target_symbol) == (b"report", None, "NEWLIB")
    # The report waits behind what was queued to that address before it.
    assert backend.commit(Delivered(report.id, later)) is None


def test_a_final_refusal_of_a_delivery_not_pending_queues_nothing(backend: Backend) -> None:
    stored(backend, replace(accepting(addresses=[URL]), xml=XML))
    [delivery] = backend.due(T0)
    backend.commit(Delivered(delivery.id, T0))
    [result] = backend.commit_all([Fail(delivery.id, "late", T0, notice([NEW]))])
    assert isinstance(result, Failed) and isinstance(result.error, KeyError)
    assert [m.apdu_type for m in backend.list_messages()] == ["ILL-Request"]
    assert due_ids(backend, T0) == []


def test_a_fail_without_a_notice_results_in_none(backend: Backend) -> None:
    stored(backend, accepting(addresses=[OLD]))
    [delivery] = backend.due(T0)
    assert backend.commit(Fail(delivery.id, "refused", T0)) is None
