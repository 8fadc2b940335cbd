"""``isoill decode`` and ``isoill encode``: formats, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gateway_harness import run_cli
from paths import CAPTURES

from isoill.cli import EXIT_BAD_INPUT, EXIT_USAGE


def test_decode_json_lists_every_apdu_of_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CAPTURES / f"yaz-illclient-{n}.ber") for n in (1, 2, 3)]
    assert run_cli(["decode", "--format", "json", *files]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [next(iter(d)) for d in documents] == ["ILL-Request"] * 3
    assert documents[0]["ILL-Request"]["item-id"]["title"] == "Dune"
    assert documents[2]["ILL-Request"]["item-id"]["title"] == "Journal of Ünïcödé Studies"


def test_decode_text_is_a_readable_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["decode", "--format", "text", str(CAPTURES / "yaz-illclient-2.ber")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ILL-Request"
    assert '    transaction-qualifier: "TX-0002"' in lines
    assert '    title: "The Left Hand of Darkness"' in lines


def test_decode_hex_and_encode_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"".join((CAPTURES / f"yaz-illclient-{n}.ber").read_bytes() for n in (1, 2))
    hex_file = tmp_path / "dump.txt"
    hex_file.write_text(data.hex(" ", 16).replace(" ", "\n", 3))
    assert run_cli(["decode", "--hex", "--format", "json", str(hex_file)]) == 0
    json_file = tmp_path / "apdus.json"
    json_file.write_text(capsys.readouterr().out)
    out = tmp_path / "out.ber"
    assert run_cli(["encode", str(json_file), "-o", str(out)]) == 0
    assert run_cli(["decode", "--format", "json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json_file.read_text())
    # capture 1 is definite-length throughout and isoill writes DEFAULTs as YAZ does
    assert out.read_bytes().startswith((CAPTURES / "yaz-illclient-1.ber").read_bytes())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes.fromhex("6162"), "truncated APDU (offset 0, 2 bytes)"),
        (bytes.fromhex("7f7f00"), "is not an ILL-APDU (offset 0)"),
        (bytes.fromhex("0480"), "indefinite length on a primitive element (offset 1)"),
    ],
)
def test_bad_input_exits_3_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "bad.ber"
    path.write_bytes(content)
    assert run_cli(["decode", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"isoill: {path}: ")
    assert message in err


def test_bad_apdu_after_a_good_one_names_its_stream_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (CAPTURES / "yaz-illclient-1.ber").read_bytes()
    path = tmp_path / "two.ber"
    path.write_bytes(good + bytes.fromhex("7f7f00"))
    assert run_cli(["decode", str(path)]) == EXIT_BAD_INPUT
    assert f"(offset {len(good)})" in capsys.readouterr().err


def test_encode_names_the_wrong_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"Cancel": {"protocol-version-num": "two"}}))
    assert run_cli(["encode", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "APDU 0" in err
    assert "Cancel.protocol-version-num" in err


def test_missing_file_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["decode", "/nonexistent/x.ber"]) == EXIT_BAD_INPUT
    assert "No such file" in capsys.readouterr().err
    assert run_cli(["decode"]) == EXIT_USAGE
    assert run_cli(["no-such-command"]) == EXIT_USAGE
