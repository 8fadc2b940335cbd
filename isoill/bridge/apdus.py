"""APDUs the bridge builds, as the simulated peer builds its answers: the components every
APDU begins with, then what its type requires, filled sensibly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from isoill.bridge.times import date_10161, time_10161
from isoill.codec import plan
from isoill.codec.models import IllApdu, TransactionId
from isoill.codec.plan import APDUS
from isoill.ill.symbols import system_id
from isoill.ill.versions import PROTOCOL_VERSION

__all__ = ["apdu", "envelope"]

plan.bound()  # the plan's models, which nothing else may have attached yet


def envelope(
    transaction_id: TransactionId,
    requester: str | None,
    responder: str | None,
    at: datetime,
    where: ZoneInfo,
) -> dict[str, Any]:
    """The components every APDU begins with: the version the gateway writes, the
    transaction-id, the service date and time (``at`` in ``where``) and the parties."""
    return {
        "protocol-version-num": PROTOCOL_VERSION,
        "transaction-id": transaction_id,
        "service-date-time": {
            "date-time-of-this-service": {
                "date": date_10161(at, where),
                "time": time_10161(at, where),
            }
        },
        "requester-id": system_id(requester) if requester else None,
        "responder-id": system_id(responder) if responder else None,
    }


def apdu(apdu_type: str, start: Mapping[str, Any], fields: Mapping[str, Any]) -> IllApdu:
    """The APDU of ``apdu_type`` (the standard's name) with ``start`` and ``fields``."""
    model: type[IllApdu] = APDUS[apdu_type].model
    return model.model_validate({**start, **fields})
