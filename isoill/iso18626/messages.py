"""ISO 18626's six messages, and which schema version a message follows.

Both schemas share one namespace, so only the ``version`` attribute of ``ISO18626Message``
tells them apart, and its values vary between implementations (``1.2``, ``v1_2_2017``,
``1.0``, ``2021-3``...). :func:`version_for` reads it as a hint; a peer's configured version
comes first (:func:`isoill.iso18626.wire.parse`).
"""

from __future__ import annotations

from enum import StrEnum

#: The namespace of both ISO 18626 schemas, v1.2 and 2021-2.
NAMESPACE = "http://illtransactions.org/2013/iso18626"

#: The one envelope element every message is sent in.
ENVELOPE = "ISO18626Message"


class MessageKind(StrEnum):
    """The six messages, by the name of their element inside ``ISO18626Message``."""

    REQUEST = "request"
    REQUEST_CONFIRMATION = "requestConfirmation"
    SUPPLYING_AGENCY_MESSAGE = "supplyingAgencyMessage"
    SUPPLYING_AGENCY_MESSAGE_CONFIRMATION = "supplyingAgencyMessageConfirmation"
    REQUESTING_AGENCY_MESSAGE = "requestingAgencyMessage"
    REQUESTING_AGENCY_MESSAGE_CONFIRMATION = "requestingAgencyMessageConfirmation"

    @property
    def field(self) -> str:
        """The attribute of the generated ``Iso18626Message`` that holds this message."""
        return "".join("_" + c.lower() if c.isupper() else c for c in self.value)


class Version(StrEnum):
    """A schema version, by the ``version`` value isoill itself writes for it."""

    V1_2 = "1.2"
    V2021 = "2021-2"


def version_for(declared: str | None) -> Version:
    """The schema a ``version`` attribute points to: values starting "2021" mean 2021, any
    other value (or none) v1.2, which every open implementation speaks."""
    if declared is not None and declared.strip().startswith("2021"):
        return Version.V2021
    return Version.V1_2
