"""The outbound bridge's cost in intake: µs per core decision (``core.intake.decide``) of an
APDU accepted for an ISO 18626 target, against the same APDU for an ISO 10161 target in the
same run (the baseline: routing, rules, the protocol machines, the acknowledgement). The
difference is the mapping (``bridge.outbound``), the message serialised and validated
(``wire.serialise``) and the bridge state written as JSON, all on the event loop, under the
transaction's lock, before the store write.

Run with ``make bench`` (or ``.venv/bin/python bench/bridge_outbound.py``). Each figure is the
best of ``--repeat`` rounds of ``--count`` decisions.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import report  # noqa: E402
from bridge_support import apdu, ill_request  # noqa: E402

from isoill.codec.decoder import decode  # noqa: E402
from isoill.codec.encoder import encode  # noqa: E402
from isoill.config import Config  # noqa: E402
from isoill.core.decision import Accept, Connection, Incoming, View  # noqa: E402
from isoill.core.intake import Policy, decide, read  # noqa: E402
from isoill.core.views import TransactionRecord  # noqa: E402
from isoill.router import RoutingTable  # noqa: E402

NOW = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
REQUESTER = '[peers.REQLIB]\naddresses = ["192.0.2.10:499"]\n'
TARGETS = {
    "ISO 10161": '[peers.RESPLIB]\naddresses = ["192.0.2.20:499"]\n',
    "ISO 18626 1.2": '[peers.RESPLIB]\nprotocol = "iso18626"\naddresses = ["http://h/x"]\n',
    "ISO 18626 2021": '[peers.RESPLIB]\nprotocol = "iso18626"\naddresses = ["http://h/x"]\n'
    '[peers.RESPLIB.iso18626]\nversion = "2021"\n',
}


def best_us(action: Callable[[], object], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300, help="decisions in one round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    config = Config.model_validate(tomllib.loads("[[listeners]]\nport = 0\n"))
    connection = Connection("192.0.2.10:40000", frozenset({"REQLIB"}))
    request = encode(ill_request())
    cancel = encode(apdu("Cancel", NOW, {"requester-note": "not needed"}))
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    emit(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    emit(f"# best of {args.repeat} rounds of {args.count} decisions; µs per decision")
    emit(f"{'target':16} {'ILL-Request':>12} {'ratio':>6} {'Cancel':>8} {'ratio':>6}")
    baseline: tuple[float, float] | None = None
    for name, target in TARGETS.items():
        table = RoutingTable.parse(REQUESTER + target)
        policy = Policy(config, table, config.rule_profiles())
        incoming = Incoming(read(decode(request), request), connection, NOW)
        first = decide(incoming, View(None), policy)
        assert isinstance(first, Accept), first
        record = TransactionRecord(
            1, first.message.transaction_key, "REQLIB", "RESPLIB", "PENDING", "PENDING", NOW, NOW
        )
        record = replace(record, bridge=first.message.bridge)
        later = Incoming(read(decode(cancel), cancel), connection, NOW)
        assert isinstance(decide(later, View(record), policy), Accept)
        first_view, later_view = View(None), View(record)
        figures = (
            best_us(partial(decide, incoming, first_view, policy), args.count, args.repeat),
            best_us(partial(decide, later, later_view, policy), args.count, args.repeat),
        )
        baseline = baseline or figures
        emit(
            f"{name:16} {figures[0]:12.1f} {figures[0] / baseline[0]:6.2f}"
            f" {figures[1]:8.1f} {figures[1] / baseline[1]:6.2f}"
        )
    if args.doc:
        text = "\n".join(lines)
        report.write_section("bridge-outbound", f"{report.heading()}\n\n```\n{text}\n```", args.doc)


if __name__ == "__main__":
    main()
