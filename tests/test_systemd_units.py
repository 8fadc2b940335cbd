"""The systemd units in config/systemd/ say what the daemon does: a notify service that reloads
on SIGHUP and waits out the supervisor's drain, and a socket on the example listener's
address. systemd-analyze, where it is installed, finds nothing wrong with them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isoill.config import load
from isoill.process.supervisor import STOP_TIMEOUT

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "config" / "systemd"


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with its values in order (a key may come again)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key, []).append(value)
    return sections


def test_the_service_is_notify_type_reloads_on_sighup_and_drains_in_time() -> None:
    service = unit("isoill.service")["Service"]
    assert service["Type"] == ["notify"]
    (start,) = service["ExecStart"]
    assert start.split()[1:] == ["serve", "--config", "/etc/isoill/isoill.toml", "--workers", "1"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert float(service["TimeoutStopSec"][0]) > STOP_TIMEOUT
    assert service["Restart"] == ["on-failure"]
    assert service["User"] == ["isoill"] and service["StateDirectory"] == ["isoill"]
    assert service["ProtectSystem"] == ["strict"]


def test_the_socket_listens_where_the_example_configuration_does() -> None:
    socket_unit = unit("isoill.socket")["Socket"]
    (listener,) = load(ROOT / "config" / "example.toml").listeners
    assert socket_unit["ListenStream"] == [f"{listener.host}:{listener.port}"]


def test_systemd_analyze_finds_nothing_wrong(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (package systemd)")
    isoill = Path(sys.executable).with_name("isoill")
    for name in ("isoill.service", "isoill.socket"):  # ExecStart must name a program here
        text = (UNITS / name).read_text().replace("/opt/isoill/venv/bin/isoill", str(isoill))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", "isoill.socket", "isoill.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
