"""Cutting one component out of an APDU's BER: the rest byte for byte, only outer lengths change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apdu_examples import full_apdu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import CAPTURES

from isoill.codec import plan
from isoill.codec.ber import CONTEXT, INDEFINITE, encode_header, read_header, tag_key
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.models import ClientId, ILLRequest
from isoill.codec.splice import present_fields, without_field
from isoill.codec.text import Text
from isoill.core import reports
from isoill.core.acknowledgement import acknowledgement

CLIENT_ID = tag_key(CONTEXT, 15)
CAPTURE_FILES = sorted(CAPTURES.glob("*.ber"))

QUICK = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def outer_headers(ber: bytes) -> list[tuple[int, int, int, int]]:
    """(start, tag, length, contents) of the [APPLICATION n] header and the SEQUENCE's."""
    found = []
    pos = 0
    for _ in range(2):
        key, _, length, content = read_header(ber, pos)
        found.append((pos, key, length, content))
        pos = content
    return found


def reframed(ber: bytes, *, outer: bool, inner: bool) -> bytes:
    """``ber`` (definite lengths) with the chosen outer headers made indefinite."""
    (_, app, _, _), (_, seq, seq_length, seq_content) = outer_headers(ber)
    body = ber[seq_content:]
    sequence = (
        encode_header(seq, True, 0)[:-1] + b"\x80" + body + b"\x00\x00"
        if inner
        else encode_header(seq, True, seq_length) + body
    )
    if outer:
        return encode_header(app, True, 0)[:-1] + b"\x80" + sequence + b"\x00\x00"
    return encode_header(app, True, len(sequence)) + sequence


def request_variants() -> list[tuple[str, bytes]]:
    cases = []
    for variant in range(6):
        ber = encode(full_apdu("ILL-Request", variant))
        cases.append((f"variant-{variant}", ber))
        for outer, inner in ((True, True), (True, False), (False, True)):
            name = (
                f"variant-{variant}-indefinite-{'outer' if outer else ''}{'inner' if inner else ''}"
            )
            cases.append((name, reframed(ber, outer=outer, inner=inner)))
    return cases


CASES = request_variants() + [(path.name, path.read_bytes()) for path in CAPTURE_FILES]


def elements(body: bytes) -> list[tuple[int, int, int]]:
    """(tag, start, end) of each element of a SEQUENCE's contents (to its end or its 00 00)."""
    found = []
    pos = 0
    while pos < len(body) and body[pos : pos + 2] != b"\x00\x00":
        start, depth = pos, 0
        while True:
            if depth and body[pos : pos + 2] == b"\x00\x00":
                depth -= 1
                pos += 2
            else:
                _, _, length, pos = read_header(body, pos)
                depth += length == INDEFINITE
                pos += max(length, 0)
            if not depth:
                break
        found.append((read_header(body, start)[0], start, pos))
    return found


def assert_cut(original: bytes, spliced: bytes) -> None:
    """``spliced`` is ``original`` without its client-id element; the two outer headers keep
    their identifier octets and indefinite lengths, definite ones are rewritten in minimal form."""
    before, after = outer_headers(original), outer_headers(spliced)
    body = original[before[1][3] :]
    ((start, end),) = [(start, end) for key, start, end in elements(body) if key == CLIENT_ID]
    assert spliced[after[1][3] :] == body[:start] + body[end:]
    for (old_start, key, length, content), (new_start, new_key, new_length, new_content) in zip(
        before, after, strict=True
    ):
        assert new_key == key
        if length == INDEFINITE:
            assert original[old_start:content] == spliced[new_start:new_content]
        else:
            assert spliced[new_start:new_content] == encode_header(key, True, new_length)
            assert new_length < length


@pytest.mark.parametrize(("name", "ber"), CASES, ids=[name for name, _ in CASES])
def test_client_id_cut_out_and_nothing_else_changed(name: str, ber: bytes) -> None:
    original = decode(ber)
    assert isinstance(original, ILLRequest)
    assert original.client_id is not None
    spliced = without_field(ber, "client-id")
    assert decode(spliced) == original.model_copy(update={"client_id": None})
    assert_cut(ber, spliced)


def test_indefinite_outer_lengths_stay_indefinite() -> None:
    ber = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
    assert ber.startswith(bytes.fromhex("61803080")) and ber.endswith(bytes(4))
    spliced = without_field(ber, "client-id")
    assert spliced.startswith(bytes.fromhex("61803080")) and spliced.endswith(bytes(4))
    assert b"Jane Patron" in ber and b"Jane Patron" not in spliced


def test_definite_headers_shrink_to_short_form() -> None:
    """Cutting a long client-id brings both lengths under 128: each header loses an octet."""
    base = decode((CAPTURES / "yaz-illclient-1.ber").read_bytes())
    patron = ClientId(client_name=Text.of("P" * 40))
    ber = encode(base.model_copy(update={"client_id": patron}))
    assert ber[1] == 0x81 and ber[4] == 0x81  # 61 81 xx 30 81 xx
    spliced = without_field(ber, "client-id")
    assert spliced[1] < 0x80 and spliced[3] < 0x80
    assert spliced == encode(base.model_copy(update={"client_id": None}))
    assert_cut(ber, spliced)


def test_absent_field_leaves_the_bytes_alone() -> None:
    request = full_apdu("ILL-Request").model_copy(update={"client_id": None})
    ber = encode(request)
    assert without_field(ber, "client-id") is ber
    answer = encode(full_apdu("ILL-Answer"))  # a type without client-id
    assert without_field(answer, "client-id") is answer


def test_other_components_can_be_cut() -> None:
    ber = encode(full_apdu("ILL-Request", 1))
    spliced = without_field(ber, "requester-note")
    assert decode(spliced) == decode(ber).model_copy(update={"requester_note": None})


def test_unknown_component_name_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="client_id"):
        without_field(encode(full_apdu("ILL-Request")), "client_id")


def test_client_id_twice_is_refused() -> None:
    ber = encode(full_apdu("ILL-Request"))
    (_, app, _, _), (_, seq, _, seq_content) = outer_headers(ber)
    body = ber[seq_content:]
    ((start, end),) = [(start, end) for key, start, end in elements(body) if key == CLIENT_ID]
    sequence = body[:start] + body[start:end] + body[start:]
    sequence = encode_header(seq, True, len(sequence)) + sequence
    twice = encode_header(app, True, len(sequence)) + sequence
    with pytest.raises(DecodeError, match="client-id appears twice"):
        without_field(twice, "client-id")


INDEFINITE_CAPTURE = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
DEFINITE_CAPTURE = (CAPTURES / "yaz-illclient-1.ber").read_bytes()


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (INDEFINITE_CAPTURE[:-2] + b"\x01\x01", DecodeError, "end-of-contents missing"),
        (DEFINITE_CAPTURE + b"\x00", DecodeError, "1 bytes after the APDU"),
        (b"\x61\x02\x31\x00", DecodeError, "expected [UNIVERSAL 16], found [UNIVERSAL 17]"),
        (b"\x7f\x30\x02\x30\x00", UnrecognizedApdu, "[APPLICATION 48] is not an ILL-APDU"),
        (b"\x61\x04\x30\x02\xaf\x05", DecodeError, "element overruns its enclosing element"),
        (b"\x61\x80\x30\x80\xaf\x80\x00\x00", DecodeError, "end-of-contents missing"),
    ],
)
def test_malformed_apdus_are_refused(data: bytes, error: type[CodecError], reason: str) -> None:
    with pytest.raises(error) as raised:
        without_field(data, "client-id")
    assert raised.value.reason == reason


def _captures() -> list[bytes]:
    return [path.read_bytes() for path in CAPTURE_FILES]


def test_every_truncation_is_a_codec_error() -> None:
    for ber in _captures():
        for end in range(len(ber)):
            with pytest.raises(CodecError):
                without_field(ber[:end], "client-id")


@QUICK
@given(
    st.sampled_from(
        [b"", b"\x61", b"\x61\x80\x30\x80", b"\x61\x0a\x30\x08", b"\x61\x80\x30\x80\xaf\x80"]
    ),
    st.binary(max_size=64),
)
def test_garbage_raises_only_codec_errors(prefix: bytes, data: bytes) -> None:
    garbage = prefix + data
    try:
        spliced = without_field(garbage, "client-id")
    except CodecError:
        return
    assert spliced is garbage or len(spliced) < len(garbage)


#: Up to four octets of an APDU overwritten: (position, new value), see :func:`corrupt`.
CHANGES = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4)


def corrupt(ber: bytes, changes: list[tuple[int, int]]) -> bytes:
    """``ber`` with each (position, value) written in, positions wrapping round its length."""
    data = bytearray(ber)
    for position, value in changes:
        data[position % len(data)] = value
    return bytes(data)


@QUICK
@given(
    st.sampled_from(_captures()),
    CHANGES,
)
def test_corrupted_captures_raise_codec_errors_or_splice_what_decodes(
    ber: bytes, changes: list[tuple[int, int]]
) -> None:
    corrupted = corrupt(ber, changes)
    try:
        spliced = without_field(corrupted, "client-id")
    except CodecError:
        spliced = None
    try:
        model = decode(corrupted)
    except CodecError:
        return
    assert spliced is not None  # what the decoder accepts, the splice accepts
    if isinstance(model, ILLRequest):
        assert decode(spliced) == model.model_copy(update={"client_id": None})
    else:
        assert spliced == corrupted


def test_captures_are_found() -> None:
    assert len(CAPTURE_FILES) >= 8


@pytest.mark.parametrize("variant", range(3))
@pytest.mark.parametrize("name", list(plan.APDUS))
def test_present_fields_names_what_the_encoding_carries(name: str, variant: int) -> None:
    apdu = full_apdu(name, variant)
    carried = {
        field.alias or attr
        for attr, field in type(apdu).model_fields.items()
        if getattr(apdu, attr) is not None
    }
    assert present_fields(encode(apdu)) == (name, frozenset(carried))


def test_present_fields_tells_an_acknowledgement_from_a_refusal() -> None:
    request = decode((CAPTURES / "yaz-illclient-2.ber").read_bytes())
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ack = acknowledgement(request.ber or b"", now)
    refusal = encode(reports.cannot_send_onward(request, "no route", now))
    assert "error-report" not in present_fields(ack)[1]
    assert "error-report" in present_fields(refusal)[1]


def test_present_fields_refuses_what_is_not_one_apdu() -> None:
    ber = (CAPTURES / "yaz-illclient-1.ber").read_bytes()
    for broken in (ber[:-1], ber + b"\x00", b"\x30\x00"):
        with pytest.raises(CodecError):
            present_fields(broken)
