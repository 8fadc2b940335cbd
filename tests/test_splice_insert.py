"""Adding an Extension to an APDU's BER (the gateway's own Prompt-1 login): the Extension's
bytes after the APDU's own Extensions, every other byte unchanged, only the enclosing lengths
rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from apdu_examples import full_apdu
from hypothesis import given
from hypothesis import strategies as st
from paths import CAPTURES
from test_asn1_extensions import to_indefinite
from test_codec_properties import _parse, _serialize_headers, _with_texts
from test_splice import CHANGES, QUICK, corrupt, elements, outer_headers
from test_splice_extensions import EXTENSIONS, FORMS, anatomy, with_extensions

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec import plan
from isoill.codec.ber import INDEFINITE, encode_header
from isoill.codec.decoder import decode, decode_node
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.models import Extension, IllApdu
from isoill.codec.splice import present_fields, with_extension, without_extensions
from isoill.ill.prompt import extensions_of, login_extension, login_of

NAMES = list(plan.APDUS)
LOGIN = login_extension("gateway", b"s3cret-gw")
LOCAL = sorted(CAPTURES.glob("*.ber"))


def extension_model(ber: bytes) -> Extension:
    value, end = decode_node(plan.EXTENSION, ber, 0, len(ber))
    assert end == len(ber)
    assert isinstance(value, Extension)
    return value


def extensions_attr(apdu: IllApdu) -> str:
    return next(name for name in type(apdu).model_fields if name.endswith("_extensions"))


def appended(apdu: IllApdu, *extensions: bytes) -> IllApdu:
    """``apdu`` with the Extensions encoded as ``extensions`` after its own."""
    added = tuple(extension_model(each) for each in extensions)
    return apdu.model_copy(update={extensions_attr(apdu): (*extensions_of(apdu), *added)})


def apdu(name: str, variant: int = 0, *, component: bool = True) -> IllApdu:
    """``full_apdu`` (two Extensions), or without its extensions component."""
    full = full_apdu(name, variant)
    return full if component else full.model_copy(update={extensions_attr(full): None})


def has_component(ber: bytes) -> bool:
    return any(name.endswith("-extensions") for name in present_fields(ber)[1])


def assert_added(original: bytes, added: bytes, extension: bytes = LOGIN) -> None:
    """``added`` is ``original`` with ``extension`` after its Extensions (in a new component
    with definite lengths if it had none): every other byte unchanged, indefinite lengths kept,
    definite ones rewritten in minimal form."""
    after = anatomy(added)
    assert after.extensions[-1] == extension
    if has_component(original):
        before = anatomy(original)
        assert (after.before, after.after) == (before.before, before.after)
        assert after.extensions[:-1] == before.extensions
        old_headers = before.headers
    else:
        # after the other components, before the SEQUENCE's end-of-contents if it has one
        assert after.before + after.after == original[outer_headers(original)[1][3] :]
        assert after.extensions == [extension]
        old_headers = [
            (original[pos:content], key, length)
            for pos, key, length, content in outer_headers(original)
        ]
        for octets, key, length in after.headers[len(old_headers) :]:
            assert octets == encode_header(key, True, length)
    for (old, key, length), (new, new_key, new_length) in zip(
        old_headers, after.headers[: len(old_headers)], strict=True
    ):
        assert new_key == key
        if length == INDEFINITE:
            assert new == old
        else:
            assert new == encode_header(key, True, new_length) and new_length > length


@pytest.mark.parametrize("component", [True, False], ids=["component", "no-component"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", NAMES)
def test_login_added_to_every_apdu_type(name: str, form: str, component: bool) -> None:
    ber = FORMS[form](encode(apdu(name, component=component)))
    assert has_component(ber) is component
    added = with_extension(ber, LOGIN)
    assert_added(ber, added)
    assert decode(added) == appended(decode(ber), LOGIN)
    assert login_of(decode(added)) == ("gateway", b"s3cret-gw")
    assert without_extensions(added, PROMPT_1) == ber


@pytest.mark.parametrize("component", [True, False], ids=["component", "no-component"])
@pytest.mark.parametrize("name", NAMES)
def test_definite_lengths_come_out_as_the_encoder_writes_them(name: str, component: bool) -> None:
    """Also the new component's tag: ``[49]`` IMPLICIT, Overdue's explicit around a SEQUENCE."""
    model = apdu(name, 1, component=component)
    assert with_extension(encode(model), LOGIN) == encode(appended(model, LOGIN))
    if component:
        indefinite = to_indefinite(encode(model))
        expected = to_indefinite(encode(appended(model, LOGIN)))
        assert with_extension(indefinite, to_indefinite(LOGIN)) == expected


def test_overdue_gets_an_explicit_component() -> None:
    """``[49]`` around a SEQUENCE OF in Overdue, ``[49] IMPLICIT`` SEQUENCE OF elsewhere."""
    overdue = with_extension(encode(apdu("Overdue", component=False)), LOGIN)
    size = len(LOGIN)
    assert overdue.endswith(bytes.fromhex(f"bf31{size + 2:02x}30{size:02x}") + LOGIN)
    shipped = with_extension(encode(apdu("Shipped", component=False)), LOGIN)
    assert shipped.endswith(bytes.fromhex(f"bf31{size:02x}") + LOGIN)


def test_several_extensions_keep_their_order() -> None:
    second = login_extension("other", b"pw")
    for ber in (
        with_extensions(["raw"]),
        with_extensions([]),
        to_indefinite(with_extensions(["raw", "indirect"])),
    ):
        once = with_extension(ber, LOGIN)
        twice = with_extension(once, second)
        assert_added(once, twice, second)
        assert decode(twice) == appended(decode(ber), LOGIN, second)
        assert login_of(decode(twice)) == ("gateway", b"s3cret-gw")  # the first that has both


@pytest.mark.parametrize("name", ["ILL-Request", "Overdue"])
def test_an_empty_component_gets_the_extension(name: str) -> None:
    model = apdu(name, component=False)
    empty = encode(model.model_copy(update={extensions_attr(model): ()}))
    assert has_component(empty)
    added = with_extension(empty, LOGIN)
    assert_added(empty, added)
    assert added == with_extension(encode(model), LOGIN)


def test_lengths_grow_into_the_long_form() -> None:
    """A yaz-illclient request of 125 bytes (``61 7b 30 79``): its headers need two length
    octets once the login is in, the identifier octets unchanged."""
    ber = (CAPTURES / "search-need-before.ber").read_bytes()
    assert ber[:4] == bytes.fromhex("617b3079")
    added = with_extension(ber, LOGIN)
    total = len(ber) + len(LOGIN) + 3 + 2  # [49] header, a length octet more in each header
    assert len(added) == total
    assert added[:6] == bytes.fromhex(f"6181{total - 3:02x}3081{total - 6:02x}")
    assert_added(ber, added)
    assert without_extensions(added, PROMPT_1) == ber


@pytest.mark.parametrize("path", LOCAL, ids=[path.name for path in LOCAL])
def test_yaz_illclient_requests_get_the_login(path: Path) -> None:
    ber = path.read_bytes()
    assert not has_component(ber)
    added = with_extension(ber, LOGIN)
    assert_added(ber, added)
    assert decode(added) == appended(decode(ber), LOGIN)
    assert without_extensions(added, PROMPT_1) == ber


def test_captures_are_found() -> None:
    assert len(LOCAL) >= 5


# --- what is not an APDU, or not an Extension -------------------------------------------------

SAMPLES = [
    encode(apdu("ILL-Request", 2)),
    to_indefinite(encode(apdu("Overdue", 1))),
    encode(apdu("Overdue", component=False)),
    (CAPTURES / "client-id.ber").read_bytes(),
]


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (SAMPLES[3][:-2] + b"\x01\x01", DecodeError, "end-of-contents missing"),
        (SAMPLES[0] + b"\x00", DecodeError, "1 bytes after the APDU"),
        (b"\x61\x02\x31\x00", DecodeError, "expected [UNIVERSAL 16], found [UNIVERSAL 17]"),
        (b"\x61\x02\x10\x00", DecodeError, "[UNIVERSAL 16] must be constructed"),
        (b"\x7f\x30\x02\x30\x00", UnrecognizedApdu, "[APPLICATION 48] is not an ILL-APDU"),
        (b"\x61\x04\x30\x02\xbf\x31", DecodeError, "truncated APDU"),
        (b"\x61\x05\x30\x03\x9f\x31\x00", DecodeError, "[49] must be constructed"),
        # Overdue's [49] must hold its SEQUENCE OF
        (
            b"\x6c\x07\x30\x05\xbf\x31\x02\x31\x00",
            DecodeError,
            "expected [UNIVERSAL 16], found [UNIVERSAL 17]",
        ),
        (
            b"\x6c\x09\x30\x07\xbf\x31\x04\x30\x00\x30\x00",
            DecodeError,
            "more than one element inside an explicit tag",
        ),
    ],
)
def test_malformed_apdus_are_refused(data: bytes, error: type[CodecError], reason: str) -> None:
    with pytest.raises(error) as raised:
        with_extension(data, LOGIN)
    assert raised.value.reason == reason


def test_extensions_component_twice_is_refused() -> None:
    ber = with_extensions(["raw"])
    (_, app, _, _), (_, seq, _, seq_content) = outer_headers(ber)
    body = ber[seq_content:]
    ((start, end),) = [(start, end) for key, start, end in elements(body) if key == EXTENSIONS]
    sequence = body + body[start:end]
    sequence = encode_header(seq, True, len(sequence)) + sequence
    twice = encode_header(app, True, len(sequence)) + sequence
    with pytest.raises(DecodeError, match="iLL-request-extensions appears twice"):
        with_extension(twice, LOGIN)


def test_every_truncation_is_a_codec_error() -> None:
    for ber in SAMPLES:
        for end in range(len(ber)):
            with pytest.raises(CodecError):
                with_extension(ber[:end], LOGIN)


@pytest.mark.parametrize(
    "extension",
    [
        b"",
        LOGIN[:-1],
        LOGIN + b"\x00",
        LOGIN + LOGIN,
        bytes.fromhex("0403616263"),  # an OCTET STRING
        bytes.fromhex("3003800101"),  # no item
        bytes.fromhex("31 07 800101 a202 0500"),  # a SET
    ],
    ids=["empty", "truncated", "trailing", "two", "octets", "no-item", "set"],
)
def test_what_is_not_one_extension_is_a_caller_error(extension: bytes) -> None:
    with pytest.raises(ValueError, match="not one Extension"):
        with_extension(SAMPLES[0], extension)


@QUICK
@given(
    st.sampled_from(
        [
            b"",
            b"\x61",
            b"\x61\x80\x30\x80",
            b"\x61\x0a\x30\x08",
            b"\x61\x80\x30\x80\xbf\x31\x80",
            b"\x6c\x80\x30\x80\xbf\x31\x80\x30\x80",
        ]
    ),
    st.binary(max_size=64),
)
def test_garbage_raises_only_codec_errors(prefix: bytes, data: bytes) -> None:
    garbage = prefix + data
    try:
        added = with_extension(garbage, LOGIN)
    except CodecError:
        return
    assert LOGIN in added and len(added) > len(garbage)


@QUICK
@given(st.sampled_from(SAMPLES), CHANGES)
def test_corrupted_apdus_raise_codec_errors_or_get_the_extension(
    ber: bytes, changes: list[tuple[int, int]]
) -> None:
    corrupted = corrupt(ber, changes)
    try:
        added = with_extension(corrupted, LOGIN)
    except CodecError:
        added = None
    try:
        model = decode(corrupted)
    except CodecError:
        return
    assert added is not None  # what the decoder accepts, the splice accepts
    assert decode(added) == appended(model, LOGIN)


TEXTS = st.one_of(st.binary(max_size=20), st.binary(min_size=120, max_size=200))
LOGINS = [("gateway", b"s3cret-gw"), ("", b""), ("ü" * 70, b"p" * 90)]  # the last: long forms


@QUICK
@given(
    st.sampled_from(NAMES),
    st.integers(0, 5),
    st.booleans(),
    st.sampled_from(LOGINS),
    st.data(),
)
def test_any_apdu_in_any_length_form_gets_the_login(
    name: str, variant: int, component: bool, login: tuple[str, bytes], data: st.DataObject
) -> None:
    """Random texts (lengths across 127) and, element by element, the shortest, a long or an
    indefinite length."""
    model = _with_texts(apdu(name, variant, component=component), data, TEXTS)
    assert isinstance(model, IllApdu)
    ber = _serialize_headers(_parse(encode(model))[0], data)
    extension = login_extension(*login)
    added = with_extension(ber, extension)
    assert_added(ber, added, extension)
    assert decode(added) == appended(decode(ber), extension)
    assert login_of(decode(added)) == login
