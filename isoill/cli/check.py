"""``isoill check``: run a rules profile offline on APDU files and print each verdict, so that
operators can test their traffic before going live.

Exits 0 when every APDU passes (warnings allowed), 1 when a rule refuses one.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from isoill.cli import inputs
from isoill.cli.common import BadInput
from isoill.cli.rules import profiles_of
from isoill.codec.framing import DEFAULT_MAX_APDU_SIZE
from isoill.rules.engine import Context

EXIT_REFUSED = 1


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--at {text}: not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_check(args: argparse.Namespace) -> None:
    profiles = profiles_of(args)
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
