"""``isoill replay CAPTURE --to HOST:PORT``: replay a capture against a gateway and check the
expectations file (see :mod:`isoill.tools.replay`). Exit 0 only when every expectation held,
1 when one failed, 3 for input that cannot be used."""

from __future__ import annotations

import argparse
import asyncio
import sys

from isoill.capture.reader import CapturedApdu, CaptureError, read_capture
from isoill.cli.common import BadInput
from isoill.tools import replay
from isoill.tools.expectations import Expectations, ExpectationsError, load
from isoill.tools.peer import ScriptError

EXIT_FAILED = 1


def run_replay(args: argparse.Namespace) -> None:
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
