"""isoill.iso18626.wire reads every sample and the project's 2021 messages, validates each
against the schema it follows, writes each back valid and equal, and refuses invalid messages
with the errorType and errorValue a Confirmation answers with."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from paths import ISO18626_2021, ISO18626_SAMPLES
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.models.datatype import XmlDateTime

from isoill.iso18626 import v1_2, v2021, wire
from isoill.iso18626.errors import MAX_ERROR_VALUE, ErrorType, Refusal
from isoill.iso18626.messages import NAMESPACE, MessageKind, Version, version_for
from isoill.iso18626.schemas import SCHEMAS

SAMPLES = sorted(ISO18626_SAMPLES.glob("*.xml"))
OWN_2021 = sorted(ISO18626_2021.glob("*.xml"))
VALID_IN_2021 = {
    "RequestSample1ForISOService.xml",
    "RequestingAgencyConfirmationReceivedSample1.xml",
}
VALID_IN_1_2 = {"SupplyingAgencyMessageConfirmation.xml"}  # no ids, nothing new in 2021


def kind_of(path: Path) -> MessageKind:
    """The message a file holds, by its name (NewRequest is a request, and
    RequestingAgencyConfirmation... a RAM's confirmation)."""
    name = path.stem.replace("NewRequest", "Request").replace(
        "RequestingAgencyConfirmation", "RequestingAgencyMessageConfirmation"
    )
    found = [kind for kind in MessageKind if name.lower().startswith(kind.value.lower())]
    return max(found, key=lambda kind: len(kind.value))


def refusal(body: bytes, version: Version | None = None) -> Refusal:
    with pytest.raises(Refusal) as caught:
        wire.parse(body, version=version)
    return caught.value


def cancel() -> bytes:
    return (ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml").read_bytes()


def test_there_are_21_samples_and_six_own_2021_messages() -> None:
    assert len(SAMPLES) == 21
    assert sorted(kind_of(path) for path in OWN_2021) == sorted(MessageKind)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_every_sample_is_read_as_v1_2(path: Path) -> None:
    parsed = wire.parse(path.read_bytes())
    assert parsed.version is Version.V1_2
    assert parsed.declared_version == "v1_2_2017"
    assert parsed.kind is kind_of(path)
    assert isinstance(parsed.model, v1_2.Iso18626Message)
    held = [kind for kind in MessageKind if getattr(parsed.model, kind.field) is not None]
    assert held == [parsed.kind]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_a_sample_under_2021_is_valid_only_if_it_follows_2021(path: Path) -> None:
    body = path.read_bytes()
    if path.name in VALID_IN_2021:
        parsed = wire.parse(body, version=Version.V2021)
        assert isinstance(parsed.model, v2021.Iso18626Message)
        assert parsed.kind is kind_of(path)
    else:
        refused = refusal(body, Version.V2021)
        assert refused.error_value.startswith("not valid ISO 18626 2021-2: /ISO18626Message/")
        assert refused.kind is kind_of(path)
        assert refused.line is not None and refused.line > 1


@pytest.mark.parametrize("path", OWN_2021, ids=lambda path: path.name)
def test_the_2021_messages_are_read_as_2021_and_all_but_one_fail_v1_2(path: Path) -> None:
    body = path.read_bytes()
    parsed = wire.parse(body)
    assert parsed.version is Version.V2021
    assert parsed.declared_version.startswith("2021")
    assert parsed.kind is kind_of(path)
    assert isinstance(parsed.model, v2021.Iso18626Message)
    if path.name in VALID_IN_1_2:
        assert wire.parse(body, version=Version.V1_2).version is Version.V1_2
    else:
        assert refusal(body, Version.V1_2).error_value.startswith("not valid ISO 18626 1.2: ")


@pytest.mark.parametrize("path", SAMPLES + OWN_2021, ids=lambda path: path.name)
def test_every_message_is_written_back_valid_and_read_again_equal(path: Path) -> None:
    parsed = wire.parse(path.read_bytes())
    written = wire.serialise(parsed.model)
    assert written.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<ill:ISO18626Message ")
    written.decode("utf-8")
    # one prefix, declared once; version (and every scheme) qualified
    assert re.findall(rb"xmlns(?::\w+)?=", written) == [b"xmlns:ill="]
    assert b' ill:version="' in written
    document = written.split(b"?>", 1)[1]
    assert b" scheme=" not in document and b" version=" not in document
    assert SCHEMAS[parsed.version].xsd.validate(etree.fromstring(written))
    again = wire.parse(written)
    assert (again.kind, again.version, again.model) == (parsed.kind, parsed.version, parsed.model)


def test_what_a_sample_holds_reaches_the_model() -> None:
    request = wire.parse((ISO18626_SAMPLES / "NewRequest.xml").read_bytes()).model.request
    assert isinstance(request, v1_2.Request)
    assert request.bibliographic_info.title == "Harry Potter and the Half-Blood Prince"
    assert request.header.multiple_item_request_id is not None
    assert request.header.multiple_item_request_id.value == ""
    assert request.header.timestamp.value.offset == 0
    assert [d.sort_order for d in request.requested_delivery_info] == [1, 2]
    ram = wire.parse((ISO18626_2021 / "RequestingAgencyMessage.xml").read_bytes()).model
    assert isinstance(ram, v2021.Iso18626Message) and ram.requesting_agency_message
    assert ram.requesting_agency_message.action.value is v2021.TypeAction.LOST
    assert ram.requesting_agency_message.header.timestamp.value.offset == 120
    grass = wire.parse((ISO18626_2021 / "Request.xml").read_bytes()).model.request
    assert isinstance(grass, v2021.Request)
    assert grass.bibliographic_info.author == "Grass, Günter"
    assert [v.value for v in grass.bibliographic_info.volume] == ["1", "2"]


def test_the_version_attribute_chooses_the_schema_unless_the_caller_does() -> None:
    assert version_for("2021-2") is version_for("2021-3") is version_for(" 2021") is Version.V2021
    for declared in ("1.2", "v1_2_2017", "1.0", "", "2.0", None):
        assert version_for(declared) is Version.V1_2
    sample = (ISO18626_SAMPLES / "RequestSample1ForISOService.xml").read_bytes()
    relabelled = sample.replace(b'ns1:version="v1_2_2017"', b'ns1:version="2021-3"')
    assert wire.parse(relabelled).version is Version.V2021
    assert wire.parse(relabelled).declared_version == "2021-3"
    assert wire.parse(relabelled, version=Version.V1_2).version is Version.V1_2


def test_a_message_valid_in_one_version_only_is_refused_in_the_other() -> None:
    relabelled = cancel().replace(b'ns1:version="v1_2_2017"', b'ns1:version="2021-2"')
    refused = refusal(relabelled)  # the attribute says 2021; the header is v1.2's
    assert refused.error_type is ErrorType.BADLY_FORMED_MESSAGE  # a 2021 element, misplaced
    assert refused.error_value == (
        "not valid ISO 18626 2021-2: /ISO18626Message/requestingAgencyMessage/header/"
        "multipleItemRequestId (line 13): This element is not expected. Expected is one of "
        "( consortialId, timestamp )."
    )
    assert (refused.kind, refused.line) == (MessageKind.REQUESTING_AGENCY_MESSAGE, 13)
    request = (ISO18626_SAMPLES / "RequestSample1.xml").read_bytes()
    refused = refusal(request, Version.V2021)
    assert refused.error_type is ErrorType.UNRECOGNISED_DATA_ELEMENT  # 2021 has no preferredFormat
    assert "/ISO18626Message/request/serviceInfo/preferredFormat (line 34)" in refused.error_value
    lost = (ISO18626_2021 / "RequestingAgencyMessageConfirmation.xml").read_bytes()
    refused = refusal(lost, Version.V1_2)
    assert refused.error_type is ErrorType.UNRECOGNISED_DATA_VALUE  # HoldReturn is 2021's
    assert "The value 'HoldReturn' is not an element of the set" in refused.error_value


@pytest.mark.parametrize(
    ("old", "new", "error_type", "where", "reason"),
    [
        (
            b">Cancel<",
            b">Cancelled<",
            ErrorType.UNRECOGNISED_DATA_VALUE,
            "requestingAgencyMessage/action (line 17)",
            "[facet 'enumeration'] The value 'Cancelled' is not an element of the set",
        ),
        (
            b"2021-02-09T11:19:23Z",
            b"2021-02-09 11:19:23+0000",
            ErrorType.UNRECOGNISED_DATA_VALUE,
            "header/timestamp (line 14)",
            "'2021-02-09 11:19:23+0000' is not a valid value of the atomic type 'xs:dateTime'",
        ),
        (
            b"<ns1:action>",
            b'<x:extra xmlns:x="urn:vendor">1</x:extra><ns1:action>',
            ErrorType.UNRECOGNISED_DATA_ELEMENT,
            "requestingAgencyMessage/{urn:vendor}extra (line 17)",
            "This element is not expected. Expected is ( action ).",
        ),
        (
            b"<ns1:action>",
            b"<ns1:colour>red</ns1:colour><ns1:action>",
            ErrorType.UNRECOGNISED_DATA_ELEMENT,
            "requestingAgencyMessage/colour (line 17)",
            "This element is not expected. Expected is ( action ).",
        ),
        (
            b"<ns1:action>",
            b'<ns1:action ns1:colour="red">',
            ErrorType.UNRECOGNISED_DATA_ELEMENT,
            "requestingAgencyMessage/action (line 17)",
            "The attribute 'colour' is not allowed.",
        ),
        (
            b'ns1:version="v1_2_2017"',
            b'version="1.2"',
            ErrorType.UNRECOGNISED_DATA_ELEMENT,
            "/ISO18626Message (line 2)",
            "The attribute 'version' is not allowed.",
        ),
        (
            b"<ns1:action>Cancel</ns1:action>",
            b"",
            ErrorType.BADLY_FORMED_MESSAGE,
            "/ISO18626Message/requestingAgencyMessage (line 3)",
            "Missing child element(s). Expected is ( action ).",
        ),
        (
            b"<ns1:action>Cancel</ns1:action>",
            b"<ns1:note>late</ns1:note><ns1:action>Cancel</ns1:action>",
            ErrorType.BADLY_FORMED_MESSAGE,
            "requestingAgencyMessage/note (line 17)",
            "This element is not expected. Expected is ( action ).",
        ),
    ],
    ids=[
        "closed-list",
        "datetime",
        "foreign-element",
        "unknown-element",
        "unknown-attribute",
        "unqualified-version",
        "missing",
        "misplaced",
    ],
)
def test_an_invalid_message_is_refused_with_the_error_a_confirmation_gives(
    old: bytes, new: bytes, error_type: ErrorType, where: str, reason: str
) -> None:
    body = cancel()
    assert old in body
    refused = refusal(body.replace(old, new, 1))
    assert refused.error_type is error_type
    assert refused.error_value.startswith("not valid ISO 18626 1.2: /ISO18626Message")
    assert where in refused.error_value
    assert reason in refused.error_value
    assert refused.kind is MessageKind.REQUESTING_AGENCY_MESSAGE
    assert str(refused) == f"{error_type}: {refused.error_value}"


def test_the_standards_spelling_unrecognized_is_refused_as_the_schema_does() -> None:
    body = (ISO18626_SAMPLES / "RequestConfirmationSampleError.xml").read_bytes()
    misspelt = body.replace(b">BadlyFormedMessage<", b">UnrecognizedDataValue<")
    refused = refusal(misspelt)
    assert refused.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert "'UnrecognizedDataValue' is not an element of the set" in refused.error_value
    assert refused.kind is MessageKind.REQUEST_CONFIRMATION


def test_a_huge_value_is_not_echoed() -> None:
    body = cancel().replace(b">Cancel<", b">" + b"C" * 100_000 + b"<")
    refused = refusal(body)
    assert refused.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert len(refused.error_value) == MAX_ERROR_VALUE
    assert refused.error_value.endswith("…")


def test_a_value_python_cannot_hold_is_refused_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # xsdata holds every value the schemas allow that we know of (years past 9999, 24:00,
    # "+.5"); should one fail its conversion all the same, a refusal comes out
    def fail(*args: object, **kwargs: object) -> object:
        raise ParserError("Failed to convert value for `Timestamp.value`")

    monkeypatch.setattr(XmlParser, "parse", fail)
    refused = refusal(cancel())
    assert refused.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert refused.error_value == (
        "requestingAgencyMessage: Failed to convert value for `Timestamp.value`"
    )
    assert refused.kind is MessageKind.REQUESTING_AGENCY_MESSAGE


def test_a_date_time_without_a_zone_is_not_written() -> None:
    model = wire.parse(cancel()).model
    assert isinstance(model, v1_2.Iso18626Message) and model.requesting_agency_message
    header = model.requesting_agency_message.header
    naive = XmlDateTime(2024, 5, 6, 9, 30, 0)
    unzoned = dataclasses.replace(
        model,
        requesting_agency_message=dataclasses.replace(
            model.requesting_agency_message,
            header=dataclasses.replace(header, timestamp=v1_2.Timestamp(value=naive)),
        ),
    )
    with pytest.raises(wire.NotSerialisable, match=r"header\.timestamp\.value: a date-time"):
        wire.serialise(unzoned)
    # a zone-less timestamp is read (the schema allows it), but not written
    read = wire.parse(cancel().replace(b"11:19:23Z", b"11:19:23"))
    assert read.model.requesting_agency_message is not None
    assert read.model.requesting_agency_message.header.timestamp.value.offset is None
    with pytest.raises(wire.NotSerialisable, match="without a time zone"):
        wire.serialise(read.model)


def test_a_model_the_schema_refuses_is_not_written() -> None:
    empty = v2021.Iso18626Message(version="2021-2")  # no message in the envelope
    with pytest.raises(wire.NotSerialisable, match=r"not valid ISO 18626 2021-2: .*Missing child"):
        wire.serialise(empty)


def test_a_built_2021_message_is_written_with_the_fixed_prefix() -> None:
    when = XmlDateTime(2024, 5, 6, 7, 30, 0, offset=0)
    confirmation = v2021.Iso18626Message(
        version=Version.V2021.value,
        requesting_agency_message_confirmation=v2021.RequestingAgencyMessageConfirmation(
            confirmation_header=v2021.ConfirmationHeader(
                requesting_agency_id=v2021.RequestingAgencyId(
                    agency_id_type=v2021.TypeSchemeValuePair(value="ISIL"),
                    agency_id_value="DE-REQ1",
                ),
                timestamp=v2021.Timestamp(value=when),
                timestamp_received=v2021.TimestampReceived(value=when),
                message_status=v2021.TypeMessageStatus.OK,
            ),
            action=v2021.Action(value=v2021.TypeAction.CANCEL),
        ),
    )
    written = wire.serialise(confirmation)
    assert (
        b'<ill:ISO18626Message xmlns:ill="' + NAMESPACE.encode() + b'" ill:version="2021-2">'
        in written
    )
    assert b"<ill:timestamp>2024-05-06T07:30:00Z</ill:timestamp>" in written
    assert b"<ill:action>Cancel</ill:action>" in written
    parsed = wire.parse(written)
    assert (parsed.kind, parsed.version, parsed.model) == (
        MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
        Version.V2021,
        confirmation,
    )


def test_the_wire_layer_loads_nothing_of_isoill_but_itself_and_no_asyncio() -> None:
    """In a fresh interpreter: what importing the wire layer loads of isoill, and whether
    asyncio. (socket and ssl do get loaded: xsdata imports the standard library's
    xml.sax.saxutils, which imports urllib.request; nothing here opens a socket.)"""
    probe = (
        "import json, sys, isoill.iso18626.wire; "
        "print(json.dumps([n for n in sys.modules if n.startswith(('isoill.', 'asyncio'))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert "isoill.iso18626.wire" in loaded  # the probe sees what it imports
    assert [name for name in loaded if not name.startswith("isoill.iso18626")] == []
    assert "isoill.iso18626.generate" not in loaded


def test_what_the_store_keeps_is_the_body_without_its_security_code() -> None:
    body = (ISO18626_SAMPLES / "RequestingAgencyMessageSample1.xml").read_bytes()
    assert b"securityCode>" in body
    parsed = wire.parse(body)
    assert b"securityCode" not in parsed.kept
    assert b"accountId>" in parsed.kept  # the rest of the authentication stays
    again = wire.parse(parsed.kept)  # still a valid message, the same one but the code
    assert again.kind is parsed.kind
    sent, stored = parsed.model.requesting_agency_message, again.model.requesting_agency_message
    assert sent is not None and stored is not None
    authentication = sent.header.requesting_agency_authentication
    assert authentication is not None and authentication.security_code
    kept = stored.header.requesting_agency_authentication
    assert kept == dataclasses.replace(authentication, security_code=None)
    plain = cancel()
    assert b"securityCode" not in plain and wire.parse(plain).kept is plain
