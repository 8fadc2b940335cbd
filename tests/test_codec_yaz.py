"""isoill's codec against YAZ, the reference ISO 10161 implementation.

* Every APDU type, every field filled (variants 0..3 cover every CHOICE alternative and
  ENUMERATED member): YAZ decodes isoill's encoding, and isoill decodes YAZ's re-encoding of
  it (YAZ writes indefinite lengths) back to the same model.
* ``yaz-illclient`` sends requests built from ``-D`` options; isoill decodes what it sent and
  finds the option values in the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from apdu_examples import full_apdu
from interop.yaz import YazDecodeError, run_illclient, yaz_decode

from isoill.codec import plan
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    ExpiryFlag,
    ILLRequest,
    ILLServiceType,
    ItemType,
    PlaceOnHoldType,
    RequesterCHECKEDIN,
    RequesterSHIPPED,
    SystemId,
)
from isoill.codec.text import Text

VARIANTS = range(4)

# Status-Or-Error-Report with reason-no-report: yaz-illclient prints "Ok" and exits 0.
REPLY = bytes.fromhex(
    "7323"  # [APPLICATION 19] Status-Or-Error-Report, 35 bytes
    "3021"  # SEQUENCE, 33 bytes
    "800102"  # protocol-version-num 2
    "a10a"  # transaction-id
    "a1031b0147"  # transaction-group-qualifier "G"
    "a2031b0154"  # transaction-qualifier "T"
    "a20c"  # service-date-time
    "a00a"  # date-time-of-this-service
    "80083230323530313031"  # date "20250101"
    "9f2b0101"  # reason-no-report [43] temporary(1)
)


def gs(value: str) -> Text:
    return Text(value.encode("utf-8"))


# --- isoill -> YAZ -> isoill, all 20 APDU types ---------------------------------------------


@pytest.mark.parametrize("name", list(plan.APDUS))
def test_yaz_reads_isoill_and_isoill_reads_yaz(yazill: Path, name: str) -> None:
    assert len(plan.APDUS) == 20
    for variant in VARIANTS:
        apdu = full_apdu(name, variant)
        ours = encode(apdu)
        try:
            theirs = yaz_decode(yazill, ours)  # yazill exits 0 only if libyaz decoded it
        except YazDecodeError as error:
            pytest.fail(f"{name} variant {variant}: YAZ rejects isoill's BER: {error.message}")
        assert theirs, f"{name} variant {variant}: YAZ re-encoded nothing"
        assert theirs[:1] == ours[:1], f"{name} variant {variant}: YAZ changed the APDU tag"
        back = decode(theirs)
        assert back.apdu_type == name
        assert back == apdu, f"{name} variant {variant}: YAZ's re-encoding decodes differently"
        assert back.ber == theirs
        # And YAZ's bytes, re-encoded by isoill, are isoill's own encoding again.
        assert encode(back) == ours, f"{name} variant {variant}"


def test_yaz_reencoding_uses_indefinite_lengths(yazill: Path) -> None:
    # Makes sure the test above exercises isoill's indefinite-length decoding: YAZ writes
    # the long (200-byte) strings of variant 2 inside indefinite-length elements.
    ours = encode(full_apdu("ILL-Request", 2))
    theirs = yaz_decode(yazill, ours)
    assert ours[1] != 0x80
    assert theirs[:2] == b"\x61\x80"
    assert theirs != ours
    assert decode(theirs) == decode(ours)


# --- yaz-illclient -D ... -> isoill ----------------------------------------------------------

LONG_NOTE = "Ünïcödé note: " + "please handle with care; " * 8  # well over 127 bytes


def _check_loan_with_responder(apdu: ILLRequest) -> None:
    assert apdu.ill_service_type == (ILLServiceType.LOAN,)
    tid = apdu.transaction_id
    assert tid.initial_requester_id is not None
    assert tid.initial_requester_id.person_or_institution_symbol is not None
    assert tid.initial_requester_id.person_or_institution_symbol.institution_symbol == gs("REQ")
    assert tid.transaction_group_qualifier == gs("G7")
    assert tid.transaction_qualifier == gs("Q-0007")
    this = apdu.service_date_time.date_time_of_this_service
    assert (this.date, this.time) == ("20240601", "235959")
    assert apdu.requester_id is not None
    assert apdu.requester_id.person_or_institution_symbol is not None
    assert apdu.requester_id.person_or_institution_symbol.person_symbol == gs("Pat")
    assert apdu.requester_id.person_or_institution_symbol.institution_symbol is None
    assert apdu.responder_id is not None
    assert apdu.responder_id.person_or_institution_symbol is not None
    assert apdu.responder_id.person_or_institution_symbol.institution_symbol == gs("RESP")
    assert apdu.responder_id.name_of_person_or_institution is not None
    assert apdu.responder_id.name_of_person_or_institution.name_of_institution == gs(
        "Responding Library"
    )
    assert apdu.place_on_hold is PlaceOnHoldType.NO
    assert apdu.item_id.item_type is ItemType.MONOGRAPH
    assert apdu.item_id.title == gs("Dune")
    assert apdu.item_id.author == gs("Herbert, Frank")
    assert apdu.item_id.isbn == gs("9780441013593")


def _check_copy_without_responder(apdu: ILLRequest) -> None:
    assert apdu.ill_service_type == (ILLServiceType.COPY_NON_RETURNABLE,)
    assert apdu.responder_id == SystemId()  # YAZ still sends an empty System-Id
    assert apdu.item_id.item_type is ItemType.SERIAL
    assert apdu.item_id.title == gs("Journal of Interlending")
    assert apdu.item_id.title_of_article == gs("Copyright and the copy request")
    assert apdu.item_id.pagination == gs("1-12")
    assert apdu.item_id.volume_issue == gs("12(3)")
    assert apdu.copyright_compliance == gs("CCG")  # YAZ's key is spelt copyright-complicance
    assert apdu.retry_flag is True
    assert apdu.forward_flag is False


def _check_long_note(apdu: ILLRequest) -> None:
    assert apdu.requester_note is not None
    assert apdu.requester_note.raw == LONG_NOTE.encode("utf-8")
    assert len(apdu.requester_note.raw) > 127
    assert apdu.requester_note.text == LONG_NOTE
    assert apdu.forward_flag is True
    assert apdu.item_id.call_number == gs("PS3558.E63")


def _check_client_id(apdu: ILLRequest) -> None:
    assert apdu.client_id is not None
    assert apdu.client_id.client_name == gs("Ada Lovelace")
    assert apdu.client_id.client_status == gs("Faculty")
    assert apdu.client_id.client_identifier == gs("P-0042")
    messages = apdu.requester_optional_messages
    assert messages.can_send_received is True
    assert messages.can_send_returned is False
    assert messages.requester_shipped is RequesterSHIPPED.NEITHER
    assert messages.requester_checked_in is RequesterCHECKEDIN.DESIRES


def _check_need_before(apdu: ILLRequest) -> None:
    search = apdu.search_type
    assert search is not None
    assert search.level_of_service == gs("B")
    assert search.need_before_date == "20260115"
    assert search.expiry_flag is ExpiryFlag.NEED_BEFORE_DATE
    assert search.expiry_date is None
    assert apdu.delivery_address is not None
    postal = apdu.delivery_address.postal_address
    assert postal is not None
    assert postal.street_and_number == gs("1 Main St")
    assert postal.city == gs("Denton")
    assert postal.country == gs("US")
    assert postal.postal_code == gs("76203")


@dataclass(frozen=True)
class Run:
    defines: tuple[str, ...]
    check: Callable[[ILLRequest], None]

    @property
    def args(self) -> list[str]:
        return [arg for define in self.defines for arg in ("-D", define)]


RUNS: dict[str, Run] = {
    "loan-with-responder": Run(
        (
            "ill,ill-service-type=1",
            "ill,transaction-id,initial-requester-id,person-or-institution-symbol,institution=REQ",
            "ill,transaction-id,transaction-group-qualifier=G7",
            "ill,transaction-id,transaction-qualifier=Q-0007",
            "ill,service-date-time,this,date=20240601",
            "ill,service-date-time,this,time=235959",
            "ill,requester-id,person-or-institution-symbol,person=Pat",
            "ill,responder-id,person-or-institution-symbol,institution=RESP",
            "ill,responder-id,name-of-person-or-institution,name-of-institution=Responding Library",
            "ill,place-on-hold=2",
            "ill,item-id,title=Dune",
            "ill,item-id,author=Herbert, Frank",
            "ill,item-id,ISBN=9780441013593",
        ),
        _check_loan_with_responder,
    ),
    "copy-without-responder": Run(
        (
            "ill,ill-service-type=2",
            "ill,item-id,item-type=2",
            "ill,item-id,title=Journal of Interlending",
            "ill,item-id,title-of-article=Copyright and the copy request",
            "ill,item-id,pagination=1-12",
            "ill,item-id,volume-issue=12(3)",
            "ill,copyright-complicance=CCG",
            "ill,retry-flag=1",
        ),
        _check_copy_without_responder,
    ),
    "long-requester-note": Run(
        (
            f"ill,requester-note={LONG_NOTE}",
            "ill,forward-flag=1",
            "ill,item-id,call-number=PS3558.E63",
        ),
        _check_long_note,
    ),
    "client-id": Run(
        (
            "ill,item-id,title=Dune",
            "ill,client-id,client-name=Ada Lovelace",
            "ill,client-id,client-status=Faculty",
            "ill,client-id,client-identifier=P-0042",
            "ill,requester-optional-messages,can-send-RECEIVED=1",
            "ill,requester-optional-messages,requester-SHIPPED=3",
            "ill,requester-optional-messages,requester-CHECKED-IN=2",
        ),
        _check_client_id,
    ),
    "search-need-before-date": Run(
        (
            "ill,item-id,title=Dune",
            "ill,search-type,level-of-service=B",
            "ill,search-type,need-before-date=20260115",
            "ill,search-type,expiry-flag=1",
            "ill,delivery-address,postal-address,street-and-number=1 Main St",
            "ill,delivery-address,postal-address,city=Denton",
            "ill,delivery-address,postal-address,country=US",
            "ill,delivery-address,postal-address,postal-code=76203",
        ),
        _check_need_before,
    ),
}


@pytest.mark.parametrize("run_name", list(RUNS))
def test_illclient_request_decodes_to_option_values(yaz_illclient: str, run_name: str) -> None:
    spec = RUNS[run_name]
    run = run_illclient(spec.args, reply=REPLY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["Ok"]
    data = run.received
    assert run.saved_request == data
    # Every one of these requests is over 127 bytes, so YAZ switches to indefinite lengths.
    assert data[:4] == b"\x61\x80\x30\x80", data[:4].hex(" ")
    assert data[-4:] == b"\x00\x00\x00\x00"
    apdu = decode(data)
    assert isinstance(apdu, ILLRequest)
    assert apdu.ber == data
    assert apdu.protocol_version_num == 2
    spec.check(apdu)
    # isoill's definite-length re-encoding carries the same values.
    assert decode(encode(apdu)) == apdu


def test_illclient_short_request_is_definite(yaz_illclient: str) -> None:
    run = run_illclient(["-D", "ill,item-id,title=Dune", "-D", "ill,ill-service-type=1"], REPLY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.received[:2] == b"\x61\x62"
    apdu = decode(run.received)
    assert isinstance(apdu, ILLRequest)
    assert apdu.ill_service_type == (ILLServiceType.LOAN,)
    assert apdu.item_id.title == gs("Dune")
    assert encode(apdu) == run.received
