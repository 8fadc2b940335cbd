"""Start-up: how long ``isoill --help``, ``isoill queue list`` and ``isoill tx list`` take, each
in a new process, beside ``python -c pass`` in the same run: the interpreter's own start-up,
which no command can go below, and the yardstick of issue 16 (under five times it).

The commands run in rounds, each round every command once in turn, so that the machine's load
falls on all of them alike; each figure is the median of the rounds' wall times, from starting
the process to its exit. A first round, not counted, leaves the byte code of every module in
``__pycache__`` (even where ``PYTHONDONTWRITEBYTECODE`` is set), as an installed isoill has it;
otherwise every run would compile isoill's sources again. The two listings read a store made
here: 50 messages, each of a transaction of its own, as many as their default
``--limit`` shows. The isoill that runs is the one ``PYTHONPATH`` names first, else the one
installed in this interpreter's environment.

Run with ``make bench`` (or ``.venv/bin/python bench/startup.py [--doc docs/performance.md]``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import report

from isoill.store.open import open_store
from isoill.store.writes import Accept

ISOILL = Path(sys.executable).with_name("isoill")
MESSAGES = 50


def fill(path: Path) -> None:
    """A store of ``MESSAGES`` ILL-Requests, each of its own transaction, with one delivery."""
    store = open_store(path)
    try:
        for number in range(MESSAGES):
            store.commit(
                Accept(
                    peer="REQLIB",
                    apdu_type="ILL-Request",
                    transaction_key=f'["REQLIB", null, "{number}", null]',
                    target_symbol="RESPLIB",
                    ber=b"\xa1\x00",  # never read by the listings
                    addresses=["127.0.0.1:4101"],
                    requester_symbol="REQLIB",
                    responder_symbol="RESPLIB",
                    now=datetime.now(UTC),
                    expected_version=None,
                )
            )
    finally:
        store.close()


def seconds(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one run of ``command``, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(
        command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="runs of each command")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="isoill-startup-"))
    try:
        db = work / "store.sqlite3"
        fill(db)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "isoill --help": [str(ISOILL), "--help"],
            "isoill queue list --db STORE": [str(ISOILL), "queue", "list", "--db", str(db)],
            "isoill tx list --db STORE": [str(ISOILL), "tx", "list", "--db", str(db)],
        }
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for command in commands.values():
            seconds(command, env)  # writes the byte code caches
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(seconds(command, env))
    finally:
        shutil.rmtree(work)
    baseline = statistics.median(times["python -c pass"])
    rows = [
        [
            f"`{name}`",
            f"{statistics.median(runs) * 1000:.0f}",
            f"{min(runs) * 1000:.0f}-{max(runs) * 1000:.0f}",
            f"{statistics.median(runs) / baseline:.1f}",
        ]
        for name, runs in times.items()
    ]
    header = ["command", "median ms", "range ms", "times `python -c pass`"]
    for row in rows:
        print(f"{row[0].strip('`'):30} {row[1]:>6} ms  ({row[2]} ms)  {row[3]:>5}x", flush=True)
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"Wall time from starting the process to its exit, median of {args.rounds}"
                f" rounds after one that wrote the byte code caches; the listings read a store"
                f" of {MESSAGES} messages.",
                report.table(header, rows),
            ]
        )
        report.write_section("startup", body, args.doc)


if __name__ == "__main__":
    main()
