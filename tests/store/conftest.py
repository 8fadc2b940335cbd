"""The stores the contract suite runs on: ``store_under_test`` is each backend's in turn (today
SQLite's alone), and ``backend`` a connection to it. The only place here that names a backend:
a new one is added to ``BACKENDS``, and every test of tests/store/ holds it to the contract."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from store_support import Plan, StoreUnderTest

from isoill.core.retry import RetryPolicy
from isoill.store.backend import Backend
from isoill.store.open import open_store
from isoill.store.sqlite.backend import SqliteBackend

# What an SQLite plan may SCAN: the recursive list of address heads and the derived table of
# the due ones (a row per address with pending work), a subquery's few rows, json_each's list
# of values passed in, a constant row; never a stored table.
_NOT_TABLES = ("heads", "h", "(subquery-", "json_each", "CONSTANT ROW")
# The constraints of a SEARCH step: "(state=? AND address>?)".
_CONSTRAINT = re.compile(r"(\w+)([<>=]+)\?")


def _reads_whole(step: str) -> bool:
    """Whether a step of an SQLite plan reads a stored table whole: a SCAN of one, or a SEARCH
    that bounds its index only by a range (``dedup_key>?``: every key there is)."""
    verb, _, what = step.partition(" ")
    if verb not in {"SCAN", "SEARCH"} or what.startswith(_NOT_TABLES):
        return False
    return verb == "SCAN" or all(op != "=" for _, op in _CONSTRAINT.findall(what))


class SqliteUnderTest:
    """A store in an SQLite file of its own."""

    def __init__(self, directory: Path) -> None:
        self.setting = str(directory / "queue.sqlite3")

    def open(self, policy: RetryPolicy | None = None) -> Backend:
        return open_store(self.setting, policy)

    def plans(self, backend: Backend, run: Callable[[], object]) -> list[Plan]:
        """EXPLAIN QUERY PLAN of each statement ``run`` made on the backend's connection."""
        assert isinstance(backend, SqliteBackend)
        db = backend._db
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        try:
            run()
        finally:
            db.set_trace_callback(None)
        plans = []
        for statement in statements:
            if statement.split(None, 1)[0] in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}:
                continue
            steps = tuple(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + statement))
            scans = tuple(step for step in steps if _reads_whole(step))
            sorts = tuple(s for s in steps if "TEMP B-TREE" in s)
            plans.append(Plan(statement, steps, scans, sorts))
        return plans


BACKENDS: dict[str, Callable[[Path], StoreUnderTest]] = {"sqlite": SqliteUnderTest}


@pytest.fixture(params=list(BACKENDS))
def store_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def backend(store_under_test: StoreUnderTest) -> Iterator[Backend]:
    backend = store_under_test.open()
    yield backend
    backend.close()
