"""How the wire layer refuses a message: as a value an ISO 18626 Confirmation can answer with.

A Confirmation with messageStatus ERROR carries ``errorData``: an ``errorType`` from a closed
list and a free-text ``errorValue``. A :class:`Refusal` carries both, so the transport can write
the Confirmation without knowing why lxml or the schema objected. The error value is bounded:
whatever the input, it never echoes more than :data:`MAX_ERROR_VALUE` characters of it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isoill.iso18626.messages import MessageKind

#: The longest errorValue a refusal carries (a value in the input may be far longer).
MAX_ERROR_VALUE = 400


class ErrorType(StrEnum):
    """ISO 18626's errorType values, spelt as the schemas spell them (British "Unrecognised";
    the standard's prose and some peers write "Unrecognized", which the schemas refuse)."""

    UNSUPPORTED_ACTION_TYPE = "UnsupportedActionType"
    UNSUPPORTED_REASON_FOR_MESSAGE_TYPE = "UnsupportedReasonForMessageType"
    UNRECOGNISED_DATA_ELEMENT = "UnrecognisedDataElement"
    UNRECOGNISED_DATA_VALUE = "UnrecognisedDataValue"
    BADLY_FORMED_MESSAGE = "BadlyFormedMessage"


def bounded(text: str, limit: int = MAX_ERROR_VALUE) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Refusal(Exception):
    """A message the wire layer will not take, and what to answer it with.

    ``kind`` is the message the body held, when that much could be read (which Confirmation
    answers it); ``line`` is the line of the input the error is on, when known.
    """

    def __init__(
        self,
        error_type: ErrorType,
        error_value: str,
        *,
        kind: MessageKind | None = None,
        line: int | None = None,
    ) -> None:
        self.error_type = error_type
        self.error_value = bounded(error_value)
        self.kind = kind
        self.line = line
        super().__init__(f"{error_type}: {self.error_value}")
