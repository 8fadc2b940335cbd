"""Where benchmark results go: docs/performance.md, one section per benchmark between markers
(the text around them is written by hand and kept), each saying what it ran on."""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import isoill

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _git(source: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(source), *args], check=False, capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def code_measured() -> str:
    """The isoill that was measured: its commit, and whether its tree differs from it."""
    source = Path(isoill.__file__).resolve().parents[1]
    commit = _git(source, "rev-parse", "--short", "HEAD") or "unknown commit"
    changed = _git(source, "status", "--porcelain", "--", "isoill").splitlines()
    state = f", with uncommitted changes to {len(changed)} files" if changed else ""
    return f"isoill {commit}{state} ({source})"


def commit_of(checkout: Path) -> str:
    """The short commit of ``checkout``, with ``+`` when its isoill differs from it."""
    commit = _git(checkout, "rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+" if _git(checkout, "status", "--porcelain", "--", "isoill") else "")


def filesystem(path: Path) -> str:
    """The filesystem and device holding ``path``, as findmnt names them."""
    done = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    fstype, _, device = done.stdout.strip().partition(" ")
    return f"{fstype} on {device.strip()}" if fstype else "unknown filesystem"


def _busy_seconds() -> float:
    """CPU time the machine has spent busy, all cores: user, nice, system, irq, softirq, steal."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def _own_seconds() -> float:
    """CPU time of this process and of its children that have been waited for."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_START = time.monotonic(), _busy_seconds(), _own_seconds()


def others_busy() -> float:
    """Cores that other processes kept busy on average since this benchmark started: noise."""
    wall = time.monotonic() - _START[0]
    others = (_busy_seconds() - _START[1]) - (_own_seconds() - _START[2])
    return max(0.0, others / wall)


def machine() -> str:
    """One line: CPU, cores, Python, kernel."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores; {platform.python_implementation()}"
        f" {platform.python_version()}; Linux {platform.release()}"
    )


def heading() -> str:
    """The first line of each section: when, on what, which code, and how busy the machine
    was with other work meanwhile (call it once the benchmark's processes have ended)."""
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {today} on {machine()}; {code_measured()}; other processes kept"
        f" {others_busy():.2f} cores busy meanwhile."
    )


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Put ``body`` between the markers of section ``name`` in ``doc``, replacing what was
    there; a section not there yet goes at the end."""
    begin, end = f"<!-- bench:{name} begin -->", f"<!-- bench:{name} end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else "# Performance\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    doc.write_text(text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
