"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from interop.yaz import ILLCLIENT, YazUnavailable, yazill_binary


@pytest.fixture(scope="session")
def yazill(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the ``yazill`` helper built against libyaz; skips when YAZ cannot be built."""
    try:
        return yazill_binary(tmp_path_factory.mktemp("yazill"))
    except YazUnavailable as exc:
        pytest.skip(f"YAZ unavailable: {exc.reason}")


def require_illclient() -> str:
    """Path of ``yaz-illclient``; skips the calling test when it is not installed."""
    path = shutil.which(ILLCLIENT)
    if path is None:
        pytest.skip(f"YAZ unavailable: {ILLCLIENT} not found on PATH (package yaz-illclient)")
    return path


@pytest.fixture(scope="session")
def yaz_illclient() -> str:
    """Path of ``yaz-illclient``; skips when it is not installed."""
    return require_illclient()
