"""Cutting Prompt-1 extensions out of an APDU's BER: the other extensions and every other byte
stay as they were, only the enclosing lengths change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from access_support import prompt1, request
from apdu_examples import full_apdu
from hypothesis import given
from hypothesis import strategies as st
from test_asn1_extensions import to_indefinite
from test_splice import CHANGES, QUICK, corrupt, elements, outer_headers, reframed

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec import plan
from isoill.codec.ber import CONTEXT, INDEFINITE, encode_header, read_header, tag_key
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, DecodeError
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import External, IllApdu
from isoill.codec.splice import present_fields, without_extensions, without_field
from isoill.ill.prompt import extensions_of, login_of

EXTENSIONS = tag_key(CONTEXT, 49)  # every APDU's ...-extensions, [49] IMPLICIT SEQUENCE OF
# (but Overdue's: [49] explicit around the SEQUENCE OF)
FIELD = "iLL-request-extensions"
PASSWORDS = {"login": "s3cret-one", "login2": "s3cret-two", "login3": "s3cret-three"}
PROMPT_1_OID = bytes.fromhex("06072a8648ce130801")

OTHERS: dict[str, dict[str, Any]] = {
    "raw": {"identifier": 26, "critical": True, "item": "0403616263"},
    # Prompt-1's OID is a prefix of this one's: only the whole OID counts.
    "longer-oid": {
        "identifier": 5,
        "item": {"direct-reference": f"{PROMPT_1}.1", "encoding": {"octet-aligned": "616263"}},
    },
    "indirect": {
        "identifier": 6,
        "item": {"indirect-reference": 7, "encoding": {"octet-aligned": "616263"}},
    },
}


def extension(name: str) -> dict[str, Any]:
    if name in PASSWORDS:
        return prompt1("reqlib", PASSWORDS[name])
    return OTHERS[name]


def with_extensions(names: list[str], apdu: str = "ILL-Request") -> bytes:
    """``full_apdu(apdu)`` with the named extensions, in order, encoded (definite lengths)."""
    document = to_json(full_apdu(apdu))
    field = next(name for name in document[apdu] if name.endswith("-extensions"))
    document[apdu][field] = [extension(name) for name in names]
    return encode(from_json(document))


def without_logins(apdu: IllApdu) -> IllApdu:
    """``apdu`` without the Prompt-1 extensions, the component gone when none is left."""
    kept = tuple(
        each
        for each in extensions_of(apdu)
        if not (isinstance(each.item, External) and each.item.direct_reference == PROMPT_1)
    )
    field = next(name for name in type(apdu).model_fields if name.endswith("_extensions"))
    return apdu.model_copy(update={field: kept or None})


class Anatomy(NamedTuple):
    """An APDU's BER around its extensions component."""

    # octets, tag, length: [APPLICATION n], SEQUENCE, [49] (and Overdue's SEQUENCE OF)
    headers: list[tuple[bytes, int, int]]
    before: bytes  # the SEQUENCE's contents before the extensions component
    extensions: list[bytes]  # each Extension's encoding
    after: bytes  # after the component: later components, end-of-contents octets


def anatomy(ber: bytes) -> Anatomy:
    outer = outer_headers(ber)
    body = ber[outer[1][3] :]
    ((start, end),) = [(start, end) for key, start, end in elements(body) if key == EXTENSIONS]
    headers = [(ber[pos:contents], key, size) for pos, key, size, contents in outer]
    component = plan.BY_TAG[outer[0][1]].fields[-1].node
    assert component.tag is not None
    pos, stop = start, end
    for expected in (*component.wrappers, component.tag):  # each the only element inside
        key, _, length, content = read_header(body, pos)
        assert key == expected
        headers.append((body[pos:content], key, length))
        pos, stop = content, stop - 2 if length == INDEFINITE else content + length
    inner = body[pos:stop]
    return Anatomy(
        headers,
        body[:start],
        [inner[first:last] for _, first, last in elements(inner)],
        body[end:],
    )


def assert_cut(original: bytes, spliced: bytes, kept: list[int]) -> None:
    """``spliced`` is ``original`` with only the Extensions ``kept`` (by position) left: every
    other byte unchanged, indefinite lengths kept, definite ones rewritten in minimal form."""
    before, after = anatomy(original), anatomy(spliced)
    assert (after.before, after.after) == (before.before, before.after)
    assert after.extensions == [before.extensions[index] for index in kept]
    for (old, key, length), (new, new_key, new_length) in zip(
        before.headers, after.headers, strict=True
    ):
        assert new_key == key
        if length == INDEFINITE:
            assert new == old
        else:
            assert new == encode_header(key, True, new_length) and new_length < length


LAYOUTS = {
    "first": ["login", "raw", "longer-oid"],
    "middle": ["raw", "login", "indirect"],
    "last": ["raw", "longer-oid", "indirect", "login"],
    "several": ["login", "raw", "login2", "longer-oid", "login3"],
}
FORMS: dict[str, Callable[[bytes], bytes]] = {
    "definite": lambda ber: ber,
    "indefinite": to_indefinite,
    "outer-indefinite": lambda ber: reframed(ber, outer=True, inner=True),
    "sequence-indefinite": lambda ber: reframed(ber, outer=False, inner=True),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_prompt1_cut_out_and_nothing_else_changed(layout: str, form: str) -> None:
    names = LAYOUTS[layout]
    ber = FORMS[form](with_extensions(names))
    original = decode(ber)
    assert login_of(original) is not None
    spliced = without_extensions(ber, PROMPT_1)
    kept = [index for index, name in enumerate(names) if name not in PASSWORDS]
    assert_cut(ber, spliced, kept)
    assert decode(spliced) == without_logins(original)
    assert len(extensions_of(decode(spliced))) == len(kept)
    assert PROMPT_1_OID not in spliced
    assert all(password.encode() not in spliced for password in PASSWORDS.values())


def test_definite_lengths_come_out_as_the_encoder_writes_them() -> None:
    ber = with_extensions(LAYOUTS["several"])
    expected = without_logins(decode(ber))
    assert without_extensions(ber, PROMPT_1) == encode(expected)
    indefinite = to_indefinite(ber)
    assert without_extensions(indefinite, PROMPT_1) == to_indefinite(encode(expected))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("names", [["login"], ["login", "login2"]])
def test_only_prompt1_takes_the_component_with_it(names: list[str], form: str) -> None:
    ber = FORMS[form](with_extensions(names))
    spliced = without_extensions(ber, PROMPT_1)
    assert spliced == without_field(ber, FIELD)
    assert FIELD not in present_fields(spliced)[1]
    assert decode(spliced) == decode(ber).model_copy(update={"ill_request_extensions": None})


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("apdu", list(plan.APDUS))
def test_any_apdu_type_loses_its_prompt1(apdu: str, form: str) -> None:
    """Overdue's too, whose extensions are one layer deeper."""
    ber = FORMS[form](with_extensions(["raw", "login"], apdu))
    spliced = without_extensions(ber, PROMPT_1)
    assert decode(spliced) == without_logins(decode(ber))
    assert len(extensions_of(decode(spliced))) == 1
    assert_cut(ber, spliced, [0])
    assert PASSWORDS["login"].encode() not in spliced
    only = FORMS[form](with_extensions(["login"], apdu))
    _, left = present_fields(without_extensions(only, PROMPT_1))
    assert not any(name.endswith("-extensions") for name in left)


def test_without_prompt1_the_bytes_are_left_alone() -> None:
    others = with_extensions(list(OTHERS))
    assert without_extensions(others, PROMPT_1) is others
    none = encode(full_apdu("ILL-Request").model_copy(update={"ill_request_extensions": None}))
    assert without_extensions(none, PROMPT_1) is none
    assert without_extensions(request(1), PROMPT_1) == request(1)


def test_other_oids_can_be_cut() -> None:
    ber = with_extensions(["login", "longer-oid", "raw"])
    spliced = without_extensions(ber, f"{PROMPT_1}.1")
    assert_cut(ber, spliced, [0, 2])
    assert login_of(decode(spliced)) is not None


@pytest.mark.parametrize(
    "reference",
    [
        bytes.fromhex("06082a808648ce130801"),  # an arc with a leading 80 octet
        bytes.fromhex("26 80 04 07 2a8648ce130801 00 00"),  # a constructed OBJECT IDENTIFIER
    ],
    ids=["padded-arc", "constructed"],
)
def test_prompt1_oid_encoded_as_the_decoder_still_reads_it_is_cut(reference: bytes) -> None:
    """What the gateway takes for a login is cut, however its OID is encoded."""
    ber = to_indefinite(with_extensions(["raw", "login"]))  # no lengths to adjust
    assert ber.count(PROMPT_1_OID) == 1
    odd = ber.replace(PROMPT_1_OID, reference)
    assert login_of(decode(odd)) is not None
    spliced = without_extensions(odd, PROMPT_1)
    assert_cut(odd, spliced, [0])
    assert PASSWORDS["login"].encode() not in spliced


def test_extensions_component_twice_is_refused() -> None:
    ber = with_extensions(["login"])
    (_, app, _, _), (_, seq, _, seq_content) = outer_headers(ber)
    body = ber[seq_content:]
    ((start, end),) = [(start, end) for key, start, end in elements(body) if key == EXTENSIONS]
    sequence = body + body[start:end]
    sequence = encode_header(seq, True, len(sequence)) + sequence
    twice = encode_header(app, True, len(sequence)) + sequence
    with pytest.raises(DecodeError, match="iLL-request-extensions appears twice"):
        without_extensions(twice, PROMPT_1)


SAMPLES = [
    with_extensions(LAYOUTS["several"]),
    to_indefinite(with_extensions(LAYOUTS["middle"])),
    request(1, requester="REQLIB", login=("reqlib", "s3cret-one")),
]


def test_every_truncation_is_a_codec_error() -> None:
    for ber in SAMPLES:
        for end in range(len(ber)):
            with pytest.raises(CodecError):
                without_extensions(ber[:end], PROMPT_1)


@QUICK
@given(
    st.sampled_from(
        [
            b"",
            b"\x61\x80\x30\x80",
            b"\x61\x80\x30\x80\xbf\x31\x80",
            b"\x61\x80\x30\x80\xbf\x31\x80\x30\x80\x80\x01\x01\xa2\x80\x28\x80",
            b"\x61\x80\x30\x80\xbf\x31\x80\x30\x80\x80\x01\x01\xa2\x80\x28\x80\x06",
        ]
    ),
    st.binary(max_size=64),
)
def test_garbage_raises_only_codec_errors(prefix: bytes, data: bytes) -> None:
    garbage = prefix + data
    try:
        spliced = without_extensions(garbage, PROMPT_1)
    except CodecError:
        return
    assert spliced is garbage or len(spliced) < len(garbage)


@QUICK
@given(
    st.sampled_from(SAMPLES),
    CHANGES,
)
def test_corrupted_requests_raise_codec_errors_or_lose_what_the_decoder_sees_as_prompt1(
    ber: bytes, changes: list[tuple[int, int]]
) -> None:
    corrupted = corrupt(ber, changes)
    try:
        spliced = without_extensions(corrupted, PROMPT_1)
    except CodecError:
        spliced = None
    try:
        model = decode(corrupted)
    except CodecError:
        return
    assert spliced is not None  # what the decoder accepts, the cut accepts
    assert decode(spliced) == without_logins(model)
