"""``isoill peer --listen HOST:PORT --symbol SYMBOL``: a simulated ILL peer that answers by
script and prints one line per APDU it receives (see :mod:`isoill.tools.peer`). It runs
until SIGINT or SIGTERM, then exits 0; a bad script or an address it cannot listen on exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import BinaryIO

from isoill.cli.arguments import peer_options_given
from isoill.cli.common import BadInput, Usage
from isoill.tools.peer import Arrival, Script, ScriptError, SimulatedPeer


def run_peer(args: argparse.Namespace) -> None:
    if args.symbol is None:
        raise Usage("peer: --symbol is required (or --protocol iso18626)")
    stray = peer_options_given(args, "iso18626") + peer_options_given(args, "supplier")
    stray += peer_options_given(args, "requester")
    if stray:
        raise Usage(f"peer: {', '.join(stray)}: only with --protocol iso18626")
    try:
        script = Script.load(args.script) if args.script is not None else Script.DEFAULT
    except ScriptError as error:
        raise BadInput(str(error)) from None
    record = None
    if args.record is not None:
        try:
            record = args.record.open("ab")
        except OSError as error:
            raise BadInput(f"{args.record}: {error.strerror}") from None
    try:
        asyncio.run(_run(args, script, record))
    finally:
        if record is not None:
            record.close()


async def _run(args: argparse.Namespace, script: Script, record: BinaryIO | None) -> None:
    def arrived(arrival: Arrival) -> None:
        if record is not None:
            record.write(arrival.ber)
            record.flush()
        sys.stdout.write(f"{arrival}\n")
        sys.stdout.flush()

    peer = SimulatedPeer(
        args.symbol, script, close_after_answer=args.close_after_answer, on_arrival=arrived
    )
    host, port = args.listen
    try:
        await peer.start(host, port)
    except OSError as error:
        raise BadInput(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    sys.stderr.write(f"isoill peer: {args.symbol} listening on {peer.address}\n")
    sys.stderr.flush()
    try:
        await stopping.wait()
    finally:
        await peer.stop()
