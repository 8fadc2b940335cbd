"""``isoill check``: run a rules profile offline on APDU files and print each verdict, so that
operators can test their traffic before going live; ``isoill rules``: list the profiles and
their rules (``--markdown`` writes the table in ``docs/rules.md``).

``check`` exits 0 when every APDU passes (warnings allowed), 1 when a rule refuses one.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from isoill.cli import inputs
from isoill.cli.common import BadInput
from isoill.codec.framing import DEFAULT_MAX_APDU_SIZE
from isoill.config import ConfigError, load
from isoill.rules.engine import Context, Profile, Severity
from isoill.rules.profiles import BUILT_IN
from isoill.rules.standard import ALL_APDUS

EXIT_REFUSED = 1


def _profiles(args: argparse.Namespace) -> dict[str, Profile]:
    if args.config is None:
        return dict(BUILT_IN)
    try:
        return load(args.config).rule_profiles()
    except ConfigError as error:
        raise BadInput(str(error)) from None


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--at {text}: not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_check(args: argparse.Namespace) -> None:
    profiles = _profiles(args)
    profile = profiles.get(args.profile)
    if profile is None:
        raise BadInput(f"unknown profile {args.profile!r} (known: {', '.join(profiles)})")
    context = Context(_moment(args.at))
    refused = 0
    for name in args.files:
        for index, apdu in enumerate(inputs.apdus(name, args.form, DEFAULT_MAX_APDU_SIZE), 1):
            verdict = profile.judge(apdu, context)
            outcome = "refused" if verdict.refused else "warned" if verdict.warnings else "passes"
            sys.stdout.write(f"{name} #{index} {apdu.apdu_type}: {outcome}\n")
            for finding in verdict.findings:
                sys.stdout.write(f"  {finding.severity.value:6} {finding.describe()}\n")
            refused += verdict.refused
    if refused:
        sys.exit(EXIT_REFUSED)


def run_rules(args: argparse.Namespace) -> None:
    profiles = _profiles(args)
    sys.stdout.write(markdown(profiles) if args.markdown else _listing(profiles))


def _listing(profiles: dict[str, Profile]) -> str:
    lines = []
    for profile in profiles.values():
        lines.append(f"{profile.name}: {profile.summary}")
        for rule, severity in profile.rules:
            lines.append(f"  {severity.value:6} {rule.name}: {rule.summary}")
    return "\n".join(lines) + "\n"


def markdown(profiles: dict[str, Profile]) -> str:
    """One row per rule: what it demands, its report, and its severity in each profile."""
    names = [name for name, profile in profiles.items() if profile.rules]
    rules = {rule.name: rule for name in names for rule, _ in profiles[name].rules}
    severity = {(name, rule.name): level for name in names for rule, level in profiles[name].rules}
    head = ["rule", "APDUs", "demands", "report", *names]
    rows = [head, ["---"] * len(head)]
    for rule in rules.values():
        types = "all" if rule.apdu_types == ALL_APDUS else ", ".join(sorted(rule.apdu_types))
        report = (
            f"provider-error {rule.provider_problem.asn1_name}"
            if rule.provider_problem is not None
            else "user-error unable-to-perform + IPIG 13.6"
        )
        demands = rule.summary + (f"; else {rule.advice}" if rule.advice else "")
        cells = [severity.get((name, rule.name), Severity.OFF).value for name in names]
        rows.append([f"`{rule.name}`", types, demands, report, *cells])
    return "".join("| " + " | ".join(row) + " |\n" for row in rows)
