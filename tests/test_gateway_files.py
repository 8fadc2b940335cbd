"""The daemon's files are its user's alone: under umask 000 the store, its -wal and -shm, the
capture file and the pid file are created 0600 in 0700 directories; a store or credentials
file that others may read is refused at start, with the chmod that fixes it."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from gateway_harness import RecordingPeer, exchange, routes_for, spawn_daemon, until, write_config
from transaction_apdus import apdu

from isoill import private

pytestmark = pytest.mark.asyncio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def gateway_config(directory: Path, peer: RecordingPeer) -> Path:
    """Store and capture in directories the daemon makes itself."""
    config = write_config(
        directory,
        routes_for({"RESPLIB": [peer.address]}),
        extra='[capture]\ndirectory = "var/captures"\n',
    )
    text = config.read_text().replace('store = "store.sqlite3"', 'store = "var/db/store.sqlite3"')
    config.write_text(text)
    return config


async def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    peer = await RecordingPeer().start()
    process = await spawn_daemon(gateway_config(tmp_path, peer), umask=0)
    try:
        assert process.stderr is not None
        line = {"event": ""}
        while line["event"] != "listening":  # after "recording"
            line = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
        port = int(line["address"].rsplit(":", 1)[1])
        await exchange(port, [apdu("ILL-Request", "PRIVATE")])
        await peer.wait_for(1)
        var = tmp_path / "var"
        store = var / "db" / "store.sqlite3"
        await until((var / "db" / "isoill.pid").exists)
        (capture,) = (var / "captures").iterdir()
        files = [store, store.with_name("store.sqlite3-wal"), store.with_name("store.sqlite3-shm")]
        assert {path.name: mode(path) for path in [*files, capture, var / "db" / "isoill.pid"]} == {
            path.name: 0o600 for path in [*files, capture, var / "db" / "isoill.pid"]
        }
        assert {d.name: mode(d) for d in (var, var / "db", var / "captures")} == {
            "var": 0o700,
            "db": 0o700,
            "captures": 0o700,
        }
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        await peer.stop()


@pytest.mark.parametrize("name", ["store.sqlite3", "credentials.toml"])
async def test_a_file_others_can_read_is_refused_at_start(tmp_path: Path, name: str) -> None:
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    exposed = tmp_path / name
    exposed.write_text("")
    exposed.chmod(0o644)
    try:
        process = await spawn_daemon(config)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        await peer.stop()
    assert process.returncode == 3
    assert err.decode() == (
        f"isoill: {exposed} is open to other users (mode 0644); it must be the daemon user's"
        f" alone: chmod 600 {exposed}\n"
    )
    exposed.chmod(0o600)
    assert private.exposed(exposed) is None
