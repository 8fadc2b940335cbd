"""``isoill replay CAPTURE --to HOST:PORT``: replay a capture against a gateway and check the
expectations file (see :mod:`isoill.tools.replay`). Exit 0 only when every expectation held,
1 when one failed, 3 for input that cannot be used."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from isoill.capture.reader import CapturedApdu, CaptureError, read_capture
from isoill.cli.common import BadInput
from isoill.tools import replay
from isoill.tools.expectations import Expectations, ExpectationsError, load
from isoill.tools.peer import ScriptError

EXIT_FAILED = 1


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("replay", help="replay a capture against a gateway and check")
    command.add_argument("capture", type=Path, metavar="CAPTURE", help="pcap, pcapng, BER or hex")
    command.add_argument("--to", required=True, metavar="HOST:PORT", help="the gateway")
    command.add_argument("--expect", type=Path, metavar="FILE", help="expectations (TOML)")
    command.add_argument("--timing", choices=("asis", "fast"), default="fast")
    command.add_argument("--form", choices=("auto", "ber", "hex", "pcap", "pcapng"), default="auto")
    command.add_argument("--port", type=int, help="only connections to this server port")
    command.add_argument("--stream", type=int, help="only this TCP stream (from 0)")
    command.add_argument("--timeout", type=float, default=30.0, help="seconds per reply")
    command.set_defaults(run=_replay)


def _replay(args: argparse.Namespace) -> None:
    host, _, port = args.to.rpartition(":")
    if not host or not port.isdigit():
        raise BadInput(f"--to {args.to}: expected HOST:PORT")
    try:
        captured = read_capture(args.capture, args.form)
        expectations = load(args.expect) if args.expect else Expectations()
    except (CaptureError, ExpectationsError) as error:
        raise BadInput(str(error)) from None
    apdus = replay.client_apdus(captured, args.port, args.stream)
    if not apdus:
        raise BadInput(f"{args.capture}: no APDUs sent by a client to replay")
    checks = asyncio.run(_run(apdus, host.strip("[]"), int(port), expectations, args))
    failed = [check for check in checks if not check.passed]
    for check in checks:
        sys.stdout.write(f"{check}\n")
    streams = len({apdu.stream for apdu in apdus})
    summary = f"replayed {len(apdus)} APDUs on {streams} connections: "
    if failed:
        sys.stdout.write(f"{summary}{len(failed)} of {len(checks)} expectations failed\n")
        sys.exit(EXIT_FAILED)
    sys.stdout.write(f"{summary}all {len(checks)} expectations held\n")


async def _run(
    apdus: list[CapturedApdu],
    host: str,
    port: int,
    expectations: Expectations,
    args: argparse.Namespace,
) -> list[replay.Check]:
    try:
        peers = await replay.start_peers(expectations)
    except ScriptError as error:
        raise BadInput(str(error)) from None
    except OSError as error:
        raise BadInput(f"cannot start a simulated peer: {error}") from None
    try:
        sent = await replay.replay(apdus, host, port, timing=args.timing, timeout=args.timeout)
        checks = replay.check_replies(sent, expectations)
        return checks + await replay.check_peers(sent, expectations, peers)
    finally:
        await replay.stop_peers(peers)
