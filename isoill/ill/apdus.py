"""The twenty ILL-APDUs by the standard's names, the two parties of a transaction, and which
of them sends each APDU (ISO 10161-1): what routing, the protocol machines and access control
decide by.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["APDU_FLOW", "ApduType", "Flow", "Role"]


class ApduType(enum.StrEnum):
    """An APDU type, in the order of ILL-APDU. The value is the standard's name, as a model's
    ``apdu_type``, the store and the logs have it; a member equals that string."""

    ILL_REQUEST = "ILL-Request"
    FORWARD_NOTIFICATION = "Forward-Notification"
    SHIPPED = "Shipped"
    ILL_ANSWER = "ILL-Answer"
    CONDITIONAL_REPLY = "Conditional-Reply"
    CANCEL = "Cancel"
    CANCEL_REPLY = "Cancel-Reply"
    RECEIVED = "Received"
    RECALL = "Recall"
    RETURNED = "Returned"
    CHECKED_IN = "Checked-In"
    OVERDUE = "Overdue"
    RENEW = "Renew"
    RENEW_ANSWER = "Renew-Answer"
    LOST = "Lost"
    DAMAGED = "Damaged"
    MESSAGE = "Message"
    STATUS_QUERY = "Status-Query"
    STATUS_OR_ERROR_REPORT = "Status-Or-Error-Report"
    EXPIRED = "Expired"


class Role(enum.Enum):
    """A party of a transaction; each has its own protocol machine."""

    REQUESTER = "requester"
    RESPONDER = "responder"

    @property
    def other(self) -> Role:
        return Role.RESPONDER if self is Role.REQUESTER else Role.REQUESTER


class Flow(enum.Enum):
    """Which party may send an APDU type."""

    FROM_REQUESTER = "requester"
    FROM_RESPONDER = "responder"
    EITHER = "either"


_T = ApduType

#: APDU type -> the party that sends it. Keyed by :class:`ApduType`, so a plain string looks
#: up too (a member hashes and compares as its value).
APDU_FLOW: Final[Mapping[str, Flow]] = MappingProxyType(
    {
        _T.ILL_REQUEST: Flow.FROM_REQUESTER,
        _T.FORWARD_NOTIFICATION: Flow.FROM_RESPONDER,
        _T.SHIPPED: Flow.FROM_RESPONDER,
        _T.ILL_ANSWER: Flow.FROM_RESPONDER,
        _T.CONDITIONAL_REPLY: Flow.FROM_REQUESTER,
        _T.CANCEL: Flow.FROM_REQUESTER,
        _T.CANCEL_REPLY: Flow.FROM_RESPONDER,
        _T.RECEIVED: Flow.FROM_REQUESTER,
        _T.RECALL: Flow.FROM_RESPONDER,
        _T.RETURNED: Flow.FROM_REQUESTER,
        _T.CHECKED_IN: Flow.FROM_RESPONDER,
        _T.OVERDUE: Flow.FROM_RESPONDER,
        _T.RENEW: Flow.FROM_REQUESTER,
        _T.RENEW_ANSWER: Flow.FROM_RESPONDER,
        _T.LOST: Flow.EITHER,
        _T.DAMAGED: Flow.EITHER,
        _T.MESSAGE: Flow.EITHER,
        _T.STATUS_QUERY: Flow.EITHER,
        _T.STATUS_OR_ERROR_REPORT: Flow.EITHER,
        _T.EXPIRED: Flow.EITHER,
    }
)
