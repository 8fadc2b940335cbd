"""The stores the contract suite runs on: ``store_under_test`` is each backend's in turn (SQLite's
and PostgreSQL's), and ``backend`` a connection to it. The only place here that names a
backend: a new one is added to ``BACKENDS``, and every test of tests/store/ holds it to the
contract."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_support import PostgresServer
from store_support import Plan, StoreUnderTest

from isoill.core.retry import RetryPolicy
from isoill.store.backend import Backend
from isoill.store.open import open_store
from isoill.store.postgres.backend import PostgresBackend
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


class _Traced(psycopg.Cursor[Any]):
    """A cursor that keeps each statement it runs, and its values, in its connection's
    ``traced`` list (if it has one)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> _Traced:
        traced = getattr(self.connection, "traced", None)
        if traced is not None:
            traced.append((query, params))
        super().execute(query, params, **kwargs)
        return self


# The nodes of a PostgreSQL plan that read a stored table whole; those that sort; the index
# scans, which read the whole index when they have no condition; and the nodes that read all
# their input before they return a row (a limit above them does not stop what is below).
_SCANS = {"Seq Scan"}
_SORTS = {"Sort", "Incremental Sort"}
_INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
_BLOCKING = {"Sort", "Incremental Sort", "Hash", "Aggregate", "Materialize", "SetOp"}


class PostgresUnderTest:
    """A store in a PostgreSQL database of its own, on the session's server."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.setting = server.database()

    def open(self, policy: RetryPolicy | None = None) -> Backend:
        return open_store(self.setting, policy)

    def close(self) -> None:
        self.server.drop(self.setting)

    def plans(self, backend: Backend, run: Callable[[], object]) -> list[Plan]:
        """EXPLAIN of each statement ``run`` made on the backend's connection, planned with
        sequential and bitmap scans discouraged (the test's tables are too small for the
        planner to prefer an index walk otherwise): a plan that still reads a table whole,
        or sorts, has no index to do without. A whole index read (no condition) counts as a
        scan too, unless a limit stops it or the index is a partial one (its condition is
        the bound)."""
        assert isinstance(backend, PostgresBackend)
        db = backend._connection()
        traced: list[tuple[Any, Any]] = []
        db.cursor_factory = _Traced
        db.traced = traced  # type: ignore[attr-defined]
        try:
            run()
        finally:
            db.cursor_factory = psycopg.Cursor
            del db.traced  # type: ignore[attr-defined]
        plans = []
        with psycopg.connect(self.setting, autocommit=True) as explainer:
            partial = {
                row[0]
                for row in explainer.execute(
                    "SELECT indexrelid::regclass::text FROM pg_index WHERE indpred IS NOT NULL"
                )
            }
            explainer.execute("SET enable_seqscan = off")
            explainer.execute("SET enable_bitmapscan = off")
            for query, params in traced:
                text = query.decode() if isinstance(query, bytes) else str(query)
                if text.split(None, 1)[0].upper() in {"BEGIN", "COMMIT", "SET", "LISTEN"}:
                    continue
                row = explainer.execute("EXPLAIN (FORMAT JSON) " + text, params).fetchone()
                assert row is not None
                steps: list[str] = []
                scans: list[str] = []
                sorts: list[str] = []
                _read_plan(row[0][0]["Plan"], False, partial, steps, scans, sorts)
                plans.append(Plan(text, tuple(steps), tuple(scans), tuple(sorts)))
        return plans


def _read_plan(
    node: dict[str, Any],
    limited: bool,
    partial: set[str],
    steps: list[str],
    scans: list[str],
    sorts: list[str],
) -> bool:
    """Walk a plan's nodes, noting each in ``steps`` and the scans and sorts among them;
    ``limited``: a Limit above the node stops it once it has returned enough. Returns whether
    the node returns a bounded number of rows: a Limit's, or a join's whose outer rows are
    bounded (each probes the inner side), or a node's whose inputs all are. A sort of rows
    that are not bounded is one of all the matches, not a walk that stops at the limit."""
    kind = node["Node Type"]
    step = f"{kind} {node.get('Index Name') or node.get('Relation Name') or ''}".strip()
    if "Index Cond" in node:
        step += f" ({node['Index Cond']})"
    steps.append(step)
    below = (limited or kind == "Limit") and kind not in _BLOCKING
    children = [
        _read_plan(child, below, partial, steps, scans, sorts) for child in node.get("Plans", [])
    ]
    if kind == "Nested Loop":
        bounded = children[0]
    elif kind in _SCANS | _INDEX_SCANS or kind == "Bitmap Heap Scan":
        bounded = False
    else:
        bounded = all(children)
    if kind in _SCANS and "Relation Name" in node:
        scans.append(step)
    elif kind in _INDEX_SCANS and "Index Cond" not in node:
        if not limited and node["Index Name"] not in partial:
            scans.append(step)
    elif kind in _SORTS and not bounded:
        sorts.append(step)
    return bounded or kind == "Limit"


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    return SqliteUnderTest(tmp_path)


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    under_test = PostgresUnderTest(request.getfixturevalue("postgres"))
    request.addfinalizer(under_test.close)
    return under_test


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], StoreUnderTest]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=list(BACKENDS))
def store_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def backend(store_under_test: StoreUnderTest) -> Iterator[Backend]:
    backend = store_under_test.open()
    yield backend
    backend.close()
