"""``isoill routes check FILE``: validate a routes file and show its routes, like ``nginx -t``;
``isoill routes reload``: check the routes and the credentials file, then have the running
daemon read both again (SIGHUP)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from isoill.cli.common import BadInput
from isoill.config import ConfigError, load
from isoill.router import Address, Phase, RoutesError, RouteStatus, RoutingTable


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    routes = subparsers.add_parser("routes", help="routing table tools")
    commands = routes.add_subparsers(required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="validate a routes file and print the routes in effect"
    )
    check.add_argument("file", metavar="FILE", help="routes file (TOML)")
    check.add_argument(
        "--at",
        type=_instant,
        metavar="DATETIME",
        help="show the routes in effect at this instant, e.g. 2026-12-15T00:00:00Z (default: now)",
    )
    check.set_defaults(run=_check)
    reload = commands.add_parser(
        "reload", help="check the routes file, then tell the running daemon to reload it"
    )
    reload.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    reload.set_defaults(run=_reload)


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if instant.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone: add Z or an offset")
    return instant


def _check(args: argparse.Namespace) -> None:
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


def _reload(args: argparse.Namespace) -> None:
    try:
        config = load(args.config)
        table = RoutingTable.load(config.routes)
    except (ConfigError, RoutesError) as error:
        raise BadInput(f"{error}; nothing reloaded") from None
    pid_file = config.pid_file
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as error:
        raise BadInput(f"no running daemon found through {pid_file}: {error}") from None
    sys.stdout.write(
        f"routes {config.routes}: ok, {len(table.routes)} peers; credentials"
        f" {config.access.credentials}: ok, {len(config.credentials)} entries;"
        f" reload sent to pid {pid}\n"
    )


def _lines(row: RouteStatus, now: datetime) -> Iterable[str]:
    yield f"{row.symbol}: {_join(row.addresses)}\n"
    if row.aliases:
        yield f"  aliases: {', '.join(row.aliases)}\n"
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


def _join(addresses: Iterable[Address]) -> str:
    return ", ".join(str(address) for address in addresses)


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
