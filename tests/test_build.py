"""The build under test is the one the run asks for: ``make test`` the pure Python modules,
``make test-compiled`` (``ISOILL_BUILD=compiled``) every module pyproject.toml lists for mypyc
compiled, so that a compiled run never passes on Python modules it picked up by mistake."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def listed() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    paths: list[str] = config["tool"]["isoill"]["mypyc"]["modules"]
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


def test_the_modules_listed_for_mypyc_exist_and_are_the_build_asked_for() -> None:
    compiled = os.environ.get("ISOILL_BUILD", "pure") == "compiled"
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = listed()
    assert names, "no module is listed for mypyc"
    for name in names:
        origin = importlib.import_module(name).__file__
        assert origin is not None, name
        assert origin.endswith(suffixes) is compiled, (name, origin)
