"""``isoill routes reload --config FILE``: check the configuration's routes file and its
credentials file, then have the running daemon (found through its pid file) read both again,
with SIGHUP. Nothing is sent when either does not load. On a store several gateways share, the
daemon tells the others, and each reads its own routes file again."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from isoill.cli.common import BadInput
from isoill.config import ConfigError, load
from isoill.router import RoutesError, RoutingTable
from isoill.store.setting import is_url


def run_reload(args: argparse.Namespace) -> None:
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
    # On a shared store the daemon announces a changed routes file to every gateway on it.
    others = (
        "; the gateways sharing its store read their routes files again"
        if is_url(config.store)
        else ""
    )
    sys.stdout.write(
        f"routes {config.routes}: ok, {len(table.routes)} peers, sha256 {table.sha256};"
        f" credentials {config.access.credentials}: ok, {len(config.credentials.peers)} peers'"
        f" logins and {len(config.credentials.logins)} of the gateway's;"
        f" reload sent to pid {pid}{others}\n"
    )
