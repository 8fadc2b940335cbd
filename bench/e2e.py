"""End to end: clients send ILL transactions through the running gateway daemon to simulated
peers on loopback, and in the same run the same traffic straight to the peers (the loopback
ceiling the gateway is compared with).

The daemon (``isoill serve``) runs pinned to one core, with rules (ipig from
senders, oclc towards targets), transaction tracking (``state_machine = "enforce"``) and its
SQLite store in a temporary directory; it logs JSON at warning level. The clients and the
simulated peers (bench/traffic.py) are processes of their own on the other cores. Each client
worker runs whole loans (ILL-Request, Shipped, Received, Returned, Checked-In) in lock-step,
the requester's APDUs on one connection and the responder's on another (``persistent``), or
one connection per APDU (``per-APDU``). Latency runs from sending an APDU to its arrival at
the peer; at a fixed rate, from the time it was due (open loop).

Run with ``make bench``, or ``.venv/bin/python bench/e2e.py [--doc docs/performance.md]``.
``--baseline REV`` runs a commit's daemon and this tree's alternately, ``--pairings`` times,
and reports both side by side with their ratios (issue 22); ``--build`` chooses this tree's
build (bench/builds.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import builds
import report
from builds import Build
from stores import STATS_DELAY, Postgres, children, cpu_seconds
from traffic import LIFECYCLE

TRAFFIC = Path(__file__).with_name("traffic.py")
ISOILL = Path(sys.executable).with_name("isoill")
PY_SPY = Path(sys.executable).with_name("py-spy")
PY_SPY = PY_SPY if PY_SPY.exists() else Path(shutil.which("py-spy") or PY_SPY)
#: The requester's and the responder's symbols, by connection habit (persistent or not).
SYMBOLS = {True: ("REQP", "RESPP"), False: ("REQA", "RESPA")}
START_TIMEOUT = 30.0
_available = sorted(os.sched_getaffinity(0))
DAEMON_CPUS = {_available[0]}
OTHER_CPUS = set(_available[1:]) or DAEMON_CPUS  # the clients' and the peers'


def pinned(cpus: set[int], *command: str | Path) -> list[str]:
    """``command`` run on ``cpus`` only, its threads included."""
    return ["taskset", "--cpu-list", ",".join(map(str, sorted(cpus))), *map(str, command)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


class Peers:
    """The simulated peers' process: the requester's library and the responder's."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            pinned(OTHER_CPUS, sys.executable, TRAFFIC, "peer", "--count", "2"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._input, self._output = self.process.stdin, self.process.stdout
        requester, responder = json.loads(self._output.readline())["ports"]
        self.requester, self.responder = f"127.0.0.1:{requester}", f"127.0.0.1:{responder}"

    def collect(self, expected: int, timeout: float) -> dict[int, int]:
        """Arrival times by APDU id since the last call, once ``expected`` have arrived (or
        after ``timeout`` seconds)."""
        self._input.write(f"collect {expected} {timeout}\n")
        self._input.flush()
        return dict(json.loads(self._output.readline()))

    def __enter__(self) -> Peers:
        return self

    def __exit__(self, *_: object) -> None:
        self._input.close()
        self.process.wait(timeout=10)


def write_config(directory: Path, port: int, peers: Peers, store: str = "store.sqlite3") -> Path:
    """The daemon's configuration, and its routes: each requester's symbol to the requester's
    simulated peer, each responder's to the responder's; ``store``, its store's setting."""
    routes, sections = [], []
    for persistent, (requester, responder) in SYMBOLS.items():
        for symbol, address in ((requester, peers.requester), (responder, peers.responder)):
            routes.append(f'[peers.{symbol}]\naddresses = ["{address}"]\n')
            sections.append(
                f"[peers.{symbol}]\n"
                f'connection = "{"persistent" if persistent else "per-apdu"}"\n'
                'sender_profile = "ipig"\ntarget_profile = "oclc"\nstate_machine = "enforce"\n'
            )
    (directory / "routes.toml").write_text("\n".join(routes))
    path = directory / "isoill.toml"
    path.write_text(
        f"""store = "{store}"
routes = "routes.toml"

[[listeners]]
host = "127.0.0.1"
port = {port}

[limits]
max_connections = 4096
max_connections_per_address = 4096

[log]
format = "json"
level = "warning"

"""
        + "\n".join(sections)
    )
    return path


class Daemon:
    """``isoill serve`` on one core, with its store in ``directory`` (or the one ``store``
    names), alone or with ``workers`` (``--workers N``: a supervisor and N processes, all on
    that core): ``build``'s isoill, else the one that ``PYTHONPATH`` names first, else the one
    installed in this interpreter's environment."""

    def __init__(
        self,
        directory: Path,
        peers: Peers,
        store: str = "store.sqlite3",
        workers: int | None = None,
        build: Build | None = None,
    ) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        config = write_config(directory, port, peers, store)
        self.log_path = directory / "daemon.log"
        processes = ["--workers", str(workers)] if workers else []
        command = build.command if build else ISOILL
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                pinned(DAEMON_CPUS, command, "serve", "--config", config, *processes),
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=directory,
                env=build.env if build else None,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the daemon did not start:\n{self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_kib(self, field: str) -> int:
        """``VmRSS``, ``VmHWM`` (peak RSS) ... from /proc/PID/status, in KiB: the sum over
        the daemon's processes (a supervisor's workers too)."""
        total = 0
        for pid in [self.pid, *children(self.pid)]:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """User and system time the daemon has used, all threads of all its processes (a
        supervisor's workers, also those that ended)."""
        return cpu_seconds(self.pid, ended_children=True) + sum(
            map(cpu_seconds, children(self.pid))
        )

    def cpu_by_process(self) -> dict[int, float]:
        """Each serving process's CPU time so far: the workers of a supervisor, else the
        daemon itself."""
        return {pid: cpu_seconds(pid) for pid in children(self.pid) or [self.pid]}

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        logged = self.log_path.read_text().splitlines()
        if logged:
            print(f"# the daemon logged {len(logged)} lines, first: {logged[0]}", file=sys.stderr)


@dataclass(frozen=True)
class Phase:
    """One load: ``apdus`` APDUs (whole loans) from ``connections`` workers; ``rate``
    APDUs/s open-loop, or 0 for closed-loop (each worker sends when answered)."""

    label: str
    persistent: bool
    connections: int
    apdus: int
    rate: float = 0.0


@dataclass(frozen=True)
class Result:
    phase: Phase
    path: str  # "gateway" or "direct"
    sent: int  # APDUs acknowledged as accepted
    accepted_per_second: float  # from the first send to the last acknowledgement
    delivered: int  # of those, APDUs that arrived at a peer
    refused: int
    errors: int
    per_second: float  # delivered, from the first send to the last arrival
    p50: float  # latency, send to arrival at the peer, ms
    p99: float
    worst: float
    ack_p99: float  # send to acknowledgement, ms
    cpu_us: float  # daemon CPU time per delivered APDU (gateway only), µs
    rss_mib: float  # daemon RSS after the phase (gateway only)
    refusals: tuple[str, ...]
    by_process: tuple[float, ...] = ()  # of cpu_us, each serving process's
    store_cpu_us: float = 0.0  # the PostgreSQL server's CPU time per delivered APDU, µs
    store_commits: float = 0.0  # the server's transactions (reads too) per delivered APDU


class Serials:
    """Transaction serial numbers, never reused within a run."""

    def __init__(self) -> None:
        self.next = 1

    def take(self, count: int) -> int:
        first, self.next = self.next, self.next + count
        return first


def measure(
    phase: Phase,
    peers: Peers,
    daemon: Daemon | Sequence[Daemon] | None,
    serials: Serials,
    server: Postgres | None = None,
) -> Result:
    """Run ``phase`` through the daemon, or straight to the peers without one; through
    several daemons (sharing a store), each gets a client of its own with its share of the
    workers, loans and rate, and each loan goes through one daemon. ``server``: the
    PostgreSQL server of the daemons' store, whose CPU time is counted too."""
    daemons = [daemon] if isinstance(daemon, Daemon) else list(daemon or ())
    transactions = math.ceil(phase.apdus / len(LIFECYCLE))
    requester, responder = SYMBOLS[phase.persistent]
    cpu_before = sum(d.cpu_seconds() for d in daemons)
    by_process = {pid: spent for d in daemons for pid, spent in d.cpu_by_process().items()}
    store_before = server.cpu_seconds() if server else 0.0
    commits_before = server.commits() if server else 0
    clients = []
    for index, target in enumerate(daemons or [None]):
        share = len(daemons) or 1
        loans = transactions // share + (index < transactions % share)
        command = pinned(
            OTHER_CPUS,
            sys.executable,
            TRAFFIC,
            "client",
            f"--to-responder={target.address if target else peers.responder}",
            f"--to-requester={target.address if target else peers.requester}",
            f"--requester={requester}",
            f"--responder={responder}",
            f"--connections={max(1, phase.connections // share)}",
            f"--transactions={loans}",
            f"--first-serial={serials.take(loans)}",
            f"--rate={phase.rate / share}",
            *(["--persistent"] if phase.persistent else []),
        )
        clients.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = []
    for client in clients:
        stdout, stderr = client.communicate()
        if client.returncode:
            raise SystemExit(f"client failed:\n{stderr.decode()}")
        outs.append(json.loads(stdout))
    sent: list[tuple[int, int, int]] = [(k, s, a) for out in outs for k, s, a in out["sent"]]
    arrivals = peers.collect(len(sent), timeout=60 + len(sent) / 100)
    latencies = sorted((arrivals[k] - s) / 1e6 for k, s, _ in sent if k in arrivals)
    acks = sorted((a - s) / 1e6 for _, s, a in sent)
    first = min((s for _, s, _ in sent), default=0)
    last = max((arrivals[k] for k, _, _ in sent if k in arrivals), default=first + 1)
    delivered = len(latencies)
    acked = max((a for _, _, a in sent), default=first + 1)
    per_apdu = 1e6 / delivered if delivered else 0.0
    after = {pid: spent for d in daemons for pid, spent in d.cpu_by_process().items()}
    split = tuple((after.get(pid, 0.0) - spent) * per_apdu for pid, spent in by_process.items())
    store_cpu = (server.cpu_seconds() - store_before) * per_apdu if server else 0.0
    commits = 0.0
    if server:
        time.sleep(STATS_DELAY)
        commits = (server.commits() - commits_before) * per_apdu / 1e6
    refusals = [r for out in outs for r in out["refusals"]]
    errors = [e for out in outs for e in out["errors"]]
    return Result(
        phase=phase,
        path="gateway" if daemons else "direct",
        sent=len(sent),
        accepted_per_second=len(sent) / ((acked - first) / 1e9) if sent else 0.0,
        delivered=delivered,
        refused=sum(out["refused"] for out in outs),
        errors=len(errors),
        per_second=delivered / ((last - first) / 1e9) if delivered else 0.0,
        p50=percentile(latencies, 0.5),
        p99=percentile(latencies, 0.99),
        worst=latencies[-1] if latencies else math.nan,
        ack_p99=percentile(acks, 0.99),
        cpu_us=(sum(d.cpu_seconds() for d in daemons) - cpu_before) * per_apdu,
        rss_mib=sum(d.memory_kib("VmRSS") for d in daemons) / 1024,
        refusals=tuple(refusals + errors[:3]),
        by_process=split,
        store_cpu_us=store_cpu,
        store_commits=commits,
    )


def warm_up(peers: Peers, daemon: Daemon | Sequence[Daemon], serials: Serials) -> None:
    """A few loans each way first: imports, caches and connections settle, uncounted."""
    for persistent in (True, False):
        warm = Phase("warm-up", persistent, 4, 100)
        for target in (None, daemon):
            result = measure(warm, peers, target, serials)
            if result.refused or result.errors or result.delivered < result.sent:
                raise SystemExit(f"warm-up failed: {result}")


HEADER = [
    "load",
    "path",
    "clients",
    "APDUs",
    "refused",
    "accepted/s",
    "delivered/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "ack p99 ms",
    "daemon CPU µs/APDU",
    "daemon RSS MiB",
]


def row(result: Result) -> list[str]:
    phase, gateway = result.phase, result.path == "gateway"
    return [
        phase.label,
        result.path,
        str(phase.connections),
        f"{result.delivered}/{result.sent}",
        str(result.refused + result.errors),
        f"{result.accepted_per_second:,.0f}",
        f"{result.per_second:,.0f}",
        f"{result.p50:.2f}",
        f"{result.p99:.2f}",
        f"{result.worst:.1f}",
        f"{result.ack_p99:.2f}",
        f"{result.cpu_us:,.0f}" if gateway else "-",
        f"{result.rss_mib:.1f}" if gateway else "-",
    ]


def ratios(results: list[Result]) -> list[str]:
    """For each closed-loop load, the gateway's throughput against the ceiling beside it."""
    direct = {r.phase: r for r in results if r.path == "direct"}
    lines = []
    for gateway in results:
        ceiling = direct.get(gateway.phase)
        if gateway.path != "gateway" or ceiling is None or gateway.phase.rate:
            continue  # open loop: both run at the set rate
        share = gateway.per_second / ceiling.per_second
        lines.append(
            f"- {gateway.phase.label}: gateway {gateway.per_second:,.0f} APDUs/s ="
            f" {share:.3f} of the loopback ceiling ({ceiling.per_second:,.0f} APDUs/s);"
            f" p99 latency {gateway.p99 / ceiling.p99:,.0f} times the direct one"
        )
    return lines


def print_results(results: list[Result]) -> None:
    widths = [max(len(c), 10) for c in HEADER]
    print(" ".join(c.rjust(w) for c, w in zip(HEADER, widths, strict=True)))
    for result in results:
        print(" ".join(c.rjust(w) for c, w in zip(row(result), widths, strict=True)))
        for reason in result.refusals:
            print(f"#   refused: {reason}")


@contextmanager
def profiling(pid: int, output: Path) -> Iterator[None]:
    """py-spy samples process ``pid`` meanwhile: raw (collapsed) stacks, by thread."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "--threads"]
    profiler = subprocess.Popen(
        [*command, "--rate", "200", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its output and exits
        profiler.wait(timeout=60)


def profile_summary(raw: Path, top: int = 12) -> str:
    """Where the daemon's samples went, from py-spy's raw (collapsed) stacks, as shares of all
    samples: by thread; by the module and the function of the innermost frame (self); by
    isoill function anywhere on the stack (total). Then the event loop's thread alone, while
    it works in Python (not waiting in ``select``, nor, on uvloop, in the loop's C code, which
    waits and does its socket work there): the one core's Python work, by function anywhere
    on its stack."""
    tables: dict[str, Counter[str]] = {
        "thread": Counter(),
        "module (self)": Counter(),
        "function (self)": Counter(),
        "isoill function (total)": Counter(),
    }
    loop: Counter[str] = Counter()
    loop_samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.split(";")
        samples = int(count)
        function, leaf_module = _frame(frames[-1])
        tables["thread"][thread.partition(": ")[2]] += samples
        tables["module (self)"][leaf_module] += samples
        tables["function (self)"][f"{function} ({leaf_module})"] += samples
        on_stack = {_frame(frame) for frame in frames if "isoill/" in frame}
        for function, module in on_stack:
            if "/cli/" not in module:
                tables["isoill function (total)"][f"{function} ({module})"] += samples
        if "MainThread" in thread and leaf_module != "selectors.py" and function != "Runner.run":
            loop_samples += samples
            for function, module in {_frame(frame) for frame in frames}:
                if "/cli/" not in module and module not in _LOOP_PLUMBING:
                    loop[f"{function} ({module})"] += samples
    every = sum(tables["thread"].values())
    parts = [f"{every:,} samples at 200 Hz of threads not idle."]
    for title, counter in tables.items():
        shown = 2 * top if title.endswith("(total)") else top  # nested calls share samples
        rows = [[name, f"{n / every:.1%}"] for name, n in counter.most_common(shown)]
        parts.append(report.table([title, "share"], rows))
    parts.append(f"The event loop's thread: {loop_samples:,} samples at work.")
    rows = [[name, f"{n / loop_samples:.1%}"] for name, n in loop.most_common(3 * top)]
    parts.append(report.table(["event loop, function (total)", "share"], rows))
    return "\n\n".join(parts)


# Frames every sample of the event loop's thread has: the loop itself and the entry point.
_LOOP_PLUMBING = frozenset(
    {
        "asyncio/base_events.py",
        "asyncio/events.py",
        "asyncio/runners.py",
        "uvloop/__init__.py",
        "isoill",
    }
)


def _frame(frame: str) -> tuple[str, str]:
    """py-spy's ``name (/path/to/isoill/module.py:123)``: the name and ``isoill/module.py``
    (a library's module from its package on, the standard library's by its file name)."""
    name, _, where = frame.rstrip(")").partition(" (")
    path = where.rpartition(":")[0]
    for root in ("site-packages/", "/python3.11/", "isoill/"):
        if root in path:
            path = path.rsplit(root, 1)[1]
            path = f"isoill/{path}" if root == "isoill/" else path
            break
    return name, path


@dataclass(frozen=True)
class StoreRun:
    """A store the loads run on: SQLite's file, or a PostgreSQL database served by
    ``processes`` gateway processes: daemons of their own, each on a port of its own (each
    loan through one of them), or with ``workers``, one daemon's ``--workers N`` behind one
    port (a loan's two connections may reach two workers)."""

    kind: str  # "sqlite" or "postgres"
    processes: int = 1
    workers: bool = False

    @classmethod
    def parse(cls, text: str) -> StoreRun:
        kind, _, count = text.partition(":")
        workers = count.startswith("w")
        count = count.removeprefix("w")
        if (
            kind not in {"sqlite", "postgres"}
            or (kind == "sqlite" and count)
            or not (count.isdigit() or not count)
        ):
            raise argparse.ArgumentTypeError(
                f"not sqlite, postgres, postgres:N or postgres:wN: {text}"
            )
        return cls(kind, int(count or 1), workers)

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    @property
    def how(self) -> str:
        if self.workers:
            return f"--workers {self.processes}"
        return "1 process" if self.processes == 1 else f"{self.processes} processes"


STORES_HEADER = [
    "store",
    "gateway",
    *HEADER[:-2],
    "daemon CPU µs/APDU",
    "per process",
    "PostgreSQL CPU µs/APDU",
    "PostgreSQL transactions/APDU",
    "PostgreSQL CPU µs/transaction",
    "daemon RSS MiB",
]


def store_row(run: StoreRun, result: Result) -> list[str]:
    cells = row(result)
    gateway = result.path == "gateway"
    split = " + ".join(f"{cpu:,.0f}" for cpu in result.by_process) if gateway else "-"
    server = ["-", "-", "-"]
    if gateway and run.kind == "postgres":
        per_commit = result.store_cpu_us / result.store_commits if result.store_commits else 0.0
        server = [
            f"{result.store_cpu_us:,.0f}",
            f"{result.store_commits:.2f}",
            f"{per_commit:,.0f}",
        ]
    return [run.label, run.how, *cells[:-2], cells[-2], split, *server, cells[-1]]


def run_stores(args: argparse.Namespace, runs: list[StoreRun], loads: list[Phase]) -> None:
    """The loads on each store in turn, in one run: a fresh daemon each, PostgreSQL's server
    (one for all, a database each, ``fsync`` on) on the clients' and peers' cores; the
    loopback ceiling once, beside the first."""
    build = builds.checkout(args.build, args.cache) if args.build else None
    serials = Serials()
    results: list[tuple[StoreRun, Result]] = []
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="isoill-e2e-", dir=args.workdir))
        stack.callback(shutil.rmtree, work)
        peers = stack.enter_context(Peers())
        server = None
        if any(run.kind == "postgres" for run in runs):
            server = stack.enter_context(Postgres(OTHER_CPUS, args.workdir))
        for number, run in enumerate(runs):
            store = "store.sqlite3"
            if run.kind == "postgres":
                assert server is not None
                store = server.database(f"e2e_{number}")
            with ExitStack() as running:
                daemons = []
                for index in range(1 if run.workers else run.processes):
                    directory = work / f"{number}-{index}"
                    directory.mkdir()
                    workers = run.processes if run.workers else None
                    daemon = Daemon(directory, peers, store, workers, build)
                    daemons.append(running.enter_context(daemon))
                warm_up(peers, daemons, serials)
                if server is not None:
                    server.pin()
                for phase in loads:
                    for target in (None, daemons) if number == 0 else (daemons,):
                        counted = server if run.kind == "postgres" and target else None
                        result = measure(phase, peers, target, serials, counted)
                        results.append((run, result))
                        print(" | ".join(store_row(run, result)), flush=True)
        disk = report.filesystem(work)
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"Gateway processes on CPU {sorted(DAEMON_CPUS)}; clients, peers and the"
                f" PostgreSQL server (fsync on, synchronous_commit on) on CPU"
                f" {sorted(OTHER_CPUS)}; stores on {disk}.",
                report.table(STORES_HEADER, [store_row(run, r) for run, r in results]),
            ]
        )
        report.write_section("e2e-stores", body, args.doc)


PAIR_HEADER = ["pairing", "build", *HEADER[:-1]]
RATIO_HEADER = [
    "pairing",
    "load",
    *(
        f"{what}: {side}"
        for what in ("daemon CPU µs/APDU", "delivered/s", "p99 ms")
        for side in ("baseline", "current", "ratio")
    ),
]


def run_pairs(args: argparse.Namespace, loads: list[Phase]) -> None:
    """``args.pairings`` pairings of the baseline commit's build and this checkout's in one
    session, each side a fresh daemon through the same loads, the order alternating (the
    baseline first in odd pairings) so that the machine's drift falls on both sides alike;
    each pairing starts with the loopback ceiling of the first load."""
    sides = {
        "baseline": builds.commit(args.baseline, args.cache),
        "current": builds.checkout(args.build or "pure", args.cache),
    }
    serials = Serials()
    runs: list[tuple[int, str, Result]] = []
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="isoill-e2e-", dir=args.workdir))
        stack.callback(shutil.rmtree, work)
        peers = stack.enter_context(Peers())
        for pairing in range(1, args.pairings + 1):
            runs.append((pairing, "-", measure(loads[0], peers, None, serials)))
            for side in ("baseline", "current")[:: 1 if pairing % 2 else -1]:
                directory = work / f"{pairing}-{side}"
                directory.mkdir()
                with Daemon(directory, peers, build=sides[side]) as daemon:
                    warm_up(peers, daemon, serials)
                    for phase in loads:
                        runs.append((pairing, side, measure(phase, peers, daemon, serials)))
                        print(" | ".join(pair_row(sides, *runs[-1])), flush=True)
        store = report.filesystem(work)
    rows = [pair_row(sides, *run) for run in runs]
    compared = pair_ratios(runs, loads)
    print(report.table(PAIR_HEADER, rows), report.table(RATIO_HEADER, compared), sep="\n\n")
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"Baseline {sides['baseline'].label}, current {sides['current'].label};"
                f" daemon on CPU {sorted(DAEMON_CPUS)}, clients and peers on CPU"
                f" {sorted(OTHER_CPUS)}; store: {store}. Ratios are current / baseline.",
                report.table(RATIO_HEADER, compared),
                report.table(PAIR_HEADER, rows),
            ]
        )
        report.write_section("e2e-baseline", body, args.doc)


def pair_row(sides: dict[str, Build], pairing: int, side: str, result: Result) -> list[str]:
    build = sides[side].label if side in sides else "ceiling"
    return [str(pairing), f"{side} {build}" if side in sides else build, *row(result)[:-1]]


def pair_ratios(runs: list[tuple[int, str, Result]], loads: list[Phase]) -> list[list[str]]:
    """For each pairing and load, the two sides and current / baseline: daemon CPU per APDU,
    delivered/s (closed loop) and p99 latency; then CPU per APDU over all the loads."""
    found = {(pairing, side, result.phase): result for pairing, side, result in runs}
    rows = []
    for pairing in sorted({pairing for pairing, _, _ in runs}):
        cpu, delivered = {"baseline": 0.0, "current": 0.0}, {"baseline": 0, "current": 0}
        for phase in loads:
            before, after = found[(pairing, "baseline", phase)], found[(pairing, "current", phase)]
            rate = ["-"] * 3  # open loop: delivered/s is the rate set
            rows.append(
                [
                    str(pairing),
                    phase.label,
                    *_compared(before.cpu_us, after.cpu_us),
                    *(rate if phase.rate else _compared(before.per_second, after.per_second)),
                    *_compared(before.p99, after.p99),
                ]
            )
            for side, result in (("baseline", before), ("current", after)):
                cpu[side] += result.cpu_us * result.delivered
                delivered[side] += result.delivered
        mean = [cpu[side] / max(1, delivered[side]) for side in ("baseline", "current")]
        rows.append([str(pairing), "all loads", *_compared(*mean), *["-"] * 6])
    return rows


def _compared(before: float, after: float) -> list[str]:
    precise = before < 100
    shown = [f"{value:,.2f}" if precise else f"{value:,.0f}" for value in (before, after)]
    return [*shown, f"{after / before:.2f}" if before else "-"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--apdus", type=int, default=3000, help="APDUs per closed-loop load")
    parser.add_argument("--rates", default="250,1000", help="APDUs/s of the fixed-rate loads")
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="length of each")
    parser.add_argument("--rate-clients", type=int, default=64, help="workers at a fixed rate")
    parser.add_argument("--workdir", type=Path, help="where the store goes (default: a tmp dir)")
    parser.add_argument("--doc", type=Path, help="write the results into this Markdown file")
    parser.add_argument("--py-spy", type=Path, help="profile the daemon into this raw file")
    parser.add_argument(
        "--stores",
        type=lambda text: [StoreRun.parse(part) for part in text.split(",")],
        help="run the loads on each of these stores in turn: sqlite, postgres, postgres:N"
        " (N daemons, a port each), postgres:wN (one daemon, --workers N);"
        " e.g. sqlite,postgres,postgres:2",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="run a commit's build and this checkout's side by side, alternately, --pairings"
        " times (the commit's installed into a venv of its own under --cache, once)",
    )
    parser.add_argument("--pairings", type=int, default=3, help="with --baseline: how many")
    parser.add_argument(
        "--build",
        choices=("pure", "compiled"),
        help="this checkout's isoill, as it is or its core compiled with mypyc (a copy of the"
        " tree under --cache); default: the isoill PYTHONPATH or this environment finds",
    )
    parser.add_argument("--cache", type=Path, default=builds.CACHE, help="where builds are kept")
    args = parser.parse_args()
    loads = [
        Phase("persistent", True, args.clients, args.apdus),
        Phase("per-APDU", False, args.clients, args.apdus),
    ]
    for rate in map(float, args.rates.split(",")):
        apdus = round(rate * args.rate_seconds)
        loads.append(Phase(f"fixed {rate:,.0f}/s", True, args.rate_clients, apdus, rate))
    if args.stores:
        run_stores(args, args.stores, loads)
        return
    if args.baseline:
        run_pairs(args, loads)
        return
    build = builds.checkout(args.build, args.cache) if args.build else None
    serials = Serials()
    results: list[Result] = []
    with ExitStack() as stack:
        directory = Path(tempfile.mkdtemp(prefix="isoill-e2e-", dir=args.workdir))
        stack.callback(shutil.rmtree, directory)
        peers = stack.enter_context(Peers())
        daemon = stack.enter_context(Daemon(directory, peers, build=build))
        warm_up(peers, daemon, serials)
        # Under the profiler, the gateway alone: its samples are all the daemon's work.
        targets = (daemon,) if args.py_spy else (None, daemon)
        with profiling(daemon.pid, args.py_spy) if args.py_spy else nullcontext():
            for phase in loads:
                for target in targets:
                    results.append(measure(phase, peers, target, serials))
        peak = daemon.memory_kib("VmHWM") / 1024
        store = report.filesystem(directory)
    print_results(results)
    summary = ratios(results)
    summary.append(f"- gateway peak RSS (VmHWM): {peak:.1f} MiB")
    print("\n".join(summary))
    profile = profile_summary(args.py_spy) if args.py_spy else ""
    if profile:
        print(profile)
    if args.doc:
        body = "\n\n".join(
            [
                report.heading(),
                f"Daemon on CPU {sorted(DAEMON_CPUS)}, clients and peers on CPU"
                f" {sorted(OTHER_CPUS)}; store: {store}.",
                report.table(HEADER, [row(r) for r in results]),
                "\n".join(summary),
            ]
        )
        if profile:
            report.write_section("profile", f"{body}\n\n{profile}", args.doc)
        else:
            report.write_section("e2e", body, args.doc)


if __name__ == "__main__":
    main()
