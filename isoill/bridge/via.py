"""What an ISO 18626 message said that its ISO 10161 APDU does not: the facts the transport
hands to intake beside the APDU's BER, for the Confirmation that answers the message (its ids
and echo) and for the transaction's bridge state (:func:`isoill.bridge.state.received`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from isoill.bridge.agency import AgencyId
from isoill.bridge.messages import Action, Reason, RequestType, ServiceType, Status
from isoill.iso18626.messages import MessageKind, Version

__all__ = ["Via"]


@dataclass(frozen=True, slots=True)
class Via:
    """One received message: which (``kind``), in which schema (``version``, and the
    ``declared_version`` as sent), its header, and what it said: a Request's type, service
    type and previous request id; a RAM's action; a SAM's reason, status and answer."""

    kind: MessageKind
    version: Version
    declared_version: str
    requesting_agency: AgencyId
    supplying_agency: AgencyId | None
    requesting_request_id: str
    supplying_request_id: str | None
    timestamp: datetime
    multiple_item_request_id: str | None = None
    request_type: RequestType | None = None
    previous_request_id: str | None = None
    service_type: ServiceType | None = None
    action: Action | None = None
    reason: Reason | None = None
    status: Status | None = None
    answer: bool | None = None
