"""Hostile POST bodies are refused by isoill.iso18626.wire.parse with a Refusal, and nothing
else: no entity is expanded, no file is read, no connection is made, and random or mutated
bytes bring out no other exception. (How fast refusals are is measured in bench/iso18626.py.)"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from paths import ISO18626_2021, ISO18626_SAMPLES

from isoill.iso18626 import wire
from isoill.iso18626.errors import MAX_ERROR_VALUE, ErrorType, Refusal
from isoill.iso18626.messages import NAMESPACE, MessageKind

QUICK = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MESSAGES = [path.read_bytes() for path in sorted(ISO18626_SAMPLES.glob("*.xml"))] + [
    path.read_bytes() for path in sorted(ISO18626_2021.glob("*.xml"))
]
CANCEL = (ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml").read_bytes()
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
BODY_START = CANCEL.index(b"<ns1:ISO18626Message")


def refusal(body: bytes, *, max_size: int = wire.MAX_SIZE) -> Refusal:
    with pytest.raises(Refusal) as caught:
        wire.parse(body, max_size=max_size)
    assert len(caught.value.error_value) <= MAX_ERROR_VALUE
    return caught.value


def with_doctype(doctype: bytes, reference: bytes) -> bytes:
    """The Cancel sample with ``doctype`` in its prolog and ``reference`` in its note."""
    body = CANCEL[:BODY_START] + doctype + b"\n" + CANCEL[BODY_START:]
    return body.replace(b"</ns1:action>", b"</ns1:action><ns1:note>" + reference + b"</ns1:note>")


def billion_laughs() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">']
    entities += [
        b'<!ENTITY lol%d "%s">' % (n, b"".join(b"&lol%d;" % (n - 1) for _ in range(10)))
        for n in range(1, 10)
    ]
    return with_doctype(b"<!DOCTYPE lolz [" + b"".join(entities) + b"]>", b"&lol9;")


def test_a_billion_laughs_is_refused_before_anything_is_expanded() -> None:
    refused = refusal(billion_laughs())
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value == (
        "a DOCTYPE is not accepted (line 2): ISO 18626 messages declare no DTD"
    )
    assert refused.line == 2


def test_an_entity_reference_without_a_declaration_is_not_well_formed() -> None:
    refused = refusal(CANCEL.replace(b"Cancel<", b"&lol9;<"))
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value.startswith("not well-formed XML (line 17): ")
    assert "lol9" in refused.error_value


def test_an_external_file_entity_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    body = with_doctype(
        b'<!DOCTYPE m [<!ENTITY x SYSTEM "' + secret.as_uri().encode() + b'">]>', b"&x;"
    )
    refused = refusal(body)
    assert refused.error_value.startswith("a DOCTYPE is not accepted")
    assert "SECRET" not in str(refused)
    # and the parser itself, were a DOCTYPE to reach it, would not read the file either
    root = etree.fromstring(body, wire._PARSER)
    assert b"SECRET" not in etree.tostring(root)


@pytest.mark.parametrize("form", ["entity", "parameter-entity", "external-dtd"])
def test_an_http_entity_or_dtd_is_refused_and_nothing_is_fetched(form: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        url = b"http://127.0.0.1:%d/evil.dtd" % listener.getsockname()[1]
        doctype = {
            "entity": b'<!DOCTYPE m [<!ENTITY x SYSTEM "' + url + b'">]>',
            "parameter-entity": b'<!DOCTYPE m [<!ENTITY % p SYSTEM "' + url + b'"> %p;]>',
            "external-dtd": b'<!DOCTYPE m SYSTEM "' + url + b'">',
        }[form]
        body = with_doctype(doctype, b"&x;" if form == "entity" else b"note")
        assert refusal(body).error_value.startswith("a DOCTYPE is not accepted")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
        # the parser alone, were a DOCTYPE to reach it, fetches nothing either
        with contextlib.suppress(etree.XMLSyntaxError):
            etree.fromstring(body, wire._PARSER)
        with pytest.raises(BlockingIOError):
            listener.accept()


@pytest.mark.parametrize(
    "prolog",
    [
        b"",
        DECLARATION,
        b"\xef\xbb\xbf" + DECLARATION,
        DECLARATION + b"<!-- a comment -->\n",
        DECLARATION + b"<?pi data?>\n  \r\n\t<!-- -->",
    ],
    ids=["first", "declaration", "bom", "comment", "pi-space-comment"],
)
def test_a_doctype_is_found_behind_whatever_may_precede_it(prolog: bytes) -> None:
    body = prolog + b"<!DOCTYPE ISO18626Message>" + CANCEL[BODY_START:]
    assert refusal(body).error_value.startswith("a DOCTYPE is not accepted")


def test_the_text_doctype_inside_a_note_is_only_text() -> None:
    note = b"<![CDATA[<!DOCTYPE x>]]> &lt;!DOCTYPE y&gt;"
    body = CANCEL.replace(b"</ns1:action>", b"</ns1:action><ns1:note>" + note + b"</ns1:note>")
    parsed = wire.parse(body)
    assert parsed.model.requesting_agency_message is not None
    assert parsed.model.requesting_agency_message.note == "<!DOCTYPE x> <!DOCTYPE y>"


def test_ten_thousand_levels_of_nesting_are_refused_at_libxml2s_limit() -> None:
    deep = b"<ns1:note>" * 10_000 + b"</ns1:note>" * 10_000
    refused = refusal(CANCEL.replace(b"<ns1:action>", deep + b"<ns1:action>"))
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value.startswith("not well-formed XML (line 17): ")
    assert "depth" in refused.error_value


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    padded = CANCEL.replace(b"Cancel<", b"Cancel" + b" " * wire.MAX_SIZE + b"<")
    refused = refusal(padded)
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value == (
        f"the message is {len(padded)} bytes, over the limit of {wire.MAX_SIZE}"
    )
    assert refusal(CANCEL, max_size=len(CANCEL) - 1).error_value.endswith(
        f"over the limit of {len(CANCEL) - 1}"
    )
    assert wire.parse(CANCEL, max_size=len(CANCEL)).kind is MessageKind.REQUESTING_AGENCY_MESSAGE
    # the limit comes first: an oversized body of garbage is refused for its size
    assert refusal(b"\xff" * 100, max_size=99).error_value.startswith("the message is 100 bytes")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (CANCEL.replace(b"168134641", b"16813\xff4641"), 15),
        (CANCEL.replace(b"Cancel<", b"Cancel\xc3<"), 17),  # a sequence cut short
        (CANCEL.replace(b"Cancel<", b"Cancel\xed\xa0\x80<"), 17),  # a surrogate
        (b"\xff\xfe" + CANCEL.decode("utf-8").encode("utf-16-le"), 1),  # UTF-16 with a BOM
    ],
    ids=["invalid-byte", "truncated", "surrogate", "utf-16"],
)
def test_invalid_utf8_is_refused(body: bytes, line: int) -> None:
    refused = refusal(body)
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value.startswith(f"not UTF-8 (line {line}, byte ")
    assert refused.line == line


def test_utf16_without_a_bom_is_not_well_formed_as_utf8() -> None:
    utf16 = CANCEL.replace(b'"UTF-8"', b'"UTF-16"').decode("utf-8").encode("utf-16-le")
    refused = refusal(utf16)
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value == (
        "not well-formed XML (line 1): Invalid character: Char 0x0 out of allowed range , "
        "line 1, column 2"
    )


def test_a_declared_encoding_other_than_utf8_is_not_followed() -> None:
    latin = CANCEL.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    body = latin.replace(b"</ns1:action>", "</ns1:action><ns1:note>Grüße</ns1:note>".encode())
    note = wire.parse(body).model.requesting_agency_message
    assert note is not None and note.note == "Grüße"  # read as UTF-8, not as Latin-1


@pytest.mark.parametrize(
    ("body", "reason", "kind"),
    [
        (b"<foo/>", "the root element foo is not ISO 18626's ISO18626Message", None),
        (
            b'<ISO18626Message version="1.2"><request/></ISO18626Message>',
            "the root element ISO18626Message is not ISO 18626's ISO18626Message",
            None,
        ),
        (
            b'<m:ISO18626Message xmlns:m="urn:other"/>',
            "the root element {urn:other}ISO18626Message is not ISO 18626's ISO18626Message",
            None,
        ),
        (
            b'<ill:note xmlns:ill="' + NAMESPACE.encode() + b'">hello</ill:note>',
            "the root element note is not ISO18626Message",
            None,
        ),
        (
            b'<request xmlns="' + NAMESPACE.encode() + b'"><header/></request>',
            "a bare request is not accepted: send it inside ISO18626Message, whose version "
            "says which schema it follows",
            MessageKind.REQUEST,
        ),
    ],
    ids=["other", "no-namespace", "other-namespace", "other-element", "bare-request"],
)
def test_a_wrong_root_element_is_refused(
    body: bytes, reason: str, kind: MessageKind | None
) -> None:
    refused = refusal(body)
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value == reason
    assert refused.kind is kind
    assert refused.line == 1


def test_a_bare_sample_message_is_refused_though_the_schema_would_accept_it() -> None:
    root = etree.fromstring(CANCEL)
    bare = etree.tostring(root[0])
    refused = refusal(bare)
    assert refused.error_value.startswith("a bare requestingAgencyMessage is not accepted")
    assert refused.kind is MessageKind.REQUESTING_AGENCY_MESSAGE


def test_the_prefix_does_not_matter_only_the_namespace() -> None:
    renamed = CANCEL.replace(b"ns1:", b"ISO18626Message:").replace(
        b"xmlns:ns1=", b"xmlns:ISO18626Message="
    )
    assert wire.parse(renamed).model == wire.parse(CANCEL).model
    impostor = CANCEL.replace(NAMESPACE.encode(), b"http://illtransactions.org/2013/iso18626x")
    assert refusal(impostor).error_value.startswith("the root element {http://illtransactions")


@pytest.mark.parametrize(
    "body",
    [b"", b" ", b"<", b"\x00", b"<?xml version='1.0'?>", b"<a>", b"]]>", b"<!---->"],
    ids=["empty", "space", "lt", "nul", "declaration-only", "unclosed", "cdata-end", "comment"],
)
def test_fragments_are_not_well_formed(body: bytes) -> None:
    refused = refusal(body)
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert refused.error_value.startswith("not well-formed XML (line ")


def parse_or_refuse(body: bytes) -> None:
    try:
        parsed = wire.parse(body)
    except Refusal as refused:
        assert isinstance(refused.error_type, ErrorType)
        assert 0 < len(refused.error_value) <= MAX_ERROR_VALUE
        return
    assert isinstance(parsed.kind, MessageKind)
    assert wire.parse(wire.serialise(parsed.model)).model == parsed.model


@QUICK
@given(st.binary(max_size=2048))
def test_random_bytes_are_parsed_or_refused(body: bytes) -> None:
    parse_or_refuse(body)


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    """A sample or 2021 message with a few bytes replaced, cut out or put in."""
    body = bytearray(draw(st.sampled_from(MESSAGES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        cut = draw(st.integers(0, 8))
        body[at : at + cut] = draw(
            st.one_of(
                st.binary(max_size=8),
                st.sampled_from([b"<", b">", b"&", b"/", b'"', b"<!DOCTYPE x>", b"\xff", b"Z"]),
            )
        )
    return bytes(body)


@QUICK
@given(mutated_messages())
def test_mutated_messages_are_parsed_or_refused(body: bytes) -> None:
    parse_or_refuse(body)


@st.composite
def edited_values(draw: st.DrawFn) -> bytes:
    """A sample or 2021 message with one element's text replaced by any text at all: values
    the schema may accept that the models must still hold (or refuse as a Refusal)."""
    body = draw(st.sampled_from(MESSAGES))
    starts = [i for i in range(len(body)) if body[i : i + 1] == b">"]
    at = draw(st.sampled_from(starts)) + 1
    end = body.find(b"<", at)
    text = draw(st.text(st.characters(blacklist_categories=["Cs"]), max_size=40))
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8")
    return body[:at] + escaped + body[end if end >= 0 else at :]


@QUICK
@given(edited_values())
def test_messages_with_any_values_are_parsed_or_refused(body: bytes) -> None:
    parse_or_refuse(body)
