"""ISO 18626 wire layer: µs per message to parse and validate (``wire.parse``: the hardened
lxml parse, the schema, the generated model) and to serialise (``wire.serialise``: the model
written by isoill's writer, validated, encoded; beside it, the same with xsdata's
TreeSerializer writing, as it was), for every sample message and the project's 2021 messages.

Beside each, the baseline from the same run: lxml alone parsing and validating the same bytes
against the same schema, so the ``parse/lxml`` ratio shows what building the models costs on
top. Then the hostile inputs of ``tests/test_iso18626_hostile.py``: how long a refusal takes.
Each figure is the best of ``--repeat`` rounds of ``--count`` calls.

Last, messages through the bridge: ``isoill serve`` pinned to one core (SQLite store, JSON logs
at warning level) takes ``--posts`` Requests POSTed to its ISO 18626 endpoint by
``--concurrency`` keep-alive clients in this process, each confirmed once stored, and
delivers each as its ILL-Request to ``isoill peer`` (ISO 10161), both on the other cores.
Figures: Requests confirmed per second, ILL-Requests delivered per second (until the last one
arrived), the latency of a POST, and the daemon's CPU time per message (which other load on
the machine changes least). The baseline, in the same run and on the same core: an
HTTP server that answers every POST with a fixed Confirmation and reads nothing (the loopback
ceiling of the same clients).

Run with ``make bench`` (or ``.venv/bin/python bench/iso18626.py``; ``--parts wire`` or
``--parts bridge`` for one of the two, each its own section of docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import aiohttp  # noqa: E402
import report  # noqa: E402
from e2e import DAEMON_CPUS, ISOILL, OTHER_CPUS, START_TIMEOUT, free_port, percentile, pinned  # noqa: E402
from lxml import etree  # noqa: E402
from paths import ISO18626_2021, ISO18626_SAMPLES  # noqa: E402
from xsdata.formats.dataclass.context import XmlContext  # noqa: E402
from xsdata.formats.dataclass.serializers.config import SerializerConfig  # noqa: E402
from xsdata.formats.dataclass.serializers.tree import TreeSerializer  # noqa: E402

from isoill.iso18626 import v1_2, wire  # noqa: E402
from isoill.iso18626.errors import Refusal  # noqa: E402
from isoill.iso18626.messages import NAMESPACE, Version  # noqa: E402
from isoill.iso18626.schemas import SCHEMAS  # noqa: E402
from isoill.tools.peer18626.messages import Agency, Header, Request  # noqa: E402
from isoill.tools.peer18626.writing import write  # noqa: E402

#: The loopback ceiling: an HTTP server that answers every POST with the same Confirmation.
CEILING = """
import sys
from aiohttp import web
body = open(sys.argv[2], "rb").read()
async def answer(request):
    return web.Response(body=body, content_type="application/xml")
app = web.Application()
app.router.add_post("/iso18626", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def best_us(action: Callable[[], object], count: int, repeat: int) -> float:
    """µs per call of ``action``: the best of ``repeat`` rounds of ``count`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def lxml_only(body: bytes, version: Version) -> Callable[[], object]:
    xsd = SCHEMAS[version].xsd
    return lambda: xsd.validate(etree.fromstring(body, wire._PARSER))


def refused(body: bytes) -> Callable[[], object]:
    def attempt() -> None:
        try:
            wire.parse(body)
        except Refusal:
            return
        raise AssertionError("a hostile input was accepted")

    return attempt


def hostile() -> list[tuple[str, bytes]]:
    cancel = (ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml").read_bytes()
    start = cancel.index(b"<ns1:ISO18626Message")
    laughs = [b'<!ENTITY l0 "lol">'] + [
        b'<!ENTITY l%d "%s">' % (n, b"&l%d;" % (n - 1) * 10) for n in range(1, 10)
    ]
    doctype = b"<!DOCTYPE m [" + b"".join(laughs) + b"]>\n"
    deep = b"<ns1:note>" * 10_000 + b"</ns1:note>" * 10_000
    return [
        ("billion laughs", cancel[:start] + doctype + cancel[start:]),
        ("10,000 levels", cancel.replace(b"<ns1:action>", deep + b"<ns1:action>")),
        ("over the limit", cancel + b" " * wire.MAX_SIZE),
        ("invalid UTF-8", cancel.replace(b"Cancel<", b"Cancel\xff<")),
        ("wrong version", cancel.replace(b'"v1_2_2017"', b'"2021-2"')),
    ]


def requests(count: int, run: str) -> list[bytes]:
    """``count`` Requests from REQ1 to SUP1, each with its own id, as v1.2 bodies."""
    now = datetime.now(UTC)
    supplier, requester = Agency("ISIL", "SUP1"), Agency("ISIL", "REQ1")
    return [
        write(Request(Header(supplier, requester, f"{run}-{n}", now), title="Dune"), Version.V1_2)
        for n in range(count)
    ]


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """POST every body, ``concurrency`` at a time on keep-alive connections: the seconds it
    took, and each POST's latency. Every answer must be a 200 with an OK Confirmation."""
    latencies: list[float] = []
    queue = list(reversed(bodies))
    headers = {"Content-Type": 'application/xml; charset="utf-8"'}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while queue:
                body = queue.pop()
                sent = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                latencies.append(time.perf_counter() - sent)
                if response.status != 200 or b"<ill:messageStatus>OK<" not in answer:
                    raise SystemExit(f"not confirmed: {response.status} {answer[:300]!r}")

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)


def bridge_config(directory: Path, endpoint: int, target: str) -> Path:
    (directory / "routes.toml").write_text(f'[peers.SUP1]\naddresses = ["{target}"]\n')
    path = directory / "isoill.toml"
    path.write_text(
        f"""store = "store.sqlite3"
routes = "routes.toml"

[[listeners]]
host = "127.0.0.1"
port = {free_port()}

[iso18626]
host = "127.0.0.1"
port = {endpoint}

[log]
format = "json"
level = "warning"
"""
    )
    return path


def http_ceiling(
    directory: Path, warm: list[bytes], bodies: list[bytes], concurrency: int
) -> tuple[float, list[float]]:
    """The same POSTs to a server on the daemon's core that answers each with a fixed
    Confirmation and reads nothing: the seconds they took, and their latencies."""
    confirmation = directory / "confirmation.xml"
    confirmation.write_bytes(b'<?xml version="1.0"?><ill:messageStatus>OK</ill:messageStatus>')
    port = free_port()
    ceiling = subprocess.Popen(
        pinned(DAEMON_CPUS, sys.executable, "-c", CEILING, str(port), confirmation)
    )
    try:
        wait_for_port(port, ceiling, "the HTTP ceiling")
        url = f"http://127.0.0.1:{port}/iso18626"
        asyncio.run(post_all(url, warm, concurrency))
        return asyncio.run(post_all(url, bodies, concurrency))
    finally:
        ceiling.terminate()
        ceiling.wait(timeout=30)


def through_the_bridge(posts: int, concurrency: int) -> list[str]:
    """The bridge's figures against the HTTP ceiling's, as lines of the report."""
    os.sched_setaffinity(0, OTHER_CPUS)  # the clients stay off the daemon's core
    warm = requests(200, "warm")
    bodies = requests(posts, "run")
    with tempfile.TemporaryDirectory(prefix="isoill-bench-18626-") as temporary:
        directory = Path(temporary)
        # The ISO 10161 target: prints a line per APDU, which is how arrivals are counted.
        target_port = free_port()
        target = subprocess.Popen(
            pinned(OTHER_CPUS, ISOILL, "peer", "--listen", f"127.0.0.1:{target_port}",
                   "--symbol", "SUP1"),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(target_port, target, "isoill peer")
            endpoint = free_port()
            config = bridge_config(directory, endpoint, f"127.0.0.1:{target_port}")
            with (directory / "daemon.log").open("w") as log:
                daemon = subprocess.Popen(
                    pinned(DAEMON_CPUS, ISOILL, "serve", "--config", config),
                    stdout=subprocess.DEVNULL, stderr=log, cwd=directory,
                )  # fmt: skip
            try:
                wait_for_port(endpoint, daemon, "isoill serve")
                url = f"http://127.0.0.1:{endpoint}/iso18626"
                asyncio.run(post_all(url, warm, concurrency))
                arrived = count_arrivals(target, len(warm))
                cpu = cpu_seconds(daemon.pid)
                start = time.perf_counter()
                seconds, latencies = asyncio.run(post_all(url, bodies, concurrency))
                count_arrivals(target, posts, arrived)
                delivered = time.perf_counter() - start
                cpu = cpu_seconds(daemon.pid) - cpu
            finally:
                daemon.terminate()
                daemon.wait(timeout=30)
        finally:
            target.terminate()
            target.wait(timeout=30)
        ceiling_seconds, ceiling_latencies = http_ceiling(directory, warm, bodies, concurrency)
    lines = [
        f"# through the bridge: {posts} Requests (v1.2, {len(bodies[0])} bytes), "
        f"{concurrency} clients, the daemon on CPU {sorted(DAEMON_CPUS)}",
        f"{'':28} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    for label, took, each in (
        ("HTTP ceiling (baseline)", ceiling_seconds, ceiling_latencies),
        ("bridge: confirmed", seconds, latencies),
    ):
        ordered = sorted(each)
        lines.append(
            f"{label:28} {posts / took:8.0f} {percentile(ordered, 0.5) * 1e3:7.1f}"
            f" {percentile(ordered, 0.99) * 1e3:7.1f}"
        )
    lines.append(f"{'bridge: delivered (ISO 10161)':28} {posts / delivered:8.0f}")
    lines.append(
        f"# the daemon's CPU per message (confirmed and delivered): {cpu / posts * 1e3:.2f} ms"
    )
    lines.append(f"# confirmed / ceiling: {ceiling_seconds / seconds:.2f}")
    return lines


def cpu_seconds(pid: int) -> float:
    """User and system time process ``pid`` has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_arrivals(target: subprocess.Popen[bytes], count: int, seen: int = 0) -> int:
    """Read the target's lines until ``count`` more ILL-Requests have arrived."""
    assert target.stdout is not None
    arrived = 0
    deadline = time.monotonic() + 600
    while arrived < count:
        line = target.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise SystemExit(f"the target got {arrived} of {count} ILL-Requests")
        arrived += b" ILL-Request " in line
    return seen + arrived


#: xsdata's metadata, built once (as the wire layer keeps its own).
XSDATA_CONTEXT = XmlContext()


def xsdata_serialise(model: wire.Message) -> bytes:
    """``wire.serialise`` as it was, with xsdata's TreeSerializer writing the tree: the
    baseline of isoill's own writer (:mod:`isoill.iso18626.writer`)."""
    serializer = TreeSerializer(config=SerializerConfig(), context=XSDATA_CONTEXT)
    tree = serializer.render(model, ns_map={wire.PREFIX: NAMESPACE})
    version = Version.V1_2 if isinstance(model, v1_2.Iso18626Message) else Version.V2021
    assert SCHEMAS[version].first_error(tree.getroot()) is None
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True)


def wire_layer(count: int, repeat: int) -> list[str]:
    """parse and serialise per message, against lxml alone; refusals of hostile input."""
    lines = [f"# best of {repeat} rounds of {count} calls; µs per message"]
    columns = f"{'version':>7} {'bytes':>5} {'lxml':>7} {'parse':>7} {'ratio':>6} {'write':>7}"
    columns += f" {'xsdata':>7} {'ratio':>6}"
    lines.append(f"{'message':50} {columns}")
    per_version: dict[Version, list[tuple[float, float]]] = {version: [] for version in Version}
    paths = sorted(ISO18626_SAMPLES.glob("*.xml")) + sorted(ISO18626_2021.glob("*.xml"))
    for path in paths:
        body = path.read_bytes()
        parsed = wire.parse(body)
        baseline = best_us(lxml_only(body, parsed.version), count, repeat)
        parse = best_us(partial(wire.parse, body), count, repeat)
        write = best_us(partial(wire.serialise, parsed.model), count, repeat)
        xsdatas = best_us(partial(xsdata_serialise, parsed.model), count, repeat)
        per_version[parsed.version].append((parse, write))
        name = path.relative_to(ISO18626_SAMPLES).as_posix()
        lines.append(
            f"{name:50} {parsed.version:>7} {len(body):5} {baseline:7.1f} {parse:7.1f}"
            f" {parse / baseline:6.1f} {write:7.1f} {xsdatas:7.1f} {write / xsdatas:6.2f}"
        )
    lines.append("# median per version: parse+validate, serialise")
    for version, figures in per_version.items():
        parses, writes = zip(*figures, strict=True)
        lines.append(
            f"{version:>7}: {len(figures):2} messages, parse {statistics.median(parses):7.1f},"
            f" serialise {statistics.median(writes):7.1f}"
        )
    lines.append("# hostile input: µs to refuse")
    for label, body in hostile():
        lines.append(f"{label:50} {len(body):>15} {best_us(refused(body), count, repeat):7.1f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="calls in one round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept")
    parser.add_argument("--posts", type=int, default=2000, help="Requests through the bridge")
    parser.add_argument("--concurrency", type=int, default=16, help="clients POSTing at once")
    parser.add_argument(
        "--parts", default="wire,bridge", help="what to measure: wire, bridge or both"
    )
    parser.add_argument("--doc", type=Path, help="also write the tables into this Markdown file")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    runtime = (
        f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    sections = []
    if "wire" in parts:
        sections.append(("iso18626", wire_layer(args.count, args.repeat)))
    if "bridge" in parts and args.posts:
        sections.append(("iso18626-bridge", through_the_bridge(args.posts, args.concurrency)))
    for name, lines in sections:
        table = "\n".join([runtime, *lines])
        print(table, flush=True)
        if args.doc:
            report.write_section(name, f"{report.heading()}\n\n```\n{table}\n```", args.doc)


if __name__ == "__main__":
    main()
