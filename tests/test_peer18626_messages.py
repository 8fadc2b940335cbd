"""The simulated ISO 18626 peer's messages: each written in either version validates, and
reads back as the value it was written from; the samples read as the peer needs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from paths import ISO18626_2021, ISO18626_SAMPLES

from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626.messages import (
    Agency,
    Confirmation,
    Costs,
    Delivery,
    ElectronicAddress,
    Header,
    PostalAddress,
    Request,
    RequestingAgencyMessage,
    Sent,
    SupplyingAgencyMessage,
    confirm,
    describe,
)
from isoill.tools.peer18626.reading import read
from isoill.tools.peer18626.writing import write

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SUP, REQ = Agency("ISIL", "SUP1"), Agency("RESHARE", "REQ1")
HEADER = Header(SUP, REQ, "req-1", NOW, "S-1")
REQUEST_HEADER = Header(SUP, REQ, "req-1", NOW)

MESSAGES: list[Sent] = [
    Request(
        REQUEST_HEADER,
        title="Die Blechtrommel",
        author="Grass, Günter",
        isbn="9783423118217",
        record_id="LOANED",
        note="MOCK:LOANED #RENEW#",
        request_type="Retry",
        previous_request_id="req-0",
        address=PostalAddress("Hauptstraße 1", "Göttingen", "37073", "DE"),
        maximum_costs=Costs("USD", Decimal("35.00")),
    ),
    Request(REQUEST_HEADER, service_type="Copy", address=ElectronicAddress("Email", "ill@x.org")),
    SupplyingAgencyMessage(
        HEADER,
        "RequestResponse",
        "Loaned",
        NOW,
        due=NOW + timedelta(days=14),
        delivery=Delivery(NOW, "item-S-1", "Mail", "Printed"),
    ),
    SupplyingAgencyMessage(
        HEADER,
        "RequestResponse",
        "RetryPossible",
        NOW,
        note="try again",
        reason_retry="CostExceedsMaxCost",
        offered_costs=Costs("USD", Decimal("35.00")),
        retry_after=NOW,
    ),
    SupplyingAgencyMessage(HEADER, "CancelResponse", "Cancelled", NOW, answer="Y"),
    SupplyingAgencyMessage(HEADER, "StatusChange", "Unfilled", NOW, reason_unfilled="NotHeld"),
    RequestingAgencyMessage(HEADER, "ShippedReturn", note="back by post"),
]


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("message", MESSAGES, ids=describe)
def test_a_message_written_in_either_version_validates_and_reads_back(
    message: Sent, version: Version
) -> None:
    written = write(message, version)
    parsed = wire.parse(written, version=version)  # validates, or raises Refusal
    assert parsed.version is version
    assert read(parsed) == message


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("message", MESSAGES, ids=describe)
def test_its_confirmations_echo_the_ids_and_read_back(message: Sent, version: Version) -> None:
    later = NOW + timedelta(seconds=1)
    for error in (None, (ErrorType.UNRECOGNISED_DATA_VALUE, "req-1: already exists")):
        confirmation = confirm(message, later, error)
        back = read(wire.parse(write(confirmation, version), version=version))
        assert back == confirmation
        assert (back.supplier, back.requester, back.request_id) == (SUP, REQ, "req-1")
        assert (back.timestamp, back.received) == (later, NOW)
        assert back.ok is (error is None)
    if isinstance(message, RequestingAgencyMessage):
        assert confirm(message, later).action == "ShippedReturn"
    if isinstance(message, SupplyingAgencyMessage):
        assert confirm(message, later).reason == message.reason


def test_a_loan_condition_goes_in_retry_info_in_2021_and_in_the_note_in_v1_2() -> None:
    sam = SupplyingAgencyMessage(
        HEADER, "RequestResponse", "RetryPossible", NOW, loan_condition="NoReproduction"
    )
    as_2021 = read(wire.parse(write(sam, Version.V2021)))
    assert isinstance(as_2021, SupplyingAgencyMessage)
    assert (as_2021.loan_condition, as_2021.note) == ("NoReproduction", None)
    as_1_2 = read(wire.parse(write(sam, Version.V1_2)))
    assert isinstance(as_1_2, SupplyingAgencyMessage)
    assert (as_1_2.loan_condition, as_1_2.note) == (None, "loan condition: NoReproduction")


def test_v1_2_headers_carry_an_empty_multiple_item_request_id() -> None:
    for message in (MESSAGES[0], MESSAGES[2], confirm(MESSAGES[2], NOW)):
        assert b"<ill:multipleItemRequestId/>" in write(message, Version.V1_2)
        assert b"multipleItemRequestId" not in write(message, Version.V2021)


def test_a_header_without_a_supplier_is_written_only_in_a_2021_request() -> None:
    bare = Header(None, REQ, "req-1", NOW)
    written = read(wire.parse(write(Request(bare), Version.V2021)))
    assert isinstance(written, Request) and written.header.supplier is None
    with pytest.raises(wire.NotSerialisable, match="without a supplyingAgencyId"):
        write(Request(bare), Version.V1_2)
    with pytest.raises(wire.NotSerialisable, match="without a supplyingAgencyId"):
        write(RequestingAgencyMessage(bare, "Cancel"), Version.V2021)


def test_the_samples_read_as_the_peer_needs_them() -> None:
    request = read(wire.parse((ISO18626_2021 / "Request.xml").read_bytes()))
    assert isinstance(request, Request)
    assert (request.title, request.isbn, request.service_type) == (
        "Die Blechtrommel",
        "9783423118217",
        "Loan",
    )
    assert request.address == PostalAddress("Hauptstraße 1", "Göttingen", "37073", "DE")
    sam = read(wire.parse((ISO18626_2021 / "SupplyingAgencyMessage.xml").read_bytes()))
    assert isinstance(sam, SupplyingAgencyMessage)
    assert (sam.status, sam.header.supplier_request_id) == ("Loaned", "S-900")
    assert sam.offered_costs == Costs("EUR", Decimal("4.50"))
    assert sam.delivery == Delivery(
        datetime(2024, 5, 8, 18, 0, tzinfo=UTC), "B-0001", "Mail", "Printed"
    )
    no = read(wire.parse((ISO18626_SAMPLES / "SupplyingAgencyMessageCancelNo.xml").read_bytes()))
    assert isinstance(no, SupplyingAgencyMessage)
    assert (no.reason, no.answer) == ("CancelResponse", "N")
    error = read(wire.parse((ISO18626_SAMPLES / "RequestConfirmationSampleError.xml").read_bytes()))
    assert isinstance(error, Confirmation)
    assert (error.kind, error.ok, error.error_type) == (
        MessageKind.REQUEST_CONFIRMATION,
        False,
        "BadlyFormedMessage",
    )


def test_an_agency_is_split_at_the_first_colon_and_defaults_to_isil() -> None:
    assert Agency.parse("RESHARE:DIKU:A") == Agency("RESHARE", "DIKU:A")
    assert Agency.parse("DE-SUP1") == Agency("ISIL", "DE-SUP1")
    assert str(Agency.parse("ISIL:X")) == "ISIL:X"
