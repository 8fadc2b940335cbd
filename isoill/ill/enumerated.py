"""APDU types as the values of the two ENUMERATED types that name them inside other APDUs:
ILL-APDU-Type (a state-transition-prohibited error report) and Most-Recent-Service (a
History-Report).

Apart from :mod:`.apdus` because it needs the codec's models, which routing does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from isoill.codec.models import ILLAPDUType, MostRecentService
from isoill.ill.apdus import ApduType

__all__ = ["ILL_APDU_TYPE", "MOST_RECENT_SERVICE"]

_T, _A, _S = ApduType, ILLAPDUType, MostRecentService

#: Every APDU type as an ILL-APDU-Type.
ILL_APDU_TYPE: Final[Mapping[str, ILLAPDUType]] = MappingProxyType(
    {
        _T.ILL_REQUEST: _A.ILL_REQUEST,
        _T.FORWARD_NOTIFICATION: _A.FORWARD_NOTIFICATION,
        _T.SHIPPED: _A.SHIPPED,
        _T.ILL_ANSWER: _A.ILL_ANSWER,
        _T.CONDITIONAL_REPLY: _A.CONDITIONAL_REPLY,
        _T.CANCEL: _A.CANCEL,
        _T.CANCEL_REPLY: _A.CANCEL_REPLY,
        _T.RECEIVED: _A.RECEIVED,
        _T.RECALL: _A.RECALL,
        _T.RETURNED: _A.RETURNED,
        _T.CHECKED_IN: _A.CHECKED_IN,
        _T.OVERDUE: _A.OVERDUE,
        _T.RENEW: _A.RENEW,
        _T.RENEW_ANSWER: _A.RENEW_ANSWER,
        _T.LOST: _A.LOST,
        _T.DAMAGED: _A.DAMAGED,
        _T.MESSAGE: _A.MESSAGE,
        _T.STATUS_QUERY: _A.STATUS_QUERY,
        _T.STATUS_OR_ERROR_REPORT: _A.STATUS_OR_ERROR_REPORT,
        _T.EXPIRED: _A.EXPIRED,
    }
)

#: The APDU types Most-Recent-Service has a value for: all but Overdue and Renew (its
#: fORWARD is no APDU of its own).
MOST_RECENT_SERVICE: Final[Mapping[str, MostRecentService]] = MappingProxyType(
    {
        _T.ILL_REQUEST: _S.ILL_REQUEST,
        _T.FORWARD_NOTIFICATION: _S.FORWARD_NOTIFICATION,
        _T.SHIPPED: _S.SHIPPED,
        _T.ILL_ANSWER: _S.ILL_ANSWER,
        _T.CONDITIONAL_REPLY: _S.CONDITIONAL_REPLY,
        _T.CANCEL: _S.CANCEL,
        _T.CANCEL_REPLY: _S.CANCEL_REPLY,
        _T.RECEIVED: _S.RECEIVED,
        _T.RECALL: _S.RECALL,
        _T.RETURNED: _S.RETURNED,
        _T.CHECKED_IN: _S.CHECKED_IN,
        _T.RENEW_ANSWER: _S.RENEW_ANSWER,
        _T.LOST: _S.LOST,
        _T.DAMAGED: _S.DAMAGED,
        _T.MESSAGE: _S.MESSAGE,
        _T.STATUS_QUERY: _S.STATUS_QUERY,
        _T.STATUS_OR_ERROR_REPORT: _S.STATUS_OR_ERROR_REPORT,
        _T.EXPIRED: _S.EXPIRED,
    }
)
