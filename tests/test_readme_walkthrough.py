"""The README's ISO 18626 walkthrough, run as it is written: its commands, read from the README,
in a copy of ``config/bridge/`` (its ports swapped for free ones, so that the test can run
beside anything), with real processes: ``isoill serve``, the simulated ISO 18626 lender, the
requester's ISO 10161 server and yaz-illclient. What the README says they print is what they
print, and the loan ends CHECKED-IN on both sides, LoanCompleted on the ISO 18626 one."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- walkthrough: tests/test_readme_walkthrough.py"
SETUP = "make .venv/.installed && . .venv/bin/activate"
PORTS = (11499, 18626, 19626, 19001)  # the gateway's two, RSLEND's, REQLIB's
WAIT = 30.0  # seconds any one step may take on a busy machine, at most


def walkthrough() -> list[str]:
    """The commands of the README's walkthrough block, without their comments."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index(MARKER) :].split("```sh\n", 1)[1].split("```", 1)[0]
    return [re.split(r"\s+#\s", line, maxsplit=1)[0].strip() for line in block.splitlines()]


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def swapped(text: str, ports: dict[int, int]) -> str:
    """``text`` with each walkthrough port, as an address's or a ``port =``, swapped."""
    pattern = re.compile(r"(?<=:)(\d+)\b|(?<=port = )(\d+)\b")

    def swap(match: re.Match[str]) -> str:
        port = int(match.group(0))
        return str(ports.get(port, port))

    return pattern.sub(swap, text)


@dataclass
class Running:
    """A background command, printing to ``output`` (a file: a pipe nobody reads fills)."""

    argv: list[str]
    process: asyncio.subprocess.Process
    output: Path

    async def stop(self) -> tuple[int, str]:
        if self.process.returncode is None:
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), WAIT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode, self.output.read_text("utf-8", "replace")


async def listening(port: int) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def stopped_at_the_end(running: list[Running]) -> AsyncIterator[dict[str, str]]:
    """What each background command printed, by its program's first words, once stopped."""
    printed: dict[str, str] = {}
    try:
        yield printed
    finally:
        for child in reversed(running):
            code, output = await child.stop()
            printed[" ".join(child.argv[1:3])] = output
            assert code == 0, (child.argv, output)


async def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    child = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), WAIT)
    assert child.returncode is not None
    return child.returncode, output.decode("utf-8", "replace")


async def test_the_walkthrough_is_set_up_as_the_quick_start_installs() -> None:
    commands = walkthrough()
    assert commands[0] == SETUP
    makefile = (ROOT / "Makefile").read_text().splitlines()  # .venv/.installed: a real target
    assert {"VENV := .venv", "STAMP := $(VENV)/.installed"} <= set(makefile)
    assert any(line.startswith("$(STAMP):") for line in makefile)
    assert [c.split()[0] for c in commands[1:]] == ["isoill"] * 3 + ["yaz-illclient", "isoill"]
    used = {int(port) for command in commands for port in re.findall(r":(\d{4,5})\b", command)}
    assert used == set(PORTS)  # the test swaps every port the commands name


async def test_the_readme_walkthrough_runs_as_written(tmp_path: Path, yaz_illclient: str) -> None:
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    shutil.copytree(ROOT / "config" / "bridge", tmp_path / "config" / "bridge")
    for file in (tmp_path / "config" / "bridge").glob("*.toml"):
        file.write_text(swapped(file.read_text(), ports))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    (_setup, serve, supplier, requester, request, show) = walkthrough()
    programs = {"yaz-illclient": yaz_illclient}
    argvs = [shlex.split(swapped(line, ports).removesuffix("&")) for line in (serve, supplier)]
    argvs.append(shlex.split(swapped(requester, ports).removesuffix("&")))
    background: list[Running] = []
    async with stopped_at_the_end(background) as printed:
        for argv, waits in zip(argvs, ((11499, 18626), (19626,), (19001,)), strict=True):
            output = tmp_path / f"{len(background)}.out"
            with output.open("wb") as printing:
                child = await asyncio.create_subprocess_exec(
                    *argv,
                    cwd=tmp_path,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=printing,
                    stderr=asyncio.subprocess.STDOUT,
                )
            background.append(Running(argv, child, output))
            for port in waits:
                await listening(ports[port])
        asked = shlex.split(swapped(request, ports))
        code, said = await run([programs[asked[0]], *asked[1:]], tmp_path, env)
        assert (code, said.split()[-1]) == (0, "Ok")  # after the two APDUs it prints
        shown = ""
        async with asyncio.timeout(WAIT):  # the loan runs on after the acknowledgement
            while "iso18626 status     LoanCompleted" not in shown or shown.count("delivered") < 12:
                await asyncio.sleep(0.2)
                code, shown = await run(shlex.split(swapped(show, ports)), tmp_path, env)
                assert code == 0, shown
    assert re.search(r"requester state +CHECKED-IN", shown)
    assert re.search(r"responder state +CHECKED-IN", shown)
    rows = [line.split() for line in shown.splitlines() if "+ISO 18626" in line]
    assert [(row[3], row[6], row[8]) for row in rows] == [
        ("ILL-Request", "REQLIB", "RSLEND"),
        ("Shipped", "RSLEND", "REQLIB"),
        ("Received", "REQLIB", "RSLEND"),
        ("Recall", "RSLEND", "REQLIB"),
        ("Returned", "REQLIB", "RSLEND"),
        ("Checked-In", "RSLEND", "REQLIB"),
    ]
    assert all(row.count("delivered") == 2 for row in rows)  # the message's and its delivery's
    lender = printed["peer --protocol"]
    for sent in ("RequestResponse Loaned", "StatusChange Recalled", "StatusChange LoanCompleted"):
        assert f"supplyingAgencyMessage {sent}" in lender
    for got in ("Received", "ShippedReturn"):
        assert f"requestingAgencyMessage {got}" in lender
    borrower = printed["peer --listen"]
    assert "Shipped" in borrower and "-> Received" in borrower
    assert "Recall" in borrower and "-> Returned" in borrower
    assert "Checked-In" in borrower
