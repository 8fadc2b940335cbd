"""APDUs of one ILL transaction between REQLIB and RESPLIB, for tests of the protocol machine
through the gateway: every field filled (tests/apdu_examples.py), then the transaction-id,
the parties, a distinct service time and the answer set."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from apdu_examples import full_apdu

from isoill.codec.encoder import encode
from isoill.codec.models import (
    ServiceDateTime,
    ShippedServiceType,
    SystemId,
    TransactionId,
    TransactionResults,
)
from isoill.codec.text import Text

REQUESTER = "REQLIB"
RESPONDER = "RESPLIB"
_seconds = count()


def party(symbol: str) -> SystemId:
    return SystemId.model_validate({"person-or-institution-symbol": {"institution-symbol": symbol}})


def apdu(
    name: str,
    qualifier: str,
    *,
    results: TransactionResults | None = None,
    answer: bool | None = None,
    shipped: ShippedServiceType = ShippedServiceType.LOAN,
) -> bytes:
    """``name`` for transaction ``qualifier``, each call with a service time of its own.
    ``results`` is an ILL-Answer's transaction-results, ``answer`` the yes/no of
    Conditional-Reply, Cancel-Reply and Renew-Answer, ``shipped`` a Shipped's service type
    (a loan, or a copy-non-returnable)."""
    second = next(_seconds) % 86400
    now = datetime.now(UTC)
    time = f"{second // 3600:02d}{second // 60 % 60:02d}{second % 60:02d}"
    update: dict[str, Any] = {
        "transaction_id": TransactionId(
            initial_requester_id=party(REQUESTER),
            transaction_group_qualifier=Text.of("grp"),
            transaction_qualifier=Text.of(qualifier),
        ),
        "service_date_time": ServiceDateTime.model_validate(
            {"date-time-of-this-service": {"date": now.strftime("%Y%m%d"), "time": time}}
        ),
        "requester_id": party(REQUESTER),
        "responder_id": party(RESPONDER),
    }
    if results is not None:
        update |= {"transaction_results": results, "results_explanation": None}
    if answer is not None:
        update["answer"] = answer
    if name == "Shipped":
        update["shipped_service_type"] = shipped
    return encode(full_apdu(name).model_copy(update=update))
