"""Regenerate the ``.ber`` captures in this directory from the real ``yaz-illclient``.

Run from the repository root::

    .venv/bin/python tests/data/captures/make_captures.py          # rewrite files + README.md
    .venv/bin/python tests/data/captures/make_captures.py --check  # only compare, exit 1 on drift

Each capture is the one APDU ``yaz-illclient`` wrote to a loopback listener (see
``tests/interop/yaz.py::run_illclient``). A parameter file the client reads (``-f``) lives in
this directory and is copied beside the client, so the recorded command is the one that ran.
The client puts no clock value into a request unless told to (its default service date is
20000101), so the output is byte for byte reproducible.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from interop.yaz import ILLCLIENT, run_illclient  # noqa: E402

# The answer the listener gives, so that the client exits 0 ("Ok"): the smallest
# Status-Or-Error-Report, one that carries reason-no-report instead of a report.
REPLY = bytes.fromhex(
    "7323"  # [APPLICATION 19] Status-Or-Error-Report, 35 bytes
    "3021"  # SEQUENCE, 33 bytes
    "800102"  # protocol-version-num [0] IMPLICIT INTEGER 2
    "a10a"  # transaction-id [1] IMPLICIT Transaction-Id, 10 bytes
    "a1031b0147"  # transaction-group-qualifier [1] { GeneralString "G" }
    "a2031b0154"  # transaction-qualifier [2] { GeneralString "T" }
    "a20c"  # service-date-time [2] IMPLICIT Service-Date-Time, 12 bytes
    "a00a"  # date-time-of-this-service [0] IMPLICIT SEQUENCE, 10 bytes
    "80083230323530313031"  # date [0] IMPLICIT ISO-Date (VisibleString) "20250101"
    "9f2b0101"  # reason-no-report [43] IMPLICIT ENUMERATED temporary(1)
)


@dataclass(frozen=True)
class Capture:
    file: str
    defines: tuple[str, ...]
    """``-D`` values, in order."""
    shows: str
    params: str | None = None
    """A parameter file in this directory, given with ``-f`` before the ``-D`` values."""

    @property
    def args(self) -> list[str]:
        given = ["-f", self.params] if self.params else []
        return given + [arg for define in self.defines for arg in ("-D", define)]

    @property
    def files(self) -> list[Path]:
        """What the client reads besides its arguments; copied beside it under the same name."""
        return [HERE / self.params] if self.params else []

    def command(self) -> str:
        return f"{ILLCLIENT} {shlex.join(self.args)} tcp:127.0.0.1:PORT"


CAPTURES: tuple[Capture, ...] = (
    Capture(
        "yaz-illclient-1.ber",
        ("ill,item-id,title=Dune",),
        "the bare request: every other value is a YAZ default, still encoded (service date "
        "20000101, copy-non-returnable `a9 03 0a 01 02`, transaction-type simple `85 01 01`); "
        "empty System-Ids (`a0 00` inside the transaction-id, `a3 00`, `a4 00`) and empty "
        "qualifiers `1b 00`; definite lengths throughout (`61 62 30 60`)",
    ),
    Capture(
        "yaz-illclient-2.ber",
        (
            "ill,transaction-id,initial-requester-id,person-or-institution-symbol,"
            "institution=REQLIB",
            "ill,transaction-id,transaction-group-qualifier=grp1",
            "ill,transaction-id,transaction-qualifier=TX-0002",
            "ill,service-date-time,this,date=20240315",
            "ill,service-date-time,this,time=101530",
            "ill,requester-id,person-or-institution-symbol,institution=REQLIB",
            "ill,responder-id,person-or-institution-symbol,institution=RESPLIB",
            "ill,ill-service-type=1",
            "ill,client-id,client-name=Jane Patron",
            "ill,client-id,client-identifier=P-1234",
            "ill,item-id,author=Le Guin, Ursula K.",
            "ill,item-id,title=The Left Hand of Darkness",
            "ill,item-id,publisher=Ace Books",
            "ill,item-id,publication-date=1969",
            "ill,item-id,ISBN=9780441478125",
            "ill,requester-note=Please send by courier",
        ),
        "a loan (`a9 03 0a 01 01`) with a full transaction-id, service date and time "
        "(`80 08 ...`, `81 06 ...`), requester REQLIB and responder RESPLIB, client-id and "
        "item-id details; requester-note `bf 2e` is a long-form tag ([46]); over 127 content "
        "bytes, so the outer elements are indefinite (`61 80 30 80` ... `00 00 00 00`)",
    ),
    Capture(
        "yaz-illclient-3.ber",
        (),
        "every key read from the parameter file `params-3.txt` (one `key=value` a line): a "
        "167-byte GeneralString (long-form length `1b 81 a7`) inside the indefinite "
        "title-of-article `af 80`; the title's UTF-8 bytes sent unchanged inside a "
        "GeneralString (`c3 9c` for Ü); item-type other(3), place-on-hold yes(1), "
        "retry-flag true `95 01 01`",
        params="params-3.txt",
    ),
    Capture(
        "copy-copyright.ber",
        (
            "ill,ill-service-type=2",
            "ill,item-id,item-type=2",
            "ill,item-id,title=Journal of Interlending",
            "ill,item-id,title-of-article=Copyright and the copy request",
            "ill,item-id,pagination=1-12",
            "ill,copyright-complicance=CCG",
            "ill,copyright-compliance=NOT-SENT",
        ),
        "ill-service-type copy-non-returnable `a9 03 0a 01 02` (IMPLICIT SEQUENCE OF "
        "ENUMERATED), item-type serial `80 01 02`; copyright-compliance `b3 05 1b 03 43 43 47` "
        "(`[19]` around GeneralString `CCG`) comes from YAZ's misspelt key "
        "`copyright-complicance`: the correctly spelt key is ignored, `NOT-SENT` is nowhere; "
        "over 127 content bytes, so `61 80 30 80` ... `00 00 00 00`",
    ),
    Capture(
        "delivery-postal.ber",
        (
            "ill,item-id,title=Dune",
            "ill,delivery-address,postal-address,name-of-person-or-institution,"
            "name-of-institution=Central Library ILL Office",
            "ill,delivery-address,postal-address,extended-postal-delivery-address=Room 101",
            "ill,delivery-address,postal-address,street-and-number=1 Main St",
            "ill,delivery-address,postal-address,post-office-box=PO Box 7",
            "ill,delivery-address,postal-address,city=Denton",
            "ill,delivery-address,postal-address,region=TX",
            "ill,delivery-address,postal-address,country=US",
            "ill,delivery-address,postal-address,postal-code=76203",
        ),
        "delivery-address `a6 68` holding postal-address `a0 64` with all eight Postal-Address "
        "fields `[0]`..`[7]` (name-of-institution `a0 1e a1 1c 1b 1a ...`); electronic-address "
        "still sent empty (`a1 00`), billing-address empty (`a8 04 a0 00 a1 00`); outer "
        "elements indefinite (`61 80 30 80`), the inner ones definite",
    ),
    Capture(
        "search-need-before.ber",
        (
            "ill,item-id,title=Dune",
            "ill,search-type,level-of-service=A",
            "ill,search-type,need-before-date=20250301",
            "ill,search-type,expiry-date=20250401",
            "ill,search-type,expiry-flag=2",
        ),
        "search-type `ac 1c`: level-of-service `a0 03 1b 01 41` (explicit ILL-String), "
        "need-before-date `81 08 ...`, expiry-flag other-date `82 01 02`, expiry-date "
        "`83 08 ...` (IMPLICIT VisibleString dates); short enough for definite lengths "
        "(`61 7b 30 79`)",
    ),
    Capture(
        "client-id.ber",
        (
            "ill,item-id,title=Dune",
            "ill,client-id,client-name=Ada Lovelace",
            "ill,client-id,client-status=Faculty",
            "ill,client-id,client-identifier=P-0042",
        ),
        "client-id `af 25` with client-name `a0`, client-status `a1` and client-identifier "
        "`a2`, each an explicit tag around a GeneralString (without the keys YAZ still "
        "sends an empty `af 00`); outer elements indefinite",
    ),
    Capture(
        "requester-optional-messages.ber",
        (
            "ill,item-id,title=Dune",
            "ill,requester-optional-messages,can-send-RECEIVED=1",
            "ill,requester-optional-messages,can-send-RETURNED=1",
            "ill,requester-optional-messages,requester-SHIPPED=2",
            "ill,requester-optional-messages,requester-CHECKED-IN=3",
        ),
        "requester-optional-messages `ab 0c 80 01 01 81 01 01 82 01 02 83 01 03`: BOOLEAN "
        "true written as `01`, not `ff`; requester-SHIPPED desires(2), requester-CHECKED-IN "
        "neither(3); same 100 bytes as a bare request, only these four values differ "
        "(defaults are `00 00 01 01`)",
    ),
)

README_HEAD = """\
# Requests captured from the real yaz-illclient

Each `.ber` file is one raw BER ILL-Request APDU exactly as Debian's `yaz-illclient`
(YAZ 5.34) wrote it to a TCP socket. They are produced by `make_captures.py` in this directory,
which points the client at a loopback listener (`tests/interop/yaz.py::run_illclient`);
the listener answers with a Status-Or-Error-Report carrying reason-no-report, so every run
ends with `Ok` and exit code 0. Regenerate or verify with

    .venv/bin/python tests/data/captures/make_captures.py [--check]

This file is written by that script: edit `CAPTURES` there, not the table here.
Keys the client does not set are filled with YAZ defaults (service date 20000101,
protocol version 2, transaction-type simple(1), ill-service-type copy-non-returnable(2),
item-type monograph(1), place-on-hold according-to-responder-policy(3), empty strings
for the transaction-id qualifiers and empty System-Ids). Note the key spelling
`copyright-complicance`: that is what YAZ's `ill_get_ILLRequest` looks up.
`params-3.txt` is the parameter file that one command names with `-f`; the script copies it
into the client's working directory, so the command shown is the one that ran.

| file | bytes | command (PORT = the listener's) | what it shows |
| --- | --- | --- | --- |
"""


def render_readme(sizes: dict[str, int]) -> str:
    rows = [f"| {c.file} | {sizes[c.file]} | `{c.command()}` | {c.shows} |\n" for c in CAPTURES]
    return README_HEAD + "".join(rows)


def capture(item: Capture) -> bytes:
    run = run_illclient(item.args, REPLY, files=item.files)
    if run.returncode != 0 or not run.received:
        raise SystemExit(
            f"{item.file}: {ILLCLIENT} exited {run.returncode} after sending "
            f"{len(run.received)} bytes\n{run.stdout}{run.stderr[-2000:]}"
        )
    return run.received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    options = parser.parse_args(argv)

    data = {item.file: capture(item) for item in CAPTURES}
    readme = render_readme({name: len(blob) for name, blob in data.items()})
    outputs = {**{name: blob for name, blob in data.items()}, "README.md": readme.encode()}
    drift = [name for name, blob in outputs.items() if _read(HERE / name) != blob]
    if options.check:
        for name in drift:
            print(f"differs from a fresh capture: {name}", file=sys.stderr)
        return 1 if drift else 0
    for name, blob in outputs.items():
        (HERE / name).write_bytes(blob)
    for item in CAPTURES:
        print(f"{item.file}: {len(data[item.file])} bytes")
    return 0


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
