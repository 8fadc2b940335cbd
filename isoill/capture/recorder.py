"""The daemon's recording of the APDUs it receives and sends, as a pcapng (or pcap) file that
Wireshark and tshark open and :func:`isoill.capture.reader.read_capture` reads back.

Each connection is written as TCP over IPv4 or IPv6 over Ethernet with its real addresses and
ports: a handshake when it is opened, the APDUs as data segments with consistent sequence and
acknowledgement numbers, and FINs when it is closed. Only the APDUs recorded are in the
stream, so the synthesized stream holds exactly the recorded APDUs. One file per daemon run,
flushed after every call. Any failure is logged once and turns recording off: it never
reaches the daemon. The format is in docs/capture.md.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any, BinaryIO

import dpkt

from isoill import logs, private

FORMS = ("pcapng", "pcap")
SEGMENT_SIZE = 65000  # payload bytes a segment: fits an IPv4 packet's 16-bit length
SNAP_LENGTH = 262144
_CLIENT_MAC, _SERVER_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
_SEQ_MASK = 0xFFFFFFFF
_SYN, _ACK, _PSH, _FIN = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
# dpkt's pcapng writer takes blocks in the host's byte order only.
_LITTLE = sys.byteorder == "little"
_SectionHeader = dpkt.pcapng.SectionHeaderBlockLE if _LITTLE else dpkt.pcapng.SectionHeaderBlock
_Interface = (
    dpkt.pcapng.InterfaceDescriptionBlockLE if _LITTLE else dpkt.pcapng.InterfaceDescriptionBlock
)
_Packet = dpkt.pcapng.EnhancedPacketBlockLE if _LITTLE else dpkt.pcapng.EnhancedPacketBlock
_Option = dpkt.pcapng.PcapngOptionLE if _LITTLE else dpkt.pcapng.PcapngOption

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def socket_address(name: object) -> str:
    """``ip:port`` (``[ip]:port`` for IPv6) of a socket address as asyncio gives it."""
    if isinstance(name, tuple) and len(name) >= 2:
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(name)


def _endpoint(text: str) -> tuple[Address, int]:
    host, _, port = text.rpartition(":")
    return ipaddress.ip_address(host.strip("[]")), int(port)


@dataclass
class _Connection:
    client: tuple[Address, int]
    server: tuple[Address, int]
    client_seq: int  # the next sequence number each side sends
    server_seq: int


class Recorder:
    """Writes the capture file of one daemon run; see the module's docstring."""

    def __init__(self, path: Path, form: str, file: BinaryIO | None) -> None:
        """Use :meth:`open`. ``file`` ``None``: recording is off."""
        self.path = path
        self.form = form
        self._file = file
        self._writer: Any = None
        self._connections: dict[int, _Connection] = {}
        self._numbers = count()
        self._ip_id = count(1)
        self.log = logs.get(component="capture", file=str(path))
        if file is not None:
            self._guard(self._start)

    @classmethod
    def open(cls, directory: Path, form: str = "pcapng") -> Recorder:
        """A new file ``isoill-YYYYmmddTHHMMSSZ.pcapng`` (``-1``, ``-2``... after it if that
        name is taken) in ``directory``, created if need be; both readable by the daemon's
        user alone (:mod:`isoill.private`). If it cannot be created, the failure is logged and
        the recorder records nothing."""
        if form not in FORMS:
            raise ValueError(f"unknown capture format {form!r} (known: {', '.join(FORMS)})")
        stem = f"isoill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        path = directory / f"{stem}.{form}"
        try:
            private.make_directory(directory)
            for number in count(1):
                try:
                    file = private.open_new(path, exclusive=True)
                    break
                except FileExistsError:
                    path = directory / f"{stem}-{number}.{form}"
        except OSError as error:
            recorder = cls(path, form, None)
            recorder.log.error("cannot record: recording off", error=repr(error))
            return recorder
        return cls(path, form, file)

    @property
    def recording(self) -> bool:
        return self._file is not None

    def connection(self, client: str, server: str, time: float) -> int:
        """A connection from ``client`` to ``server`` (``ip:port``, ``[ip]:port``) opened at
        ``time`` (seconds since the epoch): writes its handshake; returns its number, which
        is Wireshark's ``tcp.stream`` for it."""
        number = next(self._numbers)
        self._guard(self._open_connection, number, client, server, time)
        return number

    def apdu(
        self,
        connection: int,
        from_client: bool,
        ber: bytes,
        time: float,
        comment: str | None = None,
    ) -> None:
        """One APDU on a connection, as one data segment or more (the first one carrying
        ``comment``, in pcapng); then the file is flushed."""
        self._guard(self._write_apdu, connection, from_client, ber, time, comment)

    def closed(self, connection: int, time: float) -> None:
        """The connection's end: FIN from the client, FIN from the server, the last ACK."""
        self._guard(self._close_connection, connection, time)

    def close(self) -> None:
        """Closes the file; later calls record nothing."""
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as error:
                self.log.error("capture file not closed cleanly", error=repr(error))

    def _guard(self, action: Callable[..., None], *args: Any) -> None:
        """Run ``action`` unless recording is off; any failure turns it off, logged once."""
        if self._file is None:
            return
        try:
            action(*args)
        except Exception as error:
            self.log.error("recording failed: recording off", error=repr(error))
            self.close()

    def _start(self) -> None:
        if self.form == "pcap":
            self._writer = dpkt.pcap.Writer(self._file, snaplen=SNAP_LENGTH)
        else:
            shb = _SectionHeader(
                opts=[_Option(code=dpkt.pcapng.PCAPNG_OPT_SHB_USERAPPL, data=b"isoill"), _Option()]
            )
            description = b"APDUs recorded by the isoill gateway, on synthesized TCP"
            idb = _Interface(
                snaplen=SNAP_LENGTH,
                opts=[
                    _Option(code=dpkt.pcapng.PCAPNG_OPT_IF_NAME, data=b"isoill"),
                    _Option(code=dpkt.pcapng.PCAPNG_OPT_IF_DESCRIPTION, data=description),
                    _Option(),
                ],
            )
            self._writer = dpkt.pcapng.Writer(self._file, shb=shb, idb=idb)
        self._flush()
        self.log.info("recording")

    def _open_connection(self, number: int, client: str, server: str, time: float) -> None:
        # Initial sequence numbers that differ from one connection to the next, as real
        # ones do, so a reused address and port pair still reads as a new connection.
        isn = (number * 0x9E3779B9) & _SEQ_MASK
        state = _Connection(_endpoint(client), _endpoint(server), isn, isn ^ 0x80000000)
        self._connections[number] = state
        self._segment(state, True, time, _SYN, b"", None, ack=0)
        state.client_seq = (state.client_seq + 1) & _SEQ_MASK
        self._segment(state, False, time, _SYN | _ACK, b"", None)
        state.server_seq = (state.server_seq + 1) & _SEQ_MASK
        self._segment(state, True, time, _ACK, b"", None)
        self._flush()

    def _write_apdu(
        self, number: int, from_client: bool, ber: bytes, time: float, comment: str | None
    ) -> None:
        state = self._connections[number]
        for start in range(0, len(ber), SEGMENT_SIZE):
            chunk = ber[start : start + SEGMENT_SIZE]
            self._segment(state, from_client, time, _PSH | _ACK, chunk, comment)
            comment = None
            if from_client:
                state.client_seq = (state.client_seq + len(chunk)) & _SEQ_MASK
            else:
                state.server_seq = (state.server_seq + len(chunk)) & _SEQ_MASK
        self._flush()

    def _close_connection(self, number: int, time: float) -> None:
        state = self._connections.pop(number)
        self._segment(state, True, time, _FIN | _ACK, b"", None)
        state.client_seq = (state.client_seq + 1) & _SEQ_MASK
        self._segment(state, False, time, _FIN | _ACK, b"", None)
        state.server_seq = (state.server_seq + 1) & _SEQ_MASK
        self._segment(state, True, time, _ACK, b"", None)
        self._flush()

    def _segment(
        self,
        state: _Connection,
        from_client: bool,
        time: float,
        flags: int,
        payload: bytes,
        comment: str | None,
        ack: int | None = None,
    ) -> None:
        """One Ethernet frame of the connection, written; ``ack`` defaults to the next
        sequence number of the other side."""
        if from_client:
            (src, sport), (dst, dport) = state.client, state.server
            seq, other, macs = state.client_seq, state.server_seq, (_CLIENT_MAC, _SERVER_MAC)
        else:
            (src, sport), (dst, dport) = state.server, state.client
            seq, other, macs = state.server_seq, state.client_seq, (_SERVER_MAC, _CLIENT_MAC)
        tcp = dpkt.tcp.TCP(
            sport=sport,
            dport=dport,
            seq=seq,
            ack=other if ack is None else ack,
            flags=flags,
            win=65535,
            data=payload,
        )
        if src.version == 4:
            ip = dpkt.ip.IP(
                src=src.packed,
                dst=dst.packed,
                p=dpkt.ip.IP_PROTO_TCP,
                id=next(self._ip_id) & 0xFFFF,
                ttl=64,
                df=1,
                data=tcp,
            )
            ethertype = dpkt.ethernet.ETH_TYPE_IP
        else:
            ip = dpkt.ip6.IP6(src=src.packed, dst=dst.packed, nxt=dpkt.ip.IP_PROTO_TCP, hlim=64)
            ip.data, ip.plen = tcp, len(tcp)
            ethertype = dpkt.ethernet.ETH_TYPE_IP6
        frame = bytes(dpkt.ethernet.Ethernet(src=macs[0], dst=macs[1], type=ethertype, data=ip))
        if self.form == "pcap" or comment is None:
            self._writer.writepkt(frame, ts=time)
            return
        block = _Packet(
            pkt_data=frame,
            opts=[_Option(code=dpkt.pcapng.PCAPNG_OPT_COMMENT, text=comment), _Option()],
        )
        self._writer.writepkt(block, ts=time)

    def _flush(self) -> None:
        assert self._file is not None
        self._file.flush()


class Tap:
    """One connection of the daemon as the recorder sees it: written into the capture at its
    first recorded APDU, so a connection that has none leaves no trace."""

    def __init__(self, recorder: Recorder | None, client: str, server: str) -> None:
        self.recorder = recorder
        self.client = client
        self.server = server
        self._number: int | None = None

    def apdu(self, from_client: bool, ber: bytes, time: float, comment: str | None) -> None:
        if self.recorder is None:
            return
        if self._number is None:
            self._number = self.recorder.connection(self.client, self.server, time)
        self.recorder.apdu(self._number, from_client, ber, time, comment)

    def close(self, time: float) -> None:
        if self.recorder is not None and self._number is not None:
            self.recorder.closed(self._number, time)
