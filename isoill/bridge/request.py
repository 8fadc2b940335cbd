"""ISO 10161's ILL-Request and ISO 18626's Request, field by field, both ways.

:data:`TEXT_FIELDS` pairs the item-id's text elements with the bibliographic ones they carry
both ways; :data:`FIELDS` says what becomes of everything else (both are written into
docs/iso18626.md). Whatever a Request has and an ILL-Request lacks is listed in
:data:`LOST_IN`, the other way in :data:`LOST_OUT`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from isoill.asn1.ext.system_no import OID as SYSTEM_NO
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyMap, agency_of, symbol_for
from isoill.bridge.codes import COPYRIGHT, FORMATS, PUBLICATION_TYPES
from isoill.bridge.times import date_10161, date_out
from isoill.codec.models import (
    Amount,
    CostInfoType,
    DeliveryAddress,
    DeliveryService,
    External,
    ExternalEncoding,
    ILLRequest,
    ILLServiceType,
    ItemId,
    PostalAddress,
    SearchType,
    SystemAddress,
    SystemNoItem,
)
from isoill.codec.models import ClientId as CodecClientId
from isoill.codec.models import System as RecordSystem
from isoill.codec.text import Text
from isoill.ill.symbols import symbol_of, system_id

__all__ = [
    "FIELDS",
    "LOST_IN",
    "LOST_OUT",
    "OPTIONAL_MESSAGES",
    "TEXT_FIELDS",
    "Field",
    "request_fields",
    "request_out",
    "service_type_of",
]

#: item-id element (its attribute) -> bibliographicInfo element (the Bibliographic attribute),
#: the same text both ways.
TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "title"),
    ("sub_title", "subtitle"),
    ("author", "author"),
    ("edition", "edition"),
    ("series_title_number", "series_title"),
    ("sponsoring_body", "sponsor"),
    ("title_of_article", "title_of_component"),
    ("author_of_article", "author_of_component"),
    ("pagination", "pages_requested"),
    ("verification_reference_source", "information_source"),
)

#: What an ILL-Request made from a Request says to keep its optional messages: an ISO 18626
#: requester always learns of the shipping and the check-in (every SAM states the status),
#: and sends Received and ShippedReturn.
OPTIONAL_MESSAGES = {
    "can-send-RECEIVED": True,
    "can-send-RETURNED": True,
    "requester-SHIPPED": "requires",
    "requester-CHECKED-IN": "requires",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the field table: the ISO 10161 element(s), the ISO 18626 one(s), and how."""

    iso10161: str
    iso18626: str
    how: str = ""


FIELDS: tuple[Field, ...] = (
    Field("transaction-id", "header/requestingAgencyRequestId", "isoill.bridge.ids"),
    Field(
        "requester-id, responder-id",
        "header/requestingAgencyId, supplyingAgencyId",
        "isoill.bridge.agency",
    ),
    Field(
        "service-date-time",
        "header/timestamp",
        "out: now, in UTC; in: the timestamp in the 10161 side's zone",
    ),
    Field(
        "item-id.volume-issue",
        "bibliographicInfo/volume, issue",
        'out: volume; in: volume and issue joined with ", "',
    ),
    Field("item-id.iSBN, iSSN", "bibliographicItemId ISBN, ISSN", "in: the first of each"),
    Field(
        "item-id.system-no (SystemNo, 1.2.124.10161.2)",
        "bibliographicRecordId",
        "the system's name as the code (OCLC, RLIN...); in: every record id with a code ISO "
        "10161's systems list",
    ),
    Field("item-id.publisher, place-of-publication, publication-date", "publicationInfo"),
    Field("item-id.item-type", "publicationInfo/publicationType", "the table below"),
    Field(
        "item-id.call-number",
        "supplierInfo/callNumber",
        "out: a supplierInfo for the supplying agency; in: the first call number",
    ),
    Field(
        "iLL-service-type",
        "serviceInfo/serviceType",
        "loan: Loan, copy-non-returnable: Copy, both: CopyOrLoan; a request for "
        "locations or an estimate only has no ISO 18626 form",
    ),
    Field("retry-flag", "serviceInfo/requestType", "Retry, else New"),
    Field(
        "search-type.need-before-date",
        "serviceInfo/needBeforeDate",
        "a date: local midnight with the offset",
    ),
    Field("search-type.level-of-service", "serviceInfo/serviceLevel", "as written"),
    Field(
        "supply-medium-info-type",
        "serviceInfo/itemFormat (v1.2 preferredFormat)",
        "the first medium, the table below; in: an unlisted format as other, with the "
        "format as its medium-characteristics",
    ),
    Field(
        "copyright-compliance",
        "serviceInfo/copyrightCompliance",
        "the table below; other values as written",
    ),
    Field("requester-note", "serviceInfo/note"),
    Field(
        "delivery-address.postal-address",
        "requestedDeliveryInfo/address/physicalAddress",
        "street-and-number: line1, extended-postal-delivery-address (else "
        "post-office-box): line2, city: locality, region, country, postal-code; in: the "
        "first physical address",
    ),
    Field(
        "delivery-address.electronic-address",
        "requestedDeliveryInfo/address/electronicAddress",
        "telecom-service-identifier: electronicAddressType (Email if none), "
        "telecom-service-address: electronicAddressData",
    ),
    Field(
        "delivery-service.physical-delivery", "requestedDeliveryInfo/deliveryMethod", "2021 only"
    ),
    Field(
        "billing-address",
        "billingInfo/address, billingName",
        "the name of the person or institution as billingName",
    ),
    Field(
        "cost-info-type.maximum-cost",
        "billingInfo/maximumCosts",
        "only with a currency and a decimal value",
    ),
    Field(
        "cost-info-type.reciprocal-agreement", "billingInfo/billingMethod", "ReciprocityAgreement"
    ),
    Field(
        "client-id.client-identifier, client-name, client-status",
        "patronInfo/patronId, surname (given names joined after a comma), patronType",
    ),
    Field(
        "third-party-info-type.send-to-list",
        "supplierInfo/supplierCode, sortOrder",
        "in order; in: every supplierInfo naming an agency",
    ),
    Field(
        "requester-optional-messages",
        "(none)",
        "in: can send Received and Returned, requires Shipped and Checked-In",
    ),
)

#: What a Request carries that an ILL-Request made from it does not.
LOST_IN = (
    "requestSubType (booking dates, patron, transfer, multiple item requests), startDate, endDate",
    "anyEdition, preferredEdition, authorId, consortialId, supplierUniqueRecordId",
    "bibliographicItemId other than the first ISBN and ISSN (DOI, ISMN...), "
    "bibliographicRecordId whose code is not an ISO 10161 system, estimatedNoPages",
    "supplierInfo descriptions, record ids, holdings and availability notes",
    "requestingAgencyInfo; the patron's address and sendToPatron; paymentMethod; "
    "billingMethod other than ReciprocityAgreement",
    "every scheme attribute",
)

#: What an ILL-Request carries that a Request made from it does not.
LOST_OUT = (
    "transaction-type, forward-flag, forward-note, place-on-hold, requester-optional-messages",
    "search-type expiry-flag and expiry-date (ISO 18626 has no expiry)",
    "held-medium-type, supply-medium-info-type after the first, medium-characteristics",
    "national-bibliography-no, publication-date-of-component, additional-no-letters",
    "delivery-service electronic-delivery; delivery-service of a v1.2 Request",
    "cost-info-type account-number, will-pay-fee, payment-provided",
    "third-party-info-type permissions, preference, already-tried-list",
    "responder-specific-service, supplemental-item-description, every extension",
)

_SERVICE_TYPES = {
    ILLServiceType.LOAN: b.ServiceType.LOAN,
    ILLServiceType.COPY_NON_RETURNABLE: b.ServiceType.COPY,
}
_RECORD_SYSTEMS = {system.asn1_name.upper(): system for system in RecordSystem if system.listed}
_JOIN = ", "


def service_type_of(apdu: ILLRequest) -> b.ServiceType | None:
    """The ISO 18626 service an ILL-Request asks for: ``None`` when it asks for neither a
    loan nor a copy."""
    asked = {_SERVICE_TYPES[s] for s in apdu.ill_service_type if s in _SERVICE_TYPES}
    if len(asked) == 2:
        return b.ServiceType.COPY_OR_LOAN
    return asked.pop() if asked else None


def request_out(
    apdu: ILLRequest,
    header: b.Header,
    where: ZoneInfo,
    agencies: AgencyMap,
    *,
    previous_request_id: str | None = None,
) -> b.Request:
    """The Request an ILL-Request is, with ``header``; ``previous_request_id`` for a Retry."""
    service_type = service_type_of(apdu)
    assert service_type is not None, "asked for a loan or a copy (checked by the caller)"
    item = apdu.item_id
    search = apdu.search_type
    media = apdu.supply_medium_info_type or ()
    retry = apdu.retry_flag or previous_request_id is not None
    return b.Request(
        header=header,
        bibliographic=b.Bibliographic(
            **{theirs: _text(getattr(item, ours)) for ours, theirs in TEXT_FIELDS},
            volume=_text(item.volume_issue),
            item_ids=tuple(
                b.Identifier(code, value)
                for code, value in (("ISBN", _text(item.isbn)), ("ISSN", _text(item.issn)))
                if value is not None
            ),
            record_ids=_record_ids(item.system_no),
        ),
        service=b.Service(
            service_type=service_type,
            request_type=b.RequestType.RETRY if retry else b.RequestType.NEW,
            previous_request_id=previous_request_id,
            service_level=_text(search.level_of_service) if search else None,
            item_format=FORMATS.to_18626(media[0].supply_medium_type) if media else None,
            need_before=(
                date_out(search.need_before_date, where)
                if search is not None and search.need_before_date
                else None
            ),
            copyright_compliance=_copyright_out(_text(apdu.copyright_compliance)),
            note=_text(apdu.requester_note),
        ),
        publication=_publication(item),
        suppliers=tuple(_suppliers(apdu, header, agencies)),
        deliveries=tuple(_deliveries(apdu)),
        patron=_patron(apdu.client_id),
        billing=_billing(apdu),
    )


def request_fields(request: b.Request, where: ZoneInfo, agencies: AgencyMap) -> dict[str, Any]:
    """The fields of the ILL-Request a Request is, beyond the envelope."""
    bib, service = request.bibliographic, request.service
    service_type = service.service_type if service is not None else b.ServiceType.LOAN
    services = {
        b.ServiceType.LOAN: ("loan",),
        b.ServiceType.COPY: ("copy-non-returnable",),
        b.ServiceType.COPY_OR_LOAN: ("loan", "copy-non-returnable"),
    }[service_type]
    item: dict[str, Any] = {ours: getattr(bib, theirs) for ours, theirs in TEXT_FIELDS}
    issue_joined = _JOIN.join(part for part in (bib.volume, bib.issue) if part)
    item["volume_issue"] = issue_joined or None
    item["isbn"] = _first(bib.item_ids, "ISBN")
    item["issn"] = _first(bib.item_ids, "ISSN")
    item["system_no"] = _system_no(bib.record_ids)
    publication = request.publication
    if publication is not None:
        item["publisher"] = publication.publisher
        item["place_of_publication"] = publication.place
        item["publication_date"] = publication.date
        if publication.type is not None:
            item["item_type"] = PUBLICATION_TYPES.to_10161(publication.type)
    item["call_number"] = next(
        (s.call_number for s in request.suppliers if s.call_number is not None), None
    )
    fields: dict[str, Any] = {
        "iLL-service-type": services,
        "requester-optional-messages": OPTIONAL_MESSAGES,
        "item-id": ItemId(**{key: _codec_text(value) for key, value in item.items()}),
        "retry-flag": service is not None and service.request_type is b.RequestType.RETRY,
    }
    if service is not None:
        fields |= _service_fields(service, where)
    fields |= _delivery_fields(request.deliveries)
    fields |= _billing_fields(request.billing)
    send_to = [
        {"system-id": system_id(symbol_for(s.agency, agencies))}
        for s in sorted(request.suppliers, key=lambda s: s.sort_order or 0)
        if s.agency is not None
    ]
    if send_to:
        fields["third-party-info-type"] = {"preference": "ordered", "send-to-list": send_to}
    patron = request.patron
    if patron is not None and (patron.id or patron.surname or patron.given_name or patron.type):
        names = _JOIN.join(part for part in (patron.surname, patron.given_name) if part)
        fields["client-id"] = CodecClientId(
            client_identifier=_codec_text(patron.id),
            client_name=_codec_text(names or None),
            client_status=_codec_text(patron.type),
        )
    return fields


# --- out ------------------------------------------------------------------------------------


def _text(value: Text | None) -> str | None:
    return value.text if value is not None else None


def _codec_text(value: object) -> object:
    return Text.of(value) if isinstance(value, str) else value


def _copyright_out(value: str | None) -> str | None:
    if value is None:
        return None
    return COPYRIGHT.to_18626(value.strip().upper()) or value


def _record_ids(system_no: External | None) -> tuple[b.Identifier, ...]:
    if system_no is None or system_no.direct_reference != SYSTEM_NO:
        return ()
    items = system_no.encoding.single_asn1_type
    if not isinstance(items, tuple):
        return ()
    return tuple(
        b.Identifier(item.system.asn1_name.upper(), item.recordno.text)
        for item in items
        if isinstance(item, SystemNoItem)
    )


def _publication(item: ItemId) -> b.Publication | None:
    found = b.Publication(
        publisher=_text(item.publisher),
        type=PUBLICATION_TYPES.to_18626(item.item_type) if item.item_type is not None else None,
        date=_text(item.publication_date),
        place=_text(item.place_of_publication),
    )
    return found if found != b.Publication() else None


def _suppliers(apdu: ILLRequest, header: b.Header, agencies: AgencyMap) -> Iterator[b.Supplier]:
    call_number = _text(apdu.item_id.call_number)
    if call_number is not None:
        yield b.Supplier(agency=header.supplying_agency, call_number=call_number)
    third = apdu.third_party_info_type
    for order, entry in enumerate(third.send_to_list or () if third is not None else (), 1):
        symbol = symbol_of(entry.system_id)
        if symbol is not None:
            yield b.Supplier(sort_order=order, agency=agency_of(symbol, agencies))


def _postal_out(address: PostalAddress) -> b.PostalAddress:
    second = address.extended_postal_delivery_address or address.post_office_box
    return b.PostalAddress(
        line1=_text(address.street_and_number),
        line2=_text(second),
        locality=_text(address.city),
        postal_code=_text(address.postal_code),
        region=_text(address.region),
        country=_text(address.country),
    )


def _electronic_out(address: SystemAddress) -> b.ElectronicAddress | None:
    data = _text(address.telecom_service_address)
    if data is None:
        return None
    return b.ElectronicAddress(_text(address.telecom_service_identifier) or "Email", data)


def _deliveries(apdu: ILLRequest) -> Iterator[b.Delivery]:
    address, service = apdu.delivery_address, apdu.delivery_service
    method = _text(service.physical_delivery) if service is not None else None
    found: list[b.Address] = []
    if address is not None and address.postal_address is not None:
        found.append(_postal_out(address.postal_address))
    if address is not None and address.electronic_address is not None:
        electronic = _electronic_out(address.electronic_address)
        if electronic is not None:
            found.append(electronic)
    for order, where in enumerate(found, 1):
        yield b.Delivery(sort_order=order, address=where, method=method if order == 1 else None)
    if not found and method is not None:
        yield b.Delivery(method=method)


def _patron(client: CodecClientId | None) -> b.Patron | None:
    if client is None:
        return None
    found = b.Patron(
        id=_text(client.client_identifier),
        surname=_text(client.client_name),
        type=_text(client.client_status),
    )
    return found if found != b.Patron() else None


def _costs_out(amount: Amount | None) -> b.Costs | None:
    if amount is None or not amount.currency_code:
        return None
    try:
        value = Decimal(amount.monetary_value.strip())
    except InvalidOperation:
        return None
    return b.Costs(amount.currency_code, value) if value.is_finite() else None


def _billing(apdu: ILLRequest) -> b.Billing | None:
    address, costs = apdu.billing_address, apdu.cost_info_type
    name = None
    where: b.Address | None = None
    if address is not None and address.postal_address is not None:
        where = _postal_out(address.postal_address)
        who = address.postal_address.name_of_person_or_institution
        name = str(who.chosen[1]) if who is not None else None
    elif address is not None and address.electronic_address is not None:
        where = _electronic_out(address.electronic_address)
    found = b.Billing(
        maximum_costs=_costs_out(costs.maximum_cost) if costs is not None else None,
        method="ReciprocityAgreement" if costs is not None and costs.reciprocal_agreement else None,
        name=name,
        address=where,
    )
    return found if found != b.Billing() else None


# --- in ---------------------------------------------------------------------------------------


def _first(ids: tuple[b.Identifier, ...], code: str) -> str | None:
    return next((i.value for i in ids if i.code.strip().upper() == code), None)


def _system_no(ids: tuple[b.Identifier, ...]) -> External | None:
    items = tuple(
        SystemNoItem(system=_RECORD_SYSTEMS[i.code.strip().upper()], recordno=Text.of(i.value))
        for i in ids
        if i.code.strip().upper() in _RECORD_SYSTEMS and 1 <= len(i.value) <= 50
    )[:10]
    if not items:
        return None
    return External(direct_reference=SYSTEM_NO, encoding=ExternalEncoding(single_asn1_type=items))


def _service_fields(service: b.Service, where: ZoneInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    search: dict[str, Any] = {}
    if service.service_level is not None:
        search["level-of-service"] = service.service_level
    if service.need_before is not None:
        search["need-before-date"] = date_10161(service.need_before, where)
    if search:
        fields["search-type"] = SearchType.model_validate(search)
    if service.item_format is not None:
        medium = FORMATS.to_10161(service.item_format)
        listed = FORMATS.listed_18626(service.item_format)
        fields["supply-medium-info-type"] = [
            {
                "supply-medium-type": medium,
                **({} if listed else {"medium-characteristics": service.item_format}),
            }
        ]
    if service.copyright_compliance is not None:
        fields["copyright-compliance"] = (
            COPYRIGHT.to_10161(service.copyright_compliance) or service.copyright_compliance
        )
    if service.note is not None:
        fields["requester-note"] = service.note
    return fields


def _postal_in(address: b.PostalAddress, name: str | None = None) -> PostalAddress:
    return PostalAddress.model_validate(
        {
            key: value
            for key, value in {
                "name-of-person-or-institution": (
                    {"name-of-institution": name} if name is not None else None
                ),
                "street-and-number": address.line1,
                "extended-postal-delivery-address": address.line2,
                "city": address.locality,
                "region": address.region,
                "country": address.country,
                "postal-code": address.postal_code,
            }.items()
            if value is not None
        }
    )


def _address_in(addresses: list[b.Address | None], name: str | None = None) -> DeliveryAddress:
    postal = next((a for a in addresses if isinstance(a, b.PostalAddress)), None)
    electronic = next((a for a in addresses if isinstance(a, b.ElectronicAddress)), None)
    return DeliveryAddress(
        postal_address=_postal_in(postal, name) if postal is not None else None,
        electronic_address=(
            SystemAddress(
                telecom_service_identifier=Text.of(electronic.type),
                telecom_service_address=Text.of(electronic.data),
            )
            if electronic is not None
            else None
        ),
    )


def _delivery_fields(deliveries: tuple[b.Delivery, ...]) -> dict[str, Any]:
    ordered = sorted(deliveries, key=lambda d: d.sort_order or 0)
    fields: dict[str, Any] = {}
    if any(d.address is not None for d in ordered):
        fields["delivery-address"] = _address_in([d.address for d in ordered])
    method = next((d.method for d in ordered if d.method is not None), None)
    if method is not None:
        fields["delivery-service"] = DeliveryService(physical_delivery=Text.of(method))
    return fields


def _billing_fields(billing: b.Billing | None) -> dict[str, Any]:
    if billing is None:
        return {}
    fields: dict[str, Any] = {}
    if billing.address is not None or billing.name is not None:
        address = billing.address or b.PostalAddress()
        fields["billing-address"] = _address_in([address], billing.name)
    costs = billing.maximum_costs
    reciprocal = (billing.method or "").strip().casefold() == "reciprocityagreement"
    if costs is not None or reciprocal:
        fields["cost-info-type"] = CostInfoType(
            maximum_cost=(
                Amount(currency_code=costs.currency, monetary_value=_decimal(costs.amount))
                if costs is not None
                else None
            ),
            reciprocal_agreement=reciprocal,
        )
    return fields


def _decimal(value: Decimal) -> str:
    return format(value, "f")
