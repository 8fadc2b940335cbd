"""Growth: the gateway's throughput, latency and CPU time per APDU with 1k, 10k, 100k (and 1M)
transactions already in its store, and its memory as idle connections grow to 1,000.

Each size gets a fresh store filled in bulk (SQL, not the gateway: it is setup) with finished
loans, every one with its five APDUs and their deliveries, as the e2e traffic leaves them;
then a fresh daemon and the e2e loads of bench/e2e.py: closed-loop on persistent connections,
and open-loop at a fixed rate low enough to measure the cost of an APDU rather than a queue.

Run with ``make bench`` (``make bench-full`` adds 1M), or
``.venv/bin/python bench/growth.py [--sizes 1000,10000] [--doc docs/performance.md]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import report
from e2e import (
    DAEMON_CPUS,
    HEADER,
    ISOILL,
    OTHER_CPUS,
    Daemon,
    Peers,
    Phase,
    Serials,
    measure,
    row,
    warm_up,
)
from stores import Postgres
from traffic import LIFECYCLE, Template, lifecycle

from isoill.codec.decoder import decode
from isoill.core.tracking import NEW
from isoill.store.open import open_store
from isoill.transactions.machine import States, advance, event_of

IDLE_STEPS = (0, 100, 500, 1000)
BATCH = 50_000  # transactions per executemany


def finished_states(templates: list[Template]) -> States:
    """The two machines' states after a whole loan, as the gateway would store them."""
    states = NEW
    for template in templates:
        result = advance(states, event_of(decode(template.fill(0))), None)
        assert isinstance(result, States), result
        states = result
    return states


def prefill(store: Path, transactions: int) -> float:
    """Fill a new store with ``transactions`` finished loans; returns the seconds it took."""
    started = time.monotonic()
    templates = lifecycle("OLDREQ", "OLDRESP")
    states = finished_states(templates)
    open_store(store).close()  # the schema of the isoill being measured
    db = sqlite3.connect(store, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    now = int(datetime.now(UTC).timestamp() * 1e6)
    for first in range(0, transactions, BATCH):
        serials = range(first, min(first + BATCH, transactions))
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO transactions (id, transaction_key, requester_symbol,"
            " responder_symbol, requester_state, responder_state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _transactions(serials, states, now, transactions),
        )
        messages = list(_messages(serials, templates, now, transactions))
        db.executemany(
            "INSERT INTO messages (id, received_at, peer, apdu_type, transaction_key,"
            " target_symbol, ber, state, reason, dedup_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'accepted', NULL, ?)",
            messages,
        )
        db.executemany(
            "INSERT INTO deliveries (id, message_id, address, state, attempts,"
            " next_attempt_at, last_attempt_at, last_error, delivered_at)"
            " VALUES (?, ?, ?, 'delivered', 1, NULL, ?, NULL, ?)",
            (
                (message[0], message[0], "127.0.0.1:9", message[1], message[1])
                for message in messages
            ),
        )
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.monotonic() - started


def _key(n: int) -> str:
    return json.dumps(["OLDREQ", "grp", f"old-{n:012d}", None])


def _parties(n: int) -> tuple[str, str]:
    return f"LIB{n % 97:02d}", f"LIB{n % 89 + 100:03d}"


def _when(now: int, count: int, n: int, step: int) -> int:
    """Loans a minute apart, the newest ending now, their APDUs ten seconds apart."""
    return now - (count - n) * 60_000_000 + step * 10_000_000


def _transactions(
    serials: range, states: States, now: int, count: int
) -> Iterator[tuple[object, ...]]:
    for n in serials:
        requester, responder = _parties(n)
        started, finished = _when(now, count, n, 0), _when(now, count, n, len(LIFECYCLE) - 1)
        final = states.requester.value, states.responder.value
        yield (n + 1, _key(n), requester, responder, *final, started, finished)


def _messages(
    serials: range, templates: list[Template], now: int, count: int
) -> Iterator[tuple[object, ...]]:
    for n in serials:
        requester, responder = _parties(n)
        for step, ((apdu_type, side), template) in enumerate(
            zip(LIFECYCLE, templates, strict=True)
        ):
            sender, target = (
                (requester, responder) if side == "requester" else (responder, requester)
            )
            dedup = hashlib.sha256(f"{n}/{step}".encode()).hexdigest()
            at = _when(now, count, n, step)
            yield (
                n * len(LIFECYCLE) + step + 1,
                at,
                sender,
                apdu_type,
                _key(n),
                target,
                template.ber,
                dedup,
            )


# The PostgreSQL store filled as prefill() fills an SQLite one, row for row, by the server
# (generate_series): the same keys, parties, times, APDUs and duplicate keys.
_PG_TRANSACTIONS = """INSERT INTO transactions (id, transaction_key, requester_symbol,
        responder_symbol, requester_state, responder_state, intermediaries, version,
        created_at, updated_at) OVERRIDING SYSTEM VALUE
    SELECT n + 1, format('["OLDREQ", "grp", "old-%%s", null]', lpad(n::text, 12, '0')),
        'LIB' || lpad((n %% 97)::text, 2, '0'), 'LIB' || (n %% 89 + 100)::text,
        %(requester_state)s, %(responder_state)s, '{}', %(steps)s,
        %(now)s - (%(count)s - n) * interval '1 minute',
        %(now)s - (%(count)s - n) * interval '1 minute' + (%(steps)s - 1) * interval '10 s'
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n"""
_PG_MESSAGES = """INSERT INTO messages (id, received_at, peer, apdu_type, transaction_key,
        target_symbol, ber, state, reason, dedup_key) OVERRIDING SYSTEM VALUE
    SELECT n * %(steps)s + s.step + 1,
        %(now)s - (%(count)s - n) * interval '1 minute' + s.step * interval '10 s',
        CASE WHEN s.side = 'requester' THEN t.requester ELSE t.responder END, s.apdu_type,
        format('["OLDREQ", "grp", "old-%%s", null]', lpad(n::text, 12, '0')),
        CASE WHEN s.side = 'requester' THEN t.responder ELSE t.requester END, s.ber,
        'accepted', NULL, encode(sha256(convert_to(n || '/' || s.step, 'UTF8')), 'hex')
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
    CROSS JOIN LATERAL (SELECT 'LIB' || lpad((n %% 97)::text, 2, '0') AS requester,
        'LIB' || (n %% 89 + 100)::text AS responder) AS t
    CROSS JOIN unnest(%(step)s::int[], %(type)s::text[], %(side)s::text[], %(ber)s::bytea[])
        AS s(step, apdu_type, side, ber)"""
_PG_DELIVERIES = """INSERT INTO deliveries (id, message_id, address, seq, state, attempts,
        last_attempt_at, delivered_at) OVERRIDING SYSTEM VALUE
    SELECT id, id, '127.0.0.1:9', id, 'delivered', 1, received_at, received_at
    FROM messages WHERE id BETWEEN %(first)s * %(steps)s + 1 AND (%(last)s + 1) * %(steps)s"""
_PG_AFTER = (
    "INSERT INTO address_queues SELECT address, max(seq) FROM deliveries GROUP BY address",
    "SELECT setval(pg_get_serial_sequence('transactions', 'id'), max(id)) FROM transactions",
    "SELECT setval(pg_get_serial_sequence('messages', 'id'), max(id)) FROM messages",
    "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), max(id)) FROM deliveries",
    "ANALYZE",
)


def prefill_postgres(url: str, transactions: int) -> float:
    """Fill the new PostgreSQL store ``url`` names as :func:`prefill` fills an SQLite one;
    returns the seconds it took."""
    started = time.monotonic()
    templates = lifecycle("OLDREQ", "OLDRESP")
    states = finished_states(templates)
    open_store(url).close()  # the schema of the isoill being measured
    values = {
        "requester_state": states.requester.value,
        "responder_state": states.responder.value,
        "steps": len(LIFECYCLE),
        "now": datetime.now(UTC),
        "count": transactions,
        "step": list(range(len(LIFECYCLE))),
        "type": [apdu_type for apdu_type, _ in LIFECYCLE],
        "side": [template.side for template in templates],
        "ber": [template.ber for template in templates],
    }
    with psycopg.connect(url, autocommit=True) as db:
        for first in range(0, transactions, BATCH):
            batch = {**values, "first": first, "last": min(first + BATCH, transactions) - 1}
            with db.transaction():
                for statement in (_PG_TRANSACTIONS, _PG_MESSAGES, _PG_DELIVERIES):
                    db.execute(statement.encode(), batch)
        for statement in _PG_AFTER:
            db.execute(statement.encode())
    return time.monotonic() - started


def moved(server: Postgres, store: Path, name: str) -> tuple[str, float]:
    """The SQLite ``store`` copied into a new database of ``server`` with ``isoill store
    copy`` (then removed); the database's URL and the seconds the copy took."""
    url = server.database(name)
    started = time.monotonic()
    subprocess.run([ISOILL, "store", "copy", str(store), url], check=True, capture_output=True)
    seconds = time.monotonic() - started
    for path in store.parent.glob(store.name + "*"):
        path.unlink()
    return url, seconds


def idle_memory(peers: Peers, directory: Path) -> list[list[str]]:
    """The daemon's RSS with 0 to 1,000 idle connections open (sockets that send nothing)."""
    rows: list[list[str]] = []
    sockets: list[socket.socket] = []
    with Daemon(directory, peers) as daemon:
        host, port = daemon.address.rsplit(":", 1)
        base_files, base_rss = daemon.open_files(), daemon.memory_kib("VmRSS")
        for count in IDLE_STEPS:
            while len(sockets) < count:
                sockets.append(socket.create_connection((host, int(port))))
            deadline = time.monotonic() + 30
            while daemon.open_files() < base_files + count and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the accepted connections' tasks settle
            rss = daemon.memory_kib("VmRSS")
            per = f"{(rss - base_rss) / count:.1f}" if count else "-"
            rows.append([str(count), f"{rss / 1024:.1f}", per])
        for sock in sockets:
            sock.close()
    return rows


def measure_size(
    directory: Path,
    size: int,
    peers: Peers,
    loads: list[Phase],
    server: Postgres | None,
    via_copy: bool = False,
) -> list[list[str]]:
    """The loads on a store of ``size`` transactions (in SQLite, or in ``server``: filled
    there, or, ``via_copy``, filled in SQLite and moved with ``isoill store copy``): a row
    each; for PostgreSQL, the seconds the store took to fill (or to copy) first."""
    directory.mkdir()
    store = directory / "store.sqlite3"
    setting = str(store)
    if server is not None and not via_copy:
        setting = server.database(f"growth_{size}")
        seconds = prefill_postgres(setting, size)
        megabytes = server.size_mib(f"growth_{size}")
        print(f"# {size:,} transactions stored in {seconds:.1f} s ({megabytes:,.0f} MiB)")
    else:
        seconds = prefill(store, size)
        megabytes = store.stat().st_size / 2**20
        print(f"# {size:,} transactions stored in {seconds:.1f} s ({megabytes:,.0f} MiB)")
    if server is not None and via_copy:
        setting, seconds = moved(server, store, f"growth_{size}")
        megabytes = server.size_mib(f"growth_{size}")
        print(f"# copied into PostgreSQL in {seconds:.1f} s ({megabytes:,.0f} MiB)")
    rows = []
    serials = Serials()
    with Daemon(directory, peers, setting) as daemon:
        warm_up(peers, daemon, serials)
        if server is not None:
            server.pin()
        for phase in loads:
            result = measure(phase, peers, daemon, serials, server)
            extra = []
            if server is not None:
                extra = [
                    f"{seconds:,.0f}",
                    f"{result.store_cpu_us:,.0f}",
                    f"{result.store_commits:.2f}",
                ]
            rows.append([f"{size:,}", f"{megabytes:,.0f}", *extra, *row(result)])
            print(" | ".join(rows[-1]), flush=True)
    shutil.rmtree(directory)
    if server is not None:
        server.drop(f"growth_{size}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored transactions")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--apdus", type=int, default=2000, help="APDUs per closed-loop load")
    parser.add_argument("--rate", type=float, default=250.0, help="APDUs/s of the fixed rate")
    parser.add_argument("--rate-seconds", type=float, default=4.0, help="length of that load")
    parser.add_argument("--workdir", type=Path, help="where the stores go (default: a tmp dir)")
    parser.add_argument("--doc", type=Path, help="write the results into this Markdown file")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store measured; postgres: a database of a throwaway cluster (fsync on),"
        " and the idle memory is not measured",
    )
    parser.add_argument(
        "--via-copy",
        action="store_true",
        help="with --store postgres: fill each store in SQLite and move it with isoill store"
        " copy (the table then says how long the copy took)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2 * IDLE_STEPS[-1] + 100:
        sys.exit(f"raise the open files limit (ulimit -n) to {2 * IDLE_STEPS[-1] + 100}")
    rate_apdus = round(args.rate * args.rate_seconds)
    loads = [
        Phase("persistent", True, args.clients, args.apdus),
        Phase(f"fixed {args.rate:,.0f}/s", True, args.clients, rate_apdus, args.rate),
    ]
    rows: list[list[str]] = []
    postgres = args.store == "postgres"
    idle: list[list[str]] = []
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="isoill-growth-", dir=args.workdir))
        stack.callback(shutil.rmtree, work)
        peers = stack.enter_context(Peers())
        server = stack.enter_context(Postgres(OTHER_CPUS, args.workdir)) if postgres else None
        for size in sizes:
            rows += measure_size(work / str(size), size, peers, loads, server, args.via_copy)
        if not postgres:
            (work / "idle").mkdir()
            idle = idle_memory(peers, work / "idle")
        disk = report.filesystem(work)
    for line in idle:
        print(f"# {line[0]} idle connections: RSS {line[1]} MiB, {line[2]} KiB each")
    if args.doc:
        write_doc(args, rows, idle, disk)


def write_doc(
    args: argparse.Namespace, rows: list[list[str]], idle: list[list[str]], disk: str
) -> None:
    """The results as the growth section of ``args.doc`` (or its PostgreSQL one)."""
    if args.store == "postgres":
        growth_header = [
            "stored transactions",
            "database MiB",
            "fill (or copy) s",
            "PostgreSQL CPU µs/APDU",
            "PostgreSQL transactions/APDU",
            *HEADER,
        ]
        body = "\n\n".join(
            [
                report.heading(),
                f"Daemon on CPU {sorted(DAEMON_CPUS)}; PostgreSQL (fsync on), clients and peers"
                f" on CPU {sorted(OTHER_CPUS)}; disk: {disk}. Closed loop: {args.clients}"
                f" clients on persistent connections; fixed rate: open loop at"
                f" {args.rate:,.0f} APDUs/s.",
                report.table(growth_header, rows),
            ]
        )
        report.write_section("growth-postgres", body, args.doc)
    else:
        growth_header = ["stored transactions", "store MiB", *HEADER]
        idle_header = ["idle connections", "daemon RSS MiB", "KiB per connection"]
        body = "\n\n".join(
            [
                report.heading(),
                f"Store: {disk}. Closed loop: {args.clients} clients on persistent"
                f" connections; fixed rate: open loop at {args.rate:,.0f} APDUs/s.",
                report.table(growth_header, rows),
                report.table(idle_header, idle),
            ]
        )
        report.write_section("growth", body, args.doc)


if __name__ == "__main__":
    main()
