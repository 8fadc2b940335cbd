"""The 20 ILL-APDU model classes as one type, for tests that read what every APDU carries.

``ApduModel``, the base of the generated classes, declares no field of an APDU; a test that
reads one from an APDU of any type narrows it with :func:`any_apdu` first. Every member of
the union begins with protocol-version-num, transaction-id and service-date-time.
"""

from __future__ import annotations

from typing import TypeAlias

from isoill.codec import models as m
from isoill.codec.values import ApduModel

AnyApdu: TypeAlias = (
    m.ILLRequest
    | m.ForwardNotification
    | m.Shipped
    | m.ILLAnswer
    | m.ConditionalReply
    | m.Cancel
    | m.CancelReply
    | m.Received
    | m.Recall
    | m.Returned
    | m.CheckedIn
    | m.Overdue
    | m.Renew
    | m.RenewAnswer
    | m.Lost
    | m.Damaged
    | m.Message
    | m.StatusQuery
    | m.StatusOrErrorReport
    | m.Expired
)


def any_apdu(apdu: ApduModel) -> AnyApdu:
    """``apdu`` as the union; fails for a model class the union does not list."""
    assert isinstance(apdu, AnyApdu), type(apdu).__name__
    return apdu
