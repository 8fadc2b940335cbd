"""Robustness of the stream framer (isoill.codec.framing): no sockets, bytes in, APDUs out."""

from __future__ import annotations

import random
import sys
from contextlib import nullcontext
from types import FrameType
from unittest import mock

import pytest
from apdu_examples import full_apdu
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import CAPTURES

from isoill.codec import framing, plan
from isoill.codec.ber import MAX_TAG_OCTETS, read_header
from isoill.codec.encoder import encode
from isoill.codec.errors import ApduTooLarge, FramingError, NestingTooDeep, TooManyElements
from isoill.codec.framing import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, Framer


def capture(number: int) -> bytes:
    return (CAPTURES / f"yaz-illclient-{number}.ber").read_bytes()


CAPTURE_BYTES = [capture(n) for n in (1, 2, 3)]


def hexb(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def drain(framer: Framer) -> list[bytes]:
    out = []
    while (apdu := framer.next_apdu()) is not None:
        out.append(apdu)
    return out


def frame_in_chunks(data: bytes, sizes: list[int] | None = None, **limits: int) -> list[bytes]:
    """Feed ``data`` in chunks of the given sizes (the rest at once), draining after each."""
    framer = Framer(**limits)
    out: list[bytes] = []
    pos = 0
    for size in sizes or []:
        framer.feed(data[pos : pos + size])
        pos += size
        out += drain(framer)
    framer.feed(data[pos:])
    out += drain(framer)
    assert framer.buffered == 0
    return out


def frame_bytewise(data: bytes, **limits: int) -> list[bytes]:
    return frame_in_chunks(data, [1] * len(data), **limits)


def first_error(data: bytes, sizes: list[int] | None = None, **limits: int) -> FramingError:
    framer = Framer(**limits)
    with pytest.raises(FramingError) as info:
        pos = 0
        for size in [*(sizes or []), len(data)]:
            framer.feed(data[pos : pos + size])
            pos += size
            drain(framer)
    return info.value


# --- the three real captures ------------------------------------------------------------------


def test_captures_are_what_the_readme_says() -> None:
    assert [len(c) for c in CAPTURE_BYTES] == [100, 293, 528]
    assert CAPTURE_BYTES[1][:4] == hexb("61 80 30 80")
    assert CAPTURE_BYTES[1].endswith(hexb("00 00 00 00"))


def test_captures_back_to_back_fed_whole() -> None:
    assert frame_in_chunks(b"".join(CAPTURE_BYTES)) == CAPTURE_BYTES


@pytest.mark.parametrize("seed", range(20))
def test_captures_back_to_back_random_chunks(seed: int) -> None:
    stream = b"".join(CAPTURE_BYTES)
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < len(stream):
        sizes.append(rng.choice([0, 1, 2, 3, 5, 7, 13, 64, 100, 257]))
    assert frame_in_chunks(stream, sizes) == CAPTURE_BYTES


def test_captures_back_to_back_one_byte_at_a_time() -> None:
    assert frame_bytewise(b"".join(CAPTURE_BYTES)) == CAPTURE_BYTES


def test_partial_apdu_returns_none_until_complete() -> None:
    data = CAPTURE_BYTES[2]
    framer = Framer()
    for i, octet in enumerate(data[:-1]):
        framer.feed(bytes((octet,)))
        assert framer.next_apdu() is None, f"APDU returned after {i + 1} of {len(data)} bytes"
        assert framer.buffered == i + 1
    framer.feed(data[-1:])
    assert framer.next_apdu() == data
    assert framer.next_apdu() is None
    assert framer.buffered == 0


def test_buffered_reflects_leftovers() -> None:
    one, two, _ = CAPTURE_BYTES
    framer = Framer()
    assert framer.buffered == 0
    framer.feed(one + two[:10])
    assert framer.buffered == len(one) + 10
    assert framer.next_apdu() == one
    assert framer.buffered == 10
    assert framer.next_apdu() is None
    assert framer.buffered == 10
    framer.feed(two[10:] + one)
    assert framer.buffered == len(two) - 10 + len(one) + 10
    assert framer.next_apdu() == two
    assert framer.buffered == len(one)
    assert framer.next_apdu() == one
    assert framer.buffered == 0


# --- valid encodings --------------------------------------------------------------------------

VALID = {
    "zero-length primitive": "04 00",
    "zero-length constructed": "30 00",
    "zero-length APDU": "61 00",
    "empty indefinite": "30 80 00 00",
    "short-form length 127": "04 7f" + "41" * 127,
    "long-form 81 xx": "04 81 80" + "41" * 128,
    "long-form 81 xx, small value": "04 81 03 41 42 43",
    "long-form 82 xx xx": "04 82 01 00" + "42" * 256,
    "long-form 82 on a constructed": "61 82 00 06 30 82 00 02 04 00",
    "8-octet length": "04 88 00 00 00 00 00 00 00 02 41 42",
    "length with leading zero octets": "04 84 00 00 00 01 41",
    "long-form tag bf 2e": "bf 2e 03 1b 01 41",
    "long-form tag bf 31": "bf 31 04 30 02 02 00",
    "long-form tag 9f 1f primitive": "9f 1f 01 63",
    "tag number with 5 octets": "1f 8f ff ff ff 7f 00",
    "long tags in an indefinite APDU": "61 80 30 80 bf 2e 80 1b 01 41 00 00 bf 31 00 00 00 00 00",
    "nested indefinite": "61 80 30 80 a1 80 a0 80 1b 01 41 00 00 00 00 00 00 00 00",
    "zero-length constructed inside indefinite": "61 80 30 80 a3 00 a4 00 af 00 00 00 00 00",
    "zero-length constructed inside definite": "61 06 30 04 a3 00 a4 00",
    "indefinite inside definite": "30 06 30 80 04 00 00 00",
    "definite inside indefinite, long length": "30 80 04 81 80" + "43" * 128 + "00 00",
    "primitive ending exactly at parent end": "30 05 04 03 41 42 43",
    "64 levels of indefinite nesting": "30 80" * 64 + "00 00" * 64,
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_element_framed_whole(text: str) -> None:
    data = hexb(text)
    assert frame_in_chunks(data) == [data]
    assert frame_bytewise(data) == [data]
    assert frame_bytewise(data + data + data) == [data, data, data]
    # followed by the start of another element: must not be swallowed
    framer = Framer()
    framer.feed(data + hexb("61 80 30"))
    assert framer.next_apdu() == data
    assert framer.next_apdu() is None
    assert framer.buffered == 3


# --- invalid encodings: exact class and stream offset -----------------------------------------

INVALID = {
    "indefinite length on a primitive": ("04 80", FramingError, 1),
    "indefinite length on a primitive, nested": ("61 80 30 80 80 80", FramingError, 5),
    "end-of-contents at the top": ("00 00", FramingError, 0),
    "end-of-contents inside a definite element": ("30 04 00 00 04 00", FramingError, 2),
    "end-of-contents with a non-zero second octet": ("30 80 00 01", FramingError, 2),
    "child overrunning its parent": ("30 03 04 05 41 42 43 44 45", FramingError, 2),
    "grandchild overrunning its parent": ("61 05 30 03 04 02 41 42", FramingError, 4),
    "constructed child overrunning its parent": ("30 04 30 05 04 03 41 42 43", FramingError, 2),
    "child header running past its parent": ("30 02 04 81 05 41 42 43 44 45", FramingError, 2),
    "second child overrunning its parent": ("30 04 04 00 04 01 41 42", FramingError, 4),
    "indefinite child's end-of-contents outside its parent": (
        "30 02 30 80 00 00",
        FramingError,
        4,
    ),
    "indefinite child's content outside its parent": (
        "30 02" + "30 80" * (DEFAULT_MAX_DEPTH + 5),
        FramingError,
        4,
    ),
    "length of 9 octets": ("04 89 00 00 00 00 00 00 00 00 01 41", FramingError, 1),
    "length of 9 octets, nested": ("30 80 04 89 00 00 00 00 00 00 00 00 01 41", FramingError, 3),
    "reserved length ff": ("04 ff", FramingError, 1),
    "reserved length ff on a constructed": ("61 80 30 ff", FramingError, 3),
    "tag number with a leading zero octet": ("1f 80 01 00", FramingError, 1),
    "tag number with too many octets": (
        "1f" + "81" * MAX_TAG_OCTETS + "01 00",
        FramingError,
        1 + MAX_TAG_OCTETS,
    ),
    "APDU of 1 GiB": ("61 84 40 00 00 00", ApduTooLarge, 0),
    "child of 1 GiB in an indefinite APDU": ("61 80 30 80 04 84 40 00 00 00", ApduTooLarge, 4),
    "too deep": ("30 80" * (DEFAULT_MAX_DEPTH + 1), NestingTooDeep, 2 * DEFAULT_MAX_DEPTH),
}


@pytest.mark.parametrize(("text", "error", "offset"), INVALID.values(), ids=list(INVALID.keys()))
def test_invalid_element_refused(text: str, error: type[FramingError], offset: int) -> None:
    data = hexb(text)
    for sizes in (None, [1] * len(data)):
        failure = first_error(data, sizes)
        assert type(failure) is error, f"{failure!r} is not {error.__name__}"
        assert failure.offset == offset, str(failure)
        assert f"offset {offset}" in str(failure)


STREAM_CASES = [
    "indefinite length on a primitive, nested",
    "end-of-contents at the top",
    "child overrunning its parent",
    "grandchild overrunning its parent",
    "reserved length ff on a constructed",
    "tag number with a leading zero octet",
    "APDU of 1 GiB",
    "child of 1 GiB in an indefinite APDU",
    "too deep",
]


@pytest.mark.parametrize(
    ("text", "error", "offset"), [INVALID[name] for name in STREAM_CASES], ids=STREAM_CASES
)
def test_invalid_element_offset_counts_from_stream_start(
    text: str, error: type[FramingError], offset: int
) -> None:
    """After two good APDUs, the offset is a stream offset, not one within the APDU."""
    prefix = CAPTURE_BYTES[0] + CAPTURE_BYTES[1]
    framer = Framer()
    framer.feed(prefix + hexb(text))
    assert framer.next_apdu() == CAPTURE_BYTES[0]
    assert framer.next_apdu() == CAPTURE_BYTES[1]
    with pytest.raises(error) as info:
        framer.next_apdu()
    assert type(info.value) is error
    assert info.value.offset == len(prefix) + offset


def test_tag_number_at_the_octet_limit_is_accepted() -> None:
    data = hexb("1f" + "81" * (MAX_TAG_OCTETS - 1) + "01 00")
    assert frame_in_chunks(data) == [data]


@pytest.mark.parametrize("text", ["04 80", "00 00", "61 84 40 00 00 00", "30 80" * 65])
def test_after_an_error_every_call_raises_again(text: str) -> None:
    framer = Framer()
    framer.feed(CAPTURE_BYTES[0] + hexb(text))
    assert framer.next_apdu() == CAPTURE_BYTES[0]
    with pytest.raises(FramingError) as first:
        framer.next_apdu()
    buffered = framer.buffered
    framer.feed(CAPTURE_BYTES[1])  # a valid APDU after the error changes nothing
    for _ in range(3):
        with pytest.raises(FramingError) as again:
            framer.next_apdu()
        assert type(again.value) is type(first.value)
        assert again.value.offset == first.value.offset
        assert str(again.value) == str(first.value)
    assert framer.buffered == buffered


# --- size limit -------------------------------------------------------------------------------


def test_apdu_announcing_one_gib_refused_right_after_the_header() -> None:
    header = hexb("61 84 40 00 00 00")
    framer = Framer()
    for octet in header[:-1]:
        framer.feed(bytes((octet,)))
        assert framer.next_apdu() is None
    framer.feed(header[-1:])
    with pytest.raises(ApduTooLarge) as info:
        framer.next_apdu()
    assert info.value.offset == 0
    assert framer.buffered == len(header)  # not a byte of content was needed
    framer.feed(b"\x00" * 4096)
    assert framer.buffered == len(header)  # nor is any buffered afterwards
    with pytest.raises(ApduTooLarge):
        framer.next_apdu()


@pytest.mark.parametrize("limit", [100, 1000, 4096])
def test_definite_apdu_exactly_at_the_limit(limit: int) -> None:
    header = bytes((0x04, 0x82)) + (limit - 4).to_bytes(2, "big")
    data = header + b"A" * (limit - 4)
    assert frame_in_chunks(data, max_apdu_size=limit) == [data]
    bigger = bytes((0x04, 0x82)) + (limit - 3).to_bytes(2, "big")
    framer = Framer(max_apdu_size=limit)
    framer.feed(bigger)
    with pytest.raises(ApduTooLarge):
        framer.next_apdu()


def test_indefinite_apdu_growing_past_the_limit() -> None:
    limit = 1000
    framer = Framer(max_apdu_size=limit)
    framer.feed(hexb("61 80 30 80"))
    sent = 4
    child = hexb("a4 0a 1b 08") + b"ABCDEFGH"  # 12 bytes
    while True:
        framer.feed(child)
        sent += len(child)
        if sent <= limit:
            assert framer.next_apdu() is None, f"{sent} bytes"
            continue
        with pytest.raises(ApduTooLarge) as info:
            framer.next_apdu()
        break
    assert sent - len(child) <= limit < sent  # raised by the first child that passes the limit
    assert info.value.offset == sent - len(child)


def test_indefinite_apdu_at_the_limit_is_accepted() -> None:
    data = hexb("61 80 30 80 04 02 41 42 00 00 00 00")
    assert frame_in_chunks(data, max_apdu_size=len(data)) == [data]


def test_indefinite_apdu_whose_end_of_contents_pass_the_limit() -> None:
    """The end-of-contents octets count towards the APDU's size like any others."""
    data = hexb("61 80 30 80 04 02 41 42 00 00 00 00")
    framer = Framer(max_apdu_size=len(data) - 2)
    framer.feed(data)
    with pytest.raises(ApduTooLarge):
        framer.next_apdu()


# --- nesting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 5, DEFAULT_MAX_DEPTH])
def test_ten_thousand_deep_indefinite_nesting(depth: int) -> None:
    data = hexb("30 80") * 10_000
    framer = Framer(max_depth=depth)
    framer.feed(data)
    with pytest.raises(NestingTooDeep) as info:
        framer.next_apdu()
    assert info.value.offset == 2 * depth  # the header of level depth + 1


def test_definite_nesting_too_deep() -> None:
    data = hexb("04 00")
    levels = DEFAULT_MAX_DEPTH + 10
    for _ in range(levels):
        data = bytes((0x30, 0x82)) + len(data).to_bytes(2, "big") + data
    framer = Framer()
    framer.feed(data)
    with pytest.raises(NestingTooDeep) as info:
        framer.next_apdu()
    assert info.value.offset == 4 * DEFAULT_MAX_DEPTH


def test_deep_nesting_does_not_recurse() -> None:
    """A framer allowed 10,000 levels walks them in a loop, not on the Python stack."""
    levels = 10_000
    data = hexb("30 80") * levels + hexb("04 01 41") + hexb("00 00") * levels
    framer = Framer(max_depth=levels, max_elements=levels + 1)
    framer.feed(data)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(_stack()) + 60)
    try:
        apdu = framer.next_apdu()
    finally:
        sys.setrecursionlimit(old)
    assert apdu == data


def _stack() -> list[object]:
    frames: list[object] = []
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


# --- element count ----------------------------------------------------------------------------


def test_apdu_of_too_many_elements_refused() -> None:
    data = _big_indefinite_apdu(100)
    elements = 2 * 100 + 5  # headers; end-of-contents octets are none
    framer = Framer(max_elements=elements - 1)
    framer.feed(data)
    with pytest.raises(TooManyElements) as info:
        framer.next_apdu()
    assert info.value.offset == len(data) - 7  # the last header: 1b 01 41, then 4 x 00


def test_element_count_is_per_apdu_and_fed_bytewise_alike() -> None:
    data = _big_indefinite_apdu(100) * 3
    elements = 2 * 100 + 5
    assert (
        frame_in_chunks(data, [1] * len(data), max_elements=elements)
        == [data[: len(data) // 3]] * 3
    )
    with pytest.raises(TooManyElements):
        frame_in_chunks(data, [1] * len(data), max_elements=elements - 1)


def test_default_element_limit_is_far_above_real_apdus() -> None:
    assert DEFAULT_MAX_ELEMENTS >= 25 * 357  # the fullest APDU of tests/apdu_examples.py
    data = _big_indefinite_apdu(DEFAULT_MAX_ELEMENTS // 2)
    framer = Framer()
    framer.feed(data)
    with pytest.raises(TooManyElements):
        framer.next_apdu()


# --- cost of feeding byte by byte -------------------------------------------------------------


def _big_indefinite_apdu(items: int) -> bytes:
    body = hexb("a4 80 1b 03 41 42 43 00 00") * items
    return hexb("61 80 30 80 80 01 02") + body + hexb("bf 2e 82 00 03 1b 01 41 00 00 00 00")


@pytest.mark.parametrize("items", [100, 2000])
def test_bytewise_feeding_is_linear(items: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def counting(buf: bytes | bytearray, pos: int) -> tuple[int, bool, int, int]:
        nonlocal calls
        calls += 1
        return read_header(buf, pos)

    monkeypatch.setattr(framing, "read_header", counting)
    data = _big_indefinite_apdu(items)
    elements = 3 * items + 5
    framer = Framer()
    positions = []
    for i in range(len(data) - 1):
        framer.feed(data[i : i + 1])
        assert framer.next_apdu() is None
        positions.append(framer._pos)
    framer.feed(data[-1:])
    assert framer.next_apdu() == data
    # every header is read once when complete, plus at most one failed attempt per byte fed
    assert calls <= len(data) + elements, f"{calls} header reads for {len(data)} bytes"
    assert positions == sorted(positions), "the walk went backwards"


def test_bytewise_cost_independent_of_what_came_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading byte n costs the same whether n is 100 or 100,000: total reads scale with size."""
    counts = []
    for items in (500, 5000):
        calls = 0

        def counting(buf: bytes | bytearray, pos: int) -> tuple[int, bool, int, int]:
            nonlocal calls
            calls += 1
            return read_header(buf, pos)

        monkeypatch.setattr(framing, "read_header", counting)
        data = _big_indefinite_apdu(items)
        framer = Framer(max_elements=2 * items + 5)
        for i in range(len(data)):
            framer.feed(data[i : i + 1])
            framer.next_apdu()
        counts.append((calls, len(data)))
    (small_calls, small_len), (big_calls, big_len) = counts
    assert big_calls / big_len <= 1.1 * small_calls / small_len


# --- the one-pass check of definite-length APDUs ----------------------------------------------
#
# A definite-length APDU whose bytes are all here is checked in one tight pass (framing._sound);
# anything that pass does not accept goes through the general walk. Whatever the bytes, the
# framer must return and refuse exactly what the general walk alone would.


def outcome(data: bytes, sizes: list[int], general: bool, **limits: int) -> object:
    """What framing ``data`` fed in chunks gives: the APDUs and the bytes left over, or the
    error and its offset."""
    framer = Framer(**limits)
    out: list[bytes] = []
    with mock.patch.object(framing, "_sound", lambda *_: False) if general else nullcontext():
        try:
            pos = 0
            for size in [*sizes, len(data)]:
                framer.feed(data[pos : pos + size])
                pos += size
                out += drain(framer)
        except FramingError as error:
            return type(error), error.offset, str(error)
    return out, framer.buffered


def definite(name: str, variant: int) -> bytes:
    return encode(full_apdu(name, variant))


@st.composite
def definite_streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """Real and full APDUs back to back, some bytes changed, and how they are fed."""
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(CAPTURE_BYTES),
                st.builds(definite, st.sampled_from(list(plan.APDUS)), st.integers(0, 5)),
            ),
            min_size=1,
            max_size=3,
        )
    )
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    sizes = draw(st.lists(st.integers(1, 400), max_size=4))
    return bytes(data), sizes


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(definite_streams(), st.sampled_from([(64, 10_000), (6, 10_000), (64, 40)]))
def test_one_pass_check_agrees_with_the_general_walk(
    stream: tuple[bytes, list[int]], limits: tuple[int, int]
) -> None:
    data, sizes = stream
    depth, elements = limits
    fast = outcome(data, sizes, False, max_depth=depth, max_elements=elements)
    assert fast == outcome(data, sizes, True, max_depth=depth, max_elements=elements)


def test_one_pass_check_takes_real_apdus() -> None:
    """The definite-length capture and every full example pass the one-pass check: the
    general walk is only for what it does not take (and for indefinite-length APDUs, such as
    the other two captures)."""
    examples = [definite(name, 0) for name in plan.APDUS]
    assert CAPTURE_BYTES[0][1] < 0x80 == CAPTURE_BYTES[1][1] == CAPTURE_BYTES[2][1]
    for data in [CAPTURE_BYTES[0], *examples]:
        assert framing._sound(bytearray(data), len(data), DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS)
    long_length = hexb("61 84 00 00 00 05 30 03 80 01 02")
    assert framing._sound(bytearray(long_length), len(long_length), 64, 100)
    inner_indefinite = hexb("61 07 30 80 80 01 02 00 00")
    assert not framing._sound(bytearray(inner_indefinite), 9, 64, 100)
    assert frame_in_chunks(inner_indefinite) == [inner_indefinite]
