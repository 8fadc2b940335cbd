"""A parsed ISO 18626 message, of either version, as the peer's values (:mod:`.messages`).

Only what the peer uses is read; the rest of a message is kept in the record of its
exchange, as it came.
"""

from __future__ import annotations

from datetime import datetime

from xsdata.models.datatype import XmlDateTime

from isoill.iso18626 import v1_2, v2021
from isoill.iso18626.messages import MessageKind
from isoill.iso18626.wire import Parsed
from isoill.tools.peer18626.messages import (
    Address,
    Agency,
    Confirmation,
    Costs,
    Delivery,
    ElectronicAddress,
    Header,
    Message,
    PostalAddress,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
)

_AgencyModel = v1_2.TypeAgencyId | v2021.TypeAgencyId
_HeaderModel = (
    v1_2.Header
    | v2021.TypeRequestHeader
    | v2021.TypeRequestingAgencyMessageHeader
    | v2021.TypeSupplyingAgencyMessageHeader
)
_ConfirmationModel = (
    v1_2.RequestConfirmation
    | v1_2.SupplyingAgencyMessageConfirmation
    | v1_2.RequestingAgencyMessageConfirmation
    | v2021.RequestConfirmation
    | v2021.SupplyingAgencyMessageConfirmation
    | v2021.RequestingAgencyMessageConfirmation
)


def read(parsed: Parsed) -> Message:
    """The message ``parsed`` holds."""
    model = parsed.model
    if model.request is not None:
        return _request(model.request)
    if model.supplying_agency_message is not None:
        return _sam(model.supplying_agency_message)
    if model.requesting_agency_message is not None:
        return _ram(model.requesting_agency_message)
    confirmation: _ConfirmationModel | None = (
        model.request_confirmation
        or model.supplying_agency_message_confirmation
        or model.requesting_agency_message_confirmation
    )
    assert confirmation is not None  # the schema demands one message
    return _confirmation(parsed.kind, confirmation)


def _time(value: XmlDateTime) -> datetime:
    return value.to_datetime()


def _maybe_time(value: XmlDateTime | None) -> datetime | None:
    return None if value is None else value.to_datetime()


def _agency(agency: _AgencyModel) -> Agency:
    return Agency(agency.agency_id_type.value, agency.agency_id_value)


def _header(header: _HeaderModel) -> Header:
    supplier = header.supplying_agency_id
    supplier_request_id = (
        None if isinstance(header, v2021.TypeRequestHeader) else header.supplying_agency_request_id
    )
    return Header(
        supplier=None if supplier is None else _agency(supplier),
        requester=_agency(header.requesting_agency_id),
        request_id=header.requesting_agency_request_id.value,
        timestamp=_time(header.timestamp.value),
        supplier_request_id=None if supplier_request_id is None else supplier_request_id.value,
    )


def _costs(costs: v1_2.TypeCosts | v2021.TypeCosts | None) -> Costs | None:
    return None if costs is None else Costs(costs.currency_code.value, costs.monetary_value)


def _request(request: v1_2.Request | v2021.Request) -> Request:
    biblio = request.bibliographic_info
    isbn = next(
        (
            item.bibliographic_item_identifier
            for item in biblio.bibliographic_item_id
            if item.bibliographic_item_identifier_code.value.upper() == "ISBN"
        ),
        None,
    )
    service = request.service_info
    billing = request.billing_info
    return Request(
        header=_header(request.header),
        service_type=None if service is None else service.service_type.value,
        request_type=None
        if service is None or service.request_type is None
        else service.request_type.value,
        title=biblio.title,
        author=biblio.author,
        isbn=isbn,
        record_id=biblio.supplier_unique_record_id,
        note=None if service is None else service.note,
        previous_request_id=None
        if service is None
        else service.requesting_agency_previous_request_id,
        address=_address(request.requested_delivery_info),
        maximum_costs=None if billing is None else _costs(billing.maximum_costs),
    )


def _address(
    wanted: tuple[v1_2.RequestedDeliveryInfo, ...] | tuple[v2021.RequestedDeliveryInfo, ...],
) -> Address | None:
    """The first delivery address the requester asks for, if any."""
    for info in wanted:
        address = info.address
        if address is None:
            continue
        if address.electronic_address is not None:
            electronic = address.electronic_address
            return ElectronicAddress(
                electronic.electronic_address_type.value, electronic.electronic_address_data
            )
        if address.physical_address is not None:
            physical = address.physical_address
            return PostalAddress(
                line1=physical.line1 or "",
                locality=physical.locality,
                postal_code=physical.postal_code,
                country=None if physical.country is None else physical.country.value,
            )
    return None


def _sam(sam: v1_2.SupplyingAgencyMessage | v2021.SupplyingAgencyMessage) -> SupplyingAgencyMessage:
    info, status = sam.message_info, sam.status_info
    if isinstance(sam, v1_2.SupplyingAgencyMessage):
        offered = _costs(sam.message_info.offered_costs)
        retry_after = _maybe_time(sam.message_info.retry_after)
        condition = None
    else:
        retry = sam.retry_info
        offered = None if retry is None else _costs(next(iter(retry.offered_costs), None))
        retry_after = None if retry is None else _maybe_time(retry.retry_after)
        conditions = () if retry is None else retry.loan_condition
        condition = conditions[0].value if conditions else None
    return SupplyingAgencyMessage(
        header=_header(sam.header),
        reason=info.reason_for_message.value,
        status=status.status.value,
        last_change=_time(status.last_change),
        answer=None if info.answer_yes_no is None else info.answer_yes_no.value,
        note=info.note,
        due=_maybe_time(status.due_date),
        reason_unfilled=None if info.reason_unfilled is None else info.reason_unfilled.value,
        reason_retry=None if info.reason_retry is None else info.reason_retry.value,
        offered_costs=offered,
        retry_after=retry_after,
        loan_condition=condition,
        delivery=_delivery(sam.delivery_info),
    )


def _delivery(info: v1_2.DeliveryInfo | v2021.DeliveryInfo | None) -> Delivery | None:
    if info is None:
        return None
    if isinstance(info, v1_2.DeliveryInfo):
        item_id, via, form = info.item_id, _code(info.sent_via), _code(info.delivered_format)
    else:
        item_id = next(iter(info.item_id), None)
        via, form = _code(info.delivery_method), _code(info.item_format)
    return Delivery(sent=_time(info.date_sent), item_id=item_id or "", sent_via=via, format=form)


def _code(pair: v1_2.TypeSchemeValuePair | v2021.TypeSchemeValuePair | None) -> str:
    return "" if pair is None else pair.value


def _ram(
    ram: v1_2.RequestingAgencyMessage | v2021.RequestingAgencyMessage,
) -> RequestingAgencyMessage:
    action = ram.action.value.value if isinstance(ram.action, v2021.Action) else ram.action.value
    return RequestingAgencyMessage(header=_header(ram.header), action=action, note=ram.note)


def _confirmation(kind: MessageKind, confirmation: _ConfirmationModel) -> Confirmation:
    header = confirmation.confirmation_header
    errors = confirmation.error_data
    error = next(iter(errors), None) if isinstance(errors, tuple) else errors
    action: str | None = None
    reason: str | None = None
    if isinstance(confirmation, v1_2.RequestingAgencyMessageConfirmation):
        action = None if confirmation.action is None else confirmation.action.value
    elif isinstance(confirmation, v2021.RequestingAgencyMessageConfirmation):
        action = None if confirmation.action is None else confirmation.action.value.value
    elif isinstance(
        confirmation,
        v1_2.SupplyingAgencyMessageConfirmation | v2021.SupplyingAgencyMessageConfirmation,
    ):
        echoed = confirmation.reason_for_message
        reason = None if echoed is None else echoed.value
    supplier, requester = header.supplying_agency_id, header.requesting_agency_id
    request_id = header.requesting_agency_request_id
    return Confirmation(
        kind=kind,
        timestamp=_time(header.timestamp.value),
        received=_time(header.timestamp_received.value),
        ok=header.message_status.value == "OK",
        supplier=None if supplier is None else _agency(supplier),
        requester=None if requester is None else _agency(requester),
        request_id=None if request_id is None else request_id.value,
        error_type=None if error is None else error.error_type.value,
        error_value=None if error is None else error.error_value,
        action=action,
        reason=reason,
    )
