"""The peer's messages as ISO 18626 v1.2 models (:mod:`isoill.iso18626.v1_2`).

v1.2 wants ``multipleItemRequestId`` in every header, empty when there is none, and peers
expect it there, in Confirmations too; offered costs and retryAfter are messageInfo's; a loan
condition a retry must meet has no element in v1.2, so it goes in the note.
"""

from __future__ import annotations

from datetime import datetime

from xsdata.models.datatype import XmlDateTime

from isoill.iso18626 import v1_2
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626.messages import (
    Address,
    Agency,
    Confirmation,
    Costs,
    ElectronicAddress,
    Header,
    Message,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
)


def _time(value: datetime) -> XmlDateTime:
    return XmlDateTime.from_datetime(value)


def _maybe_time(value: datetime | None) -> XmlDateTime | None:
    return None if value is None else _time(value)


def envelope(message: Message) -> v1_2.Iso18626Message:
    version = Version.V1_2.value
    match message:
        case Request():
            return v1_2.Iso18626Message(version=version, request=_request(message))
        case SupplyingAgencyMessage():
            return v1_2.Iso18626Message(version=version, supplying_agency_message=_sam(message))
        case RequestingAgencyMessage():
            return v1_2.Iso18626Message(version=version, requesting_agency_message=_ram(message))
    return _confirmation(message)


def _scheme(value: str) -> v1_2.TypeSchemeValuePair:
    return v1_2.TypeSchemeValuePair(value=value)


def _supplier(agency: Agency) -> v1_2.SupplyingAgencyId:
    return v1_2.SupplyingAgencyId(agency_id_type=_scheme(agency.type), agency_id_value=agency.value)


def _requester(agency: Agency) -> v1_2.RequestingAgencyId:
    return v1_2.RequestingAgencyId(
        agency_id_type=_scheme(agency.type), agency_id_value=agency.value
    )


def _header(header: Header) -> v1_2.Header:
    supplier_request_id = header.supplier_request_id
    return v1_2.Header(
        supplying_agency_id=_supplier(header.required_supplier()),
        requesting_agency_id=_requester(header.requester),
        multiple_item_request_id=v1_2.MultipleItemRequestId(),
        timestamp=v1_2.Timestamp(value=_time(header.timestamp)),
        requesting_agency_request_id=v1_2.RequestingAgencyRequestId(value=header.request_id),
        supplying_agency_request_id=None
        if supplier_request_id is None
        else v1_2.SupplyingAgencyRequestId(value=supplier_request_id),
    )


def _costs(costs: Costs | None) -> v1_2.TypeCosts | None:
    if costs is None:
        return None
    return v1_2.TypeCosts(currency_code=_scheme(costs.currency), monetary_value=costs.amount)


def _address(address: Address) -> v1_2.Address:
    if isinstance(address, ElectronicAddress):
        electronic = v1_2.ElectronicAddress(
            electronic_address_type=_scheme(address.type),
            electronic_address_data=address.data,
        )
        return v1_2.Address(electronic_address=electronic)
    country = None if address.country is None else _scheme(address.country)
    physical = v1_2.PhysicalAddress(
        line1=address.line1,
        locality=address.locality,
        postal_code=address.postal_code,
        country=country,
    )
    return v1_2.Address(physical_address=physical)


def _request(request: Request) -> v1_2.Request:
    isbn = (
        ()
        if request.isbn is None
        else (
            v1_2.BibliographicItemId(
                bibliographic_item_identifier=request.isbn,
                bibliographic_item_identifier_code=_scheme("ISBN"),
            ),
        )
    )
    service = None
    if request.service_type is not None:
        service = v1_2.ServiceInfo(
            request_type=None
            if request.request_type is None
            else v1_2.TypeRequestType(request.request_type),
            requesting_agency_previous_request_id=request.previous_request_id,
            service_type=v1_2.TypeServiceType(request.service_type),
            note=request.note,
        )
    costs = _costs(request.maximum_costs)
    return v1_2.Request(
        header=_header(request.header),
        bibliographic_info=v1_2.BibliographicInfo(
            supplier_unique_record_id=request.record_id,
            title=request.title,
            author=request.author,
            bibliographic_item_id=isbn,
        ),
        service_info=service,
        requested_delivery_info=()
        if request.address is None
        else (v1_2.RequestedDeliveryInfo(address=_address(request.address)),),
        billing_info=None if costs is None else v1_2.BillingInfo(maximum_costs=costs),
    )


def _sam(sam: SupplyingAgencyMessage) -> v1_2.SupplyingAgencyMessage:
    delivery = None
    if sam.delivery is not None:
        delivery = v1_2.DeliveryInfo(
            date_sent=_time(sam.delivery.sent),
            item_id=sam.delivery.item_id,
            sent_via=_scheme(sam.delivery.sent_via),
            delivered_format=_scheme(sam.delivery.format),
        )
    return v1_2.SupplyingAgencyMessage(
        header=_header(sam.header),
        message_info=v1_2.MessageInfo(
            reason_for_message=v1_2.TypeReasonForMessage(sam.reason),
            answer_yes_no=None if sam.answer is None else v1_2.TypeYesNo(sam.answer),
            note=_note(sam),
            reason_unfilled=None if sam.reason_unfilled is None else _scheme(sam.reason_unfilled),
            reason_retry=None if sam.reason_retry is None else _scheme(sam.reason_retry),
            offered_costs=_costs(sam.offered_costs),
            retry_after=_maybe_time(sam.retry_after),
        ),
        status_info=v1_2.StatusInfo(
            status=v1_2.TypeStatus(sam.status),
            due_date=_maybe_time(sam.due),
            last_change=_time(sam.last_change),
        ),
        delivery_info=delivery,
    )


def _ram(ram: RequestingAgencyMessage) -> v1_2.RequestingAgencyMessage:
    return v1_2.RequestingAgencyMessage(
        header=_header(ram.header), action=v1_2.TypeAction(ram.action), note=ram.note
    )


def _confirmation(confirmation: Confirmation) -> v1_2.Iso18626Message:
    c = confirmation
    header = v1_2.ConfirmationHeader(
        supplying_agency_id=None if c.supplier is None else _supplier(c.supplier),
        requesting_agency_id=None if c.requester is None else _requester(c.requester),
        timestamp=v1_2.Timestamp(value=_time(c.timestamp)),
        requesting_agency_request_id=None
        if c.request_id is None
        else v1_2.RequestingAgencyRequestId(value=c.request_id),
        multiple_item_request_id=v1_2.MultipleItemRequestId(),
        timestamp_received=v1_2.TimestampReceived(value=_time(c.received)),
        message_status=v1_2.TypeMessageStatus.OK if c.ok else v1_2.TypeMessageStatus.ERROR,
    )
    error = None
    if c.error_type is not None:
        error = v1_2.ErrorData(
            error_type=v1_2.TypeErrorType(c.error_type), error_value=c.error_value
        )
    version = Version.V1_2.value
    match c.kind:
        case MessageKind.REQUEST_CONFIRMATION:
            return v1_2.Iso18626Message(
                version=version,
                request_confirmation=v1_2.RequestConfirmation(
                    confirmation_header=header, error_data=error
                ),
            )
        case MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION:
            reason = None if c.reason is None else v1_2.TypeReasonForMessage(c.reason)
            return v1_2.Iso18626Message(
                version=version,
                supplying_agency_message_confirmation=v1_2.SupplyingAgencyMessageConfirmation(
                    confirmation_header=header, reason_for_message=reason, error_data=error
                ),
            )
    action = None if c.action is None else v1_2.TypeAction(c.action)
    return v1_2.Iso18626Message(
        version=version,
        requesting_agency_message_confirmation=v1_2.RequestingAgencyMessageConfirmation(
            confirmation_header=header, action=action, error_data=error
        ),
    )


def _note(sam: SupplyingAgencyMessage) -> str | None:
    if sam.loan_condition is None:
        return sam.note
    condition = f"loan condition: {sam.loan_condition}"
    return condition if sam.note is None else f"{sam.note} ({condition})"
