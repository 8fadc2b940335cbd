"""ISO 18626 wire layer: µs per message to parse and validate (``wire.parse``: the hardened
lxml parse, the schema, the generated model) and to serialise (``wire.serialise``: the model
written, validated, encoded), for every sample message and the project's 2021 messages.

Beside each, the baseline from the same run: lxml alone parsing and validating the same bytes
against the same schema, so the ``parse/lxml`` ratio shows what building the models costs on
top. Then the hostile inputs of ``tests/test_iso18626_hostile.py``: how long a refusal takes.

Run with ``make bench`` (or ``.venv/bin/python bench/iso18626.py``). Each figure is the best of
``--repeat`` rounds of ``--count`` calls.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import report  # noqa: E402
from lxml import etree  # noqa: E402
from paths import ISO18626_2021, ISO18626_SAMPLES  # noqa: E402

from isoill.iso18626 import wire  # noqa: E402
from isoill.iso18626.errors import Refusal  # noqa: E402
from isoill.iso18626.messages import Version  # noqa: E402
from isoill.iso18626.schemas import SCHEMAS  # noqa: E402


def best_us(action: Callable[[], object], count: int, repeat: int) -> float:
    """µs per call of ``action``: the best of ``repeat`` rounds of ``count`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def lxml_only(body: bytes, version: Version) -> Callable[[], object]:
    xsd = SCHEMAS[version].xsd
    return lambda: xsd.validate(etree.fromstring(body, wire._PARSER))


def refused(body: bytes) -> Callable[[], object]:
    def attempt() -> None:
        try:
            wire.parse(body)
        except Refusal:
            return
        raise AssertionError("a hostile input was accepted")

    return attempt


def hostile() -> list[tuple[str, bytes]]:
    cancel = (ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml").read_bytes()
    start = cancel.index(b"<ns1:ISO18626Message")
    laughs = [b'<!ENTITY l0 "lol">'] + [
        b'<!ENTITY l%d "%s">' % (n, b"&l%d;" % (n - 1) * 10) for n in range(1, 10)
    ]
    doctype = b"<!DOCTYPE m [" + b"".join(laughs) + b"]>\n"
    deep = b"<ns1:note>" * 10_000 + b"</ns1:note>" * 10_000
    return [
        ("billion laughs", cancel[:start] + doctype + cancel[start:]),
        ("10,000 levels", cancel.replace(b"<ns1:action>", deep + b"<ns1:action>")),
        ("over the limit", cancel + b" " * wire.MAX_SIZE),
        ("invalid UTF-8", cancel.replace(b"Cancel<", b"Cancel\xff<")),
        ("wrong version", cancel.replace(b'"v1_2_2017"', b'"2021-2"')),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="calls in one round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    emit(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    emit(f"# best of {args.repeat} rounds of {args.count} calls; µs per message")
    columns = f"{'version':>7} {'bytes':>5} {'lxml':>7} {'parse':>7} {'ratio':>6} {'write':>7}"
    emit(f"{'message':50} {columns}")
    per_version: dict[Version, list[tuple[float, float]]] = {version: [] for version in Version}
    paths = sorted(ISO18626_SAMPLES.glob("*.xml")) + sorted(ISO18626_2021.glob("*.xml"))
    for path in paths:
        body = path.read_bytes()
        parsed = wire.parse(body)
        baseline = best_us(lxml_only(body, parsed.version), args.count, args.repeat)
        parse = best_us(partial(wire.parse, body), args.count, args.repeat)
        write = best_us(partial(wire.serialise, parsed.model), args.count, args.repeat)
        per_version[parsed.version].append((parse, write))
        name = path.relative_to(ISO18626_SAMPLES).as_posix()
        emit(
            f"{name:50} {parsed.version:>7} {len(body):5} {baseline:7.1f} {parse:7.1f}"
            f" {parse / baseline:6.1f} {write:7.1f}"
        )
    emit("# median per version: parse+validate, serialise")
    for version, figures in per_version.items():
        parses, writes = zip(*figures, strict=True)
        emit(
            f"{version:>7}: {len(figures):2} messages, parse {statistics.median(parses):7.1f},"
            f" serialise {statistics.median(writes):7.1f}"
        )
    emit("# hostile input: µs to refuse")
    for label, body in hostile():
        emit(f"{label:50} {len(body):>15} {best_us(refused(body), args.count, args.repeat):7.1f}")
    if args.doc:
        table = "\n".join(lines)
        report.write_section("iso18626", f"{report.heading()}\n\n```\n{table}\n```", args.doc)


if __name__ == "__main__":
    main()
