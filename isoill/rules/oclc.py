"""Rules of OCLC's ISO ILL profile (Direct Request and the ILL service), as OCLC's and the
IPIG's published material state them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, timedelta

from isoill.codec.models import (
    Conditions,
    ILLAnswer,
    IllApdu,
    ILLRequest,
    ILLServiceType,
    OCLCILLRequestExtension,
    OCLCSpecificResults,
    ReasonInReview,
    TransactionResults,
)
from isoill.rules.elements import allowed, one_of, required, text_at
from isoill.rules.engine import Context, Problem, Rule, Violation

REQUEST = frozenset({"ILL-Request"})
ANSWER = frozenset({"ILL-Answer"})


def _will_supply(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    assert isinstance(apdu, ILLAnswer)
    if apdu.transaction_results is TransactionResults.WILL_SUPPLY:
        message = "OCLC does not take will-supply answers"
        yield Violation(Problem.UNRECOGNIZED, "transaction-results", message, data="will-supply")


NO_WILL_SUPPLY: Rule = Rule(
    "oclc-no-will-supply",
    ANSWER,
    _will_supply,
    "no ILL-Answer with transaction-results will-supply",
    advice="send Shipped when the item is sent",
)

#: OCLC review reasons that say the citation itself is wrong or incomplete.
BIBLIOGRAPHIC_REASONS = frozenset(
    {
        ReasonInReview.NOBIBRECORDNUMBERS,
        ReasonInReview.NOBIBRECORDMATCHED,
        ReasonInReview.MULTIPLEBIBRECORDSMATCHED,
        ReasonInReview.PROBLEMMATCHINGBIBRECORD,
        ReasonInReview.NOVERIFICATION,
        ReasonInReview.NOTITLE,
        ReasonInReview.NOMAINTITLE,
    }
)
#: Words with which a lender's note asks the borrower to correct the citation.
_BIBLIOGRAPHIC_WORDS = re.compile(
    r"\b(citation|cited|bibliographic|verify|verification|title|author|isbn|issn|edition"
    r"|volume|pages|pagination|year)\b",
    re.IGNORECASE,
)


def _about_citation(answer: ILLAnswer) -> bool:
    """Whether a conditional answer is about the citation: an OCLC review reason says so, or
    the condition is other/responder-specific and the responder's note speaks of it."""
    results = answer.responder_specific_results
    if results is not None:
        value = results.encoding.single_asn1_type
        if isinstance(value, OCLCSpecificResults):
            reasons = {item.reasoninreview for item in value.reasoninreviewlist or ()}
            if reasons & BIBLIOGRAPHIC_REASONS:
                return True
    explanation = answer.results_explanation
    conditions = explanation.conditional_results if explanation is not None else None
    if conditions is None or conditions.conditions not in (
        Conditions.OTHER,
        Conditions.RESPONDER_SPECIFIC,
    ):
        return False
    note = text_at(answer, "responder-note") or ""
    return _BIBLIOGRAPHIC_WORDS.search(note) is not None


def _conditional_citation(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    assert isinstance(apdu, ILLAnswer)
    if apdu.transaction_results is TransactionResults.CONDITIONAL and _about_citation(apdu):
        message = "a Conditional-Reply cannot carry a corrected citation"
        yield Violation(Problem.INCONSISTENT, "transaction-results", message, data="conditional")


NO_CONDITIONAL_CITATION: Rule = Rule(
    "oclc-no-conditional-citation",
    ANSWER,
    _conditional_citation,
    "no conditional ILL-Answer about wrong or incomplete bibliographic data",
    advice="answer unfilled with reason not-found-as-cited",
)

SERVICE_LEVEL: Rule = Rule(
    "oclc-service-level",
    REQUEST,
    one_of(
        "search-type.level-of-service",
        "search-type.need-before-date",
        "search-type.expiry-date",
        why="OCLC needs a service level, a need-before date or an expiry date",
    ),
    "search-type carries a level-of-service, a need-before-date or an expiry-date",
)

TITLE: Rule = Rule(
    "oclc-title",
    REQUEST,
    required("item-id.title", why="OCLC requires a title"),
    "item-id has a title",
)

VERIFIED: Rule = Rule(
    "oclc-verified",
    REQUEST,
    required(
        "item-id.verification-reference-source",
        why="OCLC requires the source the citation was verified in",
    ),
    "item-id has a verification-reference-source",
)

_POSTAL_PARTS = (
    "street-and-number",
    "post-office-box",
    "city",
    "postal-code",
    "extended-postal-delivery-address",
)


def _ship_to(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    postal = "delivery-address.postal-address"
    if all(text_at(apdu, f"{postal}.{part}") is None for part in _POSTAL_PARTS):
        message = "no postal ship-to address; OCLC requires one"
        yield Violation(Problem.MISSING, postal, message)


SHIP_TO: Rule = Rule(
    "oclc-ship-to",
    REQUEST,
    _ship_to,
    "delivery-address has a postal address (street, box, city or postal code)",
)

BORROWER: Rule = Rule(
    "oclc-borrower",
    REQUEST,
    required("requester-id.person-or-institution-symbol", why="OCLC needs the borrower's symbol"),
    "requester-id carries the borrower's symbol",
)

OCLC_SERVICE_TYPES = frozenset({ILLServiceType.LOAN, ILLServiceType.COPY_NON_RETURNABLE})


def _service_type(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    assert isinstance(apdu, ILLRequest)
    for service in apdu.ill_service_type:
        if service not in OCLC_SERVICE_TYPES:
            name = service.asn1_name
            message = f"{name} is not a service OCLC offers (loan, copy-non-returnable)"
            yield Violation(Problem.UNRECOGNIZED, "iLL-service-type", message, data=name)


SERVICE_TYPE: Rule = Rule(
    "oclc-service-type",
    REQUEST,
    _service_type,
    "iLL-service-type is loan or copy-non-returnable",
)


def _need_before(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    text = text_at(apdu, "search-type.need-before-date")
    if text is None or len(text) != 8 or not text.isdigit():
        return  # absent, or malformed: valid-dates reports that
    try:
        need_before = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return
    # Past everywhere on Earth: before the date in the last time zone to reach it (UTC-12).
    today_somewhere = (context.now.astimezone(UTC) - timedelta(hours=12)).date()
    if need_before < today_somewhere:
        message = f"{text} is in the past"
        yield Violation(Problem.INCONSISTENT, "search-type.need-before-date", message, data=text)


NEED_BEFORE: Rule = Rule(
    "oclc-need-before",
    REQUEST,
    _need_before,
    "search-type.need-before-date is not in the past",
)


_COPYRIGHT_PRESENT = required("copyright-compliance", why="copy requests need one")
_COPYRIGHT_VALUE = allowed(
    "copyright-compliance", ("CCG", "CCL"), why="OCLC takes CCG (US guidelines) or CCL (US law)"
)


def _copyright(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    assert isinstance(apdu, ILLRequest)
    if ILLServiceType.COPY_NON_RETURNABLE in apdu.ill_service_type:
        yield from _COPYRIGHT_PRESENT(apdu, context)
        yield from _COPYRIGHT_VALUE(apdu, context)


COPYRIGHT: Rule = Rule(
    "oclc-copyright",
    REQUEST,
    _copyright,
    "copy requests carry copyright-compliance CCG or CCL",
)


def _oclc_extension(apdu: IllApdu) -> OCLCILLRequestExtension | None:
    for extension in getattr(apdu, "ill_request_extensions", None) or ():
        item = extension.item
        if not isinstance(item, bytes):
            value = item.encoding.single_asn1_type
            if isinstance(value, OCLCILLRequestExtension):
                return value
    return None


def _ifm(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    extension = _oclc_extension(apdu)
    method = text_at(extension, "paymentMethod") if extension is not None else None
    if method is None or method.upper() != "IFM":
        return
    if text_at(apdu, "cost-info-type.maximum-cost.monetary-value") is None:
        message = "IFM payment needs a maximum cost"
        yield Violation(Problem.MISSING, "cost-info-type.maximum-cost", message)
        return
    currency = text_at(apdu, "cost-info-type.maximum-cost.currency-code")
    if (currency or "").upper() != "USD":
        message = f"IFM amounts are in USD, not {currency or 'an unstated currency'}"
        where = "cost-info-type.maximum-cost.currency-code"
        yield Violation(Problem.INCONSISTENT, where, message, data=currency)


IFM_PAYMENT: Rule = Rule(
    "oclc-ifm",
    REQUEST,
    _ifm,
    "paymentMethod IFM (OCLC extension) comes with a maximum cost in USD",
)
