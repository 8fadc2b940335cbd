"""What the bridge remembers of one transaction with an ISO 18626 side: :class:`Bridged`, a
frozen value the store keeps as JSON (:meth:`Bridged.to_json`, :meth:`Bridged.from_json`).

ISO 18626 needs a few things ISO 10161 APDUs do not carry: the ids of both agencies' requests
(the supplier's is learnt from its first message, or given by the bridge), the current status
(every supplying agency message states it, a Notification too), whether the answer to the
Request (RequestResponse) has gone, and which question of the requester (Cancel, Renew,
StatusRequest) awaits its answer, since the answer's reasonForMessage names it. Transitions
are pure functions: :func:`received` for a message that came in (and was accepted), and the
new state :func:`isoill.bridge.outbound.outbound` returns beside each message it writes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from isoill.bridge.agency import AgencyId
from isoill.bridge.codes import service_for_status
from isoill.bridge.messages import Action, Reason, RequestType, ServiceType, Status
from isoill.bridge.via import Via
from isoill.iso18626.messages import MessageKind, Version

__all__ = ["Bridged", "Question", "received"]

E = TypeVar("E", bound=StrEnum)


class Question(StrEnum):
    """A requester's question that a supplying agency message with its own reason answers."""

    CANCEL = "Cancel"
    RENEW = "Renew"
    STATUS_REQUEST = "StatusRequest"

    @property
    def answer(self) -> Reason:
        return _ANSWERS[self]

    @classmethod
    def of(cls, action: Action) -> Question | None:
        return next((question for question in cls if question.value == action.value), None)


_ANSWERS = {
    Question.CANCEL: Reason.CANCEL_RESPONSE,
    Question.RENEW: Reason.RENEW_RESPONSE,
    Question.STATUS_REQUEST: Reason.STATUS_REQUEST_RESPONSE,
}


@dataclass(frozen=True, slots=True)
class Bridged:
    """One transaction's ISO 18626 side.

    ``status`` is the status last stated (``None``: none yet, which the bridge writes as
    RequestReceived), changed at ``last_change``; ``answered``: a RequestResponse has gone;
    ``question``: a requester's question awaiting its answer; ``version``: the schema of the
    ISO 18626 side's last message. ``previous_request_id`` is the request a Retry retries;
    ``retries`` counts the Retries the bridge itself sent (ISO 10161's conditional answers),
    for which it keeps the ``request`` (the ILL-Request's BER) to send again.
    """

    requesting_agency: AgencyId
    supplying_agency: AgencyId | None
    requesting_request_id: str
    supplying_request_id: str | None = None
    status: Status | None = None
    last_change: datetime | None = None
    version: Version = Version.V1_2
    answered: bool = False
    question: Question | None = None
    service_type: ServiceType | None = None
    previous_request_id: str | None = None
    retries: int = 0
    request: bytes | None = None

    def stated(self, status: Status, at: datetime) -> Bridged:
        """After a message stating ``status`` at ``at``."""
        if status is self.status:
            return self
        return replace(
            self,
            status=status,
            last_change=at,
            service_type=service_for_status(status) or self.service_type,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_json` reads it back equal."""
        return {
            "requesting_agency": _agency_json(self.requesting_agency),
            "supplying_agency": (
                _agency_json(self.supplying_agency) if self.supplying_agency else None
            ),
            "requesting_request_id": self.requesting_request_id,
            "supplying_request_id": self.supplying_request_id,
            "status": self.status.value if self.status else None,
            "last_change": self.last_change.isoformat() if self.last_change else None,
            "version": self.version.value,
            "answered": self.answered,
            "question": self.question.value if self.question else None,
            "service_type": self.service_type.value if self.service_type else None,
            "previous_request_id": self.previous_request_id,
            "retries": self.retries,
            "request": base64.b64encode(self.request).decode() if self.request else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bridged:
        """The state :meth:`to_json` wrote; :class:`ValueError` for anything else."""
        try:
            last_change = _optional(data, "last_change", str)
            request = _optional(data, "request", str)
            supplying = data["supplying_agency"]
            retries = data["retries"]
            if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
                raise ValueError("retries is not a count")
            answered = data["answered"]
            if not isinstance(answered, bool):
                raise ValueError("answered is not a boolean")
            state = cls(
                requesting_agency=_agency_from(data["requesting_agency"]),
                supplying_agency=_agency_from(supplying) if supplying is not None else None,
                requesting_request_id=_required(data, "requesting_request_id"),
                supplying_request_id=_optional(data, "supplying_request_id", str),
                status=_enum(Status, data["status"]),
                last_change=datetime.fromisoformat(last_change) if last_change else None,
                version=Version(data["version"]),
                answered=answered,
                question=_enum(Question, data["question"]),
                service_type=_enum(ServiceType, data["service_type"]),
                previous_request_id=_optional(data, "previous_request_id", str),
                retries=retries,
                request=base64.b64decode(request, validate=True) if request else None,
            )
            if state.last_change is not None and state.last_change.tzinfo is None:
                raise ValueError("last_change has no zone")
        except (KeyError, TypeError, ValueError) as error:  # binascii.Error is a ValueError
            raise ValueError(f"not a bridge state: {error}") from None
        return state


def received(state: Bridged | None, via: Via) -> Bridged:
    """The state after an ISO 18626 message (``via``) was accepted: a Request starts it (the
    same Request again changes nothing); a requesting agency message may ask a question; a
    supplying agency message states the status, gives the supplier's request id, and may
    answer the question."""
    if state is None:
        return _started(via)
    if via.kind is MessageKind.REQUEST:  # the same Request again: the transaction goes on
        return replace(state, version=via.version)
    learnt = replace(
        state,
        version=via.version,
        supplying_request_id=state.supplying_request_id or via.supplying_request_id,
    )
    if via.kind is MessageKind.REQUESTING_AGENCY_MESSAGE:
        assert via.action is not None, "a RAM's via names its action"
        question = Question.of(via.action)
        return replace(learnt, question=question) if question is not None else learnt
    if via.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE:
        assert via.status is not None and via.reason is not None, "a SAM's via has both"
        after = learnt.stated(via.status, via.timestamp)
        if via.reason is Reason.REQUEST_RESPONSE:
            after = replace(after, answered=True)
        if after.question is not None and via.reason is after.question.answer:
            after = replace(after, question=None)
        return after
    raise ValueError(f"a {via.kind} is the transport's, not a transaction's")


def _started(via: Via) -> Bridged:
    started = Bridged(
        requesting_agency=via.requesting_agency,
        supplying_agency=via.supplying_agency,
        requesting_request_id=via.requesting_request_id,
        supplying_request_id=via.supplying_request_id,
        version=via.version,
        service_type=via.service_type if via.service_type is not ServiceType.COPY_OR_LOAN else None,
        previous_request_id=(
            via.previous_request_id if via.request_type is RequestType.RETRY else None
        ),
    )
    if via.kind is MessageKind.REQUEST:
        return started
    return received(started, via)  # a message of a transaction the bridge has not seen


def _agency_json(agency: AgencyId) -> list[str]:
    return [agency.type, agency.value]


def _agency_from(value: object) -> AgencyId:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValueError(f"not an agency id: {value!r}")
    return AgencyId(value[0], value[1])


def _required(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type[str]) -> str | None:
    value = data[key]
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"{key} is not a string")
    return value


def _enum(kind: type[E], value: object) -> E | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a {kind.__name__}")
    return kind(value)
