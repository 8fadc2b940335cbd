"""The rules engine (issue 4), table-driven: for every rule an APDU that passes and one that is
refused, and the refusal's report as the sender decodes it.

APDUs are built in the JSON form (the standard's names) from a base request that passes the
whole ``oclc`` and ``ipig`` profiles: yaz-illclient's third capture with copyright compliance
and an IFM payment in USD added. :func:`changed` and :func:`edited` derive the variants by
dotted paths below the APDU, as IPIG's element identifiers name them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES

from isoill.asn1.ext.ipig_user_error import OID as ADDITIONAL_USER_ERROR_INFORMATION
from isoill.asn1.ext.oclc_ill_request import OID as OCLC_ILL_REQUEST
from isoill.asn1.ext.oclc_specific_results import OID as OCLC_SPECIFIC_RESULTS
from isoill.cli.rules import markdown
from isoill.codec import plan
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import (
    External,
    IllApdu,
    IPIGAdditionalUserErrorInformationItem,
    ProviderErrorReport,
    ReportSource,
    StatusOrErrorReport,
    TransactionType,
    UnableToPerform,
    UserErrorReport,
)
from isoill.codec.text import Text
from isoill.core import reports
from isoill.rules.engine import (
    Context,
    Finding,
    Problem,
    Profile,
    Severity,
    Verdict,
    Violation,
    judge,
)
from isoill.rules.profiles import BUILT_IN, IPIG, OCLC, PERMISSIVE, RULES, compose

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
CONTEXT = Context(now=NOW)
RULES_DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


# --- building APDUs ---------------------------------------------------------------------------


def edited(apdu: IllApdu, changes: Mapping[str, object]) -> IllApdu:
    """``apdu`` with the element at each dotted path (``item-id.title``) set to a JSON-form
    value, or removed for ``None``. Missing parents are created; removing an absent element
    is an error, so a misspelt path cannot make a variant that equals its base."""
    document = to_json(apdu)
    (body,) = document.values()
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for name in parents:
            node = node.setdefault(name, {})
        if value is None:
            assert last in node, f"{path} is not in the APDU"
            del node[last]
        else:
            node[last] = value
    return from_json(document)


def changed(apdu: IllApdu, path: str, value: object) -> IllApdu:
    return edited(apdu, {path: value})


def oclc_request_extension(payment_method: str) -> list[dict[str, object]]:
    """iLL-request-extensions with OCLC's ILL request extension naming a payment method."""
    syntax = {"paymentMethod": payment_method}
    item = {"direct-reference": OCLC_ILL_REQUEST, "encoding": {"single-ASN1-type": syntax}}
    return [{"identifier": 1, "item": item}]


def oclc_results(*reasons: str) -> dict[str, object]:
    """responder-specific-results with OCLC's review reasons."""
    syntax = {
        "oclcSpecificStatus": "review",
        "reasonInReviewList": [{"reasonInReview": reason} for reason in reasons],
    }
    return {"direct-reference": OCLC_SPECIFIC_RESULTS, "encoding": {"single-ASN1-type": syntax}}


CAPTURE = decode((CAPTURES / "yaz-illclient-3.ber").read_bytes())
#: A copy request OCLC takes: the capture, with copyright compliance and IFM in USD.
REQUEST = edited(
    CAPTURE,
    {
        "copyright-compliance": "CCG",
        "cost-info-type": {"maximum-cost": {"currency-code": "USD", "monetary-value": "25.00"}},
        "iLL-request-extensions": oclc_request_extension("IFM"),
    },
)
LOAN = edited(REQUEST, {"iLL-service-type": ["loan"], "copyright-compliance": None})

_PARTIES = {
    name: to_json(REQUEST)["ILL-Request"][name]
    for name in ("transaction-id", "service-date-time", "requester-id", "responder-id")
}
#: An unfilled answer to REQUEST.
ANSWER = from_json(
    {
        "ILL-Answer": {
            "protocol-version-num": 2,
            **_PARTIES,
            "transaction-results": "unfilled",
            "results-explanation": {"unfilled-results": {"reason-unfilled": "not-found-as-cited"}},
            "responder-note": "not found as cited; please check the volume",
        }
    }
)
#: A conditional answer about charges, whose note happens to mention the citation.
CONDITIONAL = edited(
    ANSWER,
    {
        "transaction-results": "conditional",
        "results-explanation": {"conditional-results": {"conditions": "charges"}},
        "responder-note": "10 USD for a copy as cited",
    },
)
LOCATIONS = edited(
    ANSWER,
    {
        "transaction-results": "locations-provided",
        "results-explanation": {
            "locations-results": {"locations": [{"location-id": _PARTIES["responder-id"]}]}
        },
    },
)
ESTIMATE = edited(
    ANSWER,
    {
        "transaction-results": "estimate",
        "results-explanation": {"estimate-results": {"cost-estimate": "10 USD"}},
    },
)
WILL_SUPPLY = edited(
    ANSWER,
    {
        "transaction-results": "will-supply",
        "results-explanation": {"will-supply-results": {"reason-will-supply": "in-process"}},
    },
)
BASES = {
    "request": REQUEST,
    "loan": LOAN,
    "answer": ANSWER,
    "conditional": CONDITIONAL,
    "locations": LOCATIONS,
    "estimate": ESTIMATE,
}


def holders(rule_name: str) -> list[Profile]:
    """The built-in profiles that check ``rule_name``."""
    found = [p for p in BUILT_IN.values() if any(r.name == rule_name for r, _ in p.rules)]
    assert found, f"no built-in profile has {rule_name}"
    return found


def rule_names(findings: Iterable[Finding]) -> set[str]:
    return {finding.rule.name for finding in findings}


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """``passing`` passes every profile holding ``rule``; ``refused`` breaks ``rule`` alone,
    once, at ``element`` (IPIG's identifier) with ``problem`` and offending ``data``."""

    rule: str
    passing: IllApdu
    refused: IllApdu
    element: str
    problem: Problem
    data: str | None = None
    case: str = "main"

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.case}"


MISSING, UNRECOGNIZED, INCONSISTENT = Problem.MISSING, Problem.UNRECOGNIZED, Problem.INCONSISTENT
NEED_BEFORE = "search-type.need-before-date"

#: One row per rule of the built-in profiles.
TABLE = [
    Row(
        "protocol-version",
        REQUEST,
        changed(REQUEST, "protocol-version-num", 3),
        "ILL-REQUEST.protocol-version-num",
        UNRECOGNIZED,
        "3",
    ),
    Row(
        "parties-named",
        REQUEST,
        changed(REQUEST, "responder-id.person-or-institution-symbol", None),
        "ILL-REQUEST.responder-id.person-or-institution-symbol",
        MISSING,
    ),
    Row(
        "initial-requester",
        REQUEST,
        changed(REQUEST, "transaction-id.initial-requester-id", None),
        "ILL-REQUEST.transaction-id.initial-requester-id.person-or-institution-symbol",
        MISSING,
    ),
    Row(
        "results-explanation",
        CONDITIONAL,
        changed(CONDITIONAL, "results-explanation", None),
        "ILL-ANSWER.results-explanation.conditional-results",
        MISSING,
    ),
    Row(
        "valid-dates",
        REQUEST,
        changed(REQUEST, NEED_BEFORE, "20251301"),
        f"ILL-REQUEST.{NEED_BEFORE}",
        UNRECOGNIZED,
        "20251301",
    ),
    Row(
        "listed-values",
        REQUEST,
        changed(REQUEST, "transaction-type", "9"),
        "ILL-REQUEST.transaction-type",
        UNRECOGNIZED,
        "9",
    ),
    Row(
        "oclc-no-will-supply",
        ANSWER,
        WILL_SUPPLY,
        "ILL-ANSWER.transaction-results",
        UNRECOGNIZED,
        "will-supply",
    ),
    Row(
        "oclc-no-conditional-citation",
        CONDITIONAL,
        changed(CONDITIONAL, "responder-specific-results", oclc_results("noTitle")),
        "ILL-ANSWER.transaction-results",
        INCONSISTENT,
        "conditional",
    ),
    Row(
        "oclc-service-level",
        REQUEST,
        edited(REQUEST, {"search-type.level-of-service": None, NEED_BEFORE: None}),
        "ILL-REQUEST.search-type.level-of-service",
        MISSING,
    ),
    Row(
        "oclc-title",
        REQUEST,
        changed(REQUEST, "item-id.title", None),
        "ILL-REQUEST.item-id.title",
        MISSING,
    ),
    Row(
        "oclc-verified",
        REQUEST,
        changed(REQUEST, "item-id.verification-reference-source", None),
        "ILL-REQUEST.item-id.verification-reference-source",
        MISSING,
    ),
    Row(
        "oclc-ship-to",
        REQUEST,
        changed(REQUEST, "delivery-address", None),
        "ILL-REQUEST.delivery-address.postal-address",
        MISSING,
    ),
    Row(
        "oclc-borrower",
        REQUEST,
        changed(REQUEST, "requester-id.person-or-institution-symbol", None),
        "ILL-REQUEST.requester-id.person-or-institution-symbol",
        MISSING,
    ),
    Row(
        "oclc-service-type",
        REQUEST,
        changed(REQUEST, "iLL-service-type", ["locations"]),
        "ILL-REQUEST.iLL-service-type",
        UNRECOGNIZED,
        "locations",
    ),
    Row(
        "oclc-need-before",
        changed(REQUEST, NEED_BEFORE, "20250115"),
        changed(REQUEST, NEED_BEFORE, "20250114"),
        f"ILL-REQUEST.{NEED_BEFORE}",
        INCONSISTENT,
        "20250114",
    ),
    Row(
        "oclc-copyright",
        REQUEST,
        changed(REQUEST, "copyright-compliance", None),
        "ILL-REQUEST.copyright-compliance",
        MISSING,
    ),
    Row(
        "oclc-ifm",
        REQUEST,
        changed(REQUEST, "cost-info-type.maximum-cost.currency-code", "CAD"),
        "ILL-REQUEST.cost-info-type.maximum-cost.currency-code",
        INCONSISTENT,
        "CAD",
    ),
]

#: More rows for the branches of the trickier checks.
BRANCHES = [
    Row(
        "protocol-version",
        changed(ANSWER, "protocol-version-num", 1),
        changed(ANSWER, "protocol-version-num", 0),
        "ILL-ANSWER.protocol-version-num",
        UNRECOGNIZED,
        "0",
        case="answer-version-0",
    ),
    Row(
        "parties-named",
        ANSWER,
        changed(ANSWER, "requester-id.person-or-institution-symbol", {"institution-symbol": " "}),
        "ILL-ANSWER.requester-id.person-or-institution-symbol",
        MISSING,
        case="blank-requester-symbol",
    ),
    Row(
        "results-explanation",
        LOCATIONS,
        changed(LOCATIONS, "results-explanation", None),
        "ILL-ANSWER.results-explanation.locations-results",
        MISSING,
        case="locations-provided-unexplained",
    ),
    Row(
        "results-explanation",
        ESTIMATE,
        changed(ESTIMATE, "results-explanation", None),
        "ILL-ANSWER.results-explanation.estimate-results",
        MISSING,
        case="estimate-unexplained",
    ),
    Row(
        "results-explanation",
        ANSWER,
        changed(ANSWER, "transaction-results", "retry"),
        "ILL-ANSWER.results-explanation",
        INCONSISTENT,
        "unfilled-results",
        case="mismatched-alternative",
    ),
    Row(
        "valid-dates",
        REQUEST,
        changed(REQUEST, NEED_BEFORE, "20250230"),
        f"ILL-REQUEST.{NEED_BEFORE}",
        UNRECOGNIZED,
        "20250230",
        case="february-30",
    ),
    Row(
        "valid-dates",
        changed(REQUEST, "service-date-time.date-time-of-this-service.time", "235960"),
        changed(REQUEST, "service-date-time.date-time-of-this-service.time", "246000"),
        "ILL-REQUEST.service-date-time.date-time-of-this-service.time",
        UNRECOGNIZED,
        "246000",
        case="time-246000",
    ),
    Row(
        "valid-dates",
        changed(REQUEST, "service-date-time.date-time-of-this-service.time", "000000"),
        changed(REQUEST, "service-date-time.date-time-of-this-service.time", "235961"),
        "ILL-REQUEST.service-date-time.date-time-of-this-service.time",
        UNRECOGNIZED,
        "235961",
        case="second-61",
    ),
    Row(
        "valid-dates",
        ANSWER,
        changed(ANSWER, "service-date-time.date-time-of-this-service.date", "2025-1-1"),
        "ILL-ANSWER.service-date-time.date-time-of-this-service.date",
        UNRECOGNIZED,
        "2025-1-1",
        case="answer-date-not-digits",
    ),
    Row(
        "listed-values",
        REQUEST,
        changed(REQUEST, "iLL-service-type", ["copy-non-returnable", "7"]),
        "ILL-REQUEST.iLL-service-type",
        UNRECOGNIZED,
        "7",
        case="sequence-of-enumerated",
    ),
    Row(
        "listed-values",
        ANSWER,
        changed(ANSWER, "results-explanation.unfilled-results.reason-unfilled", "99"),
        "ILL-ANSWER.results-explanation.unfilled-results.reason-unfilled",
        UNRECOGNIZED,
        "99",
        case="nested-in-choice",
    ),
    Row(
        "oclc-no-conditional-citation",
        CONDITIONAL,
        edited(
            CONDITIONAL,
            {
                "results-explanation.conditional-results.conditions": "other",
                "responder-note": "Please verify the citation: no such volume",
            },
        ),
        "ILL-ANSWER.transaction-results",
        INCONSISTENT,
        "conditional",
        case="other-with-citation-note",
    ),
    Row(
        "oclc-no-conditional-citation",
        CONDITIONAL,
        edited(
            CONDITIONAL,
            {
                "results-explanation.conditional-results.conditions": "responder-specific",
                "responder-note": "wrong ISSN",
            },
        ),
        "ILL-ANSWER.transaction-results",
        INCONSISTENT,
        "conditional",
        case="responder-specific-with-citation-note",
    ),
    Row(
        "oclc-service-level",
        REQUEST,
        changed(REQUEST, "search-type", None),
        "ILL-REQUEST.search-type.level-of-service",
        MISSING,
        case="no-search-type",
    ),
    Row(
        "oclc-title",
        REQUEST,
        changed(REQUEST, "item-id.title", "  "),
        "ILL-REQUEST.item-id.title",
        MISSING,
        case="blank",
    ),
    Row(
        "oclc-ship-to",
        REQUEST,
        edited(
            REQUEST,
            {
                "delivery-address.postal-address.street-and-number": None,
                "delivery-address.postal-address.city": None,
                "delivery-address.postal-address.postal-code": None,
            },
        ),
        "ILL-REQUEST.delivery-address.postal-address",
        MISSING,
        case="name-and-country-only",
    ),
    Row(
        "oclc-service-type",
        LOAN,
        changed(LOAN, "iLL-service-type", ["loan", "estimate"]),
        "ILL-REQUEST.iLL-service-type",
        UNRECOGNIZED,
        "estimate",
        case="one-of-two",
    ),
    Row(
        "oclc-copyright",
        changed(REQUEST, "copyright-compliance", "ccl"),
        changed(REQUEST, "copyright-compliance", "XYZ"),
        "ILL-REQUEST.copyright-compliance",
        UNRECOGNIZED,
        "XYZ",
        case="unrecognized",
    ),
    Row(
        "oclc-ifm",
        LOAN,
        changed(LOAN, "cost-info-type", None),
        "ILL-REQUEST.cost-info-type.maximum-cost",
        MISSING,
        case="no-maximum-cost",
    ),
    Row(
        "oclc-ifm",
        REQUEST,
        changed(REQUEST, "cost-info-type.maximum-cost.currency-code", None),
        "ILL-REQUEST.cost-info-type.maximum-cost.currency-code",
        INCONSISTENT,
        case="no-currency",
    ),
    Row(
        "oclc-ifm",
        changed(REQUEST, "cost-info-type.maximum-cost.currency-code", "usd"),
        edited(
            REQUEST,
            {
                "iLL-request-extensions": oclc_request_extension("ifm"),
                "cost-info-type.maximum-cost.currency-code": "EUR",
            },
        ),
        "ILL-REQUEST.cost-info-type.maximum-cost.currency-code",
        INCONSISTENT,
        "EUR",
        case="lowercase-ifm-in-eur",
    ),
]

#: (rule, case, APDU): APDUs the rule lets through, though they look like ones it refuses.
#: The APDU may break other rules (say listed-values), never this one.
ALSO_PASSING = [
    ("protocol-version", "version-1", changed(REQUEST, "protocol-version-num", 1)),
    ("results-explanation", "unfilled-unexplained", changed(ANSWER, "results-explanation", None)),
    (
        "results-explanation",
        "retry-unexplained",
        edited(ANSWER, {"transaction-results": "retry", "results-explanation": None}),
    ),
    ("results-explanation", "unlisted-result", changed(ANSWER, "transaction-results", "9")),
    ("valid-dates", "leap-day", changed(REQUEST, NEED_BEFORE, "20280229")),
    (
        "oclc-no-conditional-citation",
        "other-with-unrelated-note",
        edited(
            CONDITIONAL,
            {
                "results-explanation.conditional-results.conditions": "other",
                "responder-note": "we can only lend it for a week",
            },
        ),
    ),
    (
        "oclc-no-conditional-citation",
        "other-without-note",
        edited(
            CONDITIONAL,
            {
                "results-explanation.conditional-results.conditions": "other",
                "responder-note": None,
            },
        ),
    ),
    (
        "oclc-no-conditional-citation",
        "non-bibliographic-oclc-reason",
        changed(CONDITIONAL, "responder-specific-results", oclc_results("heldByYourLibrary")),
    ),
    (
        "oclc-no-conditional-citation",
        "unfilled-with-bibliographic-oclc-reason",
        changed(ANSWER, "responder-specific-results", oclc_results("noTitle")),
    ),
    (
        "oclc-no-conditional-citation",
        "unconditional-without-explanation",
        edited(CONDITIONAL, {"transaction-results": "unfilled", "results-explanation": None}),
    ),
    *(
        ("oclc-service-level", f"only-{name}", changed(REQUEST, "search-type", {name: value}))
        for name, value in (
            ("level-of-service", "A"),
            ("need-before-date", "20250301"),
            ("expiry-date", "20250301"),
        )
    ),
    *(
        (
            "oclc-ship-to",
            f"only-{part}",
            changed(REQUEST, "delivery-address", {"postal-address": {part: "5017"}}),
        )
        for part in (
            "street-and-number",
            "post-office-box",
            "city",
            "postal-code",
            "extended-postal-delivery-address",
        )
    ),
    ("oclc-service-type", "loan", LOAN),
    ("oclc-need-before", "far-future", changed(REQUEST, NEED_BEFORE, "20991231")),
    ("oclc-need-before", "malformed", changed(REQUEST, NEED_BEFORE, "20250230")),
    ("oclc-need-before", "absent", changed(REQUEST, NEED_BEFORE, None)),
    ("oclc-copyright", "loan-needs-none", LOAN),
    ("oclc-copyright", "lowercase-ccg", changed(REQUEST, "copyright-compliance", "ccg")),
    ("oclc-copyright", "padded-ccl", changed(REQUEST, "copyright-compliance", " CCL ")),
    (
        "oclc-ifm",
        "no-ifm",
        edited(REQUEST, {"iLL-request-extensions": None, "cost-info-type": None}),
    ),
    (
        "oclc-ifm",
        "other-method-in-cad",
        edited(
            REQUEST,
            {
                "iLL-request-extensions": oclc_request_extension("CC"),
                "cost-info-type.maximum-cost.currency-code": "CAD",
            },
        ),
    ),
]


def test_table_has_a_row_for_every_rule() -> None:
    assert sorted(row.rule for row in TABLE) == sorted(RULES)
    assert {row.rule for row in BRANCHES} <= set(RULES)
    assert {rule for rule, _, _ in ALSO_PASSING} <= set(RULES)
    ids = [row.id for row in TABLE + BRANCHES] + [f"{r}:{c}" for r, c, _ in ALSO_PASSING]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", list(BASES))
def test_bases_pass_every_profile(name: str) -> None:
    apdu = BASES[name]
    for profile in BUILT_IN.values():
        assert profile.judge(apdu, CONTEXT).findings == (), profile.name
    assert decode(encode(apdu)) == apdu


@pytest.mark.parametrize("row", TABLE + BRANCHES, ids=lambda row: row.id)
def test_rule(row: Row) -> None:
    rule = RULES[row.rule]
    assert row.passing != row.refused
    assert list(rule.check(row.passing, CONTEXT)) == []
    verdicts = []
    for profile in holders(row.rule):
        assert profile.judge(row.passing, CONTEXT).findings == (), profile.name
        verdict = profile.judge(row.refused, CONTEXT)
        assert verdict.refused, profile.name
        found = [
            (f.rule.name, f.element, f.violation.problem, f.violation.data, f.profile)
            for f in verdict.refusals
        ]
        assert found == [(row.rule, row.element, row.problem, row.data, profile.name)]
        verdicts.append(verdict)

    report = reports.rule_refusal(row.refused, verdicts[0].refusals, NOW)
    decoded = decode(encode(report))
    assert isinstance(decoded, StatusOrErrorReport)
    assert decoded.transaction_id == row.refused.transaction_id
    assert decoded.requester_id == row.refused.requester_id
    assert decoded.responder_id == row.refused.responder_id
    assert decoded.service_date_time.date_time_of_this_service.date == "20250115"
    assert decoded.reason_no_report is None
    assert decoded.status_report is None
    error = decoded.error_report
    assert error is not None
    assert error.correlation_information == row.refused.transaction_id.transaction_qualifier
    assert decoded.note is not None
    note = decoded.note.text
    assert note.startswith("refused: ")
    assert row.element in note
    assert f"({row.rule}" in note
    if rule.advice:
        assert rule.advice in note

    if rule.provider_problem is not None:
        assert error.report_source is ReportSource.PROVIDER
        assert error.user_error_report is None
        assert error.provider_error_report == ProviderErrorReport(
            general_problem=rule.provider_problem
        )
        assert decoded.status_or_error_report_extensions is None
        return
    assert decoded.protocol_version_num == row.refused.protocol_version_num
    assert error.report_source is ReportSource.USER
    assert error.provider_error_report is None
    assert error.user_error_report == UserErrorReport(unable_to_perform=UnableToPerform.OTHER)
    assert_names_element(decoded, row)


def assert_names_element(report: StatusOrErrorReport, row: Row) -> None:
    """The report's IPIG Additional User Error Information names the element as ``row`` says."""
    extensions = report.status_or_error_report_extensions
    assert extensions is not None
    (extension,) = extensions
    assert not extension.critical
    external = extension.item
    assert isinstance(external, External)
    assert external.direct_reference == ADDITIONAL_USER_ERROR_INFORMATION
    items = external.encoding.single_asn1_type
    assert isinstance(items, tuple)
    (item,) = items
    assert isinstance(item, IPIGAdditionalUserErrorInformationItem)
    alternative, _ = item.chosen
    assert alternative == row.problem.value
    element = Text.of(row.element)
    if row.problem is Problem.MISSING:
        assert item.missing_required_element == element
    elif row.problem is Problem.UNRECOGNIZED:
        assert item.unrecognized_data is not None
        assert item.unrecognized_data.element == element
        assert item.unrecognized_data.data == (Text.of(row.data) if row.data else None)
    else:
        assert item.inconsistent_data is not None
        assert item.inconsistent_data.text.startswith(f"{row.element}: ")


@pytest.mark.parametrize(
    ("rule_name", "apdu"),
    [(rule, apdu) for rule, _, apdu in ALSO_PASSING],
    ids=[f"{rule}:{case}" for rule, case, _ in ALSO_PASSING],
)
def test_rule_lets_through(rule_name: str, apdu: IllApdu) -> None:
    assert list(RULES[rule_name].check(apdu, CONTEXT)) == []
    for profile in holders(rule_name):
        assert rule_name not in rule_names(profile.judge(apdu, CONTEXT).findings)


def test_unlisted_result_is_left_to_listed_values() -> None:
    unlisted = changed(ANSWER, "transaction-results", "9")
    assert not unlisted.transaction_results.listed  # type: ignore[attr-defined]
    verdict = IPIG.judge(unlisted, CONTEXT)
    assert [(f.rule.name, f.element) for f in verdict.findings] == [
        ("listed-values", "ILL-ANSWER.transaction-results")
    ]


def test_unlisted_value_from_the_wire() -> None:
    """The decoder keeps an unlisted ENUMERATED value as an UNLISTED_n member, as it comes
    from a peer, and listed-values reports it; a listed one built in code passes."""
    unlisted = TransactionType.from_value(9)
    assert unlisted.name == "UNLISTED_9"
    assert not unlisted.listed
    assert TransactionType.from_value(1).listed
    ber = bytearray(encode(REQUEST))
    simple = encode(changed(REQUEST, "transaction-type", "simple"))
    assert bytes(ber) == simple
    wire = encode(changed(REQUEST, "transaction-type", "9"))
    differing = [i for i, (a, b) in enumerate(zip(ber, wire, strict=True)) if a != b]
    assert [(ber[i], wire[i]) for i in differing] == [(1, 9)]
    decoded = decode(wire)
    assert decoded.transaction_type == unlisted  # type: ignore[attr-defined]
    findings = list(RULES["listed-values"].check(decoded, CONTEXT))
    assert findings == [
        Violation(UNRECOGNIZED, "transaction-type", "9 is not a value the standard lists", "9")
    ]


@pytest.mark.parametrize(
    ("now", "need_before", "refused"),
    [
        (datetime(2025, 1, 15, 11, 59, tzinfo=UTC), "20250114", False),
        (datetime(2025, 1, 15, 12, 0, tzinfo=UTC), "20250114", True),
        (datetime(2025, 1, 15, 12, 0, tzinfo=UTC), "20250115", False),
        (datetime(2025, 1, 16, 11, 59, 59, tzinfo=UTC), "20250115", False),
        (datetime(2025, 1, 16, 12, 0, tzinfo=UTC), "20250115", True),
        # the same instants given in other zones: the boundary is UTC-12's midnight
        (datetime(2025, 1, 15, 21, 59, tzinfo=timezone(timedelta(hours=10))), "20250114", False),
        (datetime(2025, 1, 15, 22, 0, tzinfo=timezone(timedelta(hours=10))), "20250114", True),
        (datetime(2025, 1, 15, 0, 0, tzinfo=timezone(timedelta(hours=-12))), "20250114", True),
    ],
)
def test_need_before_is_past_when_it_is_yesterday_in_utc_minus_12(
    now: datetime, need_before: str, refused: bool
) -> None:
    apdu = changed(REQUEST, NEED_BEFORE, need_before)
    found = rule_names(OCLC.judge(apdu, Context(now=now)).refusals)
    assert found == ({"oclc-need-before"} if refused else set())


def test_protocol_version_refusal_is_answered_in_a_supported_version() -> None:
    apdu = changed(REQUEST, "protocol-version-num", 3)
    report = reports.rule_refusal(apdu, OCLC.judge(apdu, CONTEXT).refusals, NOW)
    assert decode(encode(report)).protocol_version_num == 2
    version_1 = changed(REQUEST, "item-id.title", None)
    version_1 = changed(version_1, "protocol-version-num", 1)
    report = reports.rule_refusal(version_1, OCLC.judge(version_1, CONTEXT).refusals, NOW)
    assert decode(encode(report)).protocol_version_num == 1


def test_report_names_every_finding() -> None:
    """Several broken rules: one report, one item per finding, in the order found."""
    apdu = edited(
        REQUEST,
        {"item-id.title": None, "copyright-compliance": "XYZ", NEED_BEFORE: "20240101"},
    )
    verdict = OCLC.judge(apdu, CONTEXT)
    assert rule_names(verdict.refusals) == {"oclc-title", "oclc-need-before", "oclc-copyright"}
    decoded = decode(encode(reports.rule_refusal(apdu, verdict.refusals, NOW)))
    assert isinstance(decoded, StatusOrErrorReport)
    extensions = decoded.status_or_error_report_extensions
    assert extensions is not None
    external = extensions[0].item
    assert isinstance(external, External)
    items = external.encoding.single_asn1_type
    assert isinstance(items, tuple)
    alternatives = []
    for item in items:
        assert isinstance(item, IPIGAdditionalUserErrorInformationItem)
        alternatives.append(item.chosen[0])
    assert alternatives == [f.violation.problem.value for f in verdict.refusals]
    assert decoded.note is not None
    for finding in verdict.refusals:
        assert finding.describe() in decoded.note.text


def test_a_protocol_error_makes_the_whole_report_a_provider_error() -> None:
    apdu = edited(REQUEST, {"item-id.title": None, "protocol-version-num": 3})
    verdict = OCLC.judge(apdu, CONTEXT)
    assert rule_names(verdict.refusals) == {"oclc-title", "protocol-version"}
    decoded = decode(encode(reports.rule_refusal(apdu, verdict.refusals, NOW)))
    assert isinstance(decoded, StatusOrErrorReport)
    assert decoded.error_report is not None
    assert decoded.error_report.report_source is ReportSource.PROVIDER
    assert decoded.status_or_error_report_extensions is None
    assert decoded.note is not None
    assert "ILL-REQUEST.item-id.title" in decoded.note.text


# --- the engine -------------------------------------------------------------------------------

UNTITLED = changed(REQUEST, "item-id.title", None)


def test_judge_reports_a_rule_once_with_the_stricter_severity() -> None:
    lenient = compose("lenient", ["oclc"], warn=["oclc-title"])
    for profiles in ((lenient, OCLC), (OCLC, lenient)):
        verdict = judge(UNTITLED, CONTEXT, profiles)
        assert [(f.rule.name, f.severity, f.profile) for f in verdict.findings] == [
            ("oclc-title", Severity.REFUSE, "oclc")
        ]
    alone = judge(UNTITLED, CONTEXT, [lenient])
    assert [(f.rule.name, f.severity) for f in alone.findings] == [("oclc-title", Severity.WARN)]
    assert not alone.refused


def test_judge_reports_a_rule_of_two_profiles_once() -> None:
    apdu = changed(REQUEST, "protocol-version-num", 3)
    for profiles in ((IPIG, OCLC), (OCLC, IPIG), (OCLC, OCLC), (OCLC, PERMISSIVE)):
        verdict = judge(apdu, CONTEXT, profiles)
        # equally strict: the first profile's finding stands
        assert [(f.rule.name, f.profile) for f in verdict.findings] == [
            ("protocol-version", profiles[0].name)
        ]


def test_judge_keeps_different_violations_of_one_rule() -> None:
    apdu = edited(
        REQUEST,
        {NEED_BEFORE: "20250230", "service-date-time.date-time-of-this-service.time": "250000"},
    )
    verdict = judge(apdu, CONTEXT, (IPIG, OCLC))
    assert sorted(f.element for f in verdict.findings) == [
        f"ILL-REQUEST.{NEED_BEFORE}",
        "ILL-REQUEST.service-date-time.date-time-of-this-service.time",
    ]
    assert rule_names(verdict.findings) == {"valid-dates"}


def test_judge_with_no_profiles_finds_nothing() -> None:
    assert judge(UNTITLED, CONTEXT, ()) == Verdict()


def severities(profile: Profile) -> dict[str, Severity]:
    return {rule.name: severity for rule, severity in profile.rules}


def test_compose_turns_rules_down() -> None:
    mine = compose("mine", ["oclc", "ipig"], warn=["oclc-title"], off=["valid-dates"])
    assert mine.name == "mine"
    assert mine.summary == "oclc, ipig, adjusted"
    expected = {**severities(OCLC), **severities(IPIG)}
    expected.update({"oclc-title": Severity.WARN, "valid-dates": Severity.OFF})
    assert severities(mine) == expected
    assert list(severities(mine))[: len(OCLC.rules)] == list(severities(OCLC))

    apdu = changed(UNTITLED, NEED_BEFORE, "20250230")
    assert rule_names(OCLC.judge(apdu, CONTEXT).refusals) == {"oclc-title", "valid-dates"}
    verdict = mine.judge(apdu, CONTEXT)
    assert [(f.rule.name, f.severity, f.profile) for f in verdict.findings] == [
        ("oclc-title", Severity.WARN, "mine")
    ]
    assert not verdict.refused


def test_compose_takes_the_first_included_severity() -> None:
    soft = compose("soft", ["oclc"], warn=["protocol-version"], summary="OCLC, softly")
    assert soft.summary == "OCLC, softly"
    known = {**BUILT_IN, "soft": soft}
    first_soft = compose("a", ["soft", "ipig"], known=known)
    first_ipig = compose("b", ["ipig", "soft"], known=known)
    assert severities(first_soft)["protocol-version"] is Severity.WARN
    assert severities(first_ipig)["protocol-version"] is Severity.REFUSE
    assert set(severities(first_soft)) == set(severities(first_ipig)) == set(RULES)


@pytest.mark.parametrize(
    ("include", "warn", "off", "message"),
    [
        (["oclc", "nope"], [], [], "profile x: unknown profile nope"),
        (["ipig"], ["oclc-title"], [], "profile x: no rule oclc-title in ipig"),
        (["oclc"], [], ["no-such-rule"], "profile x: no rule no-such-rule in oclc"),
        (["permissive"], ["protocol-version"], [], "no rule protocol-version in permissive"),
    ],
)
def test_compose_refuses_unknown_names(
    include: list[str], warn: list[str], off: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compose("x", include, warn=warn, off=off)


def test_verdict_properties() -> None:
    violation = Violation(MISSING, "item-id.title", "missing")
    warned = Finding(RULES["oclc-title"], Severity.WARN, violation, "p", "ILL-Request")
    refused = Finding(RULES["oclc-verified"], Severity.REFUSE, violation, "p", "ILL-Request")
    empty = Verdict()
    assert (empty.findings, empty.refusals, empty.warnings, empty.refused) == ((), (), (), False)
    only_warned = Verdict((warned,))
    assert only_warned.warnings == (warned,)
    assert only_warned.refusals == ()
    assert not only_warned.refused
    both = only_warned + Verdict((refused,))
    assert both.findings == (warned, refused)
    assert both.refusals == (refused,)
    assert both.warnings == (warned,)
    assert both.refused
    assert empty + both == both


def test_finding_names_the_element_as_ipig_does() -> None:
    violation = Violation(UNRECOGNIZED, "transaction-results", "no", data="will-supply")
    finding = Finding(
        RULES["oclc-no-will-supply"], Severity.REFUSE, violation, "oclc", "ILL-Answer"
    )
    assert finding.element == "ILL-ANSWER.transaction-results"
    assert finding.describe() == (
        "ILL-ANSWER.transaction-results: no (oclc-no-will-supply; send Shipped when the item is"
        " sent)"
    )
    whole = Finding(RULES["oclc-title"], Severity.WARN, Violation(MISSING, "", "x"), "o", "Cancel")
    assert whole.element == "CANCEL"
    assert whole.describe() == "CANCEL: x (oclc-title)"


def test_profile_skips_rules_turned_off_and_other_apdu_types() -> None:
    off = compose("off", ["oclc"], off=["oclc-title"])
    assert off.judge(UNTITLED, CONTEXT).findings == ()
    # a request-only rule does not look at answers, whatever they hold
    assert RULES["oclc-title"].apdu_types == frozenset({"ILL-Request"})
    assert OCLC.judge(ANSWER, CONTEXT).findings == ()


ALL_EXAMPLES = [(name, variant) for name in plan.APDUS for variant in range(6)]
#: Rules that hold on every example: full_apdu fills dates, times, versions and enums validly.
HOLD_ON_EXAMPLES = {"protocol-version", "valid-dates", "listed-values"}


@pytest.mark.parametrize(("name", "variant"), ALL_EXAMPLES)
def test_every_rule_runs_on_every_apdu(name: str, variant: int) -> None:
    apdu = full_apdu(name, variant)
    assert PERMISSIVE.judge(apdu, CONTEXT) == Verdict()
    verdict = judge(apdu, CONTEXT, BUILT_IN.values())
    assert not rule_names(verdict.findings) & HOLD_ON_EXAMPLES
    for finding in verdict.findings:
        assert name in finding.rule.apdu_types
        assert finding.element.startswith(name.upper())


def test_permissive_has_no_rules() -> None:
    assert PERMISSIVE.rules == ()
    assert PERMISSIVE.judge(changed(REQUEST, "protocol-version-num", 3), CONTEXT) == Verdict()


# --- docs -------------------------------------------------------------------------------------


def test_docs_rules_md_has_the_generated_table() -> None:
    table = markdown(BUILT_IN)
    assert RULES_DOC.exists(), "docs/rules.md is missing; put `isoill rules --markdown` in it"
    lines = RULES_DOC.read_text(encoding="utf-8").splitlines(keepends=True)
    header = table.splitlines(keepends=True)[0]
    assert header in lines, "docs/rules.md lacks the table of `isoill rules --markdown`"
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    assert "".join(lines[start:end]) == table, "regenerate with `isoill rules --markdown`"
    assert len(table.splitlines()) == 2 + len(RULES)
