"""A SIGKILL of the daemon in the middle of bridged loans loses nothing it confirmed or
acknowledged: yaz-illclient's ILL-Requests go to the simulated ISO 18626 supplier, whose
Loaned SAMs the gateway confirms while REQLIB's ISO 10161 server is down; the daemon is then
killed with those Shipped undelivered. Started again on the same store (and REQLIB's server
with it), it delivers each Shipped once, in order, and the loans run on to Checked-In in
both protocols: the bridge's state (request ids, status) came back from the store too."""

from __future__ import annotations

from pathlib import Path

import pytest
from flows18626_support import (
    Peer10161,
    Supplier,
    free_port,
    gateway_config,
    queue,
    routes,
    serving,
    tx_list,
    until,
    yaz_request,
)
from test_bridge_flows_out import ACK, Mine, everything, loan_request, of, script, what

from isoill.codec.text import Text
from isoill.tools.peer18626.messages import SupplyingAgencyMessage

pytestmark = pytest.mark.asyncio

LOANS = ("T1", "T2", "T3")


def confirmed(supplier: Supplier, mine: Mine = everything) -> list[tuple[str, str]]:
    """The SAMs the supplier sent that the gateway confirmed OK (those ``mine`` picks), as
    their reasonForMessage and status."""
    return [
        (entry.message.reason, entry.message.status)
        for entry in supplier.exchanged()
        if entry.direction == "out"
        and mine(entry)
        and entry.answer == "supplyingAgencyMessageConfirmation OK"
        and isinstance(entry.message, SupplyingAgencyMessage)
    ]


async def test_loans_confirmed_before_a_sigkill_run_on_to_the_end_after_it(
    tmp_path: Path, yaz_illclient: str
) -> None:
    endpoint, requester_port, supplier_port = free_port(), free_port(), free_port()
    answers = script({"Shipped": "Received", "Recall": "Returned"})
    requester = Peer10161(tmp_path, "REQLIB", answers, port=requester_port)  # down for now
    supplier_url = f"http://127.0.0.1:{supplier_port}/iso18626"
    config = gateway_config(
        tmp_path,
        routes(f"127.0.0.1:{requester_port}", supplier_url),
        attempts=50,
        endpoint=True,
        endpoint_port=endpoint,
        retry_every=1.0,  # 50 s of attempts: the kill comes well before they end
    )
    supplier = Supplier(tmp_path, supplier_port, peer_url=f"http://127.0.0.1:{endpoint}/iso18626")
    await supplier.start()
    try:
        async with serving(config, endpoint=True) as gateway:
            for qualifier in LOANS:
                printed = await yaz_request(
                    yaz_illclient,
                    gateway.port,
                    tmp_path,
                    "MOCK:LOANED_RECALLED",
                    loan_request(qualifier),
                )
                assert printed == "Ok"

            def confirmed_not_delivered() -> bool:
                # (the Shipped wait in line behind the first: one target's in order)
                failed = gateway.events("delivery failed")
                return len(confirmed(supplier)) >= len(LOANS) and bool(failed)

            await until(confirmed_not_delivered, "every Loaned confirmed, its Shipped pending")
            gateway.process.process.kill()  # SIGKILL: no drain, no goodbye
            await gateway.process.process.wait()
        pending = [m for m in queue(config) if m["apdu_type"] == "Shipped"]
        assert len(pending) == len(LOANS)
        assert all(m["state"] != "delivered" for m in pending), pending
        await requester.start()
        try:
            async with serving(config, endpoint=True) as again:

                def ended() -> bool:
                    listed = tx_list(again.config)
                    stored = queue(again.config)
                    return (
                        len(listed) == len(LOANS)
                        and all(t["requester_state"] == "CHECKED-IN" for t in listed)
                        and all(m["state"] == "delivered" for m in stored)
                        and len(stored) == 6 * len(LOANS)
                    )

                await until(ended, "every loan checked in, every message delivered")
                listed = tx_list(again.config)
        finally:
            await requester.stop()
    finally:
        await supplier.stop()
    states = {
        t["transaction_id"]["qualifier"]: (t["requester_state"], t["responder_state"])
        for t in listed
    }
    assert states == dict.fromkeys(LOANS, ("CHECKED-IN", "CHECKED-IN"))
    received = requester.received()
    for qualifier in LOANS:  # each once, in order: the Shipped confirmed before the SIGKILL too
        came = [
            a.apdu_type
            for a in received
            if a.transaction_id.transaction_qualifier == Text.of(qualifier)
        ]
        assert came == ["Shipped", ACK, "Recall", ACK, "Checked-In"], (qualifier, came)
        mine = of(qualifier)
        got = [what(e)[0] for e in supplier.exchanged() if e.direction == "in" and mine(e)]
        assert got == ["Request New", "Received", "ShippedReturn"], (qualifier, got)
        assert confirmed(supplier, mine) == [
            ("RequestResponse", "Loaned"),
            ("StatusChange", "Recalled"),
            ("StatusChange", "LoanCompleted"),
        ], qualifier
    first = min((m for m in queue(config) if m["apdu_type"] == "Shipped"), key=lambda m: m["id"])
    assert first["deliveries"][0]["attempts"] > 1  # tried before the kill too
