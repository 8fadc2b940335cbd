"""What each ``isoill`` command imports (issue 16): a command imports what it uses, so the ones
that never decode do not build the codec's decoder, and the store's listings import neither
the configuration (pydantic) nor asyncio. Each command runs in a fresh interpreter, the way
the ``isoill`` script runs it; how long that takes is measured by ``bench/startup.py``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from isoill.cli import command
from isoill.cli.arguments import parser
from isoill.store.open import open_store
from isoill.store.writes import Accept

ROOT = Path(__file__).resolve().parents[1]

#: Run ``isoill ARGV`` (after the report's path), then write its exit status and the modules
#: of ``HEAVY`` it imported into the report.
PROBE = """
import json, sys
from isoill.cli import main
report, argv = sys.argv[1], sys.argv[2:]
try:
    main(argv)
    status = 0
except SystemExit as exit_:
    status = exit_.code or 0
loaded = [name for name in json.loads(sys.stdin.read()) if name in sys.modules]
with open(report, "w") as out:
    json.dump({"status": status, "loaded": loaded}, out)
"""

#: What the store's listings must not import: the decoder and the plan it is built from, the
#: models, the configuration and what it stands on, and the daemon's asyncio and metrics.
HEAVY = (
    "isoill.codec.decoder",
    "isoill.codec.plan",
    "isoill.codec.models",
    "isoill.config",
    "pydantic",
    "pyasn1",
    "asyncio",
    "prometheus_client",
)


def imported(
    tmp_path: Path, *argv: str, watched: tuple[str, ...] = HEAVY
) -> tuple[int, list[str], str]:
    """Run ``isoill ARGV`` in a new interpreter: its exit status, the modules of ``watched``
    it imported, and what it printed."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *argv],
        input=json.dumps(watched),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    result = json.loads(report.read_text())
    return result["status"], result["loaded"], done.stdout


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    db = open_store(path)
    try:
        db.commit(
            Accept(
                peer="BRW",
                apdu_type="ILL-Request",
                transaction_key=json.dumps(["BRW", "", "42", None]),
                target_symbol="LND",
                ber=b"\xa1\x00",
                addresses=["lnd.example:499"],
                requester_symbol="BRW",
                responder_symbol="LND",
                now=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
                expected_version=None,
            )
        )
    finally:
        db.close()
    return path


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    status, loaded, out = imported(tmp_path, "--help")
    assert status == 0
    assert "queue" in out and "tx" in out
    assert loaded == []


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["queue", "list"], "ILL-Request"),
        (["queue", "list", "--json"], '"apdu_type": "ILL-Request"'),
        (["tx", "list"], 'BRW/""/"42"'),
        (["tx", "show", "1"], "ILL-Request  BRW -> LND"),
    ],
)
def test_store_listings_import_nothing_heavy(
    tmp_path: Path, store: Path, argv: list[str], shown: str
) -> None:
    status, loaded, out = imported(tmp_path, *argv, "--db", str(store))
    assert status == 0
    assert shown in out
    assert loaded == []


def test_rules_does_not_build_the_decoder(tmp_path: Path) -> None:
    status, loaded, out = imported(tmp_path, "rules")
    assert status == 0
    assert "ipig" in out
    assert "isoill.codec.decoder" not in loaded
    assert "isoill.config" in loaded  # the probe sees what a command does import


def test_routes_check_imports_no_configuration(tmp_path: Path) -> None:
    status, loaded, out = imported(tmp_path, "routes", "check", "config/routes.toml")
    assert status == 0
    assert ": ok," in out
    assert "isoill.config" not in loaded
    assert "isoill.codec.plan" not in loaded


def test_decode_imports_the_decoder(tmp_path: Path) -> None:
    status, loaded, _ = imported(tmp_path, "decode", "--format", "json", "/dev/null")
    assert status == 0
    assert "isoill.codec.decoder" in loaded


def test_each_peer_imports_its_own_protocol_only(tmp_path: Path) -> None:
    """``isoill peer --protocol iso18626`` neither builds the decoder nor loads pyasn1, and
    the ISO 10161 peer does not load aiohttp. (A usage error comes once the command's module
    is imported, so the probe sees what each imports.)"""
    watched = (*HEAVY, "aiohttp")
    argv = ("peer", "--protocol", "iso18626", "--listen", "127.0.0.1:0")
    status, loaded, _ = imported(tmp_path, *argv, watched=watched)
    assert status == 2
    assert "aiohttp" in loaded
    assert "pyasn1" not in loaded and "isoill.codec.decoder" not in loaded
    status, loaded, _ = imported(tmp_path, "peer", "--listen", "127.0.0.1:0", watched=watched)
    assert status == 2
    assert "isoill.codec.decoder" in loaded and "aiohttp" not in loaded


def _leaves(command_parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    actions = [a for a in command_parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield command_parser
    for action in actions:
        for sub in action.choices.values():
            yield from _leaves(sub)


def test_every_command_names_a_function_that_exists() -> None:
    leaves = list(_leaves(parser()))
    assert len(leaves) == 23  # every command, "peers agency-auth" the last added
    for leaf in leaves:
        module, function = leaf.get_default("run")
        assert callable(command(module, function)), (leaf.prog, module, function)
