"""Fuzzing: generated and mutated inputs through the framer, the decoder, the splicer, the rules,
the acknowledgement and the state machine (see bench/fuzz_targets.py). Anything but the
project's own errors is a bug; so is a disagreement between two parts about the same bytes.

Hypothesis drives the run: each example it draws is a source (a capture or an APDU of
tests/apdu_examples.py, an APDU generated from the codec's plan, random bytes, or a deep
nest) and a seed, from which a batch of inputs is made: the base and its mutants (bit flips,
truncations, length and tag octets, splices, deletions, duplicates, deep nesting; see
bench/fuzz_inputs.py). The same ``--seed`` and ``--count`` give the same inputs.

Run with ``.venv/bin/python bench/fuzz.py [--count 1000000] [--seed 1] [--save DIR]``; exit
status 1 if something failed.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzz_inputs import DEPTHS, Mutator, corpus, deeply_nested, generated, trees
from fuzz_targets import exercise
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

BATCH = 16  # inputs per hypothesis example: the base and its mutants
SOURCES = ("corpus", "corpus", "generated", "generated", "bytes", "nested")
PROGRESS_SECONDS = 10.0
SHOWN_BYTES = 120


@dataclass
class Failure:
    """One distinct bug: the exception and where it was raised, the first input that raised it,
    and how many inputs did."""

    summary: str
    detail: str
    example: bytes
    count: int = 0


@dataclass
class Result:
    inputs: int = 0
    seconds: float = 0.0
    sources: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Failure] = field(default_factory=dict)
    slowest: tuple[float, bytes] = (0.0, b"")

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def run(count: int, seed: int, progress: Callable[[Result], None] | None = None) -> Result:
    """Fuzz with ``count`` inputs from ``seed``."""
    result = Result()
    inputs = corpus()
    donors = trees(inputs)
    cases = st.tuples(st.sampled_from(SOURCES), st.integers(0, 2**64 - 1), st.binary(max_size=400))
    start = last_report = time.perf_counter()

    @settings(
        max_examples=math.ceil(count / BATCH),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def drive(case: tuple[str, int, bytes]) -> None:
        nonlocal last_report
        source, case_seed, random_bytes = case
        rng = random.Random(case_seed)
        base = _base(source, rng, inputs, random_bytes)
        mutator = Mutator(rng, donors, base)
        for i in range(min(BATCH, count - result.inputs)):
            data = base if i == 0 else mutator.mutant()
            _one(data, rng, result)
            result.sources[source] += 1
        now = time.perf_counter()
        result.seconds = now - start
        if progress is not None and now - last_report >= PROGRESS_SECONDS:
            last_report = now
            progress(result)

    hypothesis_seed(seed)(drive)()
    result.seconds = time.perf_counter() - start
    return result


def _base(source: str, rng: random.Random, inputs: list[bytes], random_bytes: bytes) -> bytes:
    if source == "corpus":
        return rng.choice(inputs)
    if source == "generated":
        return generated(rng)
    if source == "nested":
        return deeply_nested(rng, rng.choice(DEPTHS))
    return random_bytes


def _one(data: bytes, rng: random.Random, result: Result) -> None:
    began = time.perf_counter()
    try:
        exercise(data, rng, result.outcomes)
    except Exception as error:
        _record(error, data, result)
    took = time.perf_counter() - began
    result.inputs += 1
    if took > result.slowest[0]:
        result.slowest = (took, data)


def _record(error: Exception, data: bytes, result: Result) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/isoill/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}"
    key = f"{type(error).__name__} at {where}"
    failure = result.failures.get(key)
    if failure is None:
        detail = "".join(traceback.format_exception(error)[-6:])
        failure = result.failures[key] = Failure(f"{key}: {error}"[:300], detail, data)
    failure.count += 1


def show(data: bytes) -> str:
    text = data[:SHOWN_BYTES].hex()
    return text + (f"... ({len(data)} bytes)" if len(data) > SHOWN_BYTES else "")


def print_progress(result: Result) -> None:
    print(
        f"  {result.inputs} inputs, {result.seconds:.0f} s, {result.rate:.0f}/s,"
        f" {len(result.failures)} failures",
        file=sys.stderr,
        flush=True,
    )


def print_report(result: Result, seed: int) -> None:
    print(
        f"fuzz: {result.inputs} inputs in {result.seconds:.1f} s"
        f" ({result.rate:.0f} inputs/s), seed {seed}"
    )
    print("  sources:   " + ", ".join(f"{k} {v}" for k, v in sorted(result.sources.items())))
    print("  outcomes:  " + ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())))
    took, data = result.slowest
    print(f"  slowest:   {took * 1000:.1f} ms, {show(data)}")
    print(f"  failures:  {len(result.failures)}")
    for failure in result.failures.values():
        print(f"\n{failure.summary}\n  {failure.count} inputs; first: {show(failure.example)}")
        print(failure.detail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the inputs")
    parser.add_argument("--save", type=Path, help="write each failure's first input here")
    args = parser.parse_args()
    result = run(args.count, args.seed, print_progress)
    print_report(result, args.seed)
    if args.save is not None and result.failures:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, failure in enumerate(result.failures.values()):
            (args.save / f"failure-{i}.ber").write_bytes(failure.example)
    sys.exit(1 if result.failures else 0)


if __name__ == "__main__":
    main()
