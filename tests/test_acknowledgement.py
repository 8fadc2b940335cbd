"""The acknowledgement spliced from an APDU's own bytes against one built from its decoded
model, for every APDU type, every sender state and initiator, definite and indefinite BER."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES
from test_asn1_extensions import to_indefinite

from isoill.codec import plan
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    CurrentState,
    HistoryReport,
    IllApdu,
    MostRecentService,
    ReasonNoReport,
    ServiceDateTime,
    StatusOrErrorReport,
    StatusReport,
    SystemId,
)
from isoill.codec.splice import components
from isoill.core.acknowledgement import Party, acknowledgement

NOW = datetime(2026, 11, 22, 19, 5, 7, tzinfo=UTC)
INITIATORS: tuple[Party | None, ...] = (None, "requester-id", "responder-id")


def expected(apdu: IllApdu, initiator: Party | None, state: CurrentState) -> StatusOrErrorReport:
    """What the acknowledgement means, built field by field from the decoded APDU."""
    service = MostRecentService.__members__.get(apdu.apdu_type.upper().replace("-", "_"))
    status = None
    if service is not None:
        item = getattr(apdu, "item_id", None)
        parties = {"requester-id": apdu.requester_id, "responder-id": apdu.responder_id}
        sender = parties[initiator] if initiator else None
        history = HistoryReport(
            date_requested="20261122" if apdu.apdu_type == "ILL-Request" else None,
            author=getattr(item, "author", None),
            title=getattr(item, "title", None),
            date_of_last_transition="20261122",
            most_recent_service=service,
            date_of_most_recent_service="20261122",
            initiator_of_most_recent_service=sender or SystemId(),
        )
        status = StatusReport(user_status_report=history, provider_status_report=state)
    version = apdu.protocol_version_num
    return StatusOrErrorReport(
        protocol_version_num=version if version in (1, 2) else 2,
        transaction_id=apdu.transaction_id,
        service_date_time=ServiceDateTime.model_validate(
            {"date-time-of-this-service": {"date": "20261122", "time": "190507"}}
        ),
        requester_id=apdu.requester_id,
        responder_id=apdu.responder_id,
        reason_no_report=None if service is not None else ReasonNoReport.TEMPORARY,
        status_report=status,
    )


CASES = [
    (f"{name}-{variant}", encode(full_apdu(name, variant)))
    for name in plan.APDUS
    for variant in range(3)
] + [(path.name, path.read_bytes()) for path in sorted(CAPTURES.glob("*.ber"))]


@pytest.mark.parametrize(("name", "ber"), CASES, ids=[name for name, _ in CASES])
@pytest.mark.parametrize("initiator", INITIATORS)
def test_spliced_acknowledgement_is_the_modelled_one(
    name: str, ber: bytes, initiator: Party | None
) -> None:
    apdu = decode(ber)
    for state in (CurrentState.UNKNOWN, CurrentState.PENDING, CurrentState.CHECKED_IN):
        ack = acknowledgement(ber, NOW, state, initiator)
        want = expected(apdu, initiator, state)
        assert decode(ack) == want
        assert ack == encode(want)  # the same bytes, as the input has definite lengths


@pytest.mark.parametrize(("name", "ber"), CASES[::4], ids=[name for name, _ in CASES[::4]])
def test_indefinite_lengths_are_copied_as_received(name: str, ber: bytes) -> None:
    indefinite = to_indefinite(encode(decode(ber)))  # from definite BER: some captures are not
    ack = acknowledgement(indefinite, NOW, CurrentState.PENDING, "requester-id")
    assert decode(ack) == expected(decode(indefinite), "requester-id", CurrentState.PENDING)
    transaction_id = components(indefinite)[1]["transaction-id"]
    assert transaction_id[1] == 0x80
    assert transaction_id in ack


def test_unsupported_version_is_answered_in_version_2() -> None:
    request = full_apdu("ILL-Request", 0).model_copy(update={"protocol_version_num": 3})
    ack = decode(acknowledgement(encode(request), NOW))
    assert isinstance(ack, StatusOrErrorReport)
    assert ack.protocol_version_num == 2
