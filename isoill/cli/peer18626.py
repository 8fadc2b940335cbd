"""``isoill peer --protocol iso18626 --role supplier|requester``: a simulated ISO 18626 peer
over HTTP (see :mod:`isoill.tools.peer18626`), printing one line per exchange.

A supplier runs until SIGINT or SIGTERM; a requester sends its Requests, then runs until
every transaction it started has ended (or a signal), and says on stderr how each ended.
Both exit 0 then. Options that do not go with the protocol or role are a usage error (2);
a requests file that cannot be used, or an address the peer cannot listen on, exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from isoill.cli.arguments import peer_options_given
from isoill.cli.common import BadInput, Usage
from isoill.iso18626.messages import Version
from isoill.tools.peer18626 import orders, scenario
from isoill.tools.peer18626.http import Exchange
from isoill.tools.peer18626.messages import Agency
from isoill.tools.peer18626.peer import (
    DELAY,
    RETURN_AFTER,
    TIMEOUT,
    HttpPeer,
    SimulatedRequester,
    SimulatedSupplier,
)
from isoill.tools.peer18626.requester import Order

_ORDER_OPTIONS = ("title", "author", "service_type", "note")


def run_peer(args: argparse.Namespace) -> None:
    _check(args)
    wanted = _orders(args) if args.role == "requester" else []
    default = scenario.DEFAULT
    if args.scenario is not None:
        try:
            default = scenario.parse(args.scenario)
        except ValueError as error:
            raise Usage(f"peer: --scenario: {error}") from None
    record = None
    if args.record is not None:
        try:
            record = args.record.open("a", encoding="utf-8")
        except OSError as error:
            raise BadInput(f"{args.record}: {error.strerror}") from None
    try:
        asyncio.run(_run(args, _peer(args, default, _printer(record)), wanted))
    finally:
        if record is not None:
            record.close()


def _check(args: argparse.Namespace) -> None:
    stray = peer_options_given(args, "iso10161")
    if stray:
        raise Usage(f"peer: {', '.join(stray)}: not with --protocol iso18626")
    needed = [("--role", args.role), ("--agency", args.agency), ("--peer-url", args.peer_url)]
    if args.role == "requester":
        needed.append(("--peer-agency", args.peer_agency))
    missing = [option for option, value in needed if value is None]
    if missing:
        raise Usage(f"peer --protocol iso18626: {', '.join(missing)} required")
    other = "requester" if args.role == "supplier" else "supplier"
    stray = peer_options_given(args, other)
    if stray:
        raise Usage(f"peer: {', '.join(stray)}: only with --role {other}")
    if args.requests is not None:
        given = [f"--{name.replace('_', '-')}" for name in _ORDER_OPTIONS if getattr(args, name)]
        if given:
            raise Usage(f"peer: --requests or {', '.join(given)}, not both")


def _orders(args: argparse.Namespace) -> list[Order]:
    if args.requests is None:
        return [
            Order(
                title=args.title,
                author=args.author,
                service_type=args.service_type or "Loan",
                note=args.note,
            )
        ]
    try:
        return orders.load(args.requests)
    except orders.OrdersError as error:
        raise BadInput(str(error)) from None


def _peer(
    args: argparse.Namespace, default: scenario.Scenario, exchanged: Callable[[Exchange], None]
) -> HttpPeer:
    version = Version.V2021 if args.version == "2021" else Version.V1_2
    delay = DELAY if args.delay is None else args.delay
    timeout = TIMEOUT if args.timeout is None else args.timeout
    agency = Agency.parse(args.agency)
    if args.role == "supplier":
        return SimulatedSupplier(
            agency,
            args.peer_url,
            default=default,
            unknown_error=args.unknown == "error",
            version=version,
            delay=delay,
            timeout=timeout,
            on_exchange=exchanged,
        )
    return SimulatedRequester(
        agency,
        Agency.parse(args.peer_agency),
        args.peer_url,
        version=version,
        delay=delay,
        return_after=RETURN_AFTER if args.return_after is None else args.return_after,
        timeout=timeout,
        on_exchange=exchanged,
    )


def _printer(record: TextIO | None) -> Callable[[Exchange], None]:
    def exchanged(exchange: Exchange) -> None:
        if record is not None:
            record.write(json.dumps(exchange.record(), ensure_ascii=False) + "\n")
            record.flush()
        sys.stdout.write(f"{exchange}\n")
        sys.stdout.flush()

    return exchanged


async def _run(args: argparse.Namespace, peer: HttpPeer, wanted: list[Order]) -> None:
    host, port = args.listen
    try:
        await peer.start(host, port)
    except OSError as error:
        raise BadInput(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    version = Version.V2021 if args.version == "2021" else Version.V1_2
    sys.stderr.write(
        f"isoill peer: {args.agency}, ISO 18626 {version} {args.role}, listening on {peer.url}\n"
    )
    sys.stderr.flush()
    try:
        if isinstance(peer, SimulatedRequester):
            await _borrow(peer, wanted, stopping)
        else:
            await stopping.wait()
    finally:
        await peer.stop()


async def _borrow(
    requester: SimulatedRequester, wanted: list[Order], stopping: asyncio.Event
) -> None:
    """Send every Request, then wait for their ends (or a signal) and say how each ended."""

    async def borrow() -> None:
        for order in wanted:
            await requester.order(order)
        await requester.wait_until(lambda: requester.ended, timeout=None)

    work = asyncio.ensure_future(borrow())
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    for request_id, borrowing in requester.requester.borrowings.items():
        sys.stderr.write(f"isoill peer: {request_id}: {borrowing.ended or 'open'}\n")
    sys.stderr.flush()
