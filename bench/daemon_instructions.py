"""Instructions per APDU of the whole daemon, all its threads, under valgrind's callgrind: the
end-to-end cost (intake, rules, store, delivery, asyncio, SQLite) as a figure that does not
swing with the machine's load, for builds side by side (issue 22).

Each build's daemon runs bench/e2e.py's set-up (rules, tracking, SQLite) under callgrind; a
warm-up goes through uncounted, then callgrind's counters are zeroed
(``callgrind_control --zero``), one persistent closed-loop load of ``--apdus`` APDUs goes
through, and the counters are dumped (``--dump``): their total over the APDUs delivered.
What the kernel does (system calls, fsync) is not counted. The group commits' batches depend
on timing, so counts move by a per cent or two from run to run. Under callgrind a daemon
runs some fifty times slower: 500 APDUs take three minutes a build on a quiet machine.

Run with ``.venv/bin/python bench/daemon_instructions.py --baseline 9d5537b --build compiled``;
``--rate 5 --apdus 200`` counts an open loop instead, where each APDU goes alone (its own
commit, its own wake-ups): the per-APDU cost at a low rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import builds
import e2e
import report
from builds import Build

#: Seconds a daemon under callgrind may take to start (it imports some fifty times slower).
START = 600.0
#: The counted load, unless ``--rate`` asks for an open loop.
PERSISTENT = e2e.Phase("persistent", True, 16, 0)


def count(build: Build, apdus: int, work: Path, rate: float = 0.0) -> tuple[float, float]:
    """Instructions per APDU delivered, and the daemon's CPU µs per APDU under callgrind;
    ``rate``: APDUs/s of an open-loop load (each APDU alone: nothing batched), else the
    persistent closed loop."""
    out = work / "callgrind.out"
    wrapper = work / "isoill"
    python = build.command.with_name("python")
    valgrind = f"valgrind --tool=callgrind --callgrind-out-file={out}"
    wrapper.write_text(f'#!/bin/sh\nexec {valgrind} {python} -m isoill "$@"\n')
    wrapper.chmod(0o755)
    counted = dataclasses.replace(build, command=wrapper)
    serials = e2e.Serials()
    e2e.START_TIMEOUT = START
    with e2e.Peers() as peers, e2e.Daemon(work, peers, build=counted) as daemon:
        e2e.measure(e2e.Phase("warm-up", True, 4, 100), peers, daemon, serials)
        _control("--zero", daemon.pid)
        phase = e2e.Phase(f"fixed {rate:g}/s", True, 16, apdus, rate) if rate else PERSISTENT
        result = e2e.measure(dataclasses.replace(phase, apdus=apdus), peers, daemon, serials)
        _control("--dump", daemon.pid)
        time.sleep(2)  # callgrind writes the dump when the daemon's next system call returns
    if result.refused or result.errors or result.delivered < result.sent:
        raise SystemExit(f"the counted load failed: {result}")
    dumps = sorted(work.glob("callgrind.out.*"), key=lambda path: int(path.suffix[1:]))
    if not dumps:
        raise SystemExit("callgrind wrote no dump")
    match = re.search(r"^summary: (\d+)", dumps[0].read_text(errors="replace"), re.M)
    assert match, f"no summary in {dumps[0]}"
    return int(match.group(1)) / result.delivered, result.cpu_us


def _control(action: str, pid: int) -> None:
    subprocess.run(["callgrind_control", action, str(pid)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apdus", type=int, default=500, help="APDUs counted per build")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="count an open loop at this many APDUs/s instead (a few: callgrind is slow)",
    )
    parser.add_argument("--baseline", metavar="REV", help="also count this commit's build")
    parser.add_argument("--build", choices=("pure", "compiled"), default="compiled")
    parser.add_argument("--cache", type=Path, default=builds.CACHE, help="where builds are kept")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian's valgrind package)")
    chosen = [builds.commit(args.baseline, args.cache)] if args.baseline else []
    chosen.append(builds.checkout(args.build, args.cache))
    rows = []
    for build in chosen:
        with tempfile.TemporaryDirectory(prefix="isoill-callgrind-") as work:
            instructions, cpu = count(build, args.apdus, Path(work), args.rate)
        rows.append([build.label, f"{instructions:,.0f}", f"{cpu:,.0f}"])
        print(" | ".join(rows[-1]), flush=True)
    if len(rows) == 2:
        first, last = (float(row[1].replace(",", "")) for row in rows)
        rows.append(["ratio", f"{last / first:.2f}", "-"])
    header = ["build", "instructions/APDU (daemon, all threads)", "CPU µs/APDU under callgrind"]
    table = report.table(header, rows)
    print(table)
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"The whole daemon under callgrind, {args.apdus} APDUs of"
                f" {f'an open loop at {args.rate:g}/s' if args.rate else 'the persistent load'}"
                " after an uncounted warm-up; kernel time not counted.",
                table,
            ]
        )
        report.write_section("daemon-instructions", body, args.doc)


if __name__ == "__main__":
    main()
