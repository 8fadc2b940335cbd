"""Reading captures (isoill.capture.reader) and the recorder's files (isoill.capture.recorder):
raw BER and hex, pcap and pcapng crafted packet by packet with dpkt, files the recorder
writes, and the real tools: tcpdump capturing yaz-illclient, tshark reading a recording."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import signal
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dpkt
import pytest
from paths import CAPTURES

from isoill.capture.reader import CapturedApdu, CaptureError, detect, read_capture
from isoill.capture.recorder import SEGMENT_SIZE, Recorder
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest
from isoill.codec.text import Text
from isoill.core.acknowledgement import acknowledgement

A = (CAPTURES / "yaz-illclient-2.ber").read_bytes()  # 293 bytes, indefinite lengths
B = (CAPTURES / "yaz-illclient-3.ber").read_bytes()  # 528 bytes
C = (CAPTURES / "yaz-illclient-1.ber").read_bytes()  # 100 bytes

ETHERNET, RAW, LOOP, SLL, SLL2, NULL = 1, 101, 108, 113, 276, 0


def big_request(size: int) -> bytes:
    """A real ILL-Request over ``size`` bytes: capture 2 with a long title."""
    base = decode(A)
    assert isinstance(base, ILLRequest)
    item = base.item_id.model_copy(update={"title": Text.of("x" * size)})
    return encode(base.model_copy(update={"item_id": item}))


# --- raw BER and hex ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.ber")), ids=lambda p: p.name)
def test_a_capture_is_one_apdu(path: Path) -> None:
    (apdu,) = read_capture(path)
    assert apdu == CapturedApdu(None, 0, True, None, None, path.read_bytes())


def test_raw_ber_back_to_back(tmp_path: Path) -> None:
    files = sorted(CAPTURES.glob("*.ber"))
    assert files
    stream = tmp_path / "all.ber"
    stream.write_bytes(b"".join(f.read_bytes() for f in files))
    apdus = read_capture(stream)
    assert [a.ber for a in apdus] == [f.read_bytes() for f in files]
    assert {(a.time, a.stream, a.from_client, a.client, a.server) for a in apdus} == {
        (None, 0, True, None, None)
    }
    assert read_capture(stream, "ber") == apdus


def test_hex_with_whitespace_and_comments(tmp_path: Path) -> None:
    text = (
        f"# two requests\n{A.hex(' ')}  # the first\n\n{B.hex().upper()[:100]}\n{B.hex()[100:]}\n"
    )
    path = tmp_path / "dump.txt"
    path.write_text(text)
    assert detect(text.encode()) == "hex"
    assert [a.ber for a in read_capture(path)] == [A, B]
    assert read_capture(path, "hex") == read_capture(path)


def test_bad_hex_and_truncated_ber_name_file_and_offset(tmp_path: Path) -> None:
    odd = tmp_path / "odd.txt"
    odd.write_text(A.hex()[:-1])
    with pytest.raises(CaptureError, match=r"odd\.txt: not hex text"):
        read_capture(odd)
    cut = tmp_path / "cut.ber"
    cut.write_bytes(A + B[:-10])
    with pytest.raises(CaptureError, match=r"cut\.ber: truncated APDU at offset 293 \(518 bytes\)"):
        read_capture(cut)
    garbage = tmp_path / "garbage.ber"
    garbage.write_bytes(A + b"\x00\x00")
    with pytest.raises(CaptureError, match=r"garbage\.ber: end-of-contents .*offset 293"):
        read_capture(garbage)


def test_unreadable_file_and_wrong_form(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"missing\.pcap: cannot read: No such file"):
        read_capture(tmp_path / "missing.pcap")
    ber = CAPTURES / "yaz-illclient-1.ber"
    with pytest.raises(CaptureError, match=r"yaz-illclient-1\.ber: not a pcap file"):
        read_capture(ber, "pcap")
    with pytest.raises(CaptureError, match="not a pcapng file"):
        read_capture(ber, "pcapng")
    with pytest.raises(CaptureError, match="unknown form 'xml'"):
        read_capture(ber, "xml")


def test_an_apdu_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.ber"
    path.write_bytes(B)
    with pytest.raises(CaptureError, match="exceeds"):
        read_capture(path, max_apdu_size=100)


# --- crafted captures --------------------------------------------------------------------


@dataclass
class Side:
    host: str
    port: int
    seq: int  # next sequence number it sends


@dataclass(frozen=True)
class Packet:
    time: float
    frame: bytes
    comment: str | None = None


class Conversation:
    """TCP segments between two sides, as frames of a link type, with their sequence numbers
    kept the way a real stack would."""

    def __init__(self, client: Side, server: Side, link: int = ETHERNET) -> None:
        self.client, self.server, self.link = client, server, link

    def segment(
        self,
        from_client: bool,
        flags: int,
        payload: bytes = b"",
        *,
        seq: int | None = None,
        advance: bool = True,
    ) -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        tcp = dpkt.tcp.TCP(
            sport=src.port,
            dport=dst.port,
            seq=src.seq if seq is None else seq % (1 << 32),
            ack=dst.seq,
            flags=flags,
            data=payload,
        )
        if advance:
            grow = len(payload) + (1 if flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)
            src.seq = (src.seq + grow) % (1 << 32)
        return frame(self.link, ip_packet(src.host, dst.host, tcp))

    def handshake(self) -> list[bytes]:
        return [
            self.segment(True, dpkt.tcp.TH_SYN),
            self.segment(False, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK),
            self.segment(True, dpkt.tcp.TH_ACK),
        ]

    def data(self, from_client: bool, payload: bytes) -> bytes:
        return self.segment(from_client, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, payload)

    def close(self) -> list[bytes]:
        ack_fin = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
        return [self.segment(True, ack_fin), self.segment(False, ack_fin)]


def ip_packet(src: str, dst: str, tcp: dpkt.tcp.TCP) -> bytes:
    if ":" in src:
        ip6 = dpkt.ip6.IP6(
            src=_packed(src), dst=_packed(dst), nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=tcp
        )
        ip6.plen = len(tcp)
        return bytes(ip6)
    return bytes(dpkt.ip.IP(src=_packed(src), dst=_packed(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp))


def _packed(host: str) -> bytes:
    return ipaddress.ip_address(host).packed


def frame(link: int, ip: bytes) -> bytes:
    """``ip`` behind the link-layer header of ``link``."""
    v6 = ip[0] >> 4 == 6
    ethertype = 0x86DD if v6 else 0x0800
    if link == ETHERNET:
        return (
            b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + struct.pack(">H", ethertype) + ip
        )
    if link == SLL:  # packet type, ARPHRD_LOOPBACK, address length, address, protocol
        return struct.pack(">HHH8sH", 0, 772, 0, b"", ethertype) + ip
    if link == SLL2:  # protocol, reserved, interface index, ARPHRD, packet type, address
        return struct.pack(">HHiHBB8s", ethertype, 0, 1, 772, 0, 0, b"") + ip
    if link == NULL:  # the capturing host's order; Linux's AF_INET6 is 10
        return struct.pack("=I", 10 if v6 else 2) + ip
    if link == LOOP:  # network order; OpenBSD's AF_INET6 is 24
        return struct.pack(">I", 24 if v6 else 2) + ip
    return ip


def write_pcap(path: Path, packets: list[Packet], link: int = ETHERNET, nano: bool = False) -> Path:
    with path.open("wb") as file:
        writer = dpkt.pcap.Writer(file, snaplen=262144, linktype=link, nano=nano)
        for packet in packets:
            writer.writepkt(packet.frame, ts=packet.time)
    return path


def write_pcapng(path: Path, packets: list[Packet], link: int = ETHERNET) -> Path:
    little = dpkt.pcapng.PcapngOptionLE
    with path.open("wb") as file:
        writer = dpkt.pcapng.Writer(file, snaplen=262144, linktype=link)
        for packet in packets:
            if packet.comment is None:
                writer.writepkt(packet.frame, ts=packet.time)
            else:
                opts = [little(code=dpkt.pcapng.PCAPNG_OPT_COMMENT, text=packet.comment), little()]
                epb = dpkt.pcapng.EnhancedPacketBlockLE(pkt_data=packet.frame, opts=opts)
                writer.writepkt(epb, ts=packet.time)
    return path


def timed(frames: list[bytes], start: float = 1000.0) -> list[Packet]:
    return [Packet(start + n, f) for n, f in enumerate(frames)]


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def summary(apdus: list[CapturedApdu]) -> list[tuple[int, bool, bytes]]:
    return [(a.stream, a.from_client, a.ber) for a in apdus]


@pytest.mark.parametrize("link", [ETHERNET, SLL, SLL2, NULL, LOOP, RAW])
@pytest.mark.parametrize("hosts", [("10.0.0.1", "10.0.0.2"), ("2001:db8::1", "2001:db8::2")])
def test_link_types_and_ip_versions(tmp_path: Path, link: int, hosts: tuple[str, str]) -> None:
    talk = Conversation(Side(hosts[0], 40001, 1000), Side(hosts[1], 1499, 9000), link)
    frames = [*talk.handshake(), talk.data(True, A), talk.data(False, C), *talk.close()]
    apdus = read_capture(write_pcap(tmp_path / "c.pcap", timed(frames), link))
    client, server = (f"[{h}]" if ":" in h else h for h in hosts)
    assert apdus == [
        CapturedApdu(1003.0, 0, True, f"{client}:40001", f"{server}:1499", A),
        CapturedApdu(1004.0, 0, False, f"{client}:40001", f"{server}:1499", C),
    ]


def test_out_of_order_retransmitted_overlapping_and_wrapping(tmp_path: Path) -> None:
    # The client's sequence numbers wrap past 2**32 inside the first APDU.
    talk = Conversation(Side("127.0.0.1", 40002, (1 << 32) - 150), Side("127.0.0.1", 1499, 7))
    frames = talk.handshake()
    stream = A + B  # 821 bytes: A ends at 293, inside the third segment
    base = talk.client.seq
    parts = [(offset, stream[offset : offset + 100]) for offset in range(0, len(stream), 100)]

    def piece(offset: int, data: bytes) -> bytes:
        return talk.segment(True, dpkt.tcp.TH_ACK, data, seq=base + offset, advance=False)

    order = [
        piece(*parts[0]),
        piece(*parts[2]),  # early: A cannot complete until part 1 arrives
        piece(*parts[1]),  # completes A (frame 6 of the capture, time 1005)
        piece(*parts[1]),  # retransmitted
        piece(250, stream[250:500]),  # overlaps parts 2, 3 and 4
        *(piece(*part) for part in parts[5:]),
        piece(len(stream) - 1, stream[-1:]),  # a keep-alive style resend of the last byte
    ]
    talk.client.seq = (base + len(stream)) % (1 << 32)
    frames += [*order, talk.data(False, C), *talk.close()]
    apdus = read_capture(write_pcap(tmp_path / "messy.pcap", timed(frames)))
    assert summary(apdus) == [(0, True, A), (0, True, B), (0, False, C)]
    assert apdus[0].time == 1005.0
    assert apdus[1].time == 1000.0 + 3 + len(order) - 2  # the last new part


def test_a_stream_of_many_segments_in_pcapng_with_comments(tmp_path: Path) -> None:
    talk = Conversation(Side("192.0.2.5", 51000, 5), Side("192.0.2.9", 499, 70000))
    packets = timed(talk.handshake())
    stream = A + B + C
    for n, part in enumerate(chunks(stream, 7)):
        comment = "first of A" if n == 0 else "holds the start of B" if n == 293 // 7 else None
        packets.append(Packet(2000.0 + n, talk.data(True, part), comment))
    apdus = read_capture(write_pcapng(tmp_path / "many.pcapng", packets))
    assert [(a.ber, a.comment) for a in apdus] == [
        (A, "first of A"),
        (B, "holds the start of B"),
        (C, None),
    ]
    assert apdus[2].time == 2000.0 + len(chunks(stream, 7)) - 1


def test_pcapng_interfaces_of_their_own_link_type_and_time_resolution(tmp_path: Path) -> None:
    # As dumpcap writes one capture on two interfaces: Ethernet in microseconds, and raw IP
    # in nanoseconds with a time offset of 1000 seconds.
    little = dpkt.pcapng.PcapngOptionLE
    nanoseconds = little(code=9, data=b"\x09")
    offset = little(code=14, data=struct.pack("<q", 1000))
    idbs = [
        dpkt.pcapng.InterfaceDescriptionBlockLE(linktype=ETHERNET),
        dpkt.pcapng.InterfaceDescriptionBlockLE(linktype=RAW, opts=[nanoseconds, offset, little()]),
    ]
    talk = Conversation(Side("127.0.0.1", 40020, 1), Side("127.0.0.1", 1499, 2))
    request = talk.data(True, A)
    talk.link = RAW
    reply = talk.data(False, C)
    path = tmp_path / "two.pcapng"
    with path.open("wb") as file:
        writer = dpkt.pcapng.Writer(file, idb=idbs)
        writer.writepkt(dpkt.pcapng.EnhancedPacketBlockLE(pkt_data=request), ts=5.0)
        epb = dpkt.pcapng.EnhancedPacketBlockLE(iface_id=1, pkt_data=reply)
        epb.ts_high, epb.ts_low = divmod(6_500_000_000, 1 << 32)
        file.write(bytes(epb))
    apdus = read_capture(path)
    assert [(a.from_client, a.ber, a.time) for a in apdus] == [(True, A, 5.0), (False, C, 1006.5)]


def test_connections_numbered_as_wireshark_does(tmp_path: Path) -> None:
    refused = Conversation(Side("127.0.0.1", 40010, 1), Side("127.0.0.1", 1499, 0))
    first = Conversation(Side("127.0.0.1", 40011, 100), Side("127.0.0.1", 1499, 200))
    again = Conversation(Side("127.0.0.1", 40011, 5000), Side("127.0.0.1", 1499, 6000))
    other = Conversation(Side("127.0.0.1", 40012, 300), Side("127.0.0.1", 1499, 400))
    frames = [
        refused.segment(True, dpkt.tcp.TH_SYN),
        refused.segment(False, dpkt.tcp.TH_RST | dpkt.tcp.TH_ACK),
        *first.handshake(),
        *other.handshake(),
        first.data(True, A),
        other.data(True, B),
        first.data(False, C),
        *first.close(),
        *again.handshake(),  # the same addresses and ports: a new connection
        again.data(True, C),
        other.data(False, A),
    ]
    apdus = read_capture(write_pcap(tmp_path / "conns.pcap", timed(frames)))
    assert summary(apdus) == [
        (1, True, A),
        (2, True, B),
        (1, False, C),
        (3, True, C),
        (2, False, A),
    ]
    clients = ["127.0.0.1:40011", "127.0.0.1:40012", "127.0.0.1:40011", "127.0.0.1:40011"]
    assert [a.client for a in apdus] == [*clients, "127.0.0.1:40012"]


def test_the_client_without_a_syn(tmp_path: Path) -> None:
    # Started after the handshake; the server speaks first: the higher port is the client.
    talk = Conversation(Side("127.0.0.1", 1499, 10), Side("127.0.0.1", 56000, 20))
    frames = [talk.data(False, C), talk.data(True, A)]
    apdus = read_capture(write_pcap(tmp_path / "late.pcap", timed(frames)))
    assert [(a.from_client, a.client, a.server) for a in apdus] == [
        (True, "127.0.0.1:56000", "127.0.0.1:1499"),
        (False, "127.0.0.1:56000", "127.0.0.1:1499"),
    ]
    # Only the SYN-ACK was captured: its receiver is the client, whatever the ports.
    talk = Conversation(Side("127.0.0.1", 2000, 10), Side("127.0.0.1", 60000, 20))
    synack = talk.segment(False, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
    frames = [synack, talk.data(False, C), talk.data(True, A)]
    (reply, request) = read_capture(write_pcap(tmp_path / "synack.pcap", timed(frames)))
    assert (reply.from_client, reply.client, request.from_client) == (
        False,
        "127.0.0.1:2000",
        True,
    )


def test_nanosecond_pcap(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40003, 1), Side("127.0.0.1", 1499, 2))
    packets = [Packet(1700000000.123456789, talk.data(True, A))]
    (apdu,) = read_capture(write_pcap(tmp_path / "nano.pcap", packets, nano=True))
    assert apdu.time == pytest.approx(1700000000.123456789, abs=1e-6)


def test_a_stream_cut_inside_an_apdu(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40004, 1), Side("127.0.0.1", 1499, 2))
    frames = [*talk.handshake(), talk.data(True, A), talk.data(True, B[:300])]
    path = write_pcap(tmp_path / "cut.pcap", timed(frames))
    message = (
        r"cut\.pcap: stream 0 \(127\.0\.0\.1:40004 -> 127\.0\.0\.1:1499\): ends inside an "
        r"APDU: 300 bytes from offset 293"
    )
    with pytest.raises(CaptureError, match=message):
        read_capture(path)


def test_bytes_never_captured(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40005, 1), Side("127.0.0.1", 1499, 2))
    frames = [*talk.handshake(), talk.data(True, A[:100])]
    talk.data(True, A[100:200])  # lost
    frames.append(talk.data(True, A[200:]))
    with pytest.raises(CaptureError, match=r"stream 0 .*: 100 bytes at offset 100 were not"):
        read_capture(write_pcap(tmp_path / "gap.pcap", timed(frames)))


def test_a_snap_length_too_small(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40006, 1), Side("127.0.0.1", 1499, 2))
    frames = [*talk.handshake(), talk.data(True, A)[:100]]
    with pytest.raises(CaptureError, match=r"packet 4 holds 46 of its 293 TCP payload bytes"):
        read_capture(write_pcap(tmp_path / "snap.pcap", timed(frames)))


def test_not_ber_in_a_stream(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40007, 1), Side("127.0.0.1", 80, 2))
    frames = [*talk.handshake(), talk.data(False, A), talk.data(True, b"\x00\x00GET /")]
    with pytest.raises(CaptureError, match=r"stream 0 \(127\.0\.0\.1:40007 -> .*\(offset 0\)"):
        read_capture(write_pcap(tmp_path / "http.pcap", timed(frames)))


def test_unsupported_link_type(tmp_path: Path) -> None:
    talk = Conversation(Side("127.0.0.1", 40008, 1), Side("127.0.0.1", 1499, 2), RAW)
    path = write_pcap(tmp_path / "ppp.pcap", timed([talk.data(True, A)]), link=9)
    with pytest.raises(CaptureError, match="packet 1: link type 9 is not read"):
        read_capture(path)


def test_non_tcp_packets_are_skipped(tmp_path: Path) -> None:
    udp = dpkt.udp.UDP(sport=53, dport=53, data=b"\x61\x03abc")
    packet = dpkt.ip.IP(src=_packed("127.0.0.1"), dst=_packed("127.0.0.1"), p=17, data=udp)
    talk = Conversation(Side("127.0.0.1", 40009, 1), Side("127.0.0.1", 1499, 2))
    frames = [frame(ETHERNET, bytes(packet)), b"\x00" * 10, talk.data(True, A)]
    assert [a.ber for a in read_capture(write_pcap(tmp_path / "mixed.pcap", timed(frames)))] == [A]


# --- the recorder's files ----------------------------------------------------------------


def record(directory: Path, form: str) -> tuple[Path, dict[int, tuple[bytes, bytes]]]:
    """Three connections (IPv4 twice, IPv6 once), both directions, one APDU over several
    segments; returns the file and each connection's bytes (client's, server's)."""
    big = big_request(3 * SEGMENT_SIZE)
    recorder = Recorder.open(directory, form)
    first = recorder.connection("127.0.0.1:40100", "127.0.0.1:1499", 100.0)
    second = recorder.connection("[::1]:40101", "[::1]:1499", 100.5)
    recorder.apdu(first, True, A, 101.0, "REQLIB -> RESPLIB ILL-Request")
    recorder.apdu(second, True, big, 101.5, "big")
    recorder.apdu(first, False, C, 102.0, "isoill -> REQLIB Status-Or-Error-Report")
    recorder.apdu(first, True, B, 102.5)
    recorder.apdu(second, False, A, 103.0)
    recorder.closed(first, 104.0)
    third = recorder.connection("127.0.0.1:40100", "127.0.0.1:1499", 105.0)  # port reused
    recorder.apdu(third, True, C, 106.0, "again")
    recorder.closed(third, 107.0)
    recorder.close()
    assert recorder.path.parent == directory
    return recorder.path, {first: (A + B, C), second: (big, A), third: (C, b"")}


@pytest.mark.parametrize("form", ["pcapng", "pcap"])
def test_reading_back_what_the_recorder_wrote(tmp_path: Path, form: str) -> None:
    path, _ = record(tmp_path, form)
    assert path.name.startswith("isoill-") and path.suffix == f".{form}"
    assert detect(path.read_bytes()) == form
    apdus = read_capture(path)
    big = big_request(3 * SEGMENT_SIZE)
    comments = form == "pcapng"
    v4, v6 = ("127.0.0.1:40100", "127.0.0.1:1499"), ("[::1]:40101", "[::1]:1499")
    assert apdus == [
        CapturedApdu(101.0, 0, True, *v4, A, "REQLIB -> RESPLIB ILL-Request" if comments else None),
        CapturedApdu(101.5, 1, True, *v6, big, "big" if comments else None),
        CapturedApdu(
            102.0, 0, False, *v4, C, "isoill -> REQLIB Status-Or-Error-Report" if comments else None
        ),
        CapturedApdu(102.5, 0, True, *v4, B),
        CapturedApdu(103.0, 1, False, *v6, A),
        CapturedApdu(106.0, 2, True, *v4, C, "again" if comments else None),
    ]


def test_one_file_per_run_and_flushed_as_it_goes(tmp_path: Path) -> None:
    first = Recorder.open(tmp_path, "pcapng")
    second = Recorder.open(tmp_path, "pcapng")  # same second: a name of its own
    assert first.path != second.path
    connection = first.connection("127.0.0.1:40200", "127.0.0.1:1499", 1.0)
    first.apdu(connection, True, A, 2.0)
    # Not closed: what is on disk is whole and readable, as after a crash.
    assert [a.ber for a in read_capture(first.path)] == [A]
    first.close()
    second.close()
    assert read_capture(second.path) == []


def test_a_file_cut_short(tmp_path: Path) -> None:
    path, _ = record(tmp_path, "pcapng")
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(CaptureError, match=r"cut\.pcapng: cut short inside the block at offset"):
        read_capture(cut)


def test_recording_failures_never_raise(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    recorder = Recorder.open(blocked / "captures", "pcapng")
    assert not recorder.recording
    number = recorder.connection("127.0.0.1:1", "127.0.0.1:2", 1.0)
    recorder.apdu(number, True, A, 1.0)
    recorder.closed(number, 2.0)
    recorder.close()
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full to make writes fail")
    recorder = Recorder(tmp_path / "full.pcapng", "pcapng", full.open("wb"))
    assert not recorder.recording  # the header's flush failed: recording off
    recorder.apdu(recorder.connection("127.0.0.1:1", "127.0.0.1:2", 1.0), True, A, 1.0)


# --- real tools ----------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package {package})")
    return path


def follow(tshark: str, path: Path, stream: int) -> tuple[str, str, bytes, bytes]:
    """``tshark -q -z follow,tcp,raw,N``: the two nodes and the bytes each sent."""
    done = subprocess.run(
        [tshark, "-r", str(path), "-q", "-z", f"follow,tcp,raw,{stream}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = done.stdout.splitlines()
    nodes = [line.split(": ", 1)[1] for line in lines if line.startswith("Node ")]
    body = lines[lines.index(next(x for x in lines if x.startswith("Node 1: "))) + 1 : -1]
    sent = [b"", b""]
    for line in body:
        sent[line.startswith("\t")] += bytes.fromhex(line.strip())
    return nodes[0], nodes[1], sent[0], sent[1]


@pytest.mark.parametrize("form", ["pcapng", "pcap"])
def test_tshark_follows_the_recorded_streams(tmp_path: Path, form: str) -> None:
    tshark = tool("tshark", "tshark")
    path, streams = record(tmp_path, form)
    for number, (client_bytes, server_bytes) in streams.items():
        client, server, from_client, from_server = follow(tshark, path, number)
        assert (from_client, from_server) == (client_bytes, server_bytes), number
        v6 = number == 1
        expected = ("[::1]:40101", "[::1]:1499") if v6 else ("127.0.0.1:40100", "127.0.0.1:1499")
        assert (client, server) == expected


@dataclass
class OneShot:
    """A loopback listener that answers one APDU with an acknowledgement and closes."""

    server: asyncio.Server
    port: int
    replies: list[bytes]


async def captured(pcap: Path, apdus: int, patience: float = 10.0) -> None:
    """Wait until tcpdump has written ``apdus`` APDUs to ``pcap`` (it writes each packet as it
    comes, with -U), or ``patience`` seconds have passed: a busy machine delays the last."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while loop.time() < deadline:
        with contextlib.suppress(CaptureError):
            if len(read_capture(pcap)) >= apdus:
                return
        await asyncio.sleep(0.05)


async def one_shot_listener() -> OneShot:
    replies: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        while (ber := framer.next_apdu()) is None:
            data = await reader.read(65536)
            if not data:
                writer.close()
                return
            framer.feed(data)
        reply = acknowledgement(ber, datetime.now(UTC))
        replies.append(reply)
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return OneShot(server, server.sockets[0].getsockname()[1], replies)


@pytest.fixture
def tcpdump() -> Iterator[str]:
    yield tool("tcpdump", "tcpdump")


@pytest.mark.asyncio
@pytest.mark.parametrize("interface", ["lo", "any"])  # Ethernet; Linux cooked (SLL2)
async def test_tcpdump_capture_of_yaz_illclient(
    tmp_path: Path, tcpdump: str, yaz_illclient: str, interface: str
) -> None:
    listener = await one_shot_listener()
    pcap = tmp_path / "yaz.pcap"
    capture = await asyncio.create_subprocess_exec(
        # --immediate-mode: else packets wait in the kernel's buffer, and SIGINT loses them
        tcpdump, "-i", interface, "--immediate-mode", "-U", "-w", str(pcap),
        "tcp", "port", str(listener.port),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert capture.stderr is not None
        said = b""
        while b"listening on" not in said:  # "any" says its data link type first
            line = await asyncio.wait_for(capture.stderr.readline(), 10)
            if not line:
                pytest.skip(f"tcpdump cannot capture here (not root?): {said.decode().strip()}")
            said += line
        client = await asyncio.create_subprocess_exec(
            yaz_illclient, "-D", "ill,item-id,title=Dune", f"tcp:127.0.0.1:{listener.port}",
            stdout=asyncio.subprocess.PIPE, cwd=tmp_path,
        )  # fmt: skip
        stdout, _ = await asyncio.wait_for(client.communicate(), 20)
        assert stdout.decode().strip() == "Ok"
        await captured(pcap, 2)  # the last packets reach tcpdump
    finally:
        if capture.returncode is None:
            capture.send_signal(signal.SIGINT)
        await asyncio.wait_for(capture.wait(), 10)
        listener.server.close()
    sent = (tmp_path / "req.apdu").read_bytes()
    apdus = read_capture(pcap)
    server = f"127.0.0.1:{listener.port}"
    assert [(a.stream, a.from_client, a.ber, a.server) for a in apdus] == [
        (0, True, sent, server),
        (0, False, listener.replies[0], server),
    ]
    assert apdus[0].client is not None and apdus[0].client.startswith("127.0.0.1:")
    assert apdus[0].time is not None and apdus[0].time <= (apdus[1].time or 0)
