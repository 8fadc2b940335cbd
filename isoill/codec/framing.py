"""Stream framing: bytes in, whole BER elements (APDUs) out. No I/O.

ISO 10161 APDUs travel back to back on a TCP stream with no length prefix; the end of one is
found by walking tags and lengths, into indefinite-length elements as well. The framer walks
every element of an APDU as its bytes arrive and keeps its place between calls, so feeding one
byte at a time costs no more than feeding the whole APDU. It refuses an APDU over the size
limit, nested deeper than the depth limit, or made of more elements than the element limit
(decoding costs time and memory by the element, not by the byte), as soon as the bytes that
show it arrive: before anything is decoded and before the rest of it is buffered.
"""

from __future__ import annotations

from isoill.codec.ber import INDEFINITE, NeedMore, read_header
from isoill.codec.errors import ApduTooLarge, FramingError, NestingTooDeep, TooManyElements

DEFAULT_MAX_APDU_SIZE = 1 << 20
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_ELEMENTS = 10_000


class Framer:
    """Split a byte stream into complete BER elements.

    ``feed`` bytes as they arrive, then call ``next_apdu`` until it returns ``None``
    (more bytes needed). After a :class:`FramingError` the stream has no recoverable
    boundary: every later call raises the same error.
    """

    def __init__(
        self,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
    ) -> None:
        self.max_apdu_size = max_apdu_size
        self.max_depth = max_depth
        self.max_elements = max_elements
        self._elements = 0  # headers read of the APDU in hand
        self._buf = bytearray()
        self._consumed = 0  # stream offset of _buf[0], for error messages
        self._pos = 0  # next header to read, relative to _buf
        self._open: list[int] = []  # ends of open constructed elements, INDEFINITE if unknown
        self._failed: FramingError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as an APDU."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        if self._failed is None:
            self._buf += data

    def next_apdu(self) -> bytes | None:
        """The next complete APDU, or ``None`` if more bytes are needed."""
        if self._failed is not None:
            raise self._failed
        try:
            end = self._walk()
        except FramingError as error:
            if error.offset is not None:
                error.offset += self._consumed
            self._failed = error
            raise
        if end is None:
            return None
        apdu = bytes(self._buf[:end])
        del self._buf[:end]
        self._consumed += end
        self._pos = 0
        self._elements = 0
        return apdu

    def _walk(self) -> int | None:
        buf = self._buf
        pos = self._pos
        stack = self._open
        limit = self.max_apdu_size
        try:
            while True:
                if stack and INDEFINITE != stack[-1] < pos:
                    raise FramingError("element overruns its enclosing element", offset=pos)
                while stack and stack[-1] == pos:
                    stack.pop()
                if stack and stack[-1] == INDEFINITE:
                    parent = _nearest_definite(stack)
                    if parent is not None and pos >= parent:
                        raise FramingError(
                            "indefinite element overruns its enclosing element", offset=pos
                        )
                if not stack and pos > 0:
                    return pos if len(buf) >= pos else None
                if pos >= len(buf):
                    return None
                if stack and stack[-1] == INDEFINITE and buf[pos] == 0:
                    if pos + 1 >= len(buf):
                        return None
                    if buf[pos + 1] != 0:
                        raise FramingError("bad end-of-contents octets", offset=pos)
                    stack.pop()
                    pos += 2
                    if pos > limit:
                        raise ApduTooLarge(f"APDU exceeds {limit} bytes", offset=pos - 2)
                    self._pos = pos
                    continue
                key, constructed, length, content = read_header(buf, pos)
                if key == 0:
                    raise FramingError("end-of-contents outside an indefinite element", offset=pos)
                self._count(pos)
                if length == INDEFINITE:
                    end = INDEFINITE
                    if content > limit:
                        raise ApduTooLarge(f"APDU exceeds {limit} bytes", offset=pos)
                else:
                    end = content + length
                    if end > limit:
                        raise ApduTooLarge(
                            f"element of {length} bytes exceeds the {limit}-byte APDU limit",
                            offset=pos,
                        )
                    parent = _nearest_definite(stack)
                    if parent is not None and end > parent:
                        raise FramingError("element overruns its enclosing element", offset=pos)
                if constructed and end != content:
                    if len(stack) >= self.max_depth:
                        raise NestingTooDeep(
                            f"nesting deeper than {self.max_depth} levels", offset=pos
                        )
                    stack.append(end)
                    pos = content
                else:
                    pos = end
                self._pos = pos
        except NeedMore:
            return None

    def _count(self, pos: int) -> None:
        """One more element, its header at ``pos``, in the APDU in hand."""
        self._elements += 1
        if self._elements > self.max_elements:
            raise TooManyElements(f"APDU of more than {self.max_elements} elements", offset=pos)


def _nearest_definite(stack: list[int]) -> int | None:
    """End of the innermost open element whose length is known."""
    for end in reversed(stack):
        if end != INDEFINITE:
            return end
    return None
