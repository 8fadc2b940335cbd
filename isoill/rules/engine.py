"""Rules as data: what a rule is, what it finds, and how a profile judges an APDU."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from isoill.codec.models import GeneralProblem, IllApdu


class Severity(enum.Enum):
    REFUSE = "refuse"  # answered with an error report, not forwarded
    WARN = "warn"  # forwarded, logged and counted
    OFF = "off"  # not checked


class Problem(enum.Enum):
    """What is wrong, as the alternatives of IPIG's Additional-User-Error-Report-Info."""

    MISSING = "missing-required-element"
    UNRECOGNIZED = "unrecognized-data"
    INCONSISTENT = "inconsistent-data"


# A dataclass made on every APDU writes its __init__ out (init=False): compiled by mypyc, the
# one dataclasses generates stays Python, some fourteen times the cost (docs/performance.md).
# tests/test_build.py holds each to its fields.
@dataclass(frozen=True, init=False)
class Context:
    """What a check may know besides the APDU."""

    now: datetime

    def __init__(self, now: datetime) -> None:
        object.__setattr__(self, "now", now)


@dataclass(frozen=True)
class Violation:
    """One thing a check found wrong. ``element`` is the path below the APDU in the
    standard's names (``item-id.title``); ``data`` the offending value, if there is one."""

    problem: Problem
    element: str
    message: str
    data: str | None = None


Check = Callable[[IllApdu, Context], Iterable[Violation]]


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


@dataclass(frozen=True, init=False)
class Verdict:
    findings: tuple[Finding, ...] = ()

    def __init__(self, findings: tuple[Finding, ...] = ()) -> None:
        object.__setattr__(self, "findings", findings)

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

    def judge(self, apdu: IllApdu, context: Context) -> Verdict:
        return judge(apdu, context, (self,))


def judge(apdu: IllApdu, context: Context, profiles: Iterable[Profile]) -> Verdict:
    """The findings of several profiles on one APDU (the sender's and the target's). A rule in
    more than one profile runs once, with the stricter severity (the first profile's where
    they are equal)."""
    chosen: dict[str, tuple[Rule, Severity, str]] = {}
    for profile in profiles:
        for rule, severity in profile.rules:
            if severity is Severity.OFF or apdu.apdu_type not in rule.apdu_types:
                continue
            known = chosen.get(rule.name)
            if known is None or (known[1] is Severity.WARN and severity is Severity.REFUSE):
                chosen[rule.name] = (rule, severity, profile.name)
    return Verdict(
        tuple(
            Finding(rule, severity, violation, profile, apdu.apdu_type)
            for rule, severity, profile in chosen.values()
            for violation in rule.check(apdu, context)
        )
    )
