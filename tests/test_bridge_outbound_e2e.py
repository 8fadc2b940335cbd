"""The outbound half of the ISO 18626 bridge end to end, on real sockets: yaz-illclient sends
an ILL-Request to a running ``isoill serve``, whose routes send RSLEND's messages to the
simulated ISO 18626 supplier (``isoill peer --protocol iso18626 --role supplier``, a process
of its own); the supplier gets the Request, valid ISO 18626 with the request's fields. An
ERROR Confirmation comes back to the ISO 10161 requester as a Status-Or-Error-Report with the
reason; HTTP 500 and 400 answers and a refused connection are tried again by the retry policy; and
requests acknowledged before a SIGKILL reach the supplier after the restart, once, in order.

(The supplier's own messages, POSTed to the gateway's ISO 18626 endpoint, are the inbound
half's; here its ``--peer-url`` leads nowhere, and its SAMs go unanswered.)"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from flows18626_support import (
    WAIT,
    Supplier,
    free_port,
    gateway_config,
    queue,
    routes,
    serving,
    yaz_request,
)
from gateway_harness import RecordingPeer, exchange, ill_request

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport, UserErrorReport
from isoill.ill.symbols import symbol_of
from isoill.iso18626 import wire
from isoill.iso18626.messages import MessageKind, Version

pytestmark = pytest.mark.asyncio


def configure(directory: Path, supplier_url: str, requester: str, attempts: int) -> Path:
    return gateway_config(directory, routes(requester, supplier_url), attempts=attempts)


@pytest_asyncio.fixture
async def requester() -> AsyncIterator[RecordingPeer]:
    """REQLIB's own ISO 10161 server, where the gateway sends what is for the requester."""
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


@pytest_asyncio.fixture
async def supplier(tmp_path: Path) -> AsyncIterator[Supplier]:
    running = await Supplier(tmp_path, free_port()).start()
    yield running
    await running.stop()


async def test_the_supplier_gets_the_request(
    tmp_path: Path,
    supplier: Supplier,
    requester: RecordingPeer,
    yaz_illclient: str,
) -> None:
    config = configure(tmp_path, supplier.url, requester.address, attempts=4)
    async with serving(config) as gateway:
        assert await yaz_request(yaz_illclient, gateway.port, tmp_path, "MOCK:LOANED") == "Ok"
        [posted] = await supplier.wait_for(1)
    assert (posted["method"], posted["path"], posted["status"]) == ("POST", "/iso18626", 200)
    assert posted["kind"] == "request"
    assert posted["answer"] == "requestConfirmation OK"
    parsed = wire.parse(posted["request"].encode(), version=Version.V1_2)  # valid v1.2
    assert parsed.kind is MessageKind.REQUEST
    request = forms.read(parsed.model, ZoneInfo("Europe/Berlin"))
    assert isinstance(request, b.Request)
    header = request.header
    assert header.requesting_agency == AgencyId("ISIL", "REQLIB")
    assert header.supplying_agency == AgencyId("ISIL", "RSLEND")
    assert header.requesting_request_id  # from the transaction-id, reversibly
    assert header.timestamp.utcoffset() == timedelta(0)  # an instant, in UTC
    assert (request.bibliographic.title, request.bibliographic.author) == ("Dune", "Herbert, Frank")
    assert request.service is not None and request.service.note == "MOCK:LOANED"
    assert request.service.service_type is b.ServiceType.COPY  # yaz-illclient asks for a copy
    # Delivered once, and what the gateway stored is what went out.
    [message] = [m for m in queue(config) if m["apdu_type"] == "ILL-Request"]
    assert message["state"] == "delivered"
    [delivery] = message["deliveries"]
    assert (delivery["address"], delivery["attempts"]) == (supplier.url, 1)
    assert requester.received == []  # nothing for the requester: the loan goes on


async def test_the_supplier_gets_the_security_code_the_store_never_keeps(
    tmp_path: Path, supplier: Supplier, requester: RecordingPeer, yaz_illclient: str
) -> None:
    config = configure(tmp_path, supplier.url, requester.address, attempts=4)
    secrets = tmp_path / "credentials.toml"
    secrets.write_text('["RSLEND".agency]\naccount_id = "isoill"\nsecurity_code = "c0de-42"\n')
    secrets.chmod(0o600)
    async with serving(config) as gateway:
        assert await yaz_request(yaz_illclient, gateway.port, tmp_path, "MOCK:LOANED") == "Ok"
        [posted] = await supplier.wait_for(1)
    sent = wire.parse(posted["request"].encode(), version=Version.V1_2).model.request
    assert sent is not None
    authentication = sent.header.requesting_agency_authentication
    assert authentication is not None
    assert (authentication.account_id, authentication.security_code) == ("isoill", "c0de-42")
    with contextlib.closing(sqlite3.connect(tmp_path / "store.sqlite3")) as db:
        [(kept,)] = db.execute("SELECT xml FROM messages WHERE xml IS NOT NULL").fetchall()
    assert b"<ill:accountId>isoill</ill:accountId>" in kept
    assert b"c0de-42" not in kept and b"securityCode" not in kept


async def test_an_error_confirmation_reaches_the_requester(
    tmp_path: Path,
    supplier: Supplier,
    requester: RecordingPeer,
    yaz_illclient: str,
) -> None:
    config = configure(tmp_path, supplier.url, requester.address, attempts=4)
    async with serving(config) as gateway:
        assert await yaz_request(yaz_illclient, gateway.port, tmp_path, "MOCK:ERROR") == "Ok"
        [ber] = await requester.wait_for(1, timeout=WAIT)
        [refused] = gateway.events("refused by the target")
    report = decode(ber)
    assert isinstance(report, StatusOrErrorReport)
    assert report.error_report is not None
    user = report.error_report.user_error_report
    assert isinstance(user, UserErrorReport) and user.unable_to_perform is not None
    assert report.note is not None
    assert report.note.text.startswith(
        "the ISO 18626 peer refused the message: UnrecognisedDataValue: simulated ERROR"
    )
    assert (symbol_of(report.requester_id), symbol_of(report.responder_id)) == ("REQLIB", "RSLEND")
    assert refused["told"] == "REQLIB"
    # Final: one POST, no retry; the request failed, the report delivered.
    [posted] = supplier.posted()
    assert posted["answer"].startswith("requestConfirmation ERROR")
    messages = {m["apdu_type"]: m for m in queue(config)}
    request = messages["ILL-Request"]
    assert request["state"] == "failed"
    [delivery] = request["deliveries"]
    assert delivery["attempts"] == 1
    assert "ERROR Confirmation: UnrecognisedDataValue" in delivery["last_error"]
    assert messages["Status-Or-Error-Report"]["peer"] == "isoill"
    assert messages["Status-Or-Error-Report"]["state"] == "delivered"


@pytest.mark.parametrize("status", [500, 400])
async def test_an_http_error_is_tried_again_until_the_policy_ends(
    tmp_path: Path,
    supplier: Supplier,
    requester: RecordingPeer,
    yaz_illclient: str,
    status: int,
) -> None:
    """5xx, and 4xx without a Confirmation, are no answer: tried again, the same message."""
    config = configure(tmp_path, supplier.url, requester.address, attempts=3)
    async with serving(config) as gateway:
        note = f"MOCK:HTTP-ERROR-{status}"
        assert await yaz_request(yaz_illclient, gateway.port, tmp_path, note) == "Ok"
        posted = await supplier.wait_for(3)
        async with asyncio.timeout(WAIT):
            while not [m for m in queue(config) if m["state"] == "failed"]:
                await asyncio.sleep(0.1)
        failures = gateway.events("delivery failed")
    assert [entry["status"] for entry in posted] == [status] * 3
    assert len({entry["request"] for entry in posted}) == 1  # the same message each time
    [message] = queue(config)
    [delivery] = message["deliveries"]
    assert delivery["attempts"] == 3
    assert f"HTTP {status} without a Confirmation" in delivery["last_error"]
    assert len(failures) == 3
    assert requester.received == []


async def test_a_refused_connection_is_tried_again_until_the_supplier_is_up(
    tmp_path: Path, requester: RecordingPeer, yaz_illclient: str
) -> None:
    later = Supplier(tmp_path, free_port())  # not started yet: its port refuses
    config = configure(tmp_path, later.url, requester.address, attempts=50)
    async with serving(config) as gateway:
        assert await yaz_request(yaz_illclient, gateway.port, tmp_path, "MOCK:LOANED") == "Ok"
        async with asyncio.timeout(WAIT):
            while len(gateway.events("delivery failed")) < 2:
                await asyncio.sleep(0.05)
        await later.start()
        try:
            [posted] = await later.wait_for(1)
            async with asyncio.timeout(WAIT):
                while queue(config)[0]["state"] != "delivered":
                    await asyncio.sleep(0.1)
        finally:
            await later.stop()
        failures = gateway.events("delivery failed")
    assert posted["answer"] == "requestConfirmation OK"
    assert all("Connect" in entry["error"] for entry in failures), failures
    [message] = queue(config)
    assert message["deliveries"][0]["attempts"] == len(failures) + 1


async def test_acknowledged_requests_reach_the_supplier_after_a_sigkill(
    tmp_path: Path, requester: RecordingPeer
) -> None:
    """Requests acknowledged while the supplier is down, the daemon killed (SIGKILL) with
    their deliveries pending: once it is up again, and the supplier too, each reaches the
    supplier once, in order."""
    later = Supplier(tmp_path, free_port())
    config = configure(tmp_path, later.url, requester.address, attempts=50)
    sent = [ill_request(number, "REQLIB", "RSLEND") for number in (1, 2, 3)]
    async with serving(config) as gateway:
        for ber in sent:
            [answer] = await exchange(gateway.port, [ber])
            report = decode(answer)
            assert isinstance(report, StatusOrErrorReport) and report.error_report is None
        async with asyncio.timeout(WAIT):
            while not gateway.events("delivery failed"):
                await asyncio.sleep(0.05)
        gateway.process.process.kill()
        await gateway.process.process.wait()
    await later.start()
    try:
        async with serving(config):
            posted = await later.wait_for(3)
            await asyncio.sleep(1.0)  # time for a fourth, which must not come
            posted = later.posted()
    finally:
        await later.stop()
    assert [entry["answer"] for entry in posted] == ["requestConfirmation OK"] * 3
    qualifiers = [
        next(q for q in ("TX-0001", "TX-0002", "TX-0003") if q in entry["request"])
        for entry in posted
    ]
    assert qualifiers == ["TX-0001", "TX-0002", "TX-0003"]
