"""The isoill builds a benchmark runs side by side (issue 22): a commit's, exported from git
into a cache directory and installed into a venv of its own there, made once and kept between
runs; and this checkout's, as it is (pure Python) or compiled with mypyc (setup.py,
``ISOILL_MYPYC=1``) in a copy of its tree, kept until the tree changes."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import report

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "isoill-bench"
#: What a compiled copy of this checkout needs: the package and how to build it.
BUILT_FROM = ("isoill/", "pyproject.toml", "setup.py")
_PROBE = (
    "import importlib.machinery, isoill.codec.framing as f;"
    "print(f.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)))"
)


@dataclass(frozen=True)
class Build:
    """An isoill to run: its ``isoill`` command, the environment it runs in, and a label
    naming its commit and whether its core is compiled."""

    label: str
    command: Path
    env: dict[str, str]


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        list(map(str, command)), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _kind(python: Path, env: dict[str, str]) -> str:
    """``compiled`` or ``pure``: how the isoill that ``python`` imports in ``env`` is built."""
    found = _run(python, "-c", _PROBE, cwd=Path("/"), env=env)  # "-c" puts the cwd first
    return "compiled" if found.strip() == "True" else "pure"


def _without_pythonpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def commit(revision: str, cache: Path = CACHE) -> Build:
    """The isoill of ``revision`` (of this checkout's repository), installed as its own
    pyproject.toml builds it into a venv under ``cache``; made on first use, reused after."""
    full = _run("git", "-C", ROOT, "rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    home = cache / full
    source, venv, done = home / "src", home / "venv", home / ".installed"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
        source.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", full], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(source, filter="data")
        print(f"# installing {full[:7]} into {venv} (once)", file=sys.stderr, flush=True)
        _run(sys.executable, "-m", "venv", venv)
        _run(venv / "bin" / "pip", "install", "--quiet", source, env=_without_pythonpath())
        done.touch()
    env = _without_pythonpath()
    python = venv / "bin" / "python"
    return Build(f"{full[:7]} {_kind(python, env)}", venv / "bin" / "isoill", env)


def _tree() -> dict[str, bytes]:
    """This checkout's files a build needs (tracked or not, unless git ignores them)."""
    listed = _run(
        "git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"
    ).split("\0")
    paths = sorted(p for p in listed if p.startswith(BUILT_FROM) and (ROOT / p).is_file())
    return {path: (ROOT / path).read_bytes() for path in paths}


def checkout(kind: str, cache: Path = CACHE) -> Build:
    """This checkout's isoill: ``pure``, its own modules; ``compiled``, a copy of its tree
    under ``cache`` with the modules pyproject.toml lists built by mypyc in place (built once
    for each state of the tree; an earlier state's copy is removed)."""
    here = Path(sys.executable).with_name("isoill")
    label = report.commit_of(ROOT)
    if kind == "pure":
        env = dict(os.environ, PYTHONPATH=str(ROOT))
    else:
        files = _tree()
        digest = hashlib.sha256()
        for path, content in files.items():
            digest.update(path.encode() + b"\0" + hashlib.sha256(content).digest())
        copies = cache / "compiled"
        copy = copies / digest.hexdigest()[:16]
        if not (copy / ".built").exists():
            shutil.rmtree(copies, ignore_errors=True)
            for path, content in files.items():
                (copy / path).parent.mkdir(parents=True, exist_ok=True)
                (copy / path).write_bytes(content)
            print(f"# compiling this checkout's core in {copy}", file=sys.stderr, flush=True)
            env = dict(_without_pythonpath(), ISOILL_MYPYC="1")
            _run(sys.executable, "setup.py", "--quiet", "build_ext", "--inplace", cwd=copy, env=env)
            (copy / ".built").touch()
        env = dict(os.environ, PYTHONPATH=str(copy))
    found = _kind(Path(sys.executable), env)
    if found != kind:
        raise SystemExit(f"asked for the {kind} build, found the {found} one")
    return Build(f"{label} {kind}", here, env)
