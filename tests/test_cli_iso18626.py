"""The commands read ISO 18626 XML: ``isoill decode`` shows a message as the APDU the gateway
maps it to (a Confirmation as what it says); ``isoill send HOST:PORT`` sends it as that APDU,
``isoill send URL`` POSTs it to an ISO 18626 peer and judges the Confirmation; ``isoill tx
show`` shows both sides of a bridged transaction: its bridge state, which messages have an
ISO 18626 form, and with ``--messages`` each APDU decoded beside its XML."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import RecordingPeer, run_cli
from paths import ISO18626_2021, ISO18626_SAMPLES

from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest
from isoill.codec.text import Text
from isoill.store.open import open_store
from isoill.store.writes import Accept
from isoill.tools.peer18626.messages import Agency
from isoill.tools.peer18626.peer import SimulatedSupplier

REQUEST = ISO18626_SAMPLES / "RequestSample1.xml"
ISOILL = str(Path(sys.executable).with_name("isoill"))


def test_decode_shows_a_message_as_its_apdu(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["decode", "--format", "json", str(REQUEST)]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["iso18626"] == {"message": "request", "schema": "1.2", "version": "v1_2_2017"}
    request = document["apdu"]["ILL-Request"]
    assert request["transaction-id"]["transaction-qualifier"] == "my123"
    assert run_cli(["decode", "--format", "text", str(REQUEST)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"# {REQUEST}: ISO 18626 message=request schema=1.2")
    assert "\nILL-Request\n" in text


def test_decode_shows_what_a_confirmation_says(capsys: pytest.CaptureFixture[str]) -> None:
    path = ISO18626_SAMPLES / "RequestConfirmationSampleError.xml"
    assert run_cli(["decode", "--format", "json", str(path)]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["apdu"] is None
    assert document["iso18626"]["status"] == "ERROR"
    [error] = document["iso18626"]["errors"]
    assert error["type"] == "BadlyFormedMessage"


def test_decode_reads_each_file_in_its_form(capsys: pytest.CaptureFixture[str]) -> None:
    """BER and XML files side by side; the 2021 Request by its version attribute."""
    ber = Path(__file__).parent / "data" / "captures" / "yaz-illclient-2.ber"
    request2021 = ISO18626_2021 / "Request.xml"
    assert run_cli(["decode", "--format", "json", str(ber), str(request2021)]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert "ILL-Request" in first
    assert second["iso18626"]["schema"] == "2021-2"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--version", "1.2", str(ISO18626_2021 / "Request.xml")], "not valid ISO 18626 1.2"),
        (["--timezone", "Mars/Base", str(REQUEST)], "--timezone: unknown time zone"),
    ],
)
def test_decode_refuses_what_the_gateway_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], said: str
) -> None:
    assert run_cli(["decode", *argv]) == 3
    assert said in capsys.readouterr().err
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert run_cli(["decode", str(bad)]) == 3
    assert "a DOCTYPE is not accepted" in capsys.readouterr().err


@pytest_asyncio.fixture
async def supplier() -> AsyncIterator[SimulatedSupplier]:
    running = await SimulatedSupplier(
        Agency.parse("ISIL:OCLC-ABCDE"), "http://127.0.0.1:9/"
    ).start()
    yield running
    await running.stop()


async def isoill(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        ISOILL, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.asyncio
async def test_send_posts_to_a_url_and_judges_the_confirmation(
    supplier: SimulatedSupplier,
) -> None:
    code, out, err = await isoill("send", supplier.url, str(REQUEST), "--json")
    assert code == 0, err
    assert json.loads(out) == [
        {"file": str(REQUEST), "message": "request", "status": 0, "reason": "OK Confirmation"}
    ]
    code, _, err = await isoill("send", supplier.url, str(REQUEST))  # the same id again
    assert code == 7
    assert "ERROR Confirmation: UnrecognisedDataValue" in err and "already exists" in err
    [exchange] = [e for e in supplier.exchanges if e.direction == "in"][:1]
    assert exchange.request_body == REQUEST.read_bytes()  # POSTed as it is


@pytest.mark.asyncio
async def test_send_to_a_url_checks_every_file_first(supplier: SimulatedSupplier) -> None:
    confirmation = ISO18626_SAMPLES / "RequestConfirmationSample1.xml"
    code, _, err = await isoill("send", supplier.url, str(REQUEST), str(confirmation))
    assert code == 3
    assert "a requestConfirmation answers a message: nothing to send" in err
    assert supplier.exchanges == []  # nothing sent


@pytest.mark.asyncio
async def test_send_to_an_iso10161_server_sends_the_apdu() -> None:
    peer = await RecordingPeer().start()
    try:
        code, _, err = await isoill("send", peer.address, str(REQUEST))
        assert code == 0, err
        [ber] = await peer.wait_for(1)
    finally:
        await peer.stop()
    apdu = decode(ber)
    assert isinstance(apdu, ILLRequest)
    assert apdu.transaction_id.transaction_qualifier == Text.of("my123")


STATE = {
    "requesting_agency": ["ISIL", "REQLIB"],
    "supplying_agency": ["ISIL", "RSLEND"],
    "requesting_request_id": "grp/42",
    "supplying_request_id": "S-1",
    "status": "Loaned",
    "last_change": "2026-12-01T12:00:00+00:00",
    "version": "1.2",
    "answered": True,
    "question": "Renew",
    "service_type": "Loan",
    "previous_request_id": None,
    "retries": 0,
    "request": None,
}


def test_tx_show_shows_both_sides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store.sqlite3"
    ber = (Path(__file__).parent / "data" / "captures" / "yaz-illclient-2.ber").read_bytes()
    xml = REQUEST.read_bytes()
    store = open_store(path)
    try:
        store.commit(
            Accept(
                peer="REQLIB",
                apdu_type="ILL-Request",
                transaction_key=json.dumps(["REQLIB", "grp", "42", None]),
                target_symbol="RSLEND",
                ber=ber,
                addresses=["http://127.0.0.1:9100/iso18626"],
                requester_symbol="REQLIB",
                responder_symbol="RSLEND",
                now=datetime(2026, 12, 1, 12, tzinfo=UTC),
                expected_version=None,
                xml=xml,
                bridge=json.dumps(STATE),
            )
        )
    finally:
        store.close()
    assert run_cli(["tx", "show", "1", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert 'iso18626 requester  ISIL:REQLIB "grp/42"\n' in out
    assert 'iso18626 supplier   ISIL:RSLEND "S-1"\n' in out
    assert "iso18626 status     Loaned (schema 1.2)\n" in out
    assert "iso18626 question   Renew\n" in out
    assert "ILL-Request +ISO 18626  REQLIB -> RSLEND" in out
    assert "<ill:" not in out and "<ISO18626Message" not in out  # no content unless asked
    assert run_cli(["tx", "show", "1", "--db", str(path), "--messages"]) == 0
    out = capsys.readouterr().out
    assert "--- message 1: ILL-Request\nILL-Request\n" in out
    assert f"--- message 1 as ISO 18626\n{xml.decode().rstrip()}\n" in out
    assert run_cli(["tx", "show", "1", "--db", str(path), "--json", "--messages"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["transaction"]["bridge"] == STATE
    [message] = shown["messages"]
    assert message["xml_size"] == len(xml)
    assert message["xml"] == xml.decode()
    assert "ILL-Request" in message["apdu"]
