"""``isoill rules``: list the rules profiles and their rules (``--markdown`` writes the table in
``docs/rules.md``). It reads no APDU, so it does not import the decoder."""

from __future__ import annotations

import argparse
import sys

from isoill.cli.common import BadInput
from isoill.config import ConfigError, load
from isoill.rules.engine import Profile, Severity
from isoill.rules.profiles import BUILT_IN
from isoill.rules.standard import ALL_APDUS


def profiles_of(args: argparse.Namespace) -> dict[str, Profile]:
    """The built-in profiles, and those of the configuration ``--config`` names."""
    if args.config is None:
        return dict(BUILT_IN)
    try:
        return load(args.config).rule_profiles()
    except ConfigError as error:
        raise BadInput(str(error)) from None


def run_rules(args: argparse.Namespace) -> None:
    profiles = profiles_of(args)
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
