"""isoill's codec against bytes a real ISO ILL client (YAZ's ``yaz-illclient``) sent.

The expected values come from the commands recorded in the captures' README (and
``params-3.txt``), not from isoill: each test says what the client was told to send.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import CAPTURES

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import DecodeError
from isoill.codec.framing import Framer
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import (
    ExpiryFlag,
    ILLRequest,
    ILLServiceType,
    ItemType,
    PlaceOnHoldType,
    RequesterCHECKEDIN,
    RequesterSHIPPED,
    SystemId,
    TransactionType,
)
from isoill.codec.text import Text

NUMBERED_FILES = [CAPTURES / f"yaz-illclient-{n}.ber" for n in (1, 2, 3)]
ALL_FILES = sorted(CAPTURES.glob("*.ber"))

LONG_ARTICLE_TITLE = (
    "An extremely long article title, padded on purpose so that this single GeneralString is "
    "longer than one hundred and twenty-seven bytes and needs a long-form BER length"
)
UNICODE_TITLE_UTF8 = b"Journal of \xc3\x9cn\xc3\xafc\xc3\xb6d\xc3\xa9 Studies"


def request_of(data: bytes) -> ILLRequest:
    apdu = decode(data)
    assert isinstance(apdu, ILLRequest)
    return apdu


def load(path: Path) -> ILLRequest:
    return request_of(path.read_bytes())


def numbered(n: int) -> ILLRequest:
    return load(CAPTURES / f"yaz-illclient-{n}.ber")


def local(name: str) -> ILLRequest:
    return load(CAPTURES / name)


def gs(value: str | bytes) -> Text:
    """A GeneralString value as the client sends it (UTF-8 bytes, not EDIFACT)."""
    return Text(value if isinstance(value, bytes) else value.encode("utf-8"))


def institution(apdu_system_id: SystemId | None) -> Text | None:
    assert apdu_system_id is not None
    symbol = apdu_system_id.person_or_institution_symbol
    return None if symbol is None else symbol.institution_symbol


def test_captures_are_present() -> None:
    assert {p.name for p in ALL_FILES} == {
        "client-id.ber",
        "copy-copyright.ber",
        "delivery-postal.ber",
        "requester-optional-messages.ber",
        "search-need-before.ber",
        "yaz-illclient-1.ber",
        "yaz-illclient-2.ber",
        "yaz-illclient-3.ber",
    }


# --- every capture: decode, keep bytes, re-encode, JSON -----------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_capture_decodes_whole_and_keeps_its_bytes(path: Path) -> None:
    data = path.read_bytes()
    apdu = decode(data)  # decode() raises if any byte is left over
    assert apdu.apdu_type == "ILL-Request"
    assert isinstance(apdu, ILLRequest)
    assert apdu.ber == data
    # Trailing bytes are refused, so "nothing left over" is a real check.
    with pytest.raises(DecodeError, match="1 bytes after the APDU"):
        decode(data + b"\x00")


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_capture_reencodes_to_an_equal_model(path: Path) -> None:
    data = path.read_bytes()
    apdu = decode(data)
    again = encode(apdu)
    # isoill writes definite lengths only; YAZ used indefinite ones for the longer captures.
    assert again[:1] == b"\x61"
    assert again[1] != 0x80
    reparsed = decode(again)
    assert reparsed == apdu
    assert reparsed.ber == again
    assert encode(reparsed) == again


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_capture_json_round_trip(path: Path) -> None:
    apdu = decode(path.read_bytes())
    document = json.loads(json.dumps(to_json(apdu)))
    assert list(document) == ["ILL-Request"]
    assert from_json(document) == apdu
    assert encode(from_json(document)) == encode(apdu)


def test_definite_captures_reencode_byte_for_byte() -> None:
    # Captures 1 and search-need-before use definite lengths throughout (README), and YAZ,
    # like isoill, writes DEFAULT values: isoill's encoding is then the very same bytes.
    for path in (
        CAPTURES / "yaz-illclient-1.ber",
        CAPTURES / "search-need-before.ber",
    ):
        data = path.read_bytes()
        assert data[1] != 0x80, path.name
        assert encode(decode(data)) == data, path.name


# --- framing ------------------------------------------------------------------------------


def _frame_byte_by_byte(stream: bytes) -> list[bytes]:
    framer = Framer()
    out: list[bytes] = []
    for i in range(len(stream)):
        framer.feed(stream[i : i + 1])
        while (apdu := framer.next_apdu()) is not None:
            out.append(apdu)
    assert framer.buffered == 0
    return out


def test_numbered_captures_framed_one_byte_at_a_time() -> None:
    parts = [p.read_bytes() for p in NUMBERED_FILES]
    framed = _frame_byte_by_byte(b"".join(parts))
    assert framed == parts
    decoded = [request_of(apdu) for apdu in framed]
    assert [d.transaction_id.transaction_qualifier for d in decoded] == [
        gs(""),
        gs("TX-0002"),
        gs("T3-000000003"),
    ]


def test_all_captures_framed_one_byte_at_a_time() -> None:
    parts = [p.read_bytes() for p in ALL_FILES]
    assert _frame_byte_by_byte(b"".join(parts)) == parts


def test_framer_holds_back_an_incomplete_indefinite_apdu() -> None:
    data = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
    framer = Framer()
    framer.feed(data[:-1])  # all but the last end-of-contents octet
    assert framer.next_apdu() is None
    framer.feed(data[-1:])
    assert framer.next_apdu() == data
    assert framer.next_apdu() is None


# --- capture 1: yaz-illclient -D ill,item-id,title=Dune -----------------------------------


def test_capture_1_values() -> None:
    apdu = numbered(1)
    data = apdu.ber
    assert data is not None and len(data) == 100
    assert data[:2] == b"\x61\x62"  # definite lengths
    assert apdu.protocol_version_num == 2
    tid = apdu.transaction_id
    assert tid.initial_requester_id == SystemId()  # the empty System-Id `a3 00`
    assert b"\xa3\x00" in data
    assert tid.transaction_group_qualifier == gs("")
    assert tid.transaction_qualifier == gs("")
    assert tid.sub_transaction_qualifier is None
    this = apdu.service_date_time.date_time_of_this_service
    assert (this.date, this.time) == ("20000101", None)
    assert apdu.requester_id == SystemId()
    assert apdu.responder_id == SystemId()
    assert apdu.transaction_type is TransactionType.SIMPLE
    assert apdu.ill_service_type == (ILLServiceType.COPY_NON_RETURNABLE,)
    assert apdu.item_id.item_type is ItemType.MONOGRAPH
    assert apdu.item_id.title == gs("Dune")
    assert apdu.item_id.author is None
    assert apdu.place_on_hold is PlaceOnHoldType.ACCORDING_TO_RESPONDER_POLICY
    assert apdu.search_type is not None
    assert apdu.search_type.expiry_flag is ExpiryFlag.NO_EXPIRY
    assert apdu.retry_flag is False
    assert apdu.forward_flag is False
    assert apdu.requester_note is None


# --- capture 2: many -D keys, indefinite lengths ------------------------------------------


def test_capture_2_values() -> None:
    apdu = numbered(2)
    data = apdu.ber
    assert data is not None and len(data) == 293
    assert data[:4] == b"\x61\x80\x30\x80"
    assert data[-4:] == b"\x00\x00\x00\x00"
    tid = apdu.transaction_id
    assert institution(tid.initial_requester_id) == gs("REQLIB")
    assert tid.transaction_group_qualifier == gs("grp1")
    assert tid.transaction_qualifier == gs("TX-0002")
    this = apdu.service_date_time.date_time_of_this_service
    assert (this.date, this.time) == ("20240315", "101530")
    assert institution(apdu.requester_id) == gs("REQLIB")
    assert institution(apdu.responder_id) == gs("RESPLIB")
    assert apdu.ill_service_type == (ILLServiceType.LOAN,)
    item = apdu.item_id
    assert item.title == gs("The Left Hand of Darkness")
    assert item.author == gs("Le Guin, Ursula K.")
    assert item.isbn == gs("9780441478125")
    assert item.publisher == gs("Ace Books")
    assert item.publication_date == gs("1969")
    assert apdu.client_id is not None
    assert apdu.client_id.client_name == gs("Jane Patron")
    assert apdu.client_id.client_status is None
    assert apdu.client_id.client_identifier == gs("P-1234")
    assert apdu.requester_note == gs("Please send by courier")
    # Those values are where the client put them, as GeneralStrings (tag 1b).
    for text in (
        "The Left Hand of Darkness",
        "Le Guin, Ursula K.",
        "9780441478125",
        "Ace Books",
        "Jane Patron",
        "P-1234",
        "Please send by courier",
    ):
        raw = text.encode()
        assert b"\x1b" + bytes([len(raw)]) + raw in data, text


# --- capture 3: yaz-illclient -f params-3.txt ---------------------------------------------


def test_params_3_is_what_capture_3_was_made_from() -> None:
    params = (CAPTURES / "params-3.txt").read_text(encoding="utf-8")
    assert "ill,item-id,title=Journal of Ünïcödé Studies" in params
    assert f"ill,item-id,title-of-article={LONG_ARTICLE_TITLE}\n" in params


def test_capture_3_ids_and_names() -> None:
    apdu = numbered(3)
    data = apdu.ber
    assert data is not None and len(data) == 528
    assert data[:4] == b"\x61\x80\x30\x80"
    assert apdu.protocol_version_num == 2
    tid = apdu.transaction_id
    assert institution(tid.initial_requester_id) == gs("UNT")
    assert tid.transaction_qualifier == gs("T3-000000003")
    assert tid.transaction_group_qualifier == gs("")
    this = apdu.service_date_time.date_time_of_this_service
    assert (this.date, this.time) == ("20250101", None)

    requester, responder = apdu.requester_id, apdu.responder_id
    assert requester is not None and responder is not None
    assert institution(requester) == gs("UNT")
    assert requester.name_of_person_or_institution is not None
    assert requester.name_of_person_or_institution.name_of_institution == gs("UNT Libraries")
    assert institution(responder) == gs("OZZ")
    assert responder.name_of_person_or_institution is not None
    assert responder.name_of_person_or_institution.name_of_institution == gs(
        "University of North Texas Health Science Center"
    )

    assert apdu.ill_service_type == (ILLServiceType.COPY_NON_RETURNABLE,)


def test_capture_3_item_id() -> None:
    apdu = numbered(3)
    data = apdu.ber
    assert data is not None
    item = apdu.item_id
    assert item.item_type is ItemType.OTHER
    assert item.title is not None
    assert item.title.raw == UNICODE_TITLE_UTF8  # raw UTF-8 bytes inside a GeneralString
    assert item.title.text == "Journal of Ünïcödé Studies"
    assert item.title.edifact is False
    assert item.title_of_article is not None
    assert len(item.title_of_article.raw) == 167
    assert item.title_of_article == gs(LONG_ARTICLE_TITLE)
    assert b"\x1b\x81\xa7" + LONG_ARTICLE_TITLE.encode() in data  # long-form length
    assert item.issn == gs("1234-5678")
    assert item.volume_issue == gs("12(3)")
    assert item.pagination == gs("101-120")
    assert item.verification_reference_source == gs("myself")


def test_capture_3_address_search_and_flags() -> None:
    apdu = numbered(3)
    assert apdu.delivery_address is not None
    postal = apdu.delivery_address.postal_address
    assert postal is not None
    assert postal.name_of_person_or_institution is not None
    assert postal.name_of_person_or_institution.name_of_person == gs("TEST DATA")
    assert postal.name_of_person_or_institution.name_of_institution is None
    assert postal.street_and_number == gs("1 Main St")
    assert postal.city == gs("Denton")
    assert postal.postal_code == gs("76203")
    assert postal.country == gs("US")
    assert postal.region is None

    search = apdu.search_type
    assert search is not None
    assert search.level_of_service == gs("A")
    assert search.need_before_date == "20250201"
    assert search.expiry_flag is ExpiryFlag.NEED_BEFORE_DATE
    assert search.expiry_date is None

    messages = apdu.requester_optional_messages
    assert messages.can_send_received is True
    assert messages.can_send_returned is True
    assert messages.requester_shipped is RequesterSHIPPED.DESIRES
    assert messages.requester_checked_in is RequesterCHECKEDIN.REQUIRES  # not given: default

    assert apdu.place_on_hold is PlaceOnHoldType.YES
    assert apdu.retry_flag is True
    assert apdu.forward_flag is False


def test_capture_3_json_keeps_unicode_title() -> None:
    document = to_json(numbered(3))
    item = document["ILL-Request"]["item-id"]
    assert item["title"] == "Journal of Ünïcödé Studies"
    assert item["title-of-article"] == LONG_ARTICLE_TITLE
    assert item["item-type"] == "other"
    assert document["ILL-Request"]["place-on-hold"] == "yes"


# --- the captures named for what they show ------------------------------------------------


def test_copy_copyright_values() -> None:
    apdu = local("copy-copyright.ber")
    assert apdu.ber is not None and apdu.ber[:4] == b"\x61\x80\x30\x80"
    assert b"\xa9\x03\x0a\x01\x02" in apdu.ber
    assert apdu.ill_service_type == (ILLServiceType.COPY_NON_RETURNABLE,)
    item = apdu.item_id
    assert item.item_type is ItemType.SERIAL
    assert item.title == gs("Journal of Interlending")
    assert item.title_of_article == gs("Copyright and the copy request")
    assert item.pagination == gs("1-12")
    assert apdu.copyright_compliance == gs("CCG")
    assert b"NOT-SENT" not in apdu.ber


def test_delivery_postal_values() -> None:
    apdu = local("delivery-postal.ber")
    assert apdu.item_id.title == gs("Dune")
    delivery = apdu.delivery_address
    assert delivery is not None
    postal = delivery.postal_address
    assert postal is not None
    assert postal.name_of_person_or_institution is not None
    assert postal.name_of_person_or_institution.name_of_institution == gs(
        "Central Library ILL Office"
    )
    assert postal.extended_postal_delivery_address == gs("Room 101")
    assert postal.street_and_number == gs("1 Main St")
    assert postal.post_office_box == gs("PO Box 7")
    assert postal.city == gs("Denton")
    assert postal.region == gs("TX")
    assert postal.country == gs("US")
    assert postal.postal_code == gs("76203")
    # electronic-address sent empty (`a1 00`); billing-address empty (`a8 04 a0 00 a1 00`).
    assert delivery.electronic_address is not None
    assert delivery.electronic_address.telecom_service_identifier is None
    assert delivery.electronic_address.telecom_service_address is None
    billing = apdu.billing_address
    assert billing is not None
    assert billing.postal_address is not None
    assert billing.postal_address.city is None
    assert billing.electronic_address is not None


def test_search_need_before_values() -> None:
    apdu = local("search-need-before.ber")
    assert apdu.ber is not None and apdu.ber[:4] == b"\x61\x7b\x30\x79"
    search = apdu.search_type
    assert search is not None
    assert search.level_of_service == gs("A")
    assert search.need_before_date == "20250301"
    assert search.expiry_flag is ExpiryFlag.OTHER_DATE
    assert search.expiry_date == "20250401"


def test_client_id_values() -> None:
    apdu = local("client-id.ber")
    client = apdu.client_id
    assert client is not None
    assert client.client_name == gs("Ada Lovelace")
    assert client.client_status == gs("Faculty")
    assert client.client_identifier == gs("P-0042")
    assert apdu.item_id.title == gs("Dune")


def test_requester_optional_messages_values() -> None:
    apdu = local("requester-optional-messages.ber")
    assert apdu.ber is not None
    assert b"\xab\x0c\x80\x01\x01\x81\x01\x01\x82\x01\x02\x83\x01\x03" in apdu.ber
    messages = apdu.requester_optional_messages
    assert messages.can_send_received is True  # BOOLEAN true written as 01, not ff
    assert messages.can_send_returned is True
    assert messages.requester_shipped is RequesterSHIPPED.DESIRES
    assert messages.requester_checked_in is RequesterCHECKEDIN.NEITHER
    # Same 100 bytes as capture 1: only those four values differ.
    bare = numbered(1)
    assert (
        apdu.model_copy(update={"requester_optional_messages": bare.requester_optional_messages})
        == bare
    )
