"""The peer's messages as ISO 18626 2021-2 models (:mod:`isoill.iso18626.v2021`).

2021 has a header type per message (a Request's without supplyingAgencyRequestId), puts
offered costs, retryAfter and loan conditions in retryInfo, and wraps the action in an element
of its own.
"""

from __future__ import annotations

from datetime import datetime

from xsdata.models.datatype import XmlDateTime

from isoill.iso18626 import v2021
from isoill.iso18626.messages import MessageKind, Version
from isoill.iso18626.wire import NotSerialisable
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


def envelope(message: Message) -> v2021.Iso18626Message:
    version = Version.V2021.value
    match message:
        case Request():
            return v2021.Iso18626Message(version=version, request=_request(message))
        case SupplyingAgencyMessage():
            return v2021.Iso18626Message(version=version, supplying_agency_message=_sam(message))
        case RequestingAgencyMessage():
            return v2021.Iso18626Message(version=version, requesting_agency_message=_ram(message))
    return _confirmation(message)


def _scheme(value: str) -> v2021.TypeSchemeValuePair:
    return v2021.TypeSchemeValuePair(value=value)


def _supplier(agency: Agency) -> v2021.SupplyingAgencyId:
    return v2021.SupplyingAgencyId(
        agency_id_type=_scheme(agency.type), agency_id_value=agency.value
    )


def _requester(agency: Agency) -> v2021.RequestingAgencyId:
    return v2021.RequestingAgencyId(
        agency_id_type=_scheme(agency.type), agency_id_value=agency.value
    )


def _supplier_request_id(header: Header) -> v2021.SupplyingAgencyRequestId | None:
    if header.supplier_request_id is None:
        return None
    return v2021.SupplyingAgencyRequestId(value=header.supplier_request_id)


def _costs(costs: Costs | None) -> tuple[v2021.TypeCosts, ...]:
    if costs is None:
        return ()
    return (v2021.TypeCosts(currency_code=_scheme(costs.currency), monetary_value=costs.amount),)


def _address(address: Address) -> v2021.Address:
    if isinstance(address, ElectronicAddress):
        electronic = v2021.ElectronicAddress(
            electronic_address_type=_scheme(address.type),
            electronic_address_data=address.data,
        )
        return v2021.Address(electronic_address=electronic)
    country = None if address.country is None else _scheme(address.country)
    physical = v2021.PhysicalAddress(
        line1=address.line1,
        locality=address.locality,
        postal_code=address.postal_code,
        country=country,
    )
    return v2021.Address(physical_address=physical)


def _request(request: Request) -> v2021.Request:
    header = request.header
    if request.service_type is None:
        raise NotSerialisable(f"{header.shown()}: a 2021 Request needs a serviceType")
    isbn = (
        ()
        if request.isbn is None
        else (
            v2021.BibliographicItemId(
                bibliographic_item_identifier_code=_scheme("ISBN"),
                bibliographic_item_identifier=request.isbn,
            ),
        )
    )
    costs = _costs(request.maximum_costs)
    return v2021.Request(
        header=v2021.TypeRequestHeader(
            supplying_agency_id=None if header.supplier is None else _supplier(header.supplier),
            requesting_agency_id=_requester(header.requester),
            timestamp=v2021.Timestamp(value=_time(header.timestamp)),
            requesting_agency_request_id=v2021.RequestingAgencyRequestId(value=header.request_id),
        ),
        bibliographic_info=v2021.BibliographicInfo(
            supplier_unique_record_id=request.record_id,
            title=request.title,
            author=request.author,
            bibliographic_item_id=isbn,
        ),
        service_info=v2021.ServiceInfo(
            request_type=None
            if request.request_type is None
            else v2021.TypeRequestType(request.request_type),
            requesting_agency_previous_request_id=request.previous_request_id,
            service_type=v2021.TypeServiceType(request.service_type),
            note=request.note,
        ),
        requested_delivery_info=()
        if request.address is None
        else (v2021.RequestedDeliveryInfo(address=_address(request.address)),),
        billing_info=None if not costs else v2021.BillingInfo(maximum_costs=costs[0]),
    )


def _sam(sam: SupplyingAgencyMessage) -> v2021.SupplyingAgencyMessage:
    retry = None
    if sam.offered_costs or sam.retry_after or sam.loan_condition:
        conditions = () if sam.loan_condition is None else (sam.loan_condition,)
        retry = v2021.RetryInfo(
            loan_condition=tuple(v2021.LoanCondition(value=c) for c in conditions),
            offered_costs=_costs(sam.offered_costs),
            retry_after=_maybe_time(sam.retry_after),
        )
    delivery = None
    if sam.delivery is not None:
        delivery = v2021.DeliveryInfo(
            date_sent=_time(sam.delivery.sent),
            item_id=(sam.delivery.item_id,),
            delivery_method=v2021.DeliveryMethod(value=sam.delivery.sent_via),
            item_format=v2021.ItemFormat(value=sam.delivery.format),
        )
    header = sam.header
    return v2021.SupplyingAgencyMessage(
        header=v2021.TypeSupplyingAgencyMessageHeader(
            supplying_agency_id=_supplier(header.required_supplier()),
            requesting_agency_id=_requester(header.requester),
            timestamp=v2021.Timestamp(value=_time(header.timestamp)),
            requesting_agency_request_id=v2021.RequestingAgencyRequestId(value=header.request_id),
            supplying_agency_request_id=_supplier_request_id(header),
        ),
        message_info=v2021.MessageInfo(
            reason_for_message=v2021.TypeReasonForMessage(sam.reason),
            answer_yes_no=None if sam.answer is None else v2021.TypeYesNo(sam.answer),
            note=sam.note,
            reason_unfilled=None if sam.reason_unfilled is None else _scheme(sam.reason_unfilled),
            reason_retry=None if sam.reason_retry is None else _scheme(sam.reason_retry),
        ),
        status_info=v2021.StatusInfo(
            status=v2021.TypeStatus(sam.status),
            due_date=_maybe_time(sam.due),
            last_change=_time(sam.last_change),
        ),
        retry_info=retry,
        delivery_info=delivery,
    )


def _ram(ram: RequestingAgencyMessage) -> v2021.RequestingAgencyMessage:
    header = ram.header
    return v2021.RequestingAgencyMessage(
        header=v2021.TypeRequestingAgencyMessageHeader(
            supplying_agency_id=_supplier(header.required_supplier()),
            requesting_agency_id=_requester(header.requester),
            timestamp=v2021.Timestamp(value=_time(header.timestamp)),
            requesting_agency_request_id=v2021.RequestingAgencyRequestId(value=header.request_id),
            supplying_agency_request_id=_supplier_request_id(header),
        ),
        action=v2021.Action(value=v2021.TypeAction(ram.action)),
        note=ram.note,
    )


def _confirmation(confirmation: Confirmation) -> v2021.Iso18626Message:
    c = confirmation
    header = v2021.ConfirmationHeader(
        supplying_agency_id=None if c.supplier is None else _supplier(c.supplier),
        requesting_agency_id=None if c.requester is None else _requester(c.requester),
        timestamp=v2021.Timestamp(value=_time(c.timestamp)),
        requesting_agency_request_id=None
        if c.request_id is None
        else v2021.RequestingAgencyRequestId(value=c.request_id),
        timestamp_received=v2021.TimestampReceived(value=_time(c.received)),
        message_status=v2021.TypeMessageStatus.OK if c.ok else v2021.TypeMessageStatus.ERROR,
    )
    errors: tuple[v2021.ErrorData, ...] = ()
    if c.error_type is not None:
        errors = (
            v2021.ErrorData(
                error_type=v2021.TypeErrorType(c.error_type), error_value=c.error_value
            ),
        )
    version = Version.V2021.value
    match c.kind:
        case MessageKind.REQUEST_CONFIRMATION:
            return v2021.Iso18626Message(
                version=version,
                request_confirmation=v2021.RequestConfirmation(
                    confirmation_header=header, error_data=errors
                ),
            )
        case MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION:
            reason = None if c.reason is None else v2021.TypeReasonForMessage(c.reason)
            return v2021.Iso18626Message(
                version=version,
                supplying_agency_message_confirmation=v2021.SupplyingAgencyMessageConfirmation(
                    confirmation_header=header, reason_for_message=reason, error_data=errors
                ),
            )
    action = None if c.action is None else v2021.Action(value=v2021.TypeAction(c.action))
    return v2021.Iso18626Message(
        version=version,
        requesting_agency_message_confirmation=v2021.RequestingAgencyMessageConfirmation(
            confirmation_header=header, action=action, error_data=errors
        ),
    )
