"""Codec throughput: typed decode and encode per APDU type, beside YAZ's C codec and pyasn1,
and the lighter paths the gateway takes over the same bytes: framing (``Framer``, which for a
definite-length APDU is one pass over its headers), the acknowledgement spliced from the APDU's
own elements, and what the forwarder reads of a peer's answer (``splice.present_fields``).

Run with ``make bench`` (or ``.venv/bin/python bench/codec.py``). Inputs: yaz-illclient
captures 1 to 3 (ILL-Requests of 100, 293 and 528 bytes in tests/data/captures) and one fully
populated APDU of each of the 20 types.
Every figure comes from this one run, so ratios compare like with like on this machine.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import report  # noqa: E402
from apdu_examples import full_apdu  # noqa: E402
from interop.yaz import YazUnavailable, yaz_bench, yazill_binary  # noqa: E402
from paths import CAPTURES  # noqa: E402
from pyasn1.codec.ber import decoder as pyasn1_decoder  # noqa: E402
from pyasn1.error import PyAsn1Error  # noqa: E402

from isoill.asn1.ill9702 import ILLAPDU  # noqa: E402
from isoill.codec import plan  # noqa: E402
from isoill.codec.decoder import decode  # noqa: E402
from isoill.codec.encoder import encode  # noqa: E402
from isoill.codec.framing import Framer  # noqa: E402
from isoill.codec.splice import present_fields  # noqa: E402
from isoill.core.acknowledgement import acknowledgement  # noqa: E402


def rate(action: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``action``, best of three rounds of about ``seconds`` each."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(50):
                action()
            count += 50
        best = max(best, count / elapsed)
    return best


def framed(data: bytes) -> bytes | None:
    framer = Framer()
    framer.feed(data)
    return framer.next_apdu()


def pyasn1_rate(data: bytes) -> str:
    """pyasn1's schema decode of the same bytes, for scale ("-" where pyasn1 refuses them)."""
    spec = ILLAPDU()
    try:
        pyasn1_decoder.decode(data, asn1Spec=spec)
    except PyAsn1Error:
        return "-"
    return f"{rate(lambda: pyasn1_decoder.decode(data, asn1Spec=spec), 0.1):.0f}"


def inputs() -> list[tuple[str, bytes]]:
    numbered = sorted(CAPTURES.glob("yaz-illclient-*.ber"))
    found = [(f"capture {p.stem}", p.read_bytes()) for p in numbered]
    found += [(name, encode(full_apdu(name))) for name in plan.APDUS]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one round")
    parser.add_argument("--no-pyasn1", action="store_true", help="skip the pyasn1 baseline")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        yazill: Path | None = yazill_binary(Path(tempfile.mkdtemp(prefix="isoill-bench-")))
    except YazUnavailable as error:
        emit(f"# YAZ baseline unavailable: {error}")
        yazill = None
    emit(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    header = f"{'input':42} {'bytes':>5} {'decode/s':>9} {'encode/s':>9}"
    header += f" {'yaz dec/s':>10} {'yaz/isoill':>10}" if yazill else ""
    header += "" if args.no_pyasn1 else f" {'pyasn1/s':>9}"
    header += f" {'frame/s':>9} {'ack/s':>9} {'fields/s':>9}"
    emit(header)
    for label, data in inputs():
        apdu = decode(data)
        decodes = rate(partial(decode, data), args.seconds)
        encodes = rate(partial(encode, apdu), args.seconds)
        line = f"{label:42} {len(data):5} {decodes:9.0f} {encodes:9.0f}"
        if yazill:
            yaz_decodes, _ = yaz_bench(yazill, data, 200_000)
            line += f" {yaz_decodes:10.0f} {yaz_decodes / decodes:10.1f}"
        if not args.no_pyasn1:
            line += f" {pyasn1_rate(data):>9}"
        now = datetime.now(UTC)
        for light in (
            lambda d=data: framed(d),
            lambda d=data, n=now: acknowledgement(d, n),
            lambda d=data: present_fields(d),
        ):
            line += f" {rate(light, args.seconds):9.0f}"
        emit(line)
    if args.doc:
        table = "\n".join(lines)
        report.write_section("codec", f"{report.heading()}\n\n```\n{table}\n```", args.doc)


if __name__ == "__main__":
    main()
