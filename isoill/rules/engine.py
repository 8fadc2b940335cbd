"""Rules as data: what a rule is, what it finds, and how a profile judges an APDU."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from isoill.codec.models import GeneralProblem
from isoill.codec.values import ApduModel


class Severity(enum.Enum):
    REFUSE = "refuse"  # answered with an error report, not forwarded
    WARN = "warn"  # forwarded, logged and counted
    OFF = "off"  # not checked


class Problem(enum.Enum):
    """What is wrong, as the alternatives of IPIG's Additional-User-Error-Report-Info."""

    MISSING = "missing-required-element"
    UNRECOGNIZED = "unrecognized-data"
    INCONSISTENT = "inconsistent-data"


@dataclass(frozen=True)
class Context:
    """What a check may know besides the APDU."""

    now: datetime


@dataclass(frozen=True)
class Violation:
    """One thing a check found wrong. ``element`` is the path below the APDU in the
    standard's names (``item-id.title``); ``data`` the offending value, if there is one."""

    problem: Problem
    element: str
    message: str
    data: str | None = None


Check = Callable[[ApduModel, Context], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A named check of some APDU types.

    ``provider_problem`` set means a violation is a protocol error, reported as a
    provider-error general-problem; otherwise it is reported as a user error with IPIG's
    additional information. ``advice`` tells the sender what to do instead.
    """

    name: str
    apdu_types: frozenset[str]
    check: Check
    summary: str
    advice: str = ""
    provider_problem: GeneralProblem | None = None


@dataclass(frozen=True)
class Finding:
    rule: Rule
    severity: Severity
    violation: Violation
    profile: str
    apdu_type: str

    @property
    def element(self) -> str:
        """The element as IPIG names it: ``ILL-REQUEST.item-id.title``."""
        return element_identifier(self.violation.element, self.apdu_type)

    def describe(self) -> str:
        advice = f"; {self.rule.advice}" if self.rule.advice else ""
        return f"{self.element}: {self.violation.message} ({self.rule.name}{advice})"


def element_identifier(path: str, apdu_type: str) -> str:
    return f"{apdu_type.upper()}.{path}" if path else apdu_type.upper()


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...] = ()

    @property
    def refusals(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.REFUSE)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARN)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def __add__(self, other: Verdict) -> Verdict:
        return Verdict(self.findings + other.findings)


@dataclass(frozen=True)
class Profile:
    """A named set of rules, each with the severity this profile gives it."""

    name: str
    summary: str
    rules: tuple[tuple[Rule, Severity], ...]

    def judge(self, apdu: ApduModel, context: Context) -> Verdict:
        return Verdict(tuple(self._findings(apdu, context)))

    def _findings(self, apdu: ApduModel, context: Context) -> Iterator[Finding]:
        for rule, severity in self.rules:
            if severity is Severity.OFF or apdu.apdu_type not in rule.apdu_types:
                continue
            for violation in rule.check(apdu, context):
                yield Finding(rule, severity, violation, self.name, apdu.apdu_type)


def judge(apdu: ApduModel, context: Context, profiles: Iterable[Profile]) -> Verdict:
    """The findings of several profiles on one APDU (the sender's and the target's). A rule
    in more than one profile is reported once, with the stricter severity."""
    strictest: dict[tuple[str, Violation], Finding] = {}
    for profile in dict.fromkeys(profiles):
        for finding in profile.judge(apdu, context).findings:
            key = (finding.rule.name, finding.violation)
            known = strictest.get(key)
            if known is None or (
                known.severity is Severity.WARN and finding.severity is Severity.REFUSE
            ):
                strictest[key] = finding
    return Verdict(tuple(strictest.values()))
