"""The codec's errors.

Everything the codec refuses is one of these. Each carries the byte offset where the problem
was found, the field path (standard names, e.g. ``ILL-Request.item-id.title``) and the
General-Problem that a Status-Or-Error-Report about it should name.
"""

from __future__ import annotations


class CodecError(Exception):
    """Base of every error the codec raises on bad input."""

    #: General-Problem (ISO 10161 Provider-Error-Report) that answers this error on the wire.
    general_problem = "badly-structured-APDU"

    def __init__(self, reason: str, *, offset: int | None = None, path: str = "") -> None:
        self.reason = reason
        self.offset = offset
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.path:
            where.append(self.path)
        return f"{self.reason} ({', '.join(where)})" if where else self.reason


class FramingError(CodecError):
    """The byte stream is not a sequence of BER elements; the stream cannot be resynchronised."""


class ApduTooLarge(FramingError):
    """An APDU announces or reaches more bytes than the configured limit."""


class NestingTooDeep(FramingError):
    """Constructed elements nest deeper than the configured limit."""


class TooManyElements(FramingError):
    """An APDU is made of more BER elements than the configured limit."""


class DecodeError(CodecError):
    """Well-formed BER that does not match the ISO 10161 types."""


class UnrecognizedApdu(DecodeError):
    """The outer tag is not one of the 20 ILL-APDU types."""

    general_problem = "unrecognized-APDU"


class EncodeError(CodecError):
    """A value that cannot be written as BER (for example a choice with no alternative set)."""
