"""``isoill check`` and ``isoill rules`` in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gateway_harness import run_cli
from paths import CAPTURES

from isoill.codec.decoder import decode
from isoill.codec.jsonform import to_json

CAPTURE_3 = CAPTURES / "yaz-illclient-3.ber"  # need-before 20250201, copy, no copyright
BEFORE_NEED = "2025-01-15T12:00:00+00:00"


def test_check_prints_each_finding_and_exits_1_on_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["check", "--profile", "oclc", "--at", BEFORE_NEED, str(CAPTURE_3)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{CAPTURE_3} #1 ILL-Request: refused",
        "  refuse ILL-REQUEST.copyright-compliance: missing; copy requests need one"
        " (oclc-copyright)",
    ]


def test_check_uses_the_clock_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["check", "--profile", "oclc", "--at", "2025-03-01", str(CAPTURE_3)]) == 1
    assert "20250201 is in the past (oclc-need-before)" in capsys.readouterr().out


def test_check_passes_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(path) for path in CAPTURES.glob("*.ber"))
    assert run_cli(["check", "--profile", "permissive", *files]) == 0
    out = capsys.readouterr().out
    assert out.count("ILL-Request: passes") == len(files)


def test_composed_profile_from_config_warns_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "routes.toml").write_text("")
    config = tmp_path / "isoill.toml"
    config.write_text(
        '[[listeners]]\nport = 0\n[profiles.soft]\ninclude = ["oclc"]\nwarn = ["oclc-copyright"]\n'
    )
    argv = ["check", "--config", str(config), "--profile", "soft", "--at", BEFORE_NEED]
    assert run_cli([*argv, str(CAPTURE_3)]) == 0
    out = capsys.readouterr().out
    assert "ILL-Request: warned" in out
    assert "  warn   ILL-REQUEST.copyright-compliance" in out


@pytest.mark.parametrize("form", ["hex", "json"])
def test_check_reads_hex_and_json(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ber = CAPTURE_3.read_bytes()
    path = tmp_path / f"apdu.{form}"
    path.write_text(ber.hex() if form == "hex" else json.dumps(to_json(decode(ber))))
    argv = ["check", "--profile", "oclc", "--form", form, "--at", BEFORE_NEED, str(path)]
    assert run_cli(argv) == 1
    assert "(oclc-copyright)" in capsys.readouterr().out


def test_unknown_profile_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["check", "--profile", "nope", str(CAPTURE_3)]) == 3
    assert "unknown profile 'nope' (known: permissive, ipig, oclc)" in capsys.readouterr().err


def test_truncated_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.ber"
    path.write_bytes(CAPTURE_3.read_bytes()[:40])
    assert run_cli(["check", "--profile", "oclc", str(path)]) == 3
    assert "truncated APDU" in capsys.readouterr().err


def test_rules_lists_every_profile_and_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["rules"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("permissive: ")
    assert "\nipig: " in out
    assert "  refuse oclc-title: item-id has a title\n" in out
