"""Rules from ISO 10161 itself and the IPIG profile: what the standard demands beyond what
the ASN.1 can say (the decoder already refuses an APDU that lacks a mandatory element).

Sources: the ASN.1 module's comments (``reference/asn1/ill9702.asn``), ISO 10161-1's
parameter tables as the IPIG profile restates them, and what implementers publish about
ISO 10161 on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from isoill.codec.models import GeneralProblem, ILLAnswer, IllApdu, TransactionResults
from isoill.codec.plan import APDUS
from isoill.codec.schema import Kind, Node
from isoill.codec.values import AsnEnum
from isoill.ill.versions import SUPPORTED_VERSIONS
from isoill.rules.elements import required, walk
from isoill.rules.engine import Context, Problem, Rule, Violation

ALL_APDUS = frozenset(APDUS)


def _protocol_version(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    version = apdu.protocol_version_num
    if version not in SUPPORTED_VERSIONS:
        message = f"version {version} is not one ISO 10161 defines (1 or 2)"
        yield Violation(Problem.UNRECOGNIZED, "protocol-version-num", message, data=str(version))


PROTOCOL_VERSION: Rule = Rule(
    "protocol-version",
    ALL_APDUS,
    _protocol_version,
    "protocol-version-num is 1 or 2",
    advice="send protocol version 2",
    provider_problem=GeneralProblem.PROTOCOL_VERSION_NOT_SUPPORTED,
)

PARTIES_NAMED: Rule = Rule(
    "parties-named",
    ALL_APDUS,
    required(
        "requester-id.person-or-institution-symbol",
        "responder-id.person-or-institution-symbol",
        why="mandatory when an APDU goes through a store-and-forward intermediary",
    ),
    "requester-id and responder-id carry library symbols",
)

INITIAL_REQUESTER: Rule = Rule(
    "initial-requester",
    ALL_APDUS,
    required(
        "transaction-id.initial-requester-id.person-or-institution-symbol",
        why="a transaction-id is unique only together with its initial requester",
    ),
    "transaction-id names its initial requester by symbol",
)

#: The results-explanation alternative that goes with each transaction-results.
EXPLANATION_FOR = {
    TransactionResults.CONDITIONAL: "conditional-results",
    TransactionResults.RETRY: "retry-results",
    TransactionResults.UNFILLED: "unfilled-results",
    TransactionResults.LOCATIONS_PROVIDED: "locations-results",
    TransactionResults.WILL_SUPPLY: "will-supply-results",
    TransactionResults.HOLD_PLACED: "hold-placed-results",
    TransactionResults.ESTIMATE: "estimate-results",
}
#: Results whose explanation carries the answer itself (the conditions, the locations, the
#: estimate), so the explanation must be present.
EXPLANATION_NEEDED = frozenset(
    {
        TransactionResults.CONDITIONAL,
        TransactionResults.LOCATIONS_PROVIDED,
        TransactionResults.ESTIMATE,
    }
)


def _results_explanation(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    assert isinstance(apdu, ILLAnswer)
    expected = EXPLANATION_FOR.get(apdu.transaction_results)
    if expected is None:  # an unlisted result: the listed-values rule reports it
        return
    result = apdu.transaction_results.asn1_name
    if apdu.results_explanation is None:
        if apdu.transaction_results in EXPLANATION_NEEDED:
            message = f"a {result} answer must say what it is in {expected}"
            yield Violation(Problem.MISSING, f"results-explanation.{expected}", message)
        return
    chosen, _ = apdu.results_explanation.chosen
    if chosen != expected:
        message = f"{chosen} does not explain transaction-results {result} (expected {expected})"
        yield Violation(Problem.INCONSISTENT, "results-explanation", message, data=chosen)


RESULTS_EXPLANATION: Rule = Rule(
    "results-explanation",
    frozenset({"ILL-Answer"}),
    _results_explanation,
    "results-explanation matches transaction-results, and is present for conditional,"
    " locations-provided and estimate",
)


def _valid_date(text: str) -> bool:
    if len(text) != 8 or not text.isdigit():
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _valid_time(text: str) -> bool:
    if len(text) != 6 or not text.isdigit():
        return False
    try:
        time(int(text[:2]), int(text[2:4]), min(int(text[4:]), 59))  # 60: a leap second
    except ValueError:
        return False
    return int(text[4:]) <= 60


_FORMATS = {"ISODate": (_valid_date, "YYYYMMDD"), "ISOTime": (_valid_time, "HHMMSS")}


def _is_date_or_time(node: Node) -> bool:
    return node.name in _FORMATS


def _dates_and_times(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    for element in walk(apdu, _is_date_or_time):
        form = _FORMATS[element.node.name]
        if isinstance(element.value, str) and not form[0](element.value):
            message = f"{element.value!r} is not a valid {form[1]}"
            yield Violation(Problem.UNRECOGNIZED, element.path, message, data=element.value)


VALID_DATES: Rule = Rule(
    "valid-dates",
    ALL_APDUS,
    _dates_and_times,
    "every ISO-Date is a real YYYYMMDD date and every ISO-Time a real HHMMSS time",
)


def _is_enumerated(node: Node) -> bool:
    return node.kind is Kind.ENUMERATED


def _listed_values(apdu: IllApdu, context: Context) -> Iterable[Violation]:
    for element in walk(apdu, _is_enumerated):
        value = element.value
        if isinstance(value, AsnEnum) and not value.listed:
            message = f"{int(value)} is not a value the standard lists"
            yield Violation(Problem.UNRECOGNIZED, element.path, message, data=str(int(value)))


LISTED_VALUES: Rule = Rule(
    "listed-values",
    ALL_APDUS,
    _listed_values,
    "every ENUMERATED element has a value the standard lists",
)
