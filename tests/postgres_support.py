"""A PostgreSQL server for the tests: a throwaway cluster of their own
(``bench/postgres_cluster.py``), or the server ``ISOILL_TEST_POSTGRES`` names (a libpq URL of
a user who may create databases, on PostgreSQL 15 or later). Each test gets a database of its
own."""

from __future__ import annotations

import itertools
import os
from urllib.parse import urlsplit

import psycopg
from postgres_cluster import Cluster

from isoill.store.open import open_store

#: A libpq URL of a server to test against instead of a cluster of the tests' own.
ENVIRONMENT = "ISOILL_TEST_POSTGRES"


class PostgresServer:
    """A server the tests make databases in: ``cluster`` if it is their own."""

    def __init__(self, admin_url: str, cluster: Cluster | None = None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster
        self._names = (f"isoill_test_{os.getpid()}_{n}" for n in itertools.count())
        self._template: str | None = None

    def url(self, database: str) -> str:
        """The URL of ``database`` on this server."""
        return urlsplit(self.admin_url)._replace(path=f"/{database}").geturl()

    def database(self, *, migrated: bool = True) -> str:
        """A new database's URL: with the store's schema (a copy of a migrated template), or
        empty."""
        name = next(self._names)
        template = self._migrated_template() if migrated else "template0"
        # A copy of the files: a tenth of the time of WAL_LOG's copy, block by block.
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def end_sessions(self, url: str, application: str | None = None) -> int:
        """End the sessions connected to ``url``'s database (those of ``application`` only,
        if named), as a server restart or a lost host would; how many there were."""
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as db:
            rows = db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND (%s::text IS NULL OR application_name = %s)",
                (name, application, application),
            ).fetchall()
        return len(rows)

    def allow_connections(self, url: str, allowed: bool) -> None:
        """Let new sessions connect to ``url``'s database, or refuse them all (those
        connected stay)."""
        name = urlsplit(url).path.lstrip("/")
        self._admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')

    def close(self) -> None:
        if self._template is not None:
            self.drop(self.url(self._template))
        if self.cluster is not None:
            self.cluster.remove()

    def _migrated_template(self) -> str:
        if self._template is None:
            name = next(self._names)
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
            open_store(self.url(name)).close()
            self._template = name
        return self._template

    def _admin(self, statement: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as db:
            db.execute(statement.encode())
