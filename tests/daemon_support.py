"""``isoill serve`` as a process of its own, for the tests of what only a real process shows:
signals, the supervisor's workers, locks, sockets handed down, readiness datagrams.

:class:`Daemon` reads the daemon's stderr as it comes: its JSON log lines, and the plain
``isoill: ...`` line of a refusal.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Seconds a test waits for one log line, or for the daemon to exit.
WAIT = 20.0

#: ``python -c ACTIVATE FD COMMAND...``: FD as fd 3 and this process's pid as ``LISTEN_PID``,
#: then this process becomes COMMAND (the pid stays), as systemd starts a socket's service.
ACTIVATE = """
import os, sys
fd = int(sys.argv[1])
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


class Daemon:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []  # every JSON line read so far
        self.text: list[str] = []  # and every other line

    @classmethod
    async def spawn(
        cls,
        config: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        listen_fd: int | None = None,
    ) -> Daemon:
        """``isoill serve --config CONFIG ARGS``, with ``env`` added to the environment; with
        ``listen_fd``, that socket passed as systemd passes one (fd 3, ``LISTEN_FDS=1``,
        ``LISTEN_PID`` the daemon's own: :data:`ACTIVATE` sets it, then becomes the daemon)."""
        command = [str(Path(sys.executable).with_name("isoill")), "serve", "--config", str(config)]
        command += args
        environment = {**os.environ, **(env or {})}
        fds = list(pass_fds)
        if listen_fd is not None:
            command = [sys.executable, "-c", ACTIVATE, str(listen_fd), *command]
            environment["LISTEN_FDS"] = "1"
            fds.append(listen_fd)
        process = await asyncio.create_subprocess_exec(
            *command, stderr=asyncio.subprocess.PIPE, env=environment, pass_fds=fds
        )
        return cls(process)

    async def line(self, event: str, timeout: float = WAIT, **fields: object) -> dict[str, Any]:
        """The next log line of ``event`` whose fields have these values (earlier lines read
        on the way are kept in :attr:`lines`)."""
        async with asyncio.timeout(timeout):
            while True:
                entry = await self._read()
                if entry is None:
                    raise AssertionError(f"the daemon ended before {event!r}: {self.text}")
                if entry.get("event") == event and all(
                    entry.get(k) == v for k, v in fields.items()
                ):
                    return entry

    async def exit(self, timeout: float = WAIT) -> int:
        """Its exit status, once every line it wrote is read."""
        async with asyncio.timeout(timeout):
            while await self._read() is not None:
                pass
            return await self.process.wait()

    def events(self, event: str, **fields: object) -> list[dict[str, Any]]:
        """The lines read so far of ``event`` with these field values."""
        return [
            entry
            for entry in self.lines
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items())
        ]

    def stop(self) -> None:
        """SIGTERM, unless it has ended."""
        if self.process.returncode is None:
            self.process.terminate()

    async def _read(self) -> dict[str, Any] | None:
        """The next JSON line (other lines kept in :attr:`text`); ``None`` at the end."""
        assert self.process.stderr is not None
        while raw := await self.process.stderr.readline():
            text = raw.decode().rstrip("\n")
            if text.startswith("{"):
                entry: dict[str, Any] = json.loads(text)
                self.lines.append(entry)
                return entry
            self.text.append(text)
        return None


def port_of(listening: Mapping[str, Any]) -> int:
    """The port of a ``listening`` (or ``admin endpoint``) line's address."""
    return int(str(listening["address"]).rsplit(":", 1)[1])
