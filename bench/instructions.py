"""Instructions per APDU, counted by valgrind's callgrind: a figure that does not swing with
the machine's load, to compare commits (issue 22).

For each APDU of the benchmark's loan (bench/traffic.py: ILL-Request, Shipped, Received,
Returned, Checked-In, as bench/e2e.py sends them) the parts of the gateway's work that are pure
code, each run ``--repeat`` times in one process under callgrind:

- ``framing``: ``Framer`` finding the APDU in the bytes read;
- ``decode``: the typed decode;
- ``core``: ``core.intake.read`` and ``decide`` (route, rules, parties, the protocol machine,
  duplicates, the acknowledgement's bytes) against the view the store would give at that step
  of the loan, under bench/e2e.py's peer settings.

The child process calls ``os.getppid()`` between sections and callgrind dumps its counters
before each such call (``--dump-before=getppid``), so each dump holds one section alone; an
empty loop of the same length is counted too and taken off. ``PYTHONHASHSEED`` is fixed and
the loan's times are too, so the same commit gives the same counts, whatever else the machine
is doing. ``--baseline DIR`` counts the isoill in DIR (a checkout at another commit) in the
same run and reports the ratios.

Run with ``make bench`` (or ``.venv/bin/python bench/instructions.py [--baseline DIR]``).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

import report  # noqa: E402
from intake_support import Ledger, policy  # noqa: E402
from traffic import LIFECYCLE, lifecycle  # noqa: E402

from isoill.codec import framing  # noqa: E402
from isoill.codec.decoder import decode  # noqa: E402
from isoill.codec.framing import Framer  # noqa: E402
from isoill.codec.models import IllApdu  # noqa: E402
from isoill.core.decision import Accept, Connection, Incoming, View  # noqa: E402
from isoill.core.intake import decide, read  # noqa: E402

PARTS = ("framing", "decode", "core")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REQUESTER, RESPONDER = "REQ01", "RESP01"
SETTINGS = "".join(
    f'[peers.{symbol}]\nsender_profile = "ipig"\ntarget_profile = "oclc"\n'
    'state_machine = "enforce"\n'
    for symbol in (REQUESTER, RESPONDER)
)
ROUTES = {REQUESTER: ["127.0.0.1:10001"], RESPONDER: ["127.0.0.1:10002"]}
Counts = dict[tuple[str, str], float]  # (APDU type, part) to instructions per APDU


def sections() -> list[tuple[str, str, Callable[[], object]]]:
    """What is counted: (APDU type, part, one call), in the child's order."""

    def framed(ber: bytes) -> object:
        framer = Framer()
        framer.feed(ber)
        return framer.next_apdu()

    rules = policy(SETTINGS, ROUTES)
    ledger = Ledger(rules)
    found: list[tuple[str, str, Callable[[], object]]] = []
    for template, (name, side) in zip(lifecycle(REQUESTER, RESPONDER, NOW), LIFECYCLE, strict=True):
        ber = template.fill(1)
        apdu = decode(ber)
        sender = REQUESTER if side == "requester" else RESPONDER
        connection = Connection(f"{ROUTES[sender][0]}", frozenset(), False, None)
        arriving = Incoming(read(apdu, ber), connection, NOW, None)
        view = View(ledger.record, ledger.stored.get(arriving.read.dedup_key or ""), frozenset())

        def core(
            apdu: IllApdu = apdu, ber: bytes = ber, view: View = view, on: Connection = connection
        ) -> object:
            return decide(Incoming(read(apdu, ber), on, NOW, None), view, rules)

        assert isinstance(core(), Accept), f"{name} is not accepted: the loan is wrong"
        found += [
            (name, "framing", partial(framed, ber)),
            (name, "decode", partial(decode, ber)),
            (name, "core", core),
        ]
        assert isinstance(ledger.decide(ber), Accept)
    return found


def _nothing() -> None:
    """The empty loop's call, whose count is taken off every other section's."""


def child(repeat: int) -> None:
    """Run every section ``repeat`` times, a marker call before each and one after the last."""
    counted: list[tuple[str, str, Callable[[], object]]] = [("", "loop", _nothing)]
    counted += sections()
    for _, _, call in counted:  # warm: imports, caches and specialisations settle, uncounted
        for _ in range(20):
            call()
    gc.collect()
    for _, _, call in counted:
        os.getppid()
        for _ in range(repeat):
            call()
    os.getppid()
    print("\n".join(f"{name}\t{part}" for name, part, _ in counted))
    compiled = Path(framing.__file__ or "").suffix != ".py"
    print(f"build: {'compiled' if compiled else 'pure'} {Path(framing.__file__ or '').parents[2]}")


def count(source: Path | None, repeat: int) -> tuple[str, Counts]:
    """The build counted (its checkout, commit and whether compiled), and instructions per
    APDU for each section, of the isoill in ``source`` (else the one this process finds)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory(prefix="isoill-callgrind-") as work:
        out = Path(work) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--dump-before=getppid",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                "--repeat",
                str(repeat),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if done.returncode != 0:
            raise SystemExit(f"the counted run failed:\n{done.stderr[-2000:]}")
        names = [tuple(line.split("\t")) for line in done.stdout.splitlines() if "\t" in line]
        build, checkout = done.stdout.rsplit("build: ", 1)[1].split()
        label = f"{report.commit_of(Path(checkout))} {build}"
        # Dump k holds what ran between marker k and marker k + 1: section k, then, for the
        # dump after the last marker, the interpreter's exit.
        totals = {}
        for dump in Path(work).glob("callgrind.out.*"):
            match = re.search(r"^summary: (\d+)", dump.read_text(errors="replace"), re.M)
            assert match, f"no summary in {dump}"
            totals[int(dump.name.rsplit(".", 1)[1])] = int(match.group(1))
    per_call = [totals[k] / repeat for k in range(2, len(names) + 2)]
    if len(per_call) != len(names):
        raise SystemExit(f"{len(totals)} dumps for {len(names)} sections: a stray getppid call?")
    loop = per_call[0]
    return label, {(n, p): c - loop for (n, p), c in zip(names[1:], per_call[1:], strict=True)}


def _table(counts: list[Counts], labels: list[str]) -> tuple[list[str], list[list[str]]]:
    names = list(dict.fromkeys(name for name, _ in counts[0]))
    header = ["APDU", *(f"{part}, {label}" for label in labels for part in PARTS)]
    if len(counts) == 2:
        header += [f"{part}, ratio" for part in PARTS]
    rows = []
    for name in [*names, "loan (all five)"]:
        chosen = names if name.startswith("loan") else [name]
        sums = [[sum(c[(n, part)] for n in chosen) for part in PARTS] for c in counts]
        cells = [f"{value:,.0f}" for values in sums for value in values]
        if len(counts) == 2:
            cells += [f"{after / before:.2f}" for before, after in zip(*sums, strict=True)]
        rows.append([name, *cells])
    return header, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="calls counted per section")
    parser.add_argument("--baseline", type=Path, help="also count the isoill in this checkout")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.repeat)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian's valgrind package)")
    runs = [count(args.baseline.resolve(), args.repeat)] if args.baseline is not None else []
    runs.append(count(None, args.repeat))
    header, rows = _table([counts for _, counts in runs], [label for label, _ in runs])
    print(report.table(header, rows))
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"Instructions per APDU (valgrind's callgrind, {args.repeat} calls per part and"
                " APDU, an empty loop's count taken off), the loan bench/e2e.py sends.",
                report.table(header, rows),
            ]
        )
        report.write_section("instructions", body, args.doc)


if __name__ == "__main__":
    main()
