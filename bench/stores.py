"""The PostgreSQL server a benchmark's gateways share: a throwaway cluster
(``postgres_cluster.py``) with ``fsync`` on, as a production server runs, its processes pinned
to the cores the benchmark gives it, and the CPU time they use (the postmaster and every
backend, live or ended), so that a benchmark can divide it by the APDUs that went through.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psycopg
from postgres_cluster import Cluster

#: Seconds until every backend has reported its statistics (PostgreSQL 15: once a second).
STATS_DELAY = 1.2


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (now)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int, *, ended_children: bool = False) -> float:
    """User and system time of ``pid`` (all threads); with ``ended_children``, also that of
    its children that have ended and been waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if ended_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class Postgres:
    """A cluster of its own, started, its processes on ``cpus``."""

    def __init__(self, cpus: set[int], parent: Path | None = None) -> None:
        self.cluster = Cluster(fsync=True, parent=parent)
        self.cluster.start()
        self._cpus = cpus
        self.pin()

    @property
    def pid(self) -> int:
        """The postmaster's."""
        return int((self.cluster.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def pin(self) -> None:
        """The postmaster and its processes on the cluster's cores (backends it starts later
        inherit them)."""
        for pid in [self.pid, *children(self.pid)]:
            with contextlib.suppress(OSError):  # ended meanwhile
                os.sched_setaffinity(pid, self._cpus)

    def database(self, name: str) -> str:
        """A new, empty database's URL."""
        with psycopg.connect(self.cluster.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.cluster.url(name)

    def drop(self, name: str) -> None:
        with psycopg.connect(self.cluster.url(), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def cpu_seconds(self) -> float:
        """What the server's processes have used so far, the ended backends included."""
        pids = children(self.pid)
        return cpu_seconds(self.pid, ended_children=True) + sum(map(cpu_seconds, pids))

    def commits(self) -> int:
        """Transactions the server has ended (committed or rolled back), all databases, as its
        statistics say; a backend reports its own at most once a second, so wait
        :data:`STATS_DELAY` after a load before reading them."""
        with psycopg.connect(self.cluster.url(), autocommit=True) as db:
            row = db.execute(
                "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def size_mib(self, name: str) -> float:
        with psycopg.connect(self.cluster.url(name)) as db:
            row = db.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return float(row[0]) / 2**20

    def close(self) -> None:
        self.cluster.remove()

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
