"""What the end-to-end tests of the ISO 18626 bridge share: every part a process of its own on
127.0.0.1, read as it runs.

- :class:`Process`: a child whose stderr is read line by line as it comes;
- :func:`serving`: ``isoill serve`` on a config, its ISO 10161 port and, when the config has
  an ``[iso18626]`` listener, its endpoint's URL (both from its ``listening`` lines);
- :class:`Supplier`: the simulated ISO 18626 supplier (``isoill peer --protocol iso18626
  --role supplier``) and the exchanges it records, read back as messages;
- :class:`Peer10161`: ``isoill peer``, an ISO 10161 library answering by script, and the
  APDUs it records;
- :func:`yaz_request`: yaz-illclient's ILL-Request to a gateway;
- :func:`tx_list`, :func:`tx_shown`, :func:`queue`: what ``isoill tx list``, ``tx show`` and
  ``queue list`` print, as JSON.

Every wait is bounded by :data:`WAIT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_harness import run_cli, spawn_daemon, write_config

from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import IllApdu
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.messages import Confirmation, Sent
from isoill.tools.peer18626.reading import read

ISOILL = str(Path(sys.executable).with_name("isoill"))
WAIT = 30.0  # seconds any one thing may take on a busy machine, at most
POLL = 0.05


def free_port() -> int:
    """A loopback port nobody listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def until(condition: Callable[[], bool], what: str, poll: float = POLL) -> None:
    """Return once ``condition()`` holds, asked every ``poll`` seconds; AssertionError naming
    ``what`` after :data:`WAIT`."""
    try:
        async with asyncio.timeout(WAIT):
            while not condition():
                await asyncio.sleep(poll)
    except TimeoutError:
        raise AssertionError(f"not within {WAIT:g} s: {what}") from None


@dataclass
class Process:
    """A child process whose stderr is read line by line as it comes."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        async def read_lines() -> None:
            assert self.process.stderr is not None
            while line := await self.process.stderr.readline():
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

        self.reader = asyncio.create_task(read_lines())

    async def first(self, wanted: Callable[[str], bool]) -> str:
        async with asyncio.timeout(WAIT):
            while True:
                found = [line for line in self.lines if wanted(line)]
                if found:
                    return found[0]
                if self.process.returncode is not None:
                    raise AssertionError(f"exited {self.process.returncode}: {self.lines}")
                await asyncio.sleep(POLL)

    async def matching(self, pattern: str) -> re.Match[str]:
        """The first line matching ``pattern``, once it has come."""
        line = await self.first(lambda text: re.search(pattern, text) is not None)
        found = re.search(pattern, line)
        assert found is not None
        return found

    async def exited(self) -> int:
        """Its exit status, once it has ended of its own accord and every line is read."""
        async with asyncio.timeout(WAIT):
            status = await self.process.wait()
            if self.reader is not None:
                await self.reader
        return status

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WAIT):
                    await self.process.wait()
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader


async def isoill(*argv: str) -> Process:
    """``isoill ARGV``, started, its stderr read as it comes."""
    child = await asyncio.create_subprocess_exec(
        ISOILL, *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    process = Process(child)
    process.start_reading()
    return process


async def _peer_process(argv: Sequence[str]) -> tuple[Process, str]:
    """``isoill ARGV``, a peer, once it says where it listens (the line's last word)."""
    process = await isoill(*argv)
    line = await process.first(lambda text: "listening on" in text)
    return process, line.split()[-1]


@dataclass(frozen=True)
class Exchanged:
    """One exchange the simulated ISO 18626 peer recorded, its message read back."""

    direction: str
    status: int | None
    answer: str
    message: Sent
    body: bytes


class Supplier:
    """``isoill peer --protocol iso18626 --role supplier`` playing ISIL:RSLEND on ``port``,
    sending its SAMs to ``peer_url`` in ``version``, recording to a file."""

    def __init__(
        self,
        directory: Path,
        port: int,
        *,
        peer_url: str | None = None,
        version: Version = Version.V1_2,
    ) -> None:
        self.port = port
        self.version = version
        self.peer_url = peer_url or f"http://127.0.0.1:{free_port()}/iso18626"  # nowhere
        self.record = directory / f"supplier-{port}.jsonl"
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/iso18626"

    async def start(self) -> Supplier:
        argv = ["peer", "--protocol", "iso18626", "--role", "supplier"]
        argv += ["--listen", f"127.0.0.1:{self.port}", "--agency", "ISIL:RSLEND"]
        argv += ["--peer-url", self.peer_url, "--delay", "0.05", "--timeout", "2"]
        argv += ["--record", str(self.record)]
        argv += ["--version", _VERSION[self.version]]
        self.process, _ = await _peer_process(argv)
        return self

    def entries(self) -> list[dict[str, Any]]:
        """Every exchange it recorded, as the record has it (a line still being written
        left for the next look)."""
        if not self.record.exists():
            return []
        *whole, _ = self.record.read_bytes().split(b"\n")
        return [json.loads(line) for line in whole]

    def posted(self) -> list[dict[str, Any]]:
        """What came to it: each POST it took."""
        return [entry for entry in self.entries() if entry["direction"] == "in"]

    def exchanged(self) -> list[Exchanged]:
        """Each exchange that carried a message, the message read in the supplier's schema
        (so valid in it)."""
        found = []
        for entry in self.entries():
            if entry["kind"] is None:
                continue
            body = entry["request"].encode()
            message = read(wire.parse(body, version=self.version))
            assert not isinstance(message, Confirmation), entry
            found.append(
                Exchanged(entry["direction"], entry["status"], entry["answer"], message, body)
            )
        return found

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        await until(lambda: len(self.posted()) >= count, f"{count} POSTs to the supplier")
        return self.posted()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


class Peer10161:
    """``isoill peer`` playing the ISO 10161 library ``symbol``, answering by ``script``
    (TOML text), recording every APDU that comes to it."""

    def __init__(self, directory: Path, symbol: str, script: str, port: int = 0) -> None:
        self.symbol = symbol
        self.script = directory / f"script-{symbol}.toml"
        self.script.write_text(script)
        self.record = directory / f"peer-{symbol}.ber"
        self.process: Process | None = None
        self.address = f"127.0.0.1:{port}"  # the port bound, once started

    async def start(self) -> Peer10161:
        argv = ["peer", "--listen", self.address, "--symbol", self.symbol]
        argv += ["--script", str(self.script), "--record", str(self.record)]
        self.process, self.address = await _peer_process(argv)
        return self

    def received(self) -> list[IllApdu]:
        """Every APDU that came to it, in order: the gateway's, and its replies to the
        peer's own answers."""
        framer = Framer()
        framer.feed(self.record.read_bytes() if self.record.exists() else b"")
        found = []
        while (ber := framer.next_apdu()) is not None:
            found.append(decode(ber))
        return found

    async def wait_for(self, apdu_type: str) -> list[IllApdu]:
        """Every APDU that came, once one of ``apdu_type`` has."""

        def arrived() -> bool:
            return any(apdu.apdu_type == apdu_type for apdu in self.received())

        await until(arrived, f"a {apdu_type} for {self.symbol}")
        return self.received()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


@dataclass
class Gateway:
    """A running ``isoill serve``: its ISO 10161 port, its endpoint's URL (``""``: none)."""

    process: Process
    port: int
    config: Path
    endpoint: str = ""

    def events(self, event: str) -> list[dict[str, Any]]:
        entries = (json.loads(line) for line in self.process.lines if line.startswith("{"))
        return [entry for entry in entries if entry.get("event") == event]


def _listening(line: str, iso18626: bool) -> bool:
    if not line.startswith("{"):
        return False
    entry: dict[str, Any] = json.loads(line)
    return entry.get("event") == "listening" and (entry.get("listener") == "iso18626") == iso18626


@contextlib.asynccontextmanager
async def serving(config: Path, *, endpoint: bool = False) -> AsyncIterator[Gateway]:
    """``isoill serve`` on ``config`` while in the block; with ``endpoint``, once its ISO
    18626 endpoint listens too."""
    child = Process(await spawn_daemon(config))
    child.start_reading()
    try:
        listening = json.loads(await child.first(lambda line: _listening(line, False)))
        gateway = Gateway(child, int(listening["address"].rsplit(":", 1)[1]), config)
        if endpoint:
            gateway.endpoint = json.loads(await child.first(lambda line: _listening(line, True)))[
                "url"
            ]
        yield gateway
    finally:
        await child.stop()


async def yaz_request(
    yaz_illclient: str, port: int, directory: Path, note: str, defines: Sequence[str] = ()
) -> str:
    """yaz-illclient's ILL-Request from REQLIB to RSLEND, titled Dune, with ``note`` and the
    ``-D`` ``defines`` (``path=value``); what it printed."""
    argv = [
        "-D",
        "ill,item-id,title=Dune",
        "-D",
        "ill,item-id,author=Herbert, Frank",
        "-D",
        f"ill,requester-note={note}",
        "-D",
        "ill,requester-id,person-or-institution-symbol,institution=REQLIB",
        "-D",
        "ill,responder-id,person-or-institution-symbol,institution=RSLEND",
    ]
    for define in defines:
        argv += ["-D", define]
    process = await asyncio.create_subprocess_exec(
        yaz_illclient,
        *argv,
        f"tcp:127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=directory,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, stdout
    return stdout.decode().strip()


def routes(requester: str, supplier_url: str, version: Version = Version.V1_2) -> str:
    """The routes of a bridged loan: REQLIB an ISO 10161 library at ``requester``, RSLEND an
    ISO 18626 supplier at ``supplier_url`` speaking ``version``, in Berlin."""
    return (
        f'[peers.REQLIB]\naddresses = ["{requester}"]\n\n'
        f'[peers.RSLEND]\nprotocol = "iso18626"\naddresses = ["{supplier_url}"]\n'
        f'[peers.RSLEND.iso18626]\ntimezone = "Europe/Berlin"\nversion = "{_VERSION[version]}"\n'
    )


_VERSION = {Version.V1_2: "1.2", Version.V2021: "2021"}


def gateway_config(
    directory: Path,
    routes: str,
    *,
    attempts: int,
    endpoint: bool = False,
    endpoint_port: int = 0,
    retry_every: float = 0.2,
    extra: str = "",
) -> Path:
    """A gateway config in ``directory`` with ``routes``, its ISO 10161 listener (and, with
    ``endpoint``, its ISO 18626 endpoint, on ``endpoint_port``) on 127.0.0.1, port 0 (any),
    ``attempts`` deliveries at most, ``retry_every`` seconds apart, and ``extra`` (TOML) at
    the end."""
    listener = f'[iso18626]\nhost = "127.0.0.1"\nport = {endpoint_port}\n\n' if endpoint else ""
    return write_config(
        directory, routes, extra=listener + extra, attempts=attempts, retry_every=retry_every
    )


def printed(argv: list[str]) -> Any:
    """What ``isoill ARGV`` (a ``--json`` command) prints, read as JSON."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = run_cli(argv)
    assert status == 0, (argv, out.getvalue())
    return json.loads(out.getvalue())


def queue(config: Path) -> list[dict[str, Any]]:
    """``isoill queue list --json``: every message the gateway stored, with its deliveries."""
    listed: list[dict[str, Any]] = printed(["queue", "list", "--config", str(config), "--json"])
    return listed


def tx_list(config: Path) -> list[dict[str, Any]]:
    """``isoill tx list --json``: the transactions the gateway tracks."""
    listed: list[dict[str, Any]] = printed(["tx", "list", "--config", str(config), "--json"])
    return listed


def tx_shown(config: Path, number: int | None = None) -> dict[str, Any]:
    """``isoill tx show --json --messages`` of transaction ``number``; without one, of the
    one transaction the gateway tracks."""
    if number is None:
        [only] = tx_list(config)
        number = only["id"]
    shown: dict[str, Any] = printed(
        ["tx", "show", str(number), "--config", str(config), "--json", "--messages"]
    )
    return shown
