"""Console: how many milliseconds the console's pages and API calls take with 100k finished
loans (500k APDUs) in the store, each call made ``--requests`` times one after another by a
logged-in admin over loopback; ``/healthz`` (no store, no template) is the baseline, measured
in the same run, and each row says how many times it the call takes.

The store is filled in bulk as bench/growth.py fills it; the gateway runs in this process
on uvloop as ``isoill serve`` runs it (its store reads on their own threads), the client
beside it on the same loop.

Run with ``make bench``, or ``.venv/bin/python bench/console.py [--transactions 100000]
[--requests 30] [--doc docs/performance.md]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import report
import uvloop
from growth import prefill

from isoill import logs
from isoill.access import operators
from isoill.access.operators import Operator
from isoill.access.passwords import hash_password
from isoill.app import App
from isoill.config import load

CONFIG = """store = "store.sqlite3"
routes = "routes.toml"
event_loop = "uvloop"

[[listeners]]
host = "127.0.0.1"
port = 0

[admin]
host = "127.0.0.1"
port = 0

[console]
accounts = "operators.toml"

[log]
format = "json"
level = "warning"
"""
ROUTES = "".join(f'[peers.LIB{n:02d}]\naddresses = ["127.0.0.1:9"]\n\n' for n in range(97))


def calls(transaction_id: int) -> list[tuple[str, str, dict[str, object] | None]]:
    """What is measured: method, path, JSON body."""
    middle = f"old-{transaction_id - 1:012d}"
    edit: dict[str, object] = {"symbol": "LIB05", "addresses": ["127.0.0.1:10"]}
    return [
        ("GET", "/healthz", None),
        ("GET", "/", None),
        ("GET", "/queue", None),
        ("GET", "/queue?state=held", None),
        ("GET", "/transactions", None),
        ("GET", "/transactions?peer=LIB05", None),
        ("GET", f"/transactions?qualifier={middle}", None),
        ("GET", f"/transactions/{transaction_id}", None),
        ("GET", "/routes", None),
        ("GET", "/peers", None),
        ("GET", "/api/dashboard", None),
        ("GET", "/api/queue?state=failed", None),
        ("GET", "/api/transactions?peer=LIB05&state=checked-in", None),
        ("GET", f"/api/transactions/{transaction_id}", None),
        ("GET", "/api/refusals", None),
        ("POST", "/api/routes/preview", edit),
    ]


async def measure(directory: Path, requests: int, transaction_id: int) -> list[list[str]]:
    app = App(load(directory / "isoill.toml"))
    await app.start()
    try:
        base = f"http://127.0.0.1:{app.admin_port}"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            login = {"name": "bench", "password": "bench"}
            async with http.post(base + "/api/login", json=login) as answer:
                assert answer.status == 200, await answer.text()
                csrf = (await answer.json())["csrf"]
            timings: dict[str, list[float]] = {}
            for method, path, body in calls(transaction_id):
                for round_ in range(requests + 1):
                    started = time.perf_counter()
                    async with http.request(
                        method, base + path, json=body, headers={"X-CSRF-Token": csrf}
                    ) as answer:
                        await answer.read()
                        assert answer.status == 200, (path, answer.status)
                    if round_:  # the first warms the caches
                        timings.setdefault(f"{method} {path}", []).append(
                            (time.perf_counter() - started) * 1000
                        )
    finally:
        await app.stop()
    baseline = statistics.median(timings["GET /healthz"])
    rows = []
    for name, values in timings.items():
        median = statistics.median(values)
        p95 = sorted(values)[max(0, round(len(values) * 0.95) - 1)]
        rows.append([f"`{name}`", f"{median:.1f}", f"{p95:.1f}", f"{median / baseline:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=100_000, help="stored loans")
    parser.add_argument("--requests", type=int, default=30, help="calls of each")
    parser.add_argument("--doc", type=Path, help="write the results into this Markdown file")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="isoill-console-bench-"))
    try:
        seconds = prefill(directory / "store.sqlite3", args.transactions)
        print(f"# {args.transactions:,} transactions stored in {seconds:.1f} s")
        (directory / "isoill.toml").write_text(CONFIG)
        (directory / "routes.toml").write_text(ROUTES)
        account = Operator("bench", "admin", hash_password(b"bench"))
        operators.save(directory / "operators.toml", {"bench": account})
        logs.configure("console", "warning")
        rows = uvloop.run(measure(directory, args.requests, args.transactions // 2))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    header = ["call", "median ms", "p95 ms", "x /healthz"]
    table = report.table(header, rows)
    print(table)
    if args.doc is not None:
        body = (
            f"## Console\n\n{report.heading()}\n\nThe console's pages and API calls with"
            f" {args.transactions:,} finished loans ({5 * args.transactions:,} APDUs) stored,"
            f" {args.requests} calls of each one after another by a logged-in admin"
            " (bench/console.py); `x /healthz` is the median against that of `/healthz`,"
            f" measured in the same run.\n\n{table}\n"
        )
        report.write_section("console", body, args.doc)


if __name__ == "__main__":
    main()
