"""The build: pure Python, unless ``ISOILL_MYPYC=1``, which compiles the modules
``[tool.isoill.mypyc]`` in pyproject.toml names with mypyc (a C compiler and mypy needed:
``pip install --no-build-isolation`` with the dev extra installed, or mypy in the build
environment). Everything else about the package is in pyproject.toml."""

import os
import tomllib
from pathlib import Path

from setuptools import Extension, setup

ext_modules: list[Extension] = []
if os.environ.get("ISOILL_MYPYC") == "1":
    from mypyc.build import mypycify

    config = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())
    ext_modules = mypycify(config["tool"]["isoill"]["mypyc"]["modules"], opt_level="3")

setup(ext_modules=ext_modules)
