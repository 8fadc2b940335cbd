"""What the gateway needs around the protocol machine: when two APDUs are the same, and which
party sent an APDU. (The per-transaction locks are the service's: :mod:`isoill.service.locks`.)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from isoill.codec.models import IllApdu
from isoill.core.views import TransactionRecord
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.ill.transaction_id import json_array
from isoill.transactions.machine import State, States, event_of

#: The states of a transaction the gateway has not seen yet.
NEW = States(State.IDLE, State.IDLE)


def states_of(record: TransactionRecord | None) -> States:
    """The two machines' states as stored; a transaction stored before the gateway tracked
    states (or never seen) is new."""
    if record is None or record.requester_state is None or record.responder_state is None:
        return NEW
    return States(State(record.requester_state), State(record.responder_state))


def dedup_key(
    apdu: IllApdu, transaction_key: str, ber: bytes, sent_at: datetime | None = None
) -> str:
    """What makes an APDU the same as one received before.

    A peer that lost the gateway's answer sends the APDU again, possibly re-encoded (lengths
    definite instead of indefinite, say), so bytes alone would miss it. Its service date and
    time, though, are those of the service it repeats. Two APDUs are the same when they have
    the same transaction-id, event (the type, and the answer that decides the next state: a
    Renew-Answer no is not the Renew-Answer yes of the same second) and
    date-time-of-this-service with a time. Without a time (it is optional) two messages of one
    day would look alike, so the bytes decide. An APDU mapped from an ISO 18626 message has
    that message's timestamp too (``sent_at``), finer than ISO-Time's second: two Renews POSTed
    in one second are two, the same message POSTed again is one.
    """
    service = apdu.service_date_time.date_time_of_this_service
    parts = [transaction_key, apdu.apdu_type, service.date]
    parts.append(service.time if service.time else hashlib.sha256(ber).hexdigest())
    answer = event_of(apdu).answer
    if answer is not None:
        parts.append(answer)
    if sent_at is not None:
        parts.append(sent_at.astimezone(UTC).isoformat())
    return hashlib.sha256(json_array(parts, ascii_only=True).encode()).hexdigest()


def sender_role(
    apdu_type: str, senders: set[str], requester: str | None, responder: str | None
) -> Role | None:
    """The role of the party that sent an APDU: by its type, or for the types either party
    sends (Message, Lost, ...) by which of the transaction's parties the connection speaks
    for; ``None`` when that cannot be told."""
    flow = APDU_FLOW[apdu_type]
    if flow is Flow.FROM_REQUESTER:
        return Role.REQUESTER
    if flow is Flow.FROM_RESPONDER:
        return Role.RESPONDER
    if requester is not None and requester in senders:
        return Role.REQUESTER
    if responder is not None and responder in senders:
        return Role.RESPONDER
    return None
