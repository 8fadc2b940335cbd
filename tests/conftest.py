"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop.yaz import ILLCLIENT, YazUnavailable, yazill_binary
from postgres_cluster import Cluster, Unavailable
from postgres_support import ENVIRONMENT, PostgresServer


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session: the one ``ISOILL_TEST_POSTGRES`` names, or a
    throwaway cluster of its own (socket only); skips when neither can be had."""
    external = os.environ.get(ENVIRONMENT)
    if external:
        server = PostgresServer(external)
    else:
        try:
            cluster = Cluster()
        except Unavailable as exc:
            pytest.skip(f"PostgreSQL unavailable: {exc.reason}")
        try:
            cluster.start()
        except Unavailable as exc:
            cluster.remove()
            pytest.skip(f"PostgreSQL unavailable: {exc.reason}")
        server = PostgresServer(cluster.url(), cluster)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_database(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a database of its own on the session's server, with the store's schema."""
    database = postgres.database()
    yield database
    postgres.drop(database)
