"""The bridge's messages (:mod:`isoill.bridge.messages`) as ISO 18626 v1.2's generated models,
and back.

Written: every header carries ``multipleItemRequestId`` (empty when there is none), as v1.2
demands; no ``scheme`` attribute is written. What v1.2 has no place for is dropped here and
said in :data:`DROPPED`: a second loan condition, cost or item id, a delivery method, a URL,
the service type of a delivery, the loan conditions of a retry. The mapping does not give
v1.2 an action or status it lacks (Lost, HoldReturn): :class:`ValueError` if it did.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.bridge.times import as_xml, read
from isoill.iso18626 import v1_2 as m
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind, Version

__all__ = ["DROPPED", "read_message", "write_message"]

#: What a v1.2 message cannot carry of the bridge's messages.
DROPPED = (
    "deliveryInfo: a second loanCondition, deliveryCosts or itemId, the url, the serviceType",
    "requestedDeliveryInfo: the deliveryMethod",
    "a RetryPossible's loan conditions (2021 retryInfo)",
)


# --- reading ------------------------------------------------------------------------------------


def read_message(model: m.Iso18626Message, where: ZoneInfo) -> b.Message:
    """The message ``model`` holds; zone-less date-times are read in ``where``."""
    if model.request is not None:
        return _request(model.request, where)
    if model.requesting_agency_message is not None:
        ram = model.requesting_agency_message
        return b.RequestingAgencyMessage(
            header=_header(ram.header, where), action=b.Action(ram.action.value), note=ram.note
        )
    if model.supplying_agency_message is not None:
        return _sam(model.supplying_agency_message, where)
    if model.request_confirmation is not None:
        c = model.request_confirmation
        return _confirmation(
            MessageKind.REQUEST_CONFIRMATION, c.confirmation_header, c.error_data, where
        )
    if model.requesting_agency_message_confirmation is not None:
        r = model.requesting_agency_message_confirmation
        found = _confirmation(
            MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
            r.confirmation_header,
            r.error_data,
            where,
        )
        action = b.Action(r.action.value) if r.action is not None else None
        return _with(found, action=action)
    s = model.supplying_agency_message_confirmation
    assert s is not None, "a parsed message holds one of the six"
    found = _confirmation(
        MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
        s.confirmation_header,
        s.error_data,
        where,
    )
    reason = b.Reason(s.reason_for_message.value) if s.reason_for_message is not None else None
    return _with(found, reason=reason)


def _with(
    confirmation: b.Confirmation, *, action: b.Action | None = None, reason: b.Reason | None = None
) -> b.Confirmation:
    return b.Confirmation(
        kind=confirmation.kind,
        requesting_agency=confirmation.requesting_agency,
        supplying_agency=confirmation.supplying_agency,
        timestamp=confirmation.timestamp,
        requesting_request_id=confirmation.requesting_request_id,
        timestamp_received=confirmation.timestamp_received,
        ok=confirmation.ok,
        errors=confirmation.errors,
        action=action,
        reason=reason,
        multiple_item_request_id=confirmation.multiple_item_request_id,
    )


def _agency(agency: m.TypeAgencyId) -> AgencyId:
    return AgencyId(agency.agency_id_type.value, agency.agency_id_value)


def _value(pair: m.TypeSchemeValuePair | None) -> str | None:
    return pair.value if pair is not None else None


def _header(header: m.Header, where: ZoneInfo) -> b.Header:
    auth = header.requesting_agency_authentication
    return b.Header(
        requesting_agency=_agency(header.requesting_agency_id),
        supplying_agency=_agency(header.supplying_agency_id),
        timestamp=read(header.timestamp.value, where),
        requesting_request_id=header.requesting_agency_request_id.value,
        supplying_request_id=(
            header.supplying_agency_request_id.value
            if header.supplying_agency_request_id is not None
            else None
        ),
        multiple_item_request_id=header.multiple_item_request_id.value or None,
        authentication=(
            b.Authentication(auth.account_id, auth.security_code) if auth is not None else None
        ),
    )


def _costs(costs: m.TypeCosts | None) -> b.Costs | None:
    if costs is None:
        return None
    return b.Costs(costs.currency_code.value, costs.monetary_value)


def _postal(address: m.PhysicalAddress) -> b.PostalAddress:
    return b.PostalAddress(
        line1=address.line1,
        line2=address.line2,
        locality=address.locality,
        postal_code=address.postal_code,
        region=_value(address.region),
        country=_value(address.country),
    )


def _address(address: m.Address | None) -> b.Address | None:
    if address is None:
        return None
    if address.physical_address is not None:
        return _postal(address.physical_address)
    if address.electronic_address is not None:
        e = address.electronic_address
        return b.ElectronicAddress(e.electronic_address_type.value, e.electronic_address_data)
    return None


def _request(request: m.Request, where: ZoneInfo) -> b.Request:
    bib = request.bibliographic_info
    service = request.service_info
    publication = request.publication_info
    patron = request.patron_info
    billing = request.billing_info
    return b.Request(
        header=_header(request.header, where),
        bibliographic=b.Bibliographic(
            supplier_unique_record_id=bib.supplier_unique_record_id,
            title=bib.title,
            author=bib.author,
            subtitle=bib.subtitle,
            series_title=bib.series_title,
            edition=bib.edition,
            title_of_component=bib.title_of_component,
            author_of_component=bib.author_of_component,
            volume=bib.volume,
            issue=bib.issue,
            pages_requested=bib.pages_requested,
            sponsor=bib.sponsor,
            information_source=bib.information_source,
            item_ids=tuple(
                b.Identifier(
                    i.bibliographic_item_identifier_code.value, i.bibliographic_item_identifier
                )
                for i in bib.bibliographic_item_id
            ),
            record_ids=tuple(
                b.Identifier(
                    r.bibliographic_record_identifier_code.value, r.bibliographic_record_identifier
                )
                for r in bib.bibliographic_record_id
            ),
        ),
        service=(
            b.Service(
                service_type=b.ServiceType(service.service_type.value),
                request_type=(
                    b.RequestType(service.request_type.value)
                    if service.request_type is not None
                    else None
                ),
                previous_request_id=service.requesting_agency_previous_request_id,
                service_level=_value(service.service_level),
                item_format=_value(service.preferred_format),
                need_before=(
                    read(service.need_before_date, where) if service.need_before_date else None
                ),
                copyright_compliance=_value(service.copyright_compliance),
                any_edition=(
                    service.any_edition is m.TypeYesNo.Y
                    if service.any_edition is not None
                    else None
                ),
                note=service.note,
            )
            if service is not None
            else None
        ),
        publication=(
            b.Publication(
                publisher=publication.publisher,
                type=_value(publication.publication_type),
                date=publication.publication_date,
                place=publication.place_of_publication,
            )
            if publication is not None
            else None
        ),
        suppliers=tuple(
            b.Supplier(
                sort_order=s.sort_order,
                agency=_agency(s.supplier_code) if s.supplier_code is not None else None,
                description=s.supplier_description,
                call_number=s.call_number,
            )
            for s in request.supplier_info
        ),
        deliveries=tuple(
            b.Delivery(sort_order=d.sort_order, address=_address(d.address))
            for d in request.requested_delivery_info
        ),
        patron=(
            b.Patron(
                id=patron.patron_id,
                surname=patron.surname,
                given_name=patron.given_name,
                type=_value(patron.patron_type),
            )
            if patron is not None
            else None
        ),
        billing=(
            b.Billing(
                payment_method=_value(billing.payment_method),
                maximum_costs=_costs(billing.maximum_costs),
                method=_value(billing.billing_method),
                name=billing.billing_name,
                address=_address(billing.address),
            )
            if billing is not None
            else None
        ),
    )


def _sam(sam: m.SupplyingAgencyMessage, where: ZoneInfo) -> b.SupplyingAgencyMessage:
    info, status, sent, back = sam.message_info, sam.status_info, sam.delivery_info, sam.return_info
    offered = _costs(info.offered_costs)
    retry = None
    if offered is not None or info.retry_after is not None or info.retry_before is not None:
        retry = b.Retry(
            offered_costs=(offered,) if offered is not None else (),
            retry_after=read(info.retry_after, where) if info.retry_after else None,
            retry_before=read(info.retry_before, where) if info.retry_before else None,
        )
    costs = _costs(sent.delivery_costs) if sent is not None else None
    return b.SupplyingAgencyMessage(
        header=_header(sam.header, where),
        reason=b.Reason(info.reason_for_message.value),
        status=b.Status(status.status.value),
        last_change=read(status.last_change, where),
        answer=info.answer_yes_no is m.TypeYesNo.Y if info.answer_yes_no is not None else None,
        note=info.note,
        reason_unfilled=_value(info.reason_unfilled),
        reason_retry=_value(info.reason_retry),
        expected_delivery=(
            read(status.expected_delivery_date, where) if status.expected_delivery_date else None
        ),
        due=read(status.due_date, where) if status.due_date else None,
        retry=retry,
        sent=(
            b.Sent(
                date_sent=read(sent.date_sent, where),
                item_id=sent.item_id,
                method=_value(sent.sent_via),
                loan_conditions=(sent.loan_condition.value,) if sent.loan_condition else (),
                item_format=_value(sent.delivered_format),
                costs=(costs,) if costs is not None else (),
            )
            if sent is not None
            else None
        ),
        return_to=(
            b.ReturnTo(
                agency=_agency(back.return_agency_id) if back.return_agency_id else None,
                name=back.name,
                address=_postal(back.physical_address) if back.physical_address else None,
            )
            if back is not None
            else None
        ),
    )


def _confirmation(
    kind: MessageKind, header: m.ConfirmationHeader, error: m.ErrorData | None, where: ZoneInfo
) -> b.Confirmation:
    request_id = header.requesting_agency_request_id
    multiple = header.multiple_item_request_id
    return b.Confirmation(
        kind=kind,
        requesting_agency=(
            _agency(header.requesting_agency_id) if header.requesting_agency_id else None
        ),
        supplying_agency=(
            _agency(header.supplying_agency_id) if header.supplying_agency_id else None
        ),
        timestamp=read(header.timestamp.value, where),
        requesting_request_id=request_id.value if request_id is not None else None,
        timestamp_received=read(header.timestamp_received.value, where),
        ok=header.message_status is m.TypeMessageStatus.OK,
        errors=(
            (b.Error(ErrorType(error.error_type.value), error.error_value),)
            if error is not None
            else ()
        ),
        multiple_item_request_id=multiple.value if multiple is not None else None,
    )


# --- writing ------------------------------------------------------------------------------------


def write_message(message: b.Message, declared: str = Version.V1_2) -> m.Iso18626Message:
    """``message`` as a v1.2 model, its ``version`` attribute ``declared``."""
    match message:
        case b.Request():
            return m.Iso18626Message(request=_write_request(message), version=declared)
        case b.RequestingAgencyMessage():
            ram = m.RequestingAgencyMessage(
                header=_write_header(message.header),
                action=m.TypeAction(message.action.value),
                note=message.note,
            )
            return m.Iso18626Message(requesting_agency_message=ram, version=declared)
        case b.SupplyingAgencyMessage():
            return m.Iso18626Message(supplying_agency_message=_write_sam(message), version=declared)
        case b.Confirmation():
            return _write_confirmation(message, declared)


def _pair(value: str | None) -> m.TypeSchemeValuePair | None:
    return m.TypeSchemeValuePair(value=value) if value is not None else None


def _write_costs(costs: b.Costs | None) -> m.TypeCosts | None:
    if costs is None:
        return None
    return m.TypeCosts(
        currency_code=m.TypeSchemeValuePair(value=costs.currency), monetary_value=costs.amount
    )


def _agency_pair(agency: AgencyId) -> tuple[m.TypeSchemeValuePair, str]:
    return m.TypeSchemeValuePair(value=agency.type), agency.value


def _type_agency(agency: AgencyId | None) -> m.TypeAgencyId | None:
    if agency is None:
        return None
    kind, value = _agency_pair(agency)
    return m.TypeAgencyId(agency_id_type=kind, agency_id_value=value)


def _write_header(header: b.Header) -> m.Header:
    if header.supplying_agency is None:
        raise ValueError("a v1.2 header names the supplying agency")
    supplying_type, supplying_value = _agency_pair(header.supplying_agency)
    requesting_type, requesting_value = _agency_pair(header.requesting_agency)
    auth = header.authentication
    return m.Header(
        supplying_agency_id=m.SupplyingAgencyId(
            agency_id_type=supplying_type, agency_id_value=supplying_value
        ),
        requesting_agency_id=m.RequestingAgencyId(
            agency_id_type=requesting_type, agency_id_value=requesting_value
        ),
        multiple_item_request_id=m.MultipleItemRequestId(
            value=header.multiple_item_request_id or ""
        ),
        timestamp=m.Timestamp(value=as_xml(header.timestamp)),
        requesting_agency_request_id=m.RequestingAgencyRequestId(
            value=header.requesting_request_id
        ),
        supplying_agency_request_id=(
            m.SupplyingAgencyRequestId(value=header.supplying_request_id)
            if header.supplying_request_id is not None
            else None
        ),
        requesting_agency_authentication=(
            m.RequestingAgencyAuthentication(
                account_id=auth.account_id, security_code=auth.security_code
            )
            if auth is not None
            else None
        ),
    )


def _write_postal(address: b.PostalAddress) -> m.PhysicalAddress:
    return m.PhysicalAddress(
        line1=address.line1,
        line2=address.line2,
        locality=address.locality,
        postal_code=address.postal_code,
        region=_pair(address.region),
        country=_pair(address.country),
    )


def _write_address(address: b.Address | None) -> m.Address | None:
    match address:
        case b.PostalAddress():
            return m.Address(physical_address=_write_postal(address))
        case b.ElectronicAddress():
            return m.Address(
                electronic_address=m.ElectronicAddress(
                    electronic_address_type=m.TypeSchemeValuePair(value=address.type),
                    electronic_address_data=address.data,
                )
            )
    return None


def _write_request(request: b.Request) -> m.Request:
    bib, service, publication = request.bibliographic, request.service, request.publication
    patron, billing = request.patron, request.billing
    return m.Request(
        header=_write_header(request.header),
        bibliographic_info=m.BibliographicInfo(
            supplier_unique_record_id=bib.supplier_unique_record_id,
            title=bib.title,
            author=bib.author,
            subtitle=bib.subtitle,
            series_title=bib.series_title,
            edition=bib.edition,
            title_of_component=bib.title_of_component,
            author_of_component=bib.author_of_component,
            volume=bib.volume,
            issue=bib.issue,
            pages_requested=bib.pages_requested,
            bibliographic_item_id=tuple(
                m.BibliographicItemId(
                    bibliographic_item_identifier=i.value,
                    bibliographic_item_identifier_code=m.TypeSchemeValuePair(value=i.code),
                )
                for i in bib.item_ids
            ),
            sponsor=bib.sponsor,
            information_source=bib.information_source,
            bibliographic_record_id=tuple(
                m.BibliographicRecordId(
                    bibliographic_record_identifier_code=m.TypeSchemeValuePair(value=r.code),
                    bibliographic_record_identifier=r.value,
                )
                for r in bib.record_ids
            ),
        ),
        publication_info=(
            m.PublicationInfo(
                publisher=publication.publisher,
                publication_type=_pair(publication.type),
                publication_date=publication.date,
                place_of_publication=publication.place,
            )
            if publication is not None
            else None
        ),
        service_info=(
            m.ServiceInfo(
                request_type=(
                    m.TypeRequestType(service.request_type.value)
                    if service.request_type is not None
                    else None
                ),
                requesting_agency_previous_request_id=service.previous_request_id,
                service_type=m.TypeServiceType(service.service_type.value),
                service_level=_pair(service.service_level),
                preferred_format=_pair(service.item_format),
                need_before_date=as_xml(service.need_before) if service.need_before else None,
                copyright_compliance=_pair(service.copyright_compliance),
                any_edition=(
                    (m.TypeYesNo.Y if service.any_edition else m.TypeYesNo.N)
                    if service.any_edition is not None
                    else None
                ),
                note=service.note,
            )
            if service is not None
            else None
        ),
        supplier_info=tuple(
            m.SupplierInfo(
                sort_order=s.sort_order,
                supplier_code=_type_agency(s.agency),
                supplier_description=s.description,
                call_number=s.call_number,
            )
            for s in request.suppliers
        ),
        requested_delivery_info=tuple(
            m.RequestedDeliveryInfo(sort_order=d.sort_order, address=_write_address(d.address))
            for d in request.deliveries
        ),
        patron_info=(
            m.PatronInfo(
                patron_id=patron.id,
                surname=patron.surname,
                given_name=patron.given_name,
                patron_type=_pair(patron.type),
            )
            if patron is not None
            else None
        ),
        billing_info=(
            m.BillingInfo(
                payment_method=_pair(billing.payment_method),
                maximum_costs=_write_costs(billing.maximum_costs),
                billing_method=_pair(billing.method),
                billing_name=billing.name,
                address=_write_address(billing.address),
            )
            if billing is not None
            else None
        ),
    )


def _write_sam(sam: b.SupplyingAgencyMessage) -> m.SupplyingAgencyMessage:
    retry, sent, back = sam.retry, sam.sent, sam.return_to
    return m.SupplyingAgencyMessage(
        header=_write_header(sam.header),
        message_info=m.MessageInfo(
            reason_for_message=m.TypeReasonForMessage(sam.reason.value),
            answer_yes_no=(
                (m.TypeYesNo.Y if sam.answer else m.TypeYesNo.N) if sam.answer is not None else None
            ),
            note=sam.note,
            reason_unfilled=_pair(sam.reason_unfilled),
            reason_retry=_pair(sam.reason_retry),
            offered_costs=(
                _write_costs(retry.offered_costs[0])
                if retry is not None and retry.offered_costs
                else None
            ),
            retry_after=(
                as_xml(retry.retry_after) if retry is not None and retry.retry_after else None
            ),
            retry_before=(
                as_xml(retry.retry_before) if retry is not None and retry.retry_before else None
            ),
        ),
        status_info=m.StatusInfo(
            status=m.TypeStatus(sam.status.value),
            expected_delivery_date=(
                as_xml(sam.expected_delivery) if sam.expected_delivery is not None else None
            ),
            due_date=as_xml(sam.due) if sam.due is not None else None,
            last_change=as_xml(sam.last_change),
        ),
        delivery_info=(
            m.DeliveryInfo(
                date_sent=as_xml(sent.date_sent),
                item_id=sent.item_id,
                sent_via=_pair(sent.method),
                loan_condition=_pair(sent.loan_conditions[0] if sent.loan_conditions else None),
                delivered_format=_pair(sent.item_format),
                delivery_costs=_write_costs(sent.costs[0] if sent.costs else None),
            )
            if sent is not None
            else None
        ),
        return_info=(
            m.ReturnInfo(
                return_agency_id=_type_agency(back.agency),
                name=back.name,
                physical_address=_write_postal(back.address) if back.address else None,
            )
            if back is not None
            else None
        ),
    )


def _write_confirmation(confirmation: b.Confirmation, declared: str) -> m.Iso18626Message:
    c = confirmation
    header = m.ConfirmationHeader(
        supplying_agency_id=(
            m.SupplyingAgencyId(
                agency_id_type=m.TypeSchemeValuePair(value=c.supplying_agency.type),
                agency_id_value=c.supplying_agency.value,
            )
            if c.supplying_agency is not None
            else None
        ),
        requesting_agency_id=(
            m.RequestingAgencyId(
                agency_id_type=m.TypeSchemeValuePair(value=c.requesting_agency.type),
                agency_id_value=c.requesting_agency.value,
            )
            if c.requesting_agency is not None
            else None
        ),
        timestamp=m.Timestamp(value=as_xml(c.timestamp)),
        requesting_agency_request_id=(
            m.RequestingAgencyRequestId(value=c.requesting_request_id)
            if c.requesting_request_id is not None
            else None
        ),
        multiple_item_request_id=(
            m.MultipleItemRequestId(value=c.multiple_item_request_id)
            if c.multiple_item_request_id is not None
            else None
        ),
        timestamp_received=m.TimestampReceived(value=as_xml(c.timestamp_received)),
        message_status=m.TypeMessageStatus.OK if c.ok else m.TypeMessageStatus.ERROR,
    )
    error = (
        m.ErrorData(
            error_type=m.TypeErrorType(c.errors[0].type.value), error_value=c.errors[0].value
        )
        if c.errors
        else None
    )
    match c.kind:
        case MessageKind.REQUEST_CONFIRMATION:
            return m.Iso18626Message(
                request_confirmation=m.RequestConfirmation(
                    confirmation_header=header, error_data=error
                ),
                version=declared,
            )
        case MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION:
            ram = m.RequestingAgencyMessageConfirmation(
                confirmation_header=header,
                action=m.TypeAction(c.action.value) if c.action is not None else None,
                error_data=error,
            )
            return m.Iso18626Message(requesting_agency_message_confirmation=ram, version=declared)
        case MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION:
            sam = m.SupplyingAgencyMessageConfirmation(
                confirmation_header=header,
                reason_for_message=(
                    m.TypeReasonForMessage(c.reason.value) if c.reason is not None else None
                ),
                error_data=error,
            )
            return m.Iso18626Message(supplying_agency_message_confirmation=sam, version=declared)
    raise ValueError(f"{c.kind} is not a confirmation")
