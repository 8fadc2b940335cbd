"""BER tag and length octets (ITU-T X.690 clause 8.1), shared by the framer, decoder and encoder.

A tag is kept as one integer key, ``number << 2 | class``, where class is the two high bits of
the identifier octet (0 universal, 1 application, 2 context, 3 private).
"""

from __future__ import annotations

from typing import Final

from isoill.codec.errors import FramingError

UNIVERSAL: Final = 0
APPLICATION: Final = 1
CONTEXT: Final = 2
PRIVATE: Final = 3

INDEFINITE: Final = -1
"""Length value returned for the indefinite form (``80`` ... ``00 00``)."""

MAX_TAG_OCTETS: Final = 5
MAX_LENGTH_OCTETS: Final = 8

_CLASS_NAMES: Final = ("UNIVERSAL ", "APPLICATION ", "", "PRIVATE ")


class NeedMore(Exception):
    """The buffer ends inside a header."""


def tag_key(tag_class: int, number: int) -> int:
    return number << 2 | tag_class


def tag_name(key: int) -> str:
    """ASN.1 notation of a tag key, e.g. ``[APPLICATION 1]`` or ``[46]``."""
    return f"[{_CLASS_NAMES[key & 3]}{key >> 2}]"


def read_header(buf: bytes | bytearray, pos: int) -> tuple[int, bool, int, int]:
    """Read the identifier and length octets at ``pos``.

    Returns ``(tag key, constructed, length or INDEFINITE, position of the contents)``.
    Raises :class:`NeedMore` when ``buf`` ends inside the header and :class:`FramingError`
    when the octets are not valid BER.
    """
    end = len(buf)
    if pos >= end:
        raise NeedMore
    first = buf[pos]
    pos += 1
    number = first & 0x1F
    if number == 0x1F:
        number = 0
        for count in range(MAX_TAG_OCTETS):
            if pos >= end:
                raise NeedMore
            octet = buf[pos]
            pos += 1
            if count == 0 and octet == 0x80:
                raise FramingError("tag number with a leading zero octet", offset=pos - 1)
            number = number << 7 | (octet & 0x7F)
            if not octet & 0x80:
                break
        else:
            raise FramingError(f"tag number longer than {MAX_TAG_OCTETS} octets", offset=pos)
    if pos >= end:
        raise NeedMore
    octet = buf[pos]
    pos += 1
    if octet < 0x80:
        length = octet
    elif octet == 0x80:
        if not first & 0x20:
            raise FramingError("indefinite length on a primitive element", offset=pos - 1)
        length = INDEFINITE
    else:
        count = octet & 0x7F
        if count > MAX_LENGTH_OCTETS:
            raise FramingError(f"length of {count} octets", offset=pos - 1)
        if pos + count > end:
            raise NeedMore
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    return number << 2 | first >> 6, bool(first & 0x20), length, pos


def encode_header(key: int, constructed: bool, length: int) -> bytes:
    """Identifier and definite length octets for an element."""
    tag_class = key & 3
    number = key >> 2
    first = tag_class << 6 | (0x20 if constructed else 0)
    if number < 0x1F:
        head = bytearray((first | number,))
    else:
        head = bytearray((first | 0x1F,))
        groups = []
        while True:
            groups.append(number & 0x7F)
            number >>= 7
            if not number:
                break
        head.extend(g | 0x80 for g in reversed(groups[1:]))
        head.append(groups[0])
    if length < 0x80:
        head.append(length)
    else:
        size = (length.bit_length() + 7) // 8
        head.append(0x80 | size)
        head.extend(length.to_bytes(size, "big"))
    return bytes(head)
