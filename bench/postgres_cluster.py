"""A throwaway PostgreSQL cluster for the tests and the benchmarks: a data directory and a socket
in a temporary directory, no TCP at all (so ``trust`` authentication is safe), started with
the server programs of the machine's PostgreSQL (Debian keeps them off ``PATH``, in
``/usr/lib/postgresql/VERSION/bin``) and removed when stopped.

For a test across hosts, the server may run in a network namespace the test made, listening
there on an address of that namespace's private network, which it trusts (no other host is
on it), with settings of the test's own (``-c`` options: the keepalives that drop the
session of a host cut off).

``initdb`` refuses to run as root; as root, the server runs as the user ``postgres`` (through
``runuser``), which then owns the temporary directory. :class:`Unavailable` says why a
cluster cannot be had here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

#: The superuser the cluster is made with.
USER = "isoill"
_SERVER_USER = "postgres"
_DEBIAN = Path("/usr/lib/postgresql")


class Unavailable(Exception):
    """No cluster can be started here; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def server_programs() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: on ``PATH``, or Debian's newest."""
    found = shutil.which("initdb")
    if found is not None and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(
        (path for path in _DEBIAN.glob("*/bin") if (path / "initdb").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise Unavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    return versions[-1]


def url(host: str | Path, database: str = "postgres", user: str = USER) -> str:
    """A libpq URL for ``database`` through the socket directory ``host``."""
    return f"postgresql://{quote(user)}@/{quote(database)}?host={quote(str(host))}"


class Cluster:
    """A cluster of its own in a temporary directory (in ``parent``, or the system's), made
    at once; :meth:`start` it, :meth:`remove` it. ``fsync`` off by default: the tests kill
    clients, never the server. ``netns``: the network namespace the server runs in,
    ``listen``: the address it listens on there (port 5432) and the network it trusts on it
    (``("10.77.0.1", "10.77.0.0/24")``); ``settings``: more server settings."""

    def __init__(
        self,
        *,
        fsync: bool = False,
        parent: Path | None = None,
        netns: str | None = None,
        listen: tuple[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.bin = server_programs()
        self._prefix: list[str] = [] if netns is None else ["ip", "netns", "exec", netns]
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise Unavailable("running as root, and runuser is not installed")
            try:
                pwd.getpwnam(_SERVER_USER)
            except KeyError:
                raise Unavailable(f"running as root, and there is no user {_SERVER_USER}") from None
            self._prefix += ["runuser", "-u", _SERVER_USER, "--"]
        self.directory = Path(tempfile.mkdtemp(prefix="isoill-pg-", dir=parent))
        if self._prefix:
            shutil.chown(self.directory, _SERVER_USER)
        self.data = self.directory / "data"
        self._fsync = fsync
        self._listen = listen
        self._settings = dict(settings or {})
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8",
                "--no-sync",
            )  # fmt: skip
            if listen is not None:
                with (self.data / "pg_hba.conf").open("a") as hba:
                    hba.write(f"host all all {listen[1]} trust\n")
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def url(self, database: str = "postgres") -> str:
        return url(self.directory, database)

    def tcp_url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` at the address the server listens on."""
        assert self._listen is not None, "the cluster listens on its socket alone"
        return f"postgresql://{quote(USER)}@{self._listen[0]}:5432/{quote(database)}"

    def start(self) -> None:
        fsync = "on" if self._fsync else "off"
        listen = "" if self._listen is None else self._listen[0]
        options = f"-c listen_addresses='{listen}' -k {self.directory} -c fsync={fsync}"
        options += "".join(f" -c {name}={value}" for name, value in self._settings.items())
        self._pg_ctl("start", "-o", options)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server if it runs, and remove everything of the cluster."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pg_ctl(self, action: str, *args: str) -> None:
        log = str(self.directory / "log")
        self._run("pg_ctl", action, "-D", str(self.data), "-l", log, "-w", *args)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, str(self.bin / program), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if done.returncode != 0:
            raise Unavailable(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")
