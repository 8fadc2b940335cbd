"""``isoill routes check FILE``: validate a routes file and show its routes, like ``nginx -t``.
It reads no configuration, so it imports neither that nor the codec its rules profiles stand
on; ``isoill routes reload``, which reads one, is :mod:`isoill.cli.reload`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from isoill.cli.common import BadInput
from isoill.router import Endpoint, Phase, RoutesError, RouteStatus, RoutingTable


def run_check(args: argparse.Namespace) -> None:
    try:
        table = RoutingTable.load(args.file)
    except RoutesError as error:
        raise BadInput(str(error)) from None
    now: datetime = args.at or datetime.now(UTC)
    out = sys.stdout
    out.write(f"# routes in effect at {_when(now)}\n")
    for row in table.effective(now):
        out.writelines(_lines(row, now))
    out.write(f"routes {args.file}: ok, {len(table.routes)} peers\n")


def _lines(row: RouteStatus, now: datetime) -> Iterable[str]:
    yield f"{row.symbol}: {_join(row.addresses)}\n"
    if row.aliases:
        yield f"  aliases: {', '.join(row.aliases)}\n"
    settings = row.settings18626
    if settings is not None:
        said = [f"ISO 18626 {settings.version.value}", f"zone {settings.timezone}"]
        if settings.declared:
            said.append(f"version attribute {settings.declared!r}")
        said.append(f"conditional {settings.conditional.value}")
        if not settings.expect_to_supply:
            said.append("no ExpectToSupply")
        if settings.headers:
            said.append("headers " + ", ".join(name for name, _ in settings.headers))
        if settings.agencies.pairs:
            pairs = (f"{symbol}={agency}" for symbol, agency in settings.agencies.pairs)
            said.append("agencies " + ", ".join(pairs))
        yield f"  protocol: {'; '.join(said)}\n"
    in_effect = [change for change in row.changes if change.at <= now][-1:]
    for change in row.changes:
        note = ""
        if change in in_effect:
            note = " (now)"
            if row.phase is Phase.AFTER:
                note = (
                    f" (now; move over: make these the addresses, drop [peers.{row.symbol}.move])"
                )
        yield f"  from {_when(change.at)}: {_join(change.addresses)}{note}\n"


def _join(addresses: Iterable[Endpoint]) -> str:
    return ", ".join(str(address) for address in addresses)


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
