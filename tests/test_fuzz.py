"""A short run of bench/fuzz.py: a few thousand generated and mutated inputs through the framer,
the decoder, the splicer, the rules and the state machine; only the project's errors allowed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import fuzz
import fuzz_targets

from isoill.rules.engine import Verdict

COUNT = 3000
SEED = 20251122


def test_fuzz_finds_nothing() -> None:
    result = fuzz.run(COUNT, SEED)
    assert result.inputs == COUNT
    assert not result.failures, "\n".join(f.summary for f in result.failures.values())
    for outcome in ("framing error", "decode: DecodeError", "decoded", "refused by all profiles"):
        assert result.outcomes[outcome] > 0, f"no input reached {outcome}"
    assert set(result.sources) == set(fuzz.SOURCES)


def test_fuzz_reports_an_exception_other_than_the_codec_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def judge(*_: object) -> Verdict:
        raise KeyError("a bug")

    monkeypatch.setattr(fuzz_targets, "judge", judge)
    result = fuzz.run(200, SEED)
    (failure,) = result.failures.values()
    assert failure.summary.startswith("KeyError at test_fuzz.py:")
    assert failure.count == result.outcomes["decoded"]  # every input that reached the rules
