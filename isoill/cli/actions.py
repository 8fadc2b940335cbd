"""``isoill queue resend ID``, ``isoill queue release ID`` and ``isoill queue refuse ID``: an
operator's actions on the queue (a message's failed deliveries due again; a decision on a held
ILL-Request, one from a requester not in the configuration's peers), through
:mod:`isoill.service.operations`. None prints an APDU's bytes."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from isoill.cli.common import BadInput
from isoill.cli.storeopts import database, deliveries, open_store
from isoill.config import Config, ConfigError, load
from isoill.router import RoutesError, RoutingTable
from isoill.service import operations
from isoill.service.handoff import IDLE_POLL
from isoill.service.operations import OperationError
from isoill.store.setting import is_url


def _config_and_routes(path: Path) -> tuple[Config, RoutingTable]:
    try:
        config = load(path)
        return config, RoutingTable.load(config.routes)
    except (ConfigError, RoutesError) as error:
        raise BadInput(str(error)) from None


def run_resend(args: argparse.Namespace) -> None:
    with open_store(database(args)) as store:
        try:
            count = operations.resend(store, args.id, datetime.now(UTC))
        except OperationError as error:
            raise BadInput(str(error)) from None
    sys.stdout.write(f"message {args.id}: {deliveries(count)} due now\n")


def run_release(args: argparse.Namespace) -> None:
    config, routes = _config_and_routes(args.config)
    with open_store(config.store) as store:
        try:
            released = operations.release(store, routes, args.id, datetime.now(UTC))
        except OperationError as error:
            raise BadInput(str(error)) from None
    # A shared store wakes its gateways as the release commits; SQLite's daemon polls.
    when = (
        "the gateways are woken to send it"
        if is_url(config.store)
        else (f"the running daemon sends it within {IDLE_POLL:g} seconds")
    )
    sys.stdout.write(
        f"message {args.id}: released to {released.target}, {deliveries(released.deliveries)}"
        f" due now; {when}\n"
    )


def run_refuse(args: argparse.Namespace) -> None:
    config, routes = _config_and_routes(args.config)
    with open_store(config.store) as store:
        try:
            refused = operations.refuse(store, routes, args.id, args.reason, datetime.now(UTC))
        except OperationError as error:
            raise BadInput(str(error)) from None
    requester = refused.requester
    if refused.report_id is None:
        who = f"requester {requester} has no route" if requester else "it names no requester"
        sys.stdout.write(f"message {args.id}: refused; {who}, so it could not be told\n")
    else:
        sys.stdout.write(
            f"message {args.id}: refused; report to {requester} queued as message"
            f" {refused.report_id}\n"
        )
