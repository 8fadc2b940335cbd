"""pyasn1, driven by the pyasn1 types of :mod:`isoill.asn1.ill9702`, as an independent BER decoder.

isoill's codec does not use pyasn1 at run time (it compiles the pyasn1 types into a plan once),
so pyasn1's own decoder is a second opinion on the bytes isoill writes, and on the captures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES
from pyasn1.codec.ber import decoder as ber_decoder

from isoill.asn1.ill9702 import ILLAPDU
from isoill.codec import plan
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import IllApdu, ILLRequest
from isoill.codec.text import Text

CAPTURE_FILES = sorted(CAPTURES.glob("*.ber"))

VARIANTS = range(4)


def pyasn1_decode(data: bytes) -> Any:
    value, rest = ber_decoder.decode(data, asn1Spec=ILLAPDU())
    assert bytes(rest) == b"", f"pyasn1 left {len(rest)} bytes over"
    return value


def ill_string_bytes(value: Any) -> bytes:
    """The octets of a pyasn1 ILL-String (a CHOICE of GeneralString and EDIFACTString)."""
    return bytes(value.getComponent().asOctets())


def assert_agrees(pyasn1_value: Any, apdu: IllApdu) -> None:
    assert pyasn1_value.getName() == apdu.apdu_type
    body = pyasn1_value.getComponent()
    assert int(body["protocol-version-num"]) == apdu.protocol_version_num
    tid = body["transaction-id"]
    model_tid = apdu.transaction_id
    assert ill_string_bytes(tid["transaction-qualifier"]) == model_tid.transaction_qualifier.raw
    assert (
        ill_string_bytes(tid["transaction-group-qualifier"])
        == model_tid.transaction_group_qualifier.raw
    )
    this = body["service-date-time"]["date-time-of-this-service"]
    assert str(this["date"]) == apdu.service_date_time.date_time_of_this_service.date


@pytest.mark.parametrize("name", list(plan.APDUS))
def test_pyasn1_decodes_isoill_encoding(name: str) -> None:
    for variant in VARIANTS:
        apdu = full_apdu(name, variant)
        data = encode(apdu)
        try:
            value = pyasn1_decode(data)
        except Exception as error:  # pyasn1 raises a family of PyAsn1Error subclasses
            pytest.fail(f"{name} variant {variant}: pyasn1 cannot decode isoill's BER: {error!r}")
        assert_agrees(value, apdu)
        assert decode(data) == apdu


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=lambda p: p.name)
def test_pyasn1_decodes_capture(path: Path) -> None:
    data = path.read_bytes()
    value = pyasn1_decode(data)
    apdu = decode(data)
    assert isinstance(apdu, ILLRequest)
    assert_agrees(value, apdu)
    body = value.getComponent()
    assert [int(v) for v in body["iLL-service-type"]] == [int(v) for v in apdu.ill_service_type]
    title = body["item-id"]["title"]
    assert apdu.item_id.title is not None
    assert ill_string_bytes(title) == apdu.item_id.title.raw
    # And pyasn1 reads isoill's definite-length re-encoding of the capture the same way.
    again = pyasn1_decode(encode(apdu))
    assert_agrees(again, apdu)
    assert ill_string_bytes(again.getComponent()["item-id"]["title"]) == apdu.item_id.title.raw


def test_pyasn1_reads_capture_3_unicode_and_long_title() -> None:
    data = (CAPTURES / "yaz-illclient-3.ber").read_bytes()
    item = pyasn1_decode(data).getComponent()["item-id"]
    assert ill_string_bytes(item["title"]) == "Journal of Ünïcödé Studies".encode()
    assert len(ill_string_bytes(item["title-of-article"])) == 167
    apdu = decode(data)
    assert isinstance(apdu, ILLRequest)
    assert isinstance(apdu.item_id.title, Text)
