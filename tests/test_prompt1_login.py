"""The gateway's own Prompt-1 login (:func:`isoill.ill.prompt.login_extension`): the bytes
``yaz-illclient -o -u USER -p PASSWORD`` sends, read back by :func:`login_of` once spliced
into an APDU."""

from __future__ import annotations

import pytest
from apdu_examples import full_apdu
from interop.yaz import run_illclient
from test_codec_yaz import REPLY

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec import plan
from isoill.codec.ber import UNIVERSAL, read_header, tag_key
from isoill.codec.decoder import decode, decode_node
from isoill.codec.encoder import encode, encode_extension
from isoill.codec.models import (
    EnummeratedPrompt,
    External,
    PromptId,
    PromptObject,
    PromptResponse,
)
from isoill.codec.splice import components, members, with_extension, without_extensions
from isoill.codec.text import Text
from isoill.ill.prompt import extensions_of, login_extension, login_of

SEQUENCE = tag_key(UNIVERSAL, 16)

#: What yaz-illclient 5.34 (Debian) sends for ``-o -u reqlib -p s3cret``: the first Extension
#: of its iLL-request-extensions.
YAZ_REQLIB = bytes.fromhex(
    "303d"  # Extension
    "800101"  # identifier [0] 1
    "810100"  # critical [1] FALSE
    "a235"  # item [2]
    "2833"  # EXTERNAL
    "06072a8648ce130801"  # direct-reference 1.2.840.10003.8.1
    "a028"  # single-ASN1-type [0]
    "a226"  # PromptObject response [2] IMPLICIT SEQUENCE OF
    "3011a105a103810101a20881067265716c6962"  # userId(1), string [1] "reqlib"
    "3011a105a103810102a2088106733363726574"  # password(2), string [1] "s3cret"
)

#: Logins whose Extension's contents fit in 127 octets, where yaz writes definite lengths too.
SHORT = [
    ("reqlib", "s3cret"),
    ("100-123-456", "Pa55w0rd!"),
    ("bibliothèque", "pässwort"),
    ("", ""),
]


def yaz_extensions(user_id: str, password: str) -> list[bytes]:
    """The Extensions of the ILL-Request ``yaz-illclient -o -u -p`` sends, in order."""
    run = run_illclient(["-o", "-u", user_id, "-p", password], REPLY)
    assert run.returncode == 0, run.stdout + run.stderr
    _, found = components(run.received)
    return elements(found["iLL-request-extensions"])


def elements(component: bytes) -> list[bytes]:
    """The elements inside ``component`` (definite lengths, as yaz writes short ones)."""
    _, _, length, pos = read_header(component, 0)
    assert pos + length == len(component)
    found = []
    while pos < len(component):
        _, _, size, content = read_header(component, pos)
        found.append(component[pos : content + size])
        pos = content + size
    return found


def test_builder_writes_what_yaz_sent() -> None:
    assert login_extension("reqlib", b"s3cret") == YAZ_REQLIB


@pytest.mark.parametrize(("user_id", "password"), SHORT)
def test_builder_writes_what_yaz_illclient_sends(
    yaz_illclient: str, user_id: str, password: str
) -> None:
    first, *_ = yaz_extensions(user_id, password)
    assert login_extension(user_id, password.encode()) == first


def test_yaz_captured_bytes_are_current(yaz_illclient: str) -> None:
    assert yaz_extensions("reqlib", "s3cret")[0] == YAZ_REQLIB


def test_long_login_differs_from_yaz_in_length_forms_only(yaz_illclient: str) -> None:
    """Past 127 octets of contents yaz writes a constructed element with an indefinite
    length, the builder with a definite one: the same Extension either way."""
    user_id, password = "ü" * 80, "p" * 200
    run = run_illclient(["-o", "-u", user_id, "-p", password], REPLY)
    assert run.returncode == 0, run.stdout + run.stderr
    ours = login_extension(user_id, password.encode())
    theirs = members(components(run.received)[1]["iLL-request-extensions"])[SEQUENCE]
    assert theirs[:2] == b"\x30\x80" and ours[:2] == b"\x30\x82"
    assert (
        decode_node(plan.EXTENSION, ours, 0, len(ours))[0]
        == decode_node(plan.EXTENSION, theirs, 0, len(theirs))[0]
    )
    assert login_of(decode(run.received)) == (user_id, password.encode())


def test_splicing_yaz_extensions_into_its_plain_request_gives_its_login_request(
    yaz_illclient: str,
) -> None:
    """``yaz-illclient -u -p`` without ``-o`` sends no extensions; with the builder's login
    and yaz's second Extension (its OCLC ILL request extension) added, the bytes are what
    ``-o`` sends."""
    plain = run_illclient(["-u", "reqlib", "-p", "s3cret"], REPLY)
    oclc = run_illclient(["-o", "-u", "reqlib", "-p", "s3cret"], REPLY)
    assert plain.returncode == oclc.returncode == 0
    _, second = elements(components(oclc.received)[1]["iLL-request-extensions"])
    spliced = with_extension(
        with_extension(plain.received, login_extension("reqlib", b"s3cret")), second
    )
    assert spliced == oclc.received
    assert (
        without_extensions(with_extension(plain.received, YAZ_REQLIB), PROMPT_1) == plain.received
    )


@pytest.mark.parametrize(
    ("user_id", "password"),
    [
        *((user, word.encode()) for user, word in SHORT),
        ("ü" * 80, b"p" * 200),
        ("x" * 300, b"\0\xff"),
    ],
)
@pytest.mark.parametrize("name", list(plan.APDUS))
def test_login_of_reads_back_what_the_builder_wrote(
    name: str, user_id: str, password: bytes
) -> None:
    ber = with_extension(encode(full_apdu(name)), login_extension(user_id, password))
    login = login_of(decode(ber))
    assert login == (user_id, password)
    assert login is not None and login.password == password


def test_the_extension_is_a_prompt1_response() -> None:
    extension, _ = decode_node(plan.EXTENSION, YAZ_REQLIB, 0, len(YAZ_REQLIB))
    assert (extension.identifier, extension.critical) == (1, False)
    assert isinstance(extension.item, External) and extension.item.direct_reference == PROMPT_1
    prompt = extension.item.encoding.single_asn1_type
    assert isinstance(prompt, PromptObject) and prompt.response is not None
    assert [(item.promptid, item.promptresponse) for item in prompt.response] == [
        (PromptId(enummeratedprompt=EnummeratedPrompt(type=kind)), PromptResponse(string=answer))
        for kind, answer in ((1, Text(b"reqlib")), (2, Text(b"s3cret")))
    ]


def test_encode_extension_writes_each_extension_as_the_apdu_holds_it() -> None:
    for name, node in plan.APDUS.items():
        assert node.fields[-1].node.element is plan.EXTENSION
        for variant in range(4):
            apdu = full_apdu(name, variant)
            _, found = components(encode(apdu))
            component = next(v for k, v in found.items() if k.endswith("-extensions"))
            inner = members(component)[SEQUENCE] if name == "Overdue" else component
            assert elements(inner) == [encode_extension(each) for each in extensions_of(apdu)]
