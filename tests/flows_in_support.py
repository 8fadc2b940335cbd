"""Whole transactions from an ISO 18626 requester to an ISO 10161 responder through a running
``isoill serve``, every part a process of its own on 127.0.0.1: the simulated ISO 18626
requester (``isoill peer --protocol iso18626 --role requester``, REQ1) POSTs to the daemon's
ISO 18626 endpoint; the daemon delivers to ``isoill peer``, the ISO 10161 responder SUP1,
answering by script; what SUP1 answers comes back through the daemon as supplying agency
messages POSTed to the requester.

:class:`Flow` starts the three and reads what each recorded: the requester's exchanges (its
record, JSON lines), the APDUs the responder received (its record, BER), the daemon's
store (``isoill tx``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon_support import Daemon
from flows18626_support import ISOILL, WAIT, Process, free_port, isoill
from gateway_harness import write_config

from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import IllApdu
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.messages import (
    Confirmation,
    Message,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    describe,
)
from isoill.tools.peer18626.reading import read

REQUESTER, RESPONDER = "REQ1", "SUP1"
VERSIONS = {Version.V1_2: "1.2", Version.V2021: "2021"}


@dataclass(frozen=True)
class Exchanged:
    """One exchange of the requester's record: the message and the answer to it, read."""

    direction: str  # "out": the requester POSTed; "in": the daemon POSTed to it
    status: int | None
    message: Message
    answer: Confirmation | None


def responder_script(answers: dict[str, str | list[str]]) -> str:
    """A script for ``isoill peer`` (TOML)."""
    return "".join(f"{json.dumps(key)} = {json.dumps(value)}\n" for key, value in answers.items())


def requests_file(*requests: dict[str, str]) -> str:
    """A ``--requests`` file (TOML) of these ``[[request]]`` tables."""
    tables = (
        "[[request]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
        for table in requests
    )
    return "\n".join(tables)


@dataclass
class Flow:
    """The three processes of one test, and what each recorded."""

    directory: Path
    version: Version
    responder: Process
    responder_address: str
    config: Path
    daemon: Daemon
    url: str
    requester_port: int
    requester: Process | None = None

    @property
    def received(self) -> Path:
        return self.directory / "responder.ber"

    @property
    def record(self) -> Path:
        return self.directory / "requester.jsonl"

    async def request(self, *tables: dict[str, str], return_after: float = 1.0) -> None:
        """Start the requester, which sends these Requests at once."""
        requests = self.directory / "requests.toml"
        requests.write_text(requests_file(*tables))
        self.requester = await isoill(
            "peer", "--protocol", "iso18626", "--role", "requester",
            "--listen", f"127.0.0.1:{self.requester_port}",
            "--agency", f"ISIL:{REQUESTER}", "--peer-agency", f"ISIL:{RESPONDER}",
            "--peer-url", self.url, "--version", VERSIONS[self.version],
            "--requests", str(requests), "--record", str(self.record),
            "--delay", "0.05", "--return-after", str(return_after), "--timeout", "10",
        )  # fmt: skip

    async def ended(self) -> list[str]:
        """How each of the requester's transactions ended, as it says on exiting (it exits
        once every one has)."""
        assert self.requester is not None
        try:
            status = await self.requester.exited()
        except TimeoutError:
            raise AssertionError(f"the requester did not end: {self.story()}") from None
        assert status == 0, self.requester.lines
        return self.requester.lines

    async def stop_responder(self) -> None:
        await self.responder.stop()

    async def start_responder(self) -> None:
        """The responder started again, at the same address."""
        self.responder = await start_responder(self.directory, self.responder_address)

    async def kill_daemon(self) -> int:
        """SIGKILL the daemon; its exit status, once every line it wrote is read."""
        self.daemon.process.kill()
        return await self.daemon.exit(WAIT)

    async def restart_daemon(self) -> None:
        """The daemon started again on the same configuration and store."""
        self.daemon, self.url = await start_daemon(self.config)

    def story(self) -> str:
        """What went on so far, for a failure's message."""
        said = [f"{e.direction} {describe(e.message)} -> {e.answer}" for e in self.exchanges()]
        got = [apdu.apdu_type for apdu in self.apdus()]
        lines = self.requester.lines if self.requester is not None else []
        return f"requester: {said} {lines}; responder got {got}"

    def exchanges(self) -> list[Exchanged]:
        """Every exchange of the requester's record, in order, read in its schema."""
        if not self.record.exists():
            return []
        found = []
        for line in self.record.read_text().splitlines():
            entry = json.loads(line)
            message = read(wire.parse(entry["request"].encode(), version=self.version))
            answer = None
            if entry["status"] == 200 and entry["response"].startswith("<?xml"):
                read_answer = read(wire.parse(entry["response"].encode(), version=self.version))
                assert isinstance(read_answer, Confirmation), read_answer
                answer = read_answer
            found.append(Exchanged(entry["direction"], entry["status"], message, answer))
        return found

    def sams(self) -> list[SupplyingAgencyMessage]:
        """The supplying agency messages the daemon POSTed to the requester, in order."""
        return [
            e.message for e in self.exchanges() if isinstance(e.message, SupplyingAgencyMessage)
        ]

    def sent(self) -> list[Exchanged]:
        """What the requester POSTed (Requests and RAMs), each with its Confirmation."""
        return [
            e for e in self.exchanges() if isinstance(e.message, Request | RequestingAgencyMessage)
        ]

    async def sams_until(self, count: int) -> list[SupplyingAgencyMessage]:
        async with asyncio.timeout(WAIT):
            while len(found := self.sams()) < count:
                await asyncio.sleep(0.05)
        return found

    def apdus(self) -> list[IllApdu]:
        """Every APDU the ISO 10161 responder received, in order."""
        framer = Framer()
        framer.feed(self.received.read_bytes() if self.received.exists() else b"")
        found = []
        while (ber := framer.next_apdu()) is not None:
            found.append(decode(ber))
        return found

    async def apdus_until(self, count: int) -> list[IllApdu]:
        async with asyncio.timeout(WAIT):
            while len(found := self.apdus()) < count:
                await asyncio.sleep(0.05)
        return found

    async def isoill(self, *argv: str) -> Any:
        """``isoill ARGV --json --config CONFIG``, its output read as JSON."""
        process = await asyncio.create_subprocess_exec(
            ISOILL,
            *argv,
            "--json",
            "--config",
            str(self.config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), WAIT)
        assert process.returncode == 0, (argv, err)
        return json.loads(out)

    async def transactions(self) -> list[dict[str, Any]]:
        """``isoill tx show --messages`` of every transaction, oldest first."""
        listed = await self.isoill("tx", "list")
        ids = sorted(record["id"] for record in listed)
        return [await self.isoill("tx", "show", str(number), "--messages") for number in ids]


def configure(
    directory: Path, responder: str, requester_port: int, version: Version, conditional: str
) -> Path:
    """The daemon's configuration: SUP1 an ISO 10161 peer at ``responder``, REQ1 an ISO 18626
    peer of schema ``version`` and ``conditional`` model on ``requester_port``, the endpoint on
    a free port; both peers' APDUs checked by the protocol machines, refused where they forbid
    them."""
    routes = (
        f'[peers.{RESPONDER}]\naddresses = ["{responder}"]\n\n'
        f'[peers.{REQUESTER}]\nprotocol = "iso18626"\n'
        f'addresses = ["http://127.0.0.1:{requester_port}/iso18626"]\n'
        f'[peers.{REQUESTER}.iso18626]\nversion = "{VERSIONS[version]}"\n'
        f'timezone = "Europe/Berlin"\nconditional = "{conditional}"\n'
    )
    extra = '[iso18626]\nhost = "127.0.0.1"\nport = 0\n'
    for symbol in (REQUESTER, RESPONDER):  # the ISO 10161 machines refuse what they forbid
        extra += f'\n[peers.{symbol}]\nstate_machine = "enforce"\n'
    return write_config(directory, routes, extra=extra)


async def start_daemon(config: Path) -> tuple[Daemon, str]:
    """``isoill serve``, and the URL of its ISO 18626 endpoint."""
    daemon = await Daemon.spawn(config)
    url = str((await daemon.line("listening", timeout=WAIT, listener="iso18626"))["url"])
    return daemon, url


async def stop_daemon(daemon: Daemon) -> int:
    daemon.stop()
    return await daemon.exit(WAIT)


async def start_responder(directory: Path, address: str) -> Process:
    """``isoill peer`` as SUP1 at ``address``, answering by ``script.toml``, recording every
    APDU it receives (appended to one file, whichever time it was started)."""
    responder = await isoill(
        "peer", "--listen", address, "--symbol", RESPONDER,
        "--script", str(directory / "script.toml"), "--record", str(directory / "responder.ber"),
    )  # fmt: skip
    await responder.matching(r"listening on (\S+)$")
    return responder


@contextlib.asynccontextmanager
async def flow(
    directory: Path, version: Version, script: str, conditional: str = "2021"
) -> AsyncIterator[Flow]:
    """The responder with ``script``, the daemon between it and the requester (which
    :meth:`Flow.request` starts), the requester's conditional answers by the ``conditional``
    model; all three stopped at the end, the daemon cleanly."""
    (directory / "script.toml").write_text(script)
    address = f"127.0.0.1:{free_port()}"  # fixed: the responder may be started again
    responder = await start_responder(directory, address)
    running: Flow | None = None
    try:
        port = free_port()
        config = configure(directory, address, port, version, conditional)
        daemon, url = await start_daemon(config)
        running = Flow(directory, version, responder, address, config, daemon, url, port)
        yield running
    finally:
        if running is not None and running.requester is not None:
            await running.requester.stop()
        await (running.responder if running is not None else responder).stop()
        if running is not None:
            assert await stop_daemon(running.daemon) == 0, running.daemon.text
