"""Stream framing: bytes in, whole BER elements (APDUs) out. No I/O.

ISO 10161 APDUs travel back to back on a TCP stream with no length prefix; the end of one is
found by walking tags and lengths, into indefinite-length elements as well. The framer walks
every element of an APDU as its bytes arrive and keeps its place between calls, so feeding one
byte at a time costs no more than feeding the whole APDU. It refuses an APDU over the size
limit, nested deeper than the depth limit, or made of more elements than the element limit
(decoding costs time and memory by the element, not by the byte), as soon as the bytes that
show it arrive: before anything is decoded and before the rest of it is buffered.

An APDU whose outer length is definite (most peers' habit) says where it ends: the framer
waits for its bytes, at most the size limit, and then checks them in one tight pass
(:func:`_sound`), leaving to the walk above only what that pass does not take. Such an APDU
is refused once whole rather than as its bytes arrive, with the same error at the same offset.
"""

from __future__ import annotations

from isoill.codec.ber import INDEFINITE, MAX_TAG_OCTETS, NeedMore, read_header
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
        definite = self._definite_apdu()
        if definite is not None:
            if definite > len(self._buf):
                return None  # the rest of a definite-length APDU: nothing to walk yet
            if _sound(self._buf, definite, self.max_depth, self.max_elements):
                return self._take(definite)
        try:
            end = self._walk()
        except FramingError as error:
            if error.offset is not None:
                error.offset += self._consumed
            self._failed = error
            raise
        if end is None:
            return None
        return self._take(end)

    def _take(self, end: int) -> bytes:
        apdu = bytes(self._buf[:end])
        del self._buf[:end]
        self._consumed += end
        self._pos = 0
        self._elements = 0
        return apdu

    def _definite_apdu(self) -> int | None:
        """The end of the next APDU, when none of it has been walked and its header, whole,
        gives its length within the size limit; ``None``: walk it."""
        if self._pos or not self._buf:
            return None
        try:
            _, constructed, length, content = read_header(self._buf, 0)
        except (NeedMore, FramingError):
            return None
        end = content + length
        if not constructed or length == INDEFINITE or end > self.max_apdu_size:
            return None
        return end

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


def _sound(buf: bytearray, end: int, max_depth: int, max_elements: int) -> bool:
    """Whether the definite-length APDU in ``buf[:end]``, every byte of it here, is made of
    short definite-length elements, each inside its parent, within the depth and element
    limits: what most APDUs are, checked in one tight pass. ``False`` for anything else, which
    the general walk then goes over again, to accept it or say exactly what is wrong."""
    stack: list[int] = []  # ends of the open elements' parents
    parent = end
    pos = 0
    count = 0
    while True:
        if pos == parent:
            if not stack:
                return True
            parent = stack.pop()
            continue
        first = buf[pos]
        at = pos + 1
        if first & 0x1F == 0x1F:  # long-form tag number
            if at >= parent or buf[at] == 0x80:
                return False
            while at < parent and buf[at] & 0x80:
                at += 1
            at += 1
            if at - pos > 1 + MAX_TAG_OCTETS:
                return False
        elif first == 0:
            return False  # end-of-contents: not in a definite element
        if at >= parent:
            return False
        octet = buf[at]
        if octet < 0x80:
            content = at + 1
            length = octet
        elif octet == 0x80 or octet > 0x84:
            return False  # indefinite, or a length of more than 4 octets
        else:
            content = at + 1 + (octet & 0x7F)
            length = int.from_bytes(buf[at + 1 : content], "big")
        stop = content + length
        if stop > parent or content > parent:
            return False
        count += 1
        if count > max_elements:
            return False
        if first & 0x20 and length:
            if len(stack) >= max_depth:
                return False
            stack.append(parent)
            parent = stop
            pos = content
        else:
            pos = stop


def _nearest_definite(stack: list[int]) -> int | None:
    """End of the innermost open element whose length is known."""
    for end in reversed(stack):
        if end != INDEFINITE:
            return end
    return None
