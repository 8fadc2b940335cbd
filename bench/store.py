"""Store throughput: APDUs stored durably per second, one commit each versus group commits, on
each backend.

Run with ``.venv/bin/python bench/store.py`` (``--help`` for the knobs). ``CALLERS`` concurrent
callers (connections, in the daemon) each store ``PER_CALLER`` APDUs, one after the other, every
one a new transaction, on a fresh SQLite file (WAL, ``synchronous=FULL``) in ``--dir`` (the
system's temporary directory by default: say where the disk to measure is), and then in a fresh
PostgreSQL database: by default on a throwaway cluster the bench starts in ``--dir`` as the
tests do (bench/postgres_cluster.py), but with ``fsync=on`` (and ``synchronous_commit=on``, the
backend's), over its Unix socket, on the same cores; ``--postgres URL`` names another server,
``--postgres none`` leaves PostgreSQL out. Each way runs on the store's one thread, as in the
daemon:

- ``accept, one commit each``: ``Backend.commit(Accept(...))`` through the executor, one
  transaction (and one fsync) per APDU.
- ``gateway path before``: what the gateway asked per APDU before group commit: the
  counterpart, the duplicate check and the transaction's states (one executor call each), then
  the commit.
- ``accept, group commit``: ``GroupWriter.write(Accept(...))``.
- ``gateway path now``: ``GroupWriter.transaction`` and ``.duplicate`` (one lookup for a
  transaction not in memory, none for one that is), then ``GroupWriter.write``.

Every figure comes from this one run, on this machine; the last column is each rate against
SQLite's in the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from postgres_cluster import Cluster, Unavailable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isoill.store.backend import Backend  # noqa: E402
from isoill.store.group import GroupWriter  # noqa: E402
from isoill.store.open import open_store  # noqa: E402
from isoill.store.writes import Accept  # noqa: E402

BER = bytes(range(256)) * 2  # an ILL-Request's size: about half a kilobyte


def message(caller: int, n: int) -> Accept:
    key = f'["REQLIB", "grp", "B-{caller}-{n}", null]'
    return Accept(
        peer="REQLIB",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="RESPLIB",
        ber=BER,
        addresses=["127.0.0.1:9001"],
        requester_symbol="REQLIB",
        responder_symbol="RESPLIB",
        now=datetime.now(UTC),
        expected_version=None,
        dedup_key=f"{key}/ILL-Request",
        states=("PENDING", "IN-PROCESS"),
    )


Step = Callable[[Backend, GroupWriter | None, ThreadPoolExecutor, int, int], Awaitable[None]]


async def one_commit_each(
    store: Backend, writer: GroupWriter | None, executor: ThreadPoolExecutor, caller: int, n: int
) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(executor, store.commit, message(caller, n))


async def path_before(
    store: Backend, writer: GroupWriter | None, executor: ThreadPoolExecutor, caller: int, n: int
) -> None:
    loop = asyncio.get_running_loop()
    write = message(caller, n)
    assert write.dedup_key is not None
    await loop.run_in_executor(executor, store.transaction, write.transaction_key)  # counterpart
    await loop.run_in_executor(executor, store.find_duplicate, write.dedup_key)
    await loop.run_in_executor(executor, store.transaction, write.transaction_key)
    await loop.run_in_executor(executor, store.commit, write)


async def group_commit(
    store: Backend, writer: GroupWriter | None, executor: ThreadPoolExecutor, caller: int, n: int
) -> None:
    assert writer is not None
    await writer.write(message(caller, n))


async def path_now(
    store: Backend, writer: GroupWriter | None, executor: ThreadPoolExecutor, caller: int, n: int
) -> None:
    assert writer is not None
    write = message(caller, n)
    assert write.dedup_key is not None
    await writer.transaction(write.transaction_key)
    await writer.duplicate(write.transaction_key, write.dedup_key)
    await writer.write(write)


#: A fresh store for one round: its setting, opened on the store's thread, then thrown away.
Fresh = Callable[[], AbstractAsyncContextManager[str | Path]]


def sqlite_stores(directory: Path) -> Fresh:
    @asynccontextmanager
    async def fresh() -> AsyncIterator[str | Path]:
        path = Path(tempfile.mkdtemp(dir=directory)) / "bench.sqlite3"
        try:
            yield path
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            path.parent.rmdir()

    return fresh


def postgres_stores(admin_url: str) -> Fresh:
    names = iter(range(1_000_000))

    def admin(statement: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(statement.encode())

    @asynccontextmanager
    async def fresh() -> AsyncIterator[str | Path]:
        name = f"isoill_bench_{os.getpid()}_{next(names)}"
        admin(f'CREATE DATABASE "{name}"')
        try:
            yield urlsplit(admin_url)._replace(path=f"/{name}").geturl()
        finally:
            admin(f'DROP DATABASE "{name}" WITH (FORCE)')

    return fresh


async def measure(
    fresh: Fresh,
    step: Step,
    grouped: bool,
    callers: int,
    per_caller: int,
) -> tuple[float, float]:
    """APDUs per second, and APDUs per commit."""
    async with fresh() as setting:
        executor = ThreadPoolExecutor(max_workers=1)
        store = executor.submit(open_store, setting).result()
        writer = GroupWriter(store, executor) if grouped else None
        if writer is not None:
            writer.start()

        async def caller(number: int) -> None:
            for n in range(per_caller):
                await step(store, writer, executor, number, n)

        try:
            start = time.perf_counter()
            await asyncio.gather(*(caller(number) for number in range(callers)))
            elapsed = time.perf_counter() - start
        finally:
            if writer is not None:
                await writer.close()
            executor.submit(store.close).result()
            executor.shutdown()
    total = callers * per_caller
    per_commit = writer.written / writer.commits if writer is not None and writer.commits else 1
    return total / elapsed, per_commit


def fsync_ms(directory: Path, count: int = 200) -> float:
    """The disk's cost of one small write and fsync, for scale."""
    fd, name = tempfile.mkstemp(dir=directory)
    try:
        start = time.perf_counter()
        for _ in range(count):
            os.write(fd, b"x" * 512)
            os.fsync(fd)
        return (time.perf_counter() - start) / count * 1000
    finally:
        os.close(fd)
        os.unlink(name)


@contextlib.contextmanager
def postgres_server(choice: str, directory: Path) -> Iterator[str | None]:
    """The admin URL of the server to measure: a throwaway cluster (``cluster``), the one
    named, or none."""
    if choice == "none":
        yield None
        return
    if choice != "cluster":
        yield choice
        return
    try:
        cluster = Cluster(fsync=True, parent=directory)
    except Unavailable as error:
        print(f"PostgreSQL left out: {error.reason}")
        yield None
        return
    try:
        cluster.start()
        yield cluster.url()
    finally:
        cluster.remove()


async def best(
    fresh: Fresh, step: Step, grouped: bool, args: argparse.Namespace
) -> tuple[float, float]:
    """The best rate of ``args.rounds``, with its APDUs per commit."""
    rate, per_commit = 0.0, 1.0
    for _ in range(args.rounds):
        measured, batch = await measure(fresh, step, grouped, args.callers, args.per_caller)
        if measured > rate:
            rate, per_commit = measured, batch
    return rate, per_commit


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--per-caller", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    parser.add_argument(
        "--postgres",
        default="cluster",
        metavar="URL",
        help="a throwaway cluster (cluster, the default), a server's admin URL, or none",
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; store in {args.dir}"
        f" (fsync {fsync_ms(args.dir):.2f} ms)"
    )
    print(f"{args.callers} concurrent callers x {args.per_caller} APDUs, best of {args.rounds}")
    ways: list[tuple[str, Step, bool]] = [
        ("accept, one commit each", one_commit_each, False),
        ("gateway path before", path_before, False),
        ("accept, group commit", group_commit, True),
        ("gateway path now", path_now, True),
    ]
    with postgres_server(args.postgres, args.dir) as admin_url:
        if admin_url is not None:
            with psycopg.connect(admin_url) as db:
                print(f"PostgreSQL {db.info.server_version}, fsync and synchronous_commit on")
        header = f"{'':28}{'SQLite/s':>10}{'per commit':>12}"
        if admin_url is not None:
            header += f"{'PostgreSQL/s':>14}{'per commit':>12}{'PG/SQLite':>11}"
        print(header)
        for name, step, grouped in ways:
            rate, per_commit = await best(sqlite_stores(args.dir), step, grouped, args)
            line = f"{name:28}{rate:>10.0f}{per_commit:>12.1f}"
            if admin_url is not None:
                pg_rate, pg_per_commit = await best(postgres_stores(admin_url), step, grouped, args)
                line += f"{pg_rate:>14.0f}{pg_per_commit:>12.1f}{pg_rate / rate:>11.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
