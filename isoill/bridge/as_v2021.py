"""The bridge's messages (:mod:`isoill.bridge.messages`) as ISO 18626 2021-2's generated
models, and back.

2021 gives each message a header type of its own (a RAM's and a SAM's have no
``multipleItemRequestId``; a Request's may lack the supplying agency), repeats volumes, item
ids, loan conditions and costs, and keeps a RetryPossible's offer in ``retryInfo``. Read, the
repeated volumes are joined with ``"; "`` and only the first item id is kept; written, a volume
is one element. No ``scheme`` attribute is written. What the bridge's messages do not hold of
2021 (consortial ids, shipping info, request sub-types, editions and formats offered in a
retry...) is not read.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.bridge.times import as_xml, read
from isoill.iso18626 import v2021 as m
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind, Version

__all__ = ["read_message", "write_message"]

_VOLUMES = "; "

# --- reading ------------------------------------------------------------------------------------


def read_message(model: m.Iso18626Message, where: ZoneInfo) -> b.Message:
    """The message ``model`` holds; zone-less date-times are read in ``where``."""
    if model.request is not None:
        return _request(model.request, where)
    if model.requesting_agency_message is not None:
        ram = model.requesting_agency_message
        return b.RequestingAgencyMessage(
            header=_ram_header(ram.header, where),
            action=b.Action(ram.action.value.value),
            note=ram.note,
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
        action = b.Action(r.action.value.value) if r.action is not None else None
        return _confirmation(
            MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
            r.confirmation_header,
            r.error_data,
            where,
            action=action,
        )
    s = model.supplying_agency_message_confirmation
    assert s is not None, "a parsed message holds one of the six"
    reason = b.Reason(s.reason_for_message.value) if s.reason_for_message is not None else None
    return _confirmation(
        MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
        s.confirmation_header,
        s.error_data,
        where,
        reason=reason,
    )


def _agency(agency: m.TypeAgencyId) -> AgencyId:
    return AgencyId(agency.agency_id_type.value, agency.agency_id_value)


def _value(pair: m.TypeSchemeValuePair | None) -> str | None:
    return pair.value if pair is not None else None


def _auth(auth: m.RequestingAgencyAuthentication | None) -> b.Authentication | None:
    return b.Authentication(auth.account_id, auth.security_code) if auth is not None else None


def _supplying_id(found: m.SupplyingAgencyRequestId | None) -> str | None:
    return found.value if found is not None else None


def _request_header(header: m.TypeRequestHeader, where: ZoneInfo) -> b.Header:
    multiple = header.multiple_item_request_id
    return b.Header(
        requesting_agency=_agency(header.requesting_agency_id),
        supplying_agency=(
            _agency(header.supplying_agency_id) if header.supplying_agency_id else None
        ),
        timestamp=read(header.timestamp.value, where),
        requesting_request_id=header.requesting_agency_request_id.value,
        multiple_item_request_id=(multiple.value or None) if multiple is not None else None,
        authentication=_auth(header.requesting_agency_authentication),
    )


def _ram_header(header: m.TypeRequestingAgencyMessageHeader, where: ZoneInfo) -> b.Header:
    return b.Header(
        requesting_agency=_agency(header.requesting_agency_id),
        supplying_agency=_agency(header.supplying_agency_id),
        timestamp=read(header.timestamp.value, where),
        requesting_request_id=header.requesting_agency_request_id.value,
        supplying_request_id=_supplying_id(header.supplying_agency_request_id),
        authentication=_auth(header.requesting_agency_authentication),
    )


def _sam_header(header: m.TypeSupplyingAgencyMessageHeader, where: ZoneInfo) -> b.Header:
    return b.Header(
        requesting_agency=_agency(header.requesting_agency_id),
        supplying_agency=_agency(header.supplying_agency_id),
        timestamp=read(header.timestamp.value, where),
        requesting_request_id=header.requesting_agency_request_id.value,
        supplying_request_id=_supplying_id(header.supplying_agency_request_id),
    )


def _costs(costs: m.TypeCosts) -> b.Costs:
    return b.Costs(costs.currency_code.value, costs.monetary_value)


def _postal(address: m.PhysicalAddress) -> b.PostalAddress:
    return b.PostalAddress(
        line1=address.line1,
        line2=address.line2,
        locality=address.locality,
        postal_code=address.postal_code,
        region=address.region,
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


def _sort(order: m.SortOrder | None) -> int | None:
    return order.value if order is not None else None


def _request(request: m.Request, where: ZoneInfo) -> b.Request:
    bib, service = request.bibliographic_info, request.service_info
    publication, patron, billing = (
        request.publication_info,
        request.patron_info,
        request.billing_info,
    )
    return b.Request(
        header=_request_header(request.header, where),
        bibliographic=b.Bibliographic(
            supplier_unique_record_id=bib.supplier_unique_record_id,
            title=bib.title,
            author=bib.author,
            subtitle=bib.subtitle,
            series_title=bib.series_title,
            edition=bib.edition.value if bib.edition is not None else None,
            title_of_component=bib.title_of_component,
            author_of_component=bib.author_of_component,
            volume=_VOLUMES.join(v.value for v in bib.volume) or None,
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
        service=b.Service(
            service_type=b.ServiceType(service.service_type.value),
            request_type=(
                b.RequestType(service.request_type.value)
                if service.request_type is not None
                else None
            ),
            previous_request_id=service.requesting_agency_previous_request_id,
            service_level=_value(service.service_level),
            item_format=_value(service.item_format),
            need_before=read(service.need_before_date, where) if service.need_before_date else None,
            copyright_compliance=_value(service.copyright_compliance),
            any_edition=(
                service.any_edition is m.TypeYesNo.Y if service.any_edition is not None else None
            ),
            note=service.note,
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
                sort_order=_sort(s.sort_order),
                agency=_agency(s.supplier_code) if s.supplier_code is not None else None,
                description=s.supplier_description,
                call_number=s.call_number,
            )
            for s in request.supplier_info
        ),
        deliveries=tuple(
            b.Delivery(
                sort_order=_sort(d.sort_order),
                address=_address(d.address),
                method=_value(d.delivery_method),
            )
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
                maximum_costs=_costs(billing.maximum_costs) if billing.maximum_costs else None,
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
    retry = sam.retry_info
    return b.SupplyingAgencyMessage(
        header=_sam_header(sam.header, where),
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
        retry=(
            b.Retry(
                offered_costs=tuple(_costs(c) for c in retry.offered_costs),
                retry_after=read(retry.retry_after, where) if retry.retry_after else None,
                retry_before=read(retry.retry_before, where) if retry.retry_before else None,
                loan_conditions=tuple(c.value for c in retry.loan_condition),
            )
            if retry is not None
            else None
        ),
        sent=(
            b.Sent(
                date_sent=read(sent.date_sent, where),
                item_id=sent.item_id[0] if sent.item_id else None,
                method=_value(sent.delivery_method),
                loan_conditions=tuple(c.value for c in sent.loan_condition),
                item_format=_value(sent.item_format),
                service_type=(
                    b.ServiceType(sent.service_type.value) if sent.service_type else None
                ),
                costs=tuple(_costs(c) for c in sent.delivery_costs),
                url=sent.url,
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
    kind: MessageKind,
    header: m.ConfirmationHeader,
    errors: tuple[m.ErrorData, ...],
    where: ZoneInfo,
    *,
    action: b.Action | None = None,
    reason: b.Reason | None = None,
) -> b.Confirmation:
    request_id = header.requesting_agency_request_id
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
        errors=tuple(b.Error(ErrorType(e.error_type.value), e.error_value) for e in errors),
        action=action,
        reason=reason,
    )


# --- writing ------------------------------------------------------------------------------------


def write_message(message: b.Message, declared: str = Version.V2021) -> m.Iso18626Message:
    """``message`` as a 2021-2 model, its ``version`` attribute ``declared``."""
    match message:
        case b.Request():
            return m.Iso18626Message(request=_write_request(message), version=declared)
        case b.RequestingAgencyMessage():
            ram = m.RequestingAgencyMessage(
                header=_write_ram_header(message.header),
                action=m.Action(value=m.TypeAction(message.action.value)),
                note=message.note,
            )
            return m.Iso18626Message(requesting_agency_message=ram, version=declared)
        case b.SupplyingAgencyMessage():
            return m.Iso18626Message(supplying_agency_message=_write_sam(message), version=declared)
        case b.Confirmation():
            return _write_confirmation(message, declared)


def _pair(value: str | None) -> m.TypeSchemeValuePair | None:
    return m.TypeSchemeValuePair(value=value) if value is not None else None


def _write_costs(costs: b.Costs) -> m.TypeCosts:
    return m.TypeCosts(
        currency_code=m.TypeSchemeValuePair(value=costs.currency), monetary_value=costs.amount
    )


def _type_agency(agency: AgencyId | None) -> m.TypeAgencyId | None:
    if agency is None:
        return None
    return m.TypeAgencyId(
        agency_id_type=m.TypeSchemeValuePair(value=agency.type), agency_id_value=agency.value
    )


def _requesting(agency: AgencyId) -> m.RequestingAgencyId:
    return m.RequestingAgencyId(
        agency_id_type=m.TypeSchemeValuePair(value=agency.type), agency_id_value=agency.value
    )


def _supplying(agency: AgencyId | None) -> m.SupplyingAgencyId:
    if agency is None:
        raise ValueError("a 2021 RAM's or SAM's header names the supplying agency")
    return m.SupplyingAgencyId(
        agency_id_type=m.TypeSchemeValuePair(value=agency.type), agency_id_value=agency.value
    )


def _write_auth(auth: b.Authentication | None) -> m.RequestingAgencyAuthentication | None:
    if auth is None:
        return None
    return m.RequestingAgencyAuthentication(
        account_id=auth.account_id, security_code=auth.security_code
    )


def _write_supplying_id(found: str | None) -> m.SupplyingAgencyRequestId | None:
    return m.SupplyingAgencyRequestId(value=found) if found is not None else None


def _write_request_header(header: b.Header) -> m.TypeRequestHeader:
    return m.TypeRequestHeader(
        supplying_agency_id=(
            _supplying(header.supplying_agency) if header.supplying_agency is not None else None
        ),
        requesting_agency_id=_requesting(header.requesting_agency),
        multiple_item_request_id=(
            m.MultipleItemRequestId(value=header.multiple_item_request_id)
            if header.multiple_item_request_id is not None
            else None
        ),
        timestamp=m.Timestamp(value=as_xml(header.timestamp)),
        requesting_agency_request_id=m.RequestingAgencyRequestId(
            value=header.requesting_request_id
        ),
        requesting_agency_authentication=_write_auth(header.authentication),
    )


def _write_ram_header(header: b.Header) -> m.TypeRequestingAgencyMessageHeader:
    return m.TypeRequestingAgencyMessageHeader(
        supplying_agency_id=_supplying(header.supplying_agency),
        requesting_agency_id=_requesting(header.requesting_agency),
        timestamp=m.Timestamp(value=as_xml(header.timestamp)),
        requesting_agency_request_id=m.RequestingAgencyRequestId(
            value=header.requesting_request_id
        ),
        supplying_agency_request_id=_write_supplying_id(header.supplying_request_id),
        requesting_agency_authentication=_write_auth(header.authentication),
    )


def _write_sam_header(header: b.Header) -> m.TypeSupplyingAgencyMessageHeader:
    return m.TypeSupplyingAgencyMessageHeader(
        supplying_agency_id=_supplying(header.supplying_agency),
        requesting_agency_id=_requesting(header.requesting_agency),
        timestamp=m.Timestamp(value=as_xml(header.timestamp)),
        requesting_agency_request_id=m.RequestingAgencyRequestId(
            value=header.requesting_request_id
        ),
        supplying_agency_request_id=_write_supplying_id(header.supplying_request_id),
    )


def _write_postal(address: b.PostalAddress) -> m.PhysicalAddress:
    return m.PhysicalAddress(
        line1=address.line1,
        line2=address.line2,
        locality=address.locality,
        postal_code=address.postal_code,
        region=address.region,
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
    if service is None:
        raise ValueError("a 2021 Request has serviceInfo")
    return m.Request(
        header=_write_request_header(request.header),
        bibliographic_info=m.BibliographicInfo(
            supplier_unique_record_id=bib.supplier_unique_record_id,
            title=bib.title,
            author=bib.author,
            subtitle=bib.subtitle,
            series_title=bib.series_title,
            edition=m.Edition(value=bib.edition) if bib.edition is not None else None,
            title_of_component=bib.title_of_component,
            author_of_component=bib.author_of_component,
            volume=(m.Volume(value=bib.volume),) if bib.volume is not None else (),
            issue=bib.issue,
            pages_requested=bib.pages_requested,
            bibliographic_item_id=tuple(
                m.BibliographicItemId(
                    bibliographic_item_identifier_code=m.TypeSchemeValuePair(value=i.code),
                    bibliographic_item_identifier=i.value,
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
        service_info=m.ServiceInfo(
            request_type=(
                m.TypeRequestType(service.request_type.value)
                if service.request_type is not None
                else None
            ),
            requesting_agency_previous_request_id=service.previous_request_id,
            service_type=m.TypeServiceType(service.service_type.value),
            service_level=(
                m.ServiceLevel(value=service.service_level)
                if service.service_level is not None
                else None
            ),
            item_format=(
                m.ItemFormat(value=service.item_format) if service.item_format is not None else None
            ),
            need_before_date=as_xml(service.need_before) if service.need_before else None,
            copyright_compliance=_pair(service.copyright_compliance),
            any_edition=(
                (m.TypeYesNo.Y if service.any_edition else m.TypeYesNo.N)
                if service.any_edition is not None
                else None
            ),
            note=service.note,
        ),
        supplier_info=tuple(
            m.SupplierInfo(
                sort_order=m.SortOrder(value=s.sort_order) if s.sort_order is not None else None,
                supplier_code=_type_agency(s.agency),
                supplier_description=s.description,
                call_number=s.call_number,
            )
            for s in request.suppliers
        ),
        requested_delivery_info=tuple(
            m.RequestedDeliveryInfo(
                sort_order=m.SortOrder(value=d.sort_order) if d.sort_order is not None else None,
                address=_write_address(d.address),
                delivery_method=(
                    m.DeliveryMethod(value=d.method) if d.method is not None else None
                ),
            )
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
                payment_method=(
                    m.PaymentMethod(value=billing.payment_method)
                    if billing.payment_method is not None
                    else None
                ),
                maximum_costs=(
                    _write_costs(billing.maximum_costs) if billing.maximum_costs else None
                ),
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
        header=_write_sam_header(sam.header),
        message_info=m.MessageInfo(
            reason_for_message=m.TypeReasonForMessage(sam.reason.value),
            answer_yes_no=(
                (m.TypeYesNo.Y if sam.answer else m.TypeYesNo.N) if sam.answer is not None else None
            ),
            note=sam.note,
            reason_unfilled=_pair(sam.reason_unfilled),
            reason_retry=_pair(sam.reason_retry),
        ),
        status_info=m.StatusInfo(
            status=m.TypeStatus(sam.status.value),
            expected_delivery_date=(
                as_xml(sam.expected_delivery) if sam.expected_delivery is not None else None
            ),
            due_date=as_xml(sam.due) if sam.due is not None else None,
            last_change=as_xml(sam.last_change),
        ),
        retry_info=(
            m.RetryInfo(
                loan_condition=tuple(m.LoanCondition(value=c) for c in retry.loan_conditions),
                offered_costs=tuple(_write_costs(c) for c in retry.offered_costs),
                retry_before=as_xml(retry.retry_before) if retry.retry_before else None,
                retry_after=as_xml(retry.retry_after) if retry.retry_after else None,
            )
            if retry is not None
            else None
        ),
        delivery_info=(
            m.DeliveryInfo(
                date_sent=as_xml(sent.date_sent),
                item_id=(sent.item_id,) if sent.item_id is not None else (),
                url=sent.url,
                delivery_method=(
                    m.DeliveryMethod(value=sent.method) if sent.method is not None else None
                ),
                loan_condition=tuple(m.LoanCondition(value=c) for c in sent.loan_conditions),
                item_format=(
                    m.ItemFormat(value=sent.item_format) if sent.item_format is not None else None
                ),
                service_type=(
                    m.TypeServiceType(sent.service_type.value) if sent.service_type else None
                ),
                delivery_costs=tuple(_write_costs(c) for c in sent.costs),
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
            _supplying(c.supplying_agency) if c.supplying_agency is not None else None
        ),
        requesting_agency_id=(
            _requesting(c.requesting_agency) if c.requesting_agency is not None else None
        ),
        timestamp=m.Timestamp(value=as_xml(c.timestamp)),
        requesting_agency_request_id=(
            m.RequestingAgencyRequestId(value=c.requesting_request_id)
            if c.requesting_request_id is not None
            else None
        ),
        timestamp_received=m.TimestampReceived(value=as_xml(c.timestamp_received)),
        message_status=m.TypeMessageStatus.OK if c.ok else m.TypeMessageStatus.ERROR,
    )
    errors = tuple(
        m.ErrorData(error_type=m.TypeErrorType(e.type.value), error_value=e.value) for e in c.errors
    )
    match c.kind:
        case MessageKind.REQUEST_CONFIRMATION:
            request = m.RequestConfirmation(confirmation_header=header, error_data=errors)
            return m.Iso18626Message(request_confirmation=request, version=declared)
        case MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION:
            ram = m.RequestingAgencyMessageConfirmation(
                confirmation_header=header,
                action=m.Action(value=m.TypeAction(c.action.value)) if c.action else None,
                error_data=errors,
            )
            return m.Iso18626Message(requesting_agency_message_confirmation=ram, version=declared)
        case MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION:
            sam = m.SupplyingAgencyMessageConfirmation(
                confirmation_header=header,
                reason_for_message=(
                    m.TypeReasonForMessage(c.reason.value) if c.reason is not None else None
                ),
                error_data=errors,
            )
            return m.Iso18626Message(supplying_agency_message_confirmation=sam, version=declared)
    raise ValueError(f"{c.kind} is not a confirmation")
