"""``isoill queue release ID`` and ``isoill queue refuse ID``: an operator's decision on a held
ILL-Request (one from a requester not in the configuration's peers). Release queues it for its
target; refuse keeps it as refused and queues a report to its requester when it has a route.
Neither prints an APDU's bytes. The running daemon's forwarder polls the store every few
seconds, so what they queue is sent without signalling it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from isoill import reports
from isoill.cli.common import BadInput
from isoill.cli.storeopts import deliveries, open_store
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.config import Config, ConfigError, load
from isoill.forwarder import IDLE_POLL
from isoill.ill.symbols import symbol_of
from isoill.router import RoutesError, RoutingTable
from isoill.store.records import Notice
from isoill.store.writes import Refuse, Release


def _config_and_routes(path: Path) -> tuple[Config, RoutingTable]:
    try:
        config = load(path)
        return config, RoutingTable.load(config.routes)
    except (ConfigError, RoutesError) as error:
        raise BadInput(str(error)) from None


def run_release(args: argparse.Namespace) -> None:
    config, routes = _config_and_routes(args.config)
    now = datetime.now(UTC)
    with open_store(config.store) as store, _about(args.id):
        target = store.held(args.id).target_symbol
        addresses = [str(a) for a in routes.addresses(target, now)] if target else []
        if not addresses:
            raise BadInput(f"message {args.id}: no route to {target}; it stays held")
        count = store.commit(Release(args.id, addresses, now))
    sys.stdout.write(
        f"message {args.id}: released to {target}, {deliveries(count)} due now;"
        f" the running daemon sends it within {IDLE_POLL:g} seconds\n"
    )


def run_refuse(args: argparse.Namespace) -> None:
    config, routes = _config_and_routes(args.config)
    now = datetime.now(UTC)
    with open_store(config.store) as store, _about(args.id):
        request = decode(store.held(args.id).ber)  # it was decoded once already, when received
        requester = symbol_of(request.requester_id)
        addresses = [str(a) for a in routes.addresses(requester, now)] if requester else []
        notice = None
        if requester and addresses:
            report = reports.not_registered(request, requester, args.reason, now)
            notice = Notice(report.apdu_type, requester, encode(report), addresses)
        report_id = store.commit(Refuse(args.id, args.reason, now, notice))
    if report_id is None:
        who = f"requester {requester} has no route" if requester else "it names no requester"
        sys.stdout.write(f"message {args.id}: refused; {who}, so it could not be told\n")
    else:
        sys.stdout.write(
            f"message {args.id}: refused; report to {requester} queued as message {report_id}\n"
        )


@contextmanager
def _about(message_id: int) -> Iterator[None]:
    """The store's refusals of an action on one message (unknown, or not held) as bad input."""
    try:
        yield
    except KeyError:
        raise BadInput(f"no message {message_id}") from None
    except ValueError as error:
        raise BadInput(str(error)) from None
