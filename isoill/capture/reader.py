"""Reading captured APDU traffic: raw BER, hex text, and pcap or pcapng captures, whose TCP
connections are reassembled and framed into whole APDUs.

Every TCP connection in a capture is taken for ILL traffic, so capture the ILL port only
(``tcpdump -i lo -w FILE tcp port 1499``). The rules are in docs/capture.md.
"""

from __future__ import annotations

import heapq
import io
import ipaddress
import re
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt

from isoill.codec.errors import FramingError
from isoill.codec.framing import Framer

FORMS = ("auto", "ber", "hex", "pcap", "pcapng")

_PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"  # the type of a Section Header Block, first in the file
_PCAPNG_LITTLE, _PCAPNG_BIG = b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"  # byte-order magics
_IDB, _EPB = 1, 6  # Interface Description and Enhanced Packet Blocks
_OPT_COMMENT, _OPT_TSRESOL, _OPT_TSOFFSET = 1, 9, 14
_HEX_COMMENT = re.compile(rb"#[^\n]*")
_HEX_TEXT = re.compile(rb"[0-9A-Fa-f\s]+")
_SEQ_SPACE, _HALF_SEQ_SPACE = 1 << 32, 1 << 31

# Link types read (tcpdump.org/linktypes.html), as the file header or the IDB gives them.
_NULL, _ETHERNET, _RAW, _LOOP, _SLL, _IPV4, _IPV6, _SLL2 = 0, 1, 101, 108, 113, 228, 229, 276
_LINK_TYPES = (_NULL, _ETHERNET, _RAW, _LOOP, _SLL, _IPV4, _IPV6, _SLL2)

Endpoint = tuple[str, int]  # IP address as text, port


class CaptureError(Exception):
    """The file cannot be read as APDU traffic; the message names the file and says why."""


@dataclass(frozen=True)
class CapturedApdu:
    """One whole APDU of a capture, with when, on which connection and which way it went."""

    time: float | None
    """Seconds since the epoch when the packet that completed it was captured; ``None`` for
    raw BER and hex input."""
    stream: int
    """TCP connection number, from 0 in order of first appearance, as Wireshark's
    ``tcp.stream`` counts them (0 for raw BER and hex)."""
    from_client: bool
    """Sent by the side that opened the connection (always ``True`` for raw BER and hex)."""
    client: str | None
    """``ip:port`` (``[ip]:port`` for IPv6) of the connecting side; ``None`` for raw BER and
    hex."""
    server: str | None
    """``ip:port`` of the listening side; ``None`` for raw BER and hex."""
    ber: bytes
    comment: str | None = None
    """The pcapng comment of the packet that carried its first byte, if any."""


def read_capture(
    path: Path, form: str = "auto", max_apdu_size: int = 1 << 20
) -> list[CapturedApdu]:
    """Every APDU in ``path``, both directions of every connection, in the order of the
    packets that complete them (the capture's time order; each direction's own order kept).

    ``form`` is ``auto`` (see :func:`detect`), ``ber``, ``hex``, ``pcap`` or ``pcapng``.
    Raises :class:`CaptureError` for a file that cannot be read, is not in the form, or holds
    bytes that are not whole APDUs (including a stream that ends inside an APDU).
    """
    if form not in FORMS:
        raise CaptureError(f"{path}: unknown form {form!r} (known: {', '.join(FORMS)})")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CaptureError(f"{path}: cannot read: {error.strerror}") from None
    if form == "auto":
        form = detect(data)
    try:
        if form == "ber":
            return _from_ber(data, max_apdu_size)
        if form == "hex":
            return _from_ber(_unhex(data), max_apdu_size)
        frames = _pcap_frames(data) if form == "pcap" else _pcapng_frames(data)
        return _reassemble(frames, max_apdu_size)
    except CaptureError as error:
        raise CaptureError(f"{path}: {error}") from None


def detect(data: bytes) -> str:
    """The form of a file's contents: ``pcap`` or ``pcapng`` by their magic numbers, ``hex``
    for text of hex digits, whitespace and ``#`` comments only, else ``ber``."""
    if data[:4] in _PCAP_MAGICS:
        return "pcap"
    if data[:4] == _PCAPNG_MAGIC:
        return "pcapng"
    if _HEX_TEXT.fullmatch(_HEX_COMMENT.sub(b"", data)):
        return "hex"
    return "ber"


def _unhex(data: bytes) -> bytes:
    digits = b"".join(_HEX_COMMENT.sub(b"", data).split())
    try:
        return bytes.fromhex(digits.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CaptureError(f"not hex text: {error}") from None


def _from_ber(data: bytes, max_apdu_size: int) -> list[CapturedApdu]:
    framer = Framer(max_apdu_size=max_apdu_size)
    framer.feed(data)
    apdus = []
    try:
        while (ber := framer.next_apdu()) is not None:
            apdus.append(CapturedApdu(None, 0, True, None, None, ber))
    except FramingError as error:
        raise CaptureError(str(error)) from None
    if framer.buffered:
        offset = len(data) - framer.buffered
        raise CaptureError(f"truncated APDU at offset {offset} ({framer.buffered} bytes)")
    return apdus


@dataclass(frozen=True)
class _Frame:
    number: int  # from 1, as Wireshark counts packets
    time: float
    link_type: int
    data: bytes
    comment: str | None


def _pcap_frames(data: bytes) -> Iterator[_Frame]:
    try:
        reader = dpkt.pcap.Reader(io.BytesIO(data))
    except (ValueError, dpkt.Error) as error:
        raise CaptureError(f"not a pcap file ({error})") from None
    link_type = reader.datalink() & 0x0FFFFFFF  # the high bits may say whether frames have FCS
    number = 0
    try:
        for number, (time, frame) in enumerate(reader, 1):
            yield _Frame(number, float(time), link_type, frame, None)
    except dpkt.Error:
        raise CaptureError(f"cut short inside the header of packet {number + 1}") from None


def _pcapng_frames(data: bytes) -> Iterator[_Frame]:
    """The packets of Enhanced Packet Blocks, section by section; other blocks are skipped.

    dpkt parses the blocks; its own pcapng reader is not used because it keeps neither packet
    comments nor the link type of any interface but the first.
    """
    little = True
    interfaces: list[tuple[int, float, int]] = []  # link type, time units a second, offset
    offset = number = 0
    while offset < len(data):
        head = data[offset : offset + 12]
        if len(head) < 12:
            raise CaptureError(f"cut short inside the block at offset {offset}")
        if head[:4] == _PCAPNG_MAGIC:  # a new section: its own byte order and interfaces
            if head[8:] not in (_PCAPNG_LITTLE, _PCAPNG_BIG):
                raise CaptureError(f"not a pcapng file: no byte-order magic at offset {offset}")
            little, interfaces = head[8:] == _PCAPNG_LITTLE, []
        elif offset == 0:
            raise CaptureError("not a pcapng file: it does not start with a Section Header Block")
        kind, length = struct.unpack_from("<II" if little else ">II", head)
        if length < 12 or length % 4 or offset + length > len(data):
            raise CaptureError(f"cut short inside the block at offset {offset}")
        block = data[offset : offset + length]
        try:
            if kind == _IDB:
                interfaces.append(_interface(block, little))
            elif kind == _EPB:
                number += 1
                packet = (
                    dpkt.pcapng.EnhancedPacketBlockLE if little else dpkt.pcapng.EnhancedPacketBlock
                )(block)
                if packet.iface_id >= len(interfaces):
                    raise CaptureError(f"packet {number} names an undescribed interface")
                link_type, units, shift = interfaces[packet.iface_id]
                time = shift + ((packet.ts_high << 32) | packet.ts_low) / units
                comments = [o.text for o in packet.opts if o.code == _OPT_COMMENT]
                comment = comments[0] if comments else None
                yield _Frame(number, time, link_type, packet.pkt_data, comment)
        except (dpkt.Error, struct.error, UnicodeDecodeError) as error:
            raise CaptureError(f"unreadable block at offset {offset}: {error!r}") from None
        offset += length


def _interface(block: bytes, little: bool) -> tuple[int, float, int]:
    """Link type, time units a second and time offset of an Interface Description Block."""
    idb = (
        dpkt.pcapng.InterfaceDescriptionBlockLE if little else dpkt.pcapng.InterfaceDescriptionBlock
    )(block)
    units, shift = 1e6, 0
    for option in idb.opts:
        if option.code == _OPT_TSRESOL:  # high bit set: a power of 2, else of 10
            value = option.data[0]
            units = 2.0 ** (value & 0x7F) if value & 0x80 else 10.0**value
        elif option.code == _OPT_TSOFFSET:
            (shift,) = struct.unpack("<q" if little else ">q", option.data)
    return idb.linktype, units, shift


@dataclass(frozen=True)
class _Segment:
    number: int
    time: float
    source: Endpoint
    target: Endpoint
    seq: int
    flags: int
    payload: bytes
    comment: str | None


def _segment(frame: _Frame) -> _Segment | None:
    """The TCP segment a frame carries, or ``None`` (not TCP over IP, or unreadable)."""
    if frame.link_type not in _LINK_TYPES:
        raise CaptureError(
            f"packet {frame.number}: link type {frame.link_type} is not read (only Ethernet, "
            "Linux cooked v1 and v2, BSD loopback and raw IP)"
        )
    try:
        ip = _ip_of(frame.link_type, frame.data)
    except (dpkt.Error, struct.error):
        return None
    if ip is None or not isinstance(ip.data, dpkt.tcp.TCP):
        return None
    tcp = ip.data
    declared = _tcp_length(ip)
    if declared is not None and len(tcp.data) < declared - 4 * tcp.off:
        raise CaptureError(
            f"packet {frame.number} holds {len(tcp.data)} of its "
            f"{declared - 4 * tcp.off} TCP payload bytes (captured with too small a snap "
            "length, or the file is cut short)"
        )
    source = (str(ipaddress.ip_address(ip.src)), int(tcp.sport))
    target = (str(ipaddress.ip_address(ip.dst)), int(tcp.dport))
    return _Segment(
        frame.number, frame.time, source, target, tcp.seq, tcp.flags, bytes(tcp.data), frame.comment
    )


def _ip_of(link_type: int, frame: bytes) -> Any:
    """The IPv4 or IPv6 packet (dpkt's) in a frame, or ``None``."""
    if link_type == _ETHERNET:
        packet = dpkt.ethernet.Ethernet(frame).data
    elif link_type == _SLL:
        packet = dpkt.sll.SLL(frame).data
    elif link_type == _SLL2:
        packet = dpkt.sll2.SLL2(frame).data
    else:
        # NULL and LOOP start with the address family in 4 bytes whose order and values
        # depend on the capturing system; the IP version in the next byte says as much.
        raw = frame[4:] if link_type in (_NULL, _LOOP) else frame
        version = raw[0] >> 4 if raw else 0
        packet = dpkt.ip.IP(raw) if version == 4 else dpkt.ip6.IP6(raw) if version == 6 else None
    return packet if isinstance(packet, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _tcp_length(ip: Any) -> int | None:
    """The TCP segment's length as the IP header gives it; ``None`` when it gives none (0:
    segmentation offload or an IPv6 jumbogram)."""
    if isinstance(ip, dpkt.ip.IP):
        return int(ip.len) - 4 * int(ip.hl) if ip.len else None
    extensions = sum(int(header.length) for header in ip.all_extension_headers)
    return int(ip.plen) - extensions if ip.plen else None


def _text(endpoint: Endpoint) -> str:
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Half:
    """One direction of a connection: its segments put in sequence order, overlaps dropped,
    and the bytes framed into APDUs as they become contiguous."""

    def __init__(self, stream: int, source: Endpoint, target: Endpoint, max_size: int) -> None:
        self.where = f"stream {stream} ({_text(source)} -> {_text(target)})"
        self.source = source
        self.syn_seq: int | None = None
        self.syn_offset: int | None = None
        self.lowest: int | None = None  # of the data offsets
        self._last_seq: int | None = None
        self._last_offset = 0
        self._next = self._base = self._apdu_start = 0
        self._pending: list[tuple[int, int, bytes, str | None]] = []  # heap by offset
        self._chunks: deque[tuple[int, str | None]] = deque()  # where each fed chunk starts
        self._framer = Framer(max_apdu_size=max_size)

    def offset(self, seq: int) -> int:
        """``seq`` unwrapped: taken as the nearest to the one before it, the offset from the
        first one seen (so a stream may wrap the 32-bit sequence space, and over 4 GiB)."""
        if self._last_seq is not None:
            step = (seq - self._last_seq + _HALF_SEQ_SPACE) % _SEQ_SPACE - _HALF_SEQ_SPACE
            self._last_offset += step
        self._last_seq = seq
        return self._last_offset

    def start(self) -> None:
        """Once every segment is known: the stream begins after the SYN, else at the lowest
        sequence number seen."""
        base = self.syn_offset + 1 if self.syn_offset is not None else self.lowest
        self._next = self._base = self._apdu_start = base or 0

    def add(self, offset: int, segment: _Segment) -> list[tuple[bytes, str | None]]:
        """Take one segment; the APDUs it completes, each with its first packet's comment."""
        heapq.heappush(self._pending, (offset, segment.number, segment.payload, segment.comment))
        while self._pending and self._pending[0][0] <= self._next:
            start, _, payload, comment = heapq.heappop(self._pending)
            fresh = payload[self._next - start :]  # empty for a retransmission of what we have
            if fresh:
                self._chunks.append((self._next, comment))
                self._framer.feed(fresh)
                self._next += len(fresh)
        found = []
        try:
            while (ber := self._framer.next_apdu()) is not None:
                while len(self._chunks) > 1 and self._chunks[1][0] <= self._apdu_start:
                    self._chunks.popleft()
                found.append((ber, self._chunks[0][1]))
                self._apdu_start += len(ber)
        except FramingError as error:
            raise CaptureError(f"{self.where}: {error}") from None
        return found

    def finish(self) -> None:
        if self._pending:
            missing = self._pending[0][0] - self._next
            raise CaptureError(
                f"{self.where}: {missing} bytes at offset {self._next - self._base} "
                "were not captured"
            )
        if self._framer.buffered:
            raise CaptureError(
                f"{self.where}: ends inside an APDU: {self._framer.buffered} bytes from "
                f"offset {self._apdu_start - self._base}"
            )


@dataclass
class _Connection:
    number: int
    first: Endpoint  # sender of the first packet seen
    second: Endpoint
    max_apdu_size: int
    halves: dict[Endpoint, _Half] = field(default_factory=dict)  # by sender
    syn_from: Endpoint | None = None  # who sent a SYN without ACK
    syn_ack_from: Endpoint | None = None
    ended: bool = False  # FIN or RST seen: a later SYN opens a new connection

    def half(self, source: Endpoint, target: Endpoint) -> _Half:
        if source not in self.halves:
            self.halves[source] = _Half(self.number, source, target, self.max_apdu_size)
        return self.halves[source]

    @property
    def client(self) -> Endpoint:
        """The SYN's sender; else the SYN-ACK's receiver; else the side with the higher port
        (the ephemeral one); else, on equal ports, the first packet's sender."""
        if self.syn_from is not None:
            return self.syn_from
        if self.syn_ack_from is not None:
            return self.second if self.syn_ack_from == self.first else self.first
        if self.first[1] != self.second[1]:
            return max(self.first, self.second, key=lambda endpoint: endpoint[1])
        return self.first

    def opened_anew_by(self, segment: _Segment) -> bool:
        """Whether a SYN starts another connection on the same addresses and ports."""
        if segment.flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK) != dpkt.tcp.TH_SYN:
            return False
        half = self.halves.get(segment.source)
        earlier = half.syn_seq if half is not None else None
        return self.ended or (earlier is not None and earlier != segment.seq)


def _reassemble(frames: Iterator[_Frame], max_apdu_size: int) -> list[CapturedApdu]:
    """Two passes: the first finds the connections, who opened each and where each
    direction's stream begins; the second frames the bytes in packet order."""
    connections: list[_Connection] = []
    current: dict[frozenset[Endpoint], _Connection] = {}
    data: list[tuple[_Connection, _Half, int, _Segment]] = []
    for frame in frames:
        segment = _segment(frame)
        if segment is None:
            continue
        key = frozenset((segment.source, segment.target))
        connection = current.get(key)
        if connection is None or connection.opened_anew_by(segment):
            number = len(connections)
            connection = _Connection(number, segment.source, segment.target, max_apdu_size)
            connections.append(connection)
            current[key] = connection
        half = connection.half(segment.source, segment.target)
        offset = half.offset(segment.seq)
        if segment.flags & dpkt.tcp.TH_SYN:
            half.syn_seq, half.syn_offset = segment.seq, offset
            offset += 1  # data in a SYN follows the SYN's own sequence number
            if segment.flags & dpkt.tcp.TH_ACK:
                connection.syn_ack_from = segment.source
            else:
                connection.syn_from = segment.source
        if segment.flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST):
            connection.ended = True
        if segment.payload and not segment.flags & dpkt.tcp.TH_RST:  # RST text is no data
            half.lowest = offset if half.lowest is None else min(half.lowest, offset)
            data.append((connection, half, offset, segment))
    for connection in connections:
        for half in connection.halves.values():
            half.start()
    apdus = []
    for connection, half, offset, segment in data:
        client = connection.client
        server = connection.second if client == connection.first else connection.first
        for ber, comment in half.add(offset, segment):
            apdus.append(
                CapturedApdu(
                    time=segment.time,
                    stream=connection.number,
                    from_client=half.source == client,
                    client=_text(client),
                    server=_text(server),
                    ber=ber,
                    comment=comment,
                )
            )
    for connection in connections:
        for half in connection.halves.values():
            half.finish()
    return apdus
