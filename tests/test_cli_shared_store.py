"""The operators' commands against a PostgreSQL store that two running gateways share
(``isoill serve`` processes of their own, each with its own configuration directory as on
two hosts): ``isoill queue list``, ``resend``, ``release`` and ``refuse``, ``isoill tx list``
and ``show``, by ``--db URL`` and by a configuration whose store is the URL. What they
queue is delivered by whichever gateway holds the address."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from daemon_support import Daemon, port_of
from gateway_harness import RecordingPeer, exchange, ill_request, routes_for, run_cli, write_config
from test_gateway_e2e import acknowledged

from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()
        await daemon.exit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def host_config(directory: Path, store: str, routes: str) -> Path:
    """One host's configuration on the shared ``store``: REQLIB a configured peer, held
    requests from the others, one attempt per delivery."""
    directory.mkdir()
    config = write_config(directory, routes, extra="[peers.REQLIB]\n")
    text = config.read_text().replace(
        'store = "store.sqlite3"', f'store = "{store}"\nhold_unknown_requesters = true'
    )
    config.write_text(text.replace("max_attempts = 50", "max_attempts = 1"))
    return config


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert run_cli([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cli_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert run_cli(list(argv)) == 0
    return capsys.readouterr().out


@dataclass
class Hosts:
    """Two gateways on one store, each with its configuration, and the targets."""

    store: str
    configs: list[Path]
    ports: list[int]
    responder: RecordingPeer
    newlib: RecordingPeer
    down: int  # DOWNLIB's port, where nothing listens


@pytest_asyncio.fixture
async def hosts(
    tmp_path: Path, postgres_database: str, daemons: list[Daemon]
) -> AsyncIterator[Hosts]:
    responder, newlib = await RecordingPeer().start(), await RecordingPeer().start()
    down = free_port()
    routes = routes_for(
        {
            "RESPLIB": [responder.address],
            "NEWLIB": [newlib.address],
            "DOWNLIB": [f"127.0.0.1:{down}"],
        }
    )
    configs = [host_config(tmp_path / name, postgres_database, routes) for name in ("a", "b")]
    try:
        for config in configs:
            daemons.append(await Daemon.spawn(config))
        ports = [port_of(await daemon.line("listening")) for daemon in daemons]
        yield Hosts(postgres_database, configs, ports, responder, newlib, down)
    finally:
        await responder.stop()
        await newlib.stop()


async def test_held_requests_released_and_refused_from_either_host(
    hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    store, configs = hosts.store, hosts.configs
    for number in (1, 2):  # held, by the first gateway
        (answer,) = await exchange(hosts.ports[0], [ill_request(number, "NEWLIB")])
        assert acknowledged(answer)
    held = cli_json(capsys, "queue", "list", "--state", "held", "--db", store)
    assert len(held) == 2 and {m["target_symbol"] for m in held} == {"RESPLIB"}
    text = cli_text(capsys, "queue", "list", "--config", str(configs[1]))
    assert all(f"TX-000{n}" in text for n in (1, 2))
    # Released on host b: delivered by whichever gateway holds RESPLIB's address.
    second, first = held  # newest first
    out = cli_text(capsys, "queue", "release", str(first["id"]), "--config", str(configs[1]))
    assert f"message {first['id']}: released to RESPLIB, 1 delivery due now" in out
    assert await hosts.responder.wait_for(1) == [ill_request(1, "NEWLIB")]
    # Refused on host a: the report to NEWLIB is queued and delivered.
    refuse = ["queue", "refuse", str(second["id"]), "--reason", "not a member"]
    out = cli_text(capsys, *refuse, "--config", str(configs[0]))
    assert "refused; report to NEWLIB queued" in out
    (report_ber,) = await hosts.newlib.wait_for(1)
    report = decode(report_ber)
    assert isinstance(report, StatusOrErrorReport) and "not a member" in str(report.note)

    transactions = cli_json(capsys, "tx", "list", "--db", store)
    qualifiers = sorted(t["transaction_id"]["qualifier"] for t in transactions)
    assert qualifiers == ["TX-0001", "TX-0002"]
    (refused,) = cli_json(capsys, "tx", "list", "--qualifier", "TX-0002", "--db", store)
    shown = cli_json(capsys, "tx", "show", str(refused["id"]), "--config", str(configs[1]))
    request, report_row = shown["messages"]
    assert (request["apdu_type"], request["state"]) == ("ILL-Request", "refused")
    assert (report_row["apdu_type"], report_row["peer"]) == ("Status-Or-Error-Report", "isoill")
    assert report_row["state"] in {"pending", "delivered"}  # its outcome is committed lazily
    (delivery,) = report_row["deliveries"]
    assert delivery["address"] == hosts.newlib.address
    text = cli_text(capsys, "tx", "show", str(refused["id"]), "--db", store)
    assert "not a member" in text


async def test_a_failed_delivery_is_resent_from_the_shared_store(
    hosts: Hosts, capsys: pytest.CaptureFixture[str]
) -> None:
    request = ill_request(3, "REQLIB", "DOWNLIB")
    (answer,) = await exchange(hosts.ports[1], [request])
    assert acknowledged(answer)
    failed: list[Any] = []
    async with asyncio.timeout(20):  # its one attempt, by either gateway
        while not failed:
            await asyncio.sleep(0.1)
            failed = cli_json(capsys, "queue", "list", "--state", "failed", "--db", hosts.store)
    (failing,) = failed
    assert failing["deliveries"][0]["address"] == f"127.0.0.1:{hosts.down}"
    target = await RecordingPeer().start(hosts.down)
    try:
        resend = ["queue", "resend", str(failing["id"])]
        out = cli_text(capsys, *resend, "--config", str(hosts.configs[0]))
        assert f"message {failing['id']}: 1 delivery due now" in out
        assert await target.wait_for(1) == [request]
    finally:
        await target.stop()
    (record,) = cli_json(capsys, "tx", "list", "--peer", "DOWNLIB", "--db", hosts.store)
    assert record["responder_symbol"] == "DOWNLIB"


async def test_an_unknown_id_or_database_on_postgresql_exits_with_status_3(
    postgres: Any, postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["tx", "show", "4242", "--db", postgres_database]) == 3
    assert run_cli(["queue", "resend", "4242", "--db", postgres_database]) == 3
    missing = postgres.url("isoill_no_such_database")
    assert run_cli(["queue", "list", "--db", missing]) == 3
    err = capsys.readouterr().err
    assert "isoill_no_such_database" in err
