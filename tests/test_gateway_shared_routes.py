"""A routes reload that reaches every gateway on a shared PostgreSQL store: two ``isoill
serve`` processes, each with a configuration directory and a routes file of its own (as on
two hosts). Each exports the sha256 of the routes it routes by (``isoill_routes_info``);
``isoill routes reload`` on one host reloads that host's daemon, which announces it on the
store, and the other reads its own routes file again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_support import Daemon, port_of
from gateway_harness import (
    RecordingPeer,
    exchange,
    routes_for,
    run_cli,
    start_gateway,
    until,
    write_config,
)
from test_gateway_e2e import acknowledged, request
from test_gateway_limits import http_get

pytestmark = pytest.mark.asyncio


@dataclass
class Host:
    directory: Path
    config: Path
    daemon: Daemon
    port: int
    admin: int

    @property
    def routes(self) -> Path:
        return self.directory / "routes.toml"

    async def routes_version(self) -> set[str]:
        """The sha256 values its ``isoill_routes_info`` says 1 for."""
        status, body = await http_get(self.admin, "/metrics")
        assert status == "HTTP/1.0 200 OK"
        prefix = 'isoill_routes_info{sha256="'
        return {
            line[len(prefix) :].split('"', 1)[0]
            for line in body.splitlines()
            if line.startswith(prefix) and line.endswith(" 1.0")
        }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[tuple[RecordingPeer, RecordingPeer]]:
    old, new = await RecordingPeer().start(), await RecordingPeer().start()
    yield old, new
    await old.stop()
    await new.stop()


@pytest_asyncio.fixture
async def hosts(
    tmp_path: Path, postgres_database: str, peers: tuple[RecordingPeer, RecordingPeer]
) -> AsyncIterator[list[Host]]:
    started: list[Host] = []
    try:
        for name in ("a", "b"):
            directory = tmp_path / name
            directory.mkdir()
            extra = '[admin]\nhost = "127.0.0.1"\nport = 0\n'
            config = write_config(
                directory, routes_for({"RESPLIB": [peers[0].address]}), extra=extra
            )
            text = config.read_text().replace(  # one pid file each, as on hosts of their own
                'store = "store.sqlite3"', f'store = "{postgres_database}"\npid_file = "isoill.pid"'
            )
            config.write_text(text)
            daemon = await Daemon.spawn(config)
            started.append(Host(directory, config, daemon, 0, 0))
            started[-1].port = port_of(await daemon.line("listening"))
            started[-1].admin = port_of(await daemon.line("admin endpoint"))
            await until((directory / "isoill.pid").exists)  # found by routes reload
        yield started
    finally:
        for host in started:
            host.daemon.stop()
            await host.daemon.exit()


async def test_a_reload_on_one_host_reaches_the_other_which_reads_its_own_file(
    hosts: list[Host],
    peers: tuple[RecordingPeer, RecordingPeer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = hosts
    old, new = peers
    first = sha256(a.routes)
    assert await a.routes_version() == await b.routes_version() == {first}
    for host in hosts:  # the new file copied to every host, then one reload
        host.routes.write_text(routes_for({"RESPLIB": [new.address]}))
    second = sha256(a.routes)
    assert run_cli(["routes", "reload", "--config", str(a.config)]) == 0
    said = capsys.readouterr().out
    assert f"sha256 {second};" in said and f"reload sent to pid {a.daemon.process.pid};" in said
    assert said.endswith("the gateways sharing its store read their routes files again\n")
    reloaded = await b.daemon.line("routes reloaded", sha256=second)
    assert reloaded["by"].endswith(f":{a.daemon.process.pid}")
    assert await a.routes_version() == await b.routes_version() == {second}
    (answer,) = await exchange(b.port, [request(1)])
    assert acknowledged(answer)
    assert await new.wait_for(1) == [request(1)]
    assert old.received == []


async def test_a_host_whose_file_was_not_changed_says_so_and_shows_its_version(
    hosts: list[Host], peers: tuple[RecordingPeer, RecordingPeer]
) -> None:
    """Only host a's file changed: b, told of a's reload, reads its own file, finds it as it
    was, warns, and goes on exporting its own version: the rollout shows as unfinished."""
    a, b = hosts
    first = sha256(b.routes)
    a.routes.write_text(routes_for({"RESPLIB": [peers[1].address]}))
    assert run_cli(["routes", "reload", "--config", str(a.config)]) == 0
    warned = await b.daemon.line("routes reloaded elsewhere from another file than this host's")
    assert (warned["sha256"], warned["theirs"], warned["changed"]) == (
        first,
        sha256(a.routes),
        False,
    )
    assert await a.routes_version() == {sha256(a.routes)}
    assert await b.routes_version() == {first}


async def test_a_routes_edit_made_in_one_gateways_console_reaches_the_other(
    tmp_path: Path, postgres_database: str, peers: tuple[RecordingPeer, RecordingPeer]
) -> None:
    """The console writes the routes file and has its own process load it
    (``App.apply_routes``, what a routes edit calls once the file is written): the change is
    announced like a SIGHUP's, and the daemon on the other host reads its own file again."""
    old, new = peers
    configs = []
    for name in ("console", "other"):
        directory = tmp_path / name
        directory.mkdir()
        config = write_config(directory, routes_for({"RESPLIB": [old.address]}))
        text = config.read_text().replace(
            'store = "store.sqlite3"', f'store = "{postgres_database}"\npid_file = "isoill.pid"'
        )
        config.write_text(text)
        configs.append(config)
    other = await Daemon.spawn(configs[1])
    try:
        await other.line("listening")
        app = await start_gateway(configs[0])
        try:
            for config in configs:
                (config.parent / "routes.toml").write_text(routes_for({"RESPLIB": [new.address]}))
            assert app.apply_routes()
            changed = sha256(configs[0].parent / "routes.toml")
            reloaded = await other.line("routes reloaded", sha256=changed)
            assert reloaded["by"].endswith(f":{os.getpid()}")
        finally:
            await app.stop()
    finally:
        other.stop()
        await other.exit()
