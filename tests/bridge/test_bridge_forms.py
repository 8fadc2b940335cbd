"""The version-neutral messages: every sample and 2021 message read into them, written back in
its own schema and in the other one, each result valid (wire.serialise validates it) and read
back to the same value, but for what the other schema cannot hold."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from paths import ISO18626_2021, ISO18626_SAMPLES

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.times import zone
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version

MESSAGES = sorted(ISO18626_SAMPLES.glob("*.xml")) + sorted(ISO18626_2021.glob("*.xml"))
BERLIN = zone("Europe/Berlin")


def read(path: Path) -> tuple[b.Message, Version]:
    parsed = wire.parse(path.read_bytes())
    return forms.read(parsed.model, BERLIN), parsed.version


def again(message: b.Message, version: Version) -> b.Message:
    body = wire.serialise(forms.write(message, version))
    parsed = wire.parse(body, version=version)
    assert parsed.version is version
    return forms.read(parsed.model, BERLIN)


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_a_message_comes_back_from_its_own_schema(path: Path) -> None:
    message, version = read(path)
    assert again(message, version) == message


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_a_message_written_in_the_other_schema_is_valid(path: Path) -> None:
    message, version = read(path)
    other = Version.V2021 if version is Version.V1_2 else Version.V1_2
    if isinstance(message, b.RequestingAgencyMessage | b.Confirmation) and message.action in (
        b.Action.LOST,
        b.Action.HOLD_RETURN,
    ):
        with pytest.raises(ValueError, match="TypeAction"):
            forms.write(message, other)
        return
    back = again(message, other)
    assert type(back) is type(message)
    if isinstance(message, b.RequestingAgencyMessage):
        assert back == dataclasses.replace(
            message, header=dataclasses.replace(message.header, multiple_item_request_id=None)
        )


def test_a_2021_delivery_keeps_in_v1_2_what_v1_2_holds() -> None:
    message, _ = read(ISO18626_2021 / "SupplyingAgencyMessage.xml")
    assert isinstance(message, b.SupplyingAgencyMessage)
    assert message.sent is not None and message.retry is not None
    wider = dataclasses.replace(
        message,
        sent=dataclasses.replace(
            message.sent, loan_conditions=("LibraryUseOnly", "NoReproduction"), url="http://x"
        ),
    )
    back = again(wider, Version.V1_2)
    assert isinstance(back, b.SupplyingAgencyMessage) and back.sent is not None
    assert back.sent.loan_conditions == ("LibraryUseOnly",)
    assert back.sent.method == "Mail"  # 2021's deliveryMethod is v1.2's sentVia
    assert back.sent.url is None and back.sent.service_type is None
    assert back.retry is not None and back.retry.offered_costs == message.retry.offered_costs


def test_a_v1_2_header_always_carries_a_multiple_item_request_id() -> None:
    message, _ = read(ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml")
    body = wire.serialise(forms.write(message, Version.V1_2))
    assert b"<ill:multipleItemRequestId/>" in body


def test_the_declared_version_is_written_as_given() -> None:
    message, _ = read(ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml")
    assert forms.write(message, Version.V1_2).version == "1.2"
    assert forms.write(message, Version.V1_2, "v1_2_2017").version == "v1_2_2017"
    assert forms.write(message, Version.V2021).version == "2021-2"


def test_the_security_code_stays_out_of_reprs() -> None:
    message, _ = read(ISO18626_2021 / "RequestingAgencyMessage.xml")
    assert isinstance(message, b.RequestingAgencyMessage)
    assert message.header.authentication is not None
    assert message.header.authentication.security_code == "not-a-secret"
    assert "not-a-secret" not in repr(message)
