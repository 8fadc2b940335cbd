"""What the bridge's tests build with: ISO 10161 APDUs of one transaction between REQLIB and
RESPLIB as a library's system writes them, the peers' settings for both schemas, and the
checks every mapped message passes (valid in its schema, and an APDU that encodes, decodes
and passes the IPIG rules and, in a flow, the protocol machines)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.bridge.inbound import Inbound, inbound
from isoill.bridge.outbound import Outbound, Unmappable
from isoill.bridge.settings import PeerSettings18626
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import IllApdu, TransactionId
from isoill.codec.plan import APDUS
from isoill.codec.text import Text
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.ill.symbols import system_id
from isoill.iso18626 import wire
from isoill.iso18626.errors import Refusal
from isoill.iso18626.messages import Version
from isoill.rules.engine import Context
from isoill.rules.profiles import IPIG
from isoill.transactions.machine import Prohibited, States, advance, event_of

REQUESTER = "REQLIB"
RESPONDER = "RESPLIB"
NOW = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
ZONE = "Europe/Berlin"


def peer(version: Version = Version.V1_2, **changes: Any) -> PeerSettings18626:
    return PeerSettings18626(version=version, timezone=ZONE, **changes)


def transaction(qualifier: str = "42") -> TransactionId:
    return TransactionId(
        initial_requester_id=system_id(REQUESTER),
        transaction_group_qualifier=Text.of("grp"),
        transaction_qualifier=Text.of(qualifier),
    )


def envelope(at: datetime, qualifier: str = "42") -> dict[str, Any]:
    return {
        "protocol-version-num": 2,
        "transaction-id": transaction(qualifier),
        "service-date-time": {
            "date-time-of-this-service": {
                "date": at.strftime("%Y%m%d"),
                "time": at.strftime("%H%M%S"),
            }
        },
        "requester-id": system_id(REQUESTER),
        "responder-id": system_id(RESPONDER),
    }


def ill_request(fields: Mapping[str, Any] | None = None, at: datetime = NOW) -> IllApdu:
    """A loan request as a library's system writes one."""
    values: dict[str, Any] = {
        "iLL-service-type": ["loan"],
        "requester-optional-messages": {
            "can-send-RECEIVED": True,
            "can-send-RETURNED": True,
            "requester-SHIPPED": "requires",
            "requester-CHECKED-IN": "requires",
        },
        "search-type": {"need-before-date": "20250401", "level-of-service": "Normal"},
        "delivery-address": {
            "postal-address": {
                "street-and-number": "Hauptstraße 1",
                "city": "Göttingen",
                "postal-code": "37073",
                "country": "DE",
            }
        },
        "client-id": {"client-identifier": "P-1", "client-name": "Grass, Günter"},
        "item-id": {
            "item-type": "monograph",
            "title": "Die Blechtrommel",
            "author": "Grass, Günter",
            "iSBN": "9783423118217",
            "publisher": "dtv",
            "call-number": "GRA 1",
        },
        "cost-info-type": {"maximum-cost": {"currency-code": "EUR", "monetary-value": "8.50"}},
        "copyright-compliance": "CCG",
        "requester-note": "for a seminar",
    }
    return apdu("ILL-Request", at, values | dict(fields or {}))


def apdu(name: str, at: datetime = NOW, fields: Mapping[str, Any] | None = None) -> IllApdu:
    """``name`` of the transaction grp/42 at ``at``, with ``fields`` beyond the envelope."""
    model: type[IllApdu] = APDUS[name].model
    return model.model_validate(envelope(at) | dict(fields or {}))


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def sent(result: Outbound | Unmappable, version: Version) -> wire.Parsed:
    """The mapped message as the target reads it: serialised (so validated against its
    schema) and parsed again with the target's schema."""
    assert isinstance(result, Outbound), result
    parsed = wire.parse(wire.serialise(result.model), version=version)
    assert parsed.kind is result.kind
    return parsed


def received(body: bytes | Path, settings: PeerSettings18626) -> Inbound:
    """An ISO 18626 message read as the transport reads it, and mapped to its APDU."""
    data = body.read_bytes() if isinstance(body, Path) else body
    result = inbound(wire.parse(data, version=settings.version), settings)
    assert not isinstance(result, Refusal), result
    return result


def checked(apdu_: IllApdu) -> IllApdu:
    """``apdu_`` after BER and back, equal, and passing the IPIG profile's rules."""
    again = decode(encode(apdu_))
    assert again == apdu_
    verdict = IPIG.judge(again, Context(NOW))
    assert not verdict.findings, [finding.describe() for finding in verdict.findings]
    return again


class Machines:
    """Both protocol machines of one transaction, moved by each APDU in turn."""

    def __init__(self) -> None:
        self.states = States()

    def take(self, apdu_: IllApdu, sender: Role | None = None) -> None:
        flow = APDU_FLOW[apdu_.apdu_type]
        role = sender or (Role.REQUESTER if flow is Flow.FROM_REQUESTER else Role.RESPONDER)
        after = advance(self.states, event_of(apdu_), role)
        assert not isinstance(after, Prohibited), (apdu_.apdu_type, self.states, after)
        self.states = after


REQUESTING = AgencyId("ISIL", REQUESTER)
SUPPLYING = AgencyId("ISIL", RESPONDER)


def header(
    at: datetime = NOW, request_id: str = "grp/42", supplying_id: str | None = "S-1"
) -> b.Header:
    return b.Header(
        requesting_agency=REQUESTING,
        supplying_agency=SUPPLYING,
        timestamp=at,
        requesting_request_id=request_id,
        supplying_request_id=supplying_id,
    )


def sam_body(
    status: b.Status,
    reason: b.Reason = b.Reason.STATUS_CHANGE,
    version: Version = Version.V1_2,
    at: datetime = NOW,
    **fields: Any,
) -> bytes:
    """A supplying agency message from RESPLIB to REQLIB about grp/42, as its bytes."""
    message = b.SupplyingAgencyMessage(
        header=header(at), reason=reason, status=status, last_change=at, **fields
    )
    return wire.serialise(forms.write(message, version))


def ram_body(
    action: b.Action,
    note: str | None = None,
    version: Version = Version.V1_2,
    at: datetime = NOW,
    request_id: str = "grp/42",
    supplying_id: str | None = "S-1",
) -> bytes:
    """A requesting agency message from REQLIB to RESPLIB, as its bytes."""
    message = b.RequestingAgencyMessage(
        header=header(at, request_id, supplying_id), action=action, note=note
    )
    return wire.serialise(forms.write(message, version))
