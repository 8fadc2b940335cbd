"""The console's JSON API against a gateway in this process and recording peers on loopback:
each operation does what the command of the same name does (the same functions run), reads
are filtered as asked, every change is audited, patron fields stay masked unless a role that
may see them asks, and a viewer changes nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from console_harness import Client, console_config
from gateway_harness import RecordingPeer, exchange, ill_request, start_gateway

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport

pytestmark = pytest.mark.asyncio

KNOWN = '[peers.REQLIB]\nconnection = "per-apdu"\n'


class Setup:
    def __init__(self, app: App, target: RecordingPeer, newlib: RecordingPeer, directory: Path):
        self.app, self.target, self.newlib, self.directory = app, target, newlib, directory

    @property
    def port(self) -> int:
        port = self.app.admin_port
        assert port is not None
        return port

    async def send(self, *apdus: bytes) -> None:
        """Each APDU on a connection of its own (REQLIB connects per APDU), acknowledged."""
        for apdu in apdus:
            (answer,) = await exchange(self.app.ports[0], [apdu])
            report = decode(answer)
            assert isinstance(report, StatusOrErrorReport) and report.error_report is None

    def audit(self) -> list[dict[str, object]]:
        path = self.directory / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    target, newlib = await RecordingPeer().start(), await RecordingPeer().start()
    routes = {"RESPLIB": [target.address], "NEWLIB": [newlib.address]}
    app = await start_gateway(console_config(tmp_path, routes, extra=KNOWN, hold=True))
    try:
        yield Setup(app, target, newlib, tmp_path)
    finally:
        await app.stop()
        await target.stop()
        await newlib.stop()


async def held_ids(client: Client) -> list[int]:
    status, messages = await client.get("/api/queue", state="held")
    assert status == 200
    return [message["id"] for message in messages]


async def test_nothing_is_answered_before_a_login(setup: Setup) -> None:
    async with Client(setup.port) as client:
        for path in ("/api/dashboard", "/api/queue", "/api/transactions/1", "/api/routes"):
            assert (await client.get(path))[0] == 401
        assert (await client.post("/api/queue/1/release", {}))[0] == 401
        status, body = await client.post("/api/login", {"name": "admin", "password": "wrong"})
        assert (status, body) == (401, {"error": "wrong name or password"})
        status, body = await client.post("/api/login", {"name": "nobody", "password": "x"})
        assert status == 401
        assert (await client.get("/healthz")) == (200, "ok\n")
        status, ready = await client.get("/readyz")
        assert (status, ready["ready"]) == (200, True)
        assert set(ready["checks"]) == {"store", "listeners", "delivery"}


async def test_failed_logins_are_throttled_then_locked_out(setup: Setup) -> None:
    async with Client(setup.port) as client:
        for _ in range(5):  # login_lockout_after = 5 in the harness
            assert (await client.post("/api/login", {"name": "admin", "password": "no"}))[0] == 401
        status, body = await client.post(
            "/api/login", {"name": "admin", "password": "admin-password"}
        )
        assert (status, body) == (429, {"error": "too many failed logins: try again later"})


async def test_a_session_is_a_cookie_the_page_cannot_read_and_ends_at_logout(
    setup: Setup,
) -> None:
    async with Client(setup.port) as client:
        async with client.http.post(
            client.base + "/api/login", json={"name": "viewer", "password": "viewer-password"}
        ) as response:
            cookie = response.headers["Set-Cookie"]
            body = await response.json()
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        client.csrf = body["csrf"]
        status, session = await client.get("/api/session")
        assert (status, session) == (200, {"name": "viewer", "role": "viewer", "csrf": client.csrf})
        assert (await client.post("/api/logout", {}, csrf=False))[0] == 403  # a change: CSRF
        assert (await client.post("/api/logout", {}))[0] == 200
        assert (await client.get("/api/session"))[0] == 401


async def test_release_sends_a_held_request_to_its_target(setup: Setup) -> None:
    await setup.send(ill_request(1, "NEWLIB"))
    async with Client(setup.port) as operator:
        await operator.login("operator")
        (held,) = await held_ids(operator)
        status, body = await operator.get("/api/dashboard")
        assert status == 200 and body["counts"]["held"] == 1
        assert sum(body["traffic"]["counts"]) == 1
        status, released = await operator.post(f"/api/queue/{held}/release", {})
        assert (status, released) == (200, {"message": held, "target": "RESPLIB", "deliveries": 1})
        assert await setup.target.wait_for(1, 5) == [ill_request(1, "NEWLIB")]
        status, again = await operator.post(f"/api/queue/{held}/release", {})
        assert status == 409 and "not held" in again["error"]
    (entry,) = setup.audit()
    assert (entry["who"], entry["action"], entry["message"]) == ("operator", "release", held)


async def test_refuse_tells_the_requester(setup: Setup) -> None:
    await setup.send(ill_request(2, "NEWLIB"))
    async with Client(setup.port) as operator:
        await operator.login("operator")
        (held,) = await held_ids(operator)
        status, refused = await operator.post(f"/api/queue/{held}/refuse", {"reason": "who?"})
        assert status == 200 and refused["requester"] == "NEWLIB"
        (report,) = await setup.newlib.wait_for(1, 5)
        assert isinstance(decode(report), StatusOrErrorReport)
        status, refusals = await operator.get("/api/refusals")
        assert [(m["id"], m["reason"]) for m in refusals] == [(held, "who?")]
    assert [e["action"] for e in setup.audit()] == ["refuse"]


async def test_a_viewer_reads_but_changes_nothing(setup: Setup) -> None:
    await setup.send(ill_request(3, "NEWLIB"))
    async with Client(setup.port) as viewer:
        await viewer.login("viewer")
        (held,) = await held_ids(viewer)
        for action, body in (("release", {}), ("refuse", {"reason": "x"}), ("resend", {})):
            status, answer = await viewer.post(f"/api/queue/{held}/{action}", body)
            assert status == 403 and "operator role" in answer["error"]
        status, routes = await viewer.get("/api/routes")
        edit = {"symbol": "RESPLIB", "addresses": ["127.0.0.1:1"], "sha256": routes["sha256"]}
        assert (await viewer.post("/api/routes", edit))[0] == 403
        assert (await viewer.post("/api/routes/preview", edit))[0] == 403
        assert (await viewer.get("/api/audit"))[0] == 403
        assert await held_ids(viewer) == [held]
    assert setup.audit() == []


async def test_a_change_without_its_csrf_token_is_refused(setup: Setup) -> None:
    await setup.send(ill_request(4, "NEWLIB"))
    async with Client(setup.port) as operator:
        await operator.login("operator")
        (held,) = await held_ids(operator)
        status, body = await operator.post(f"/api/queue/{held}/release", {}, csrf=False)
        assert status == 403 and "CSRF" in body["error"]
        operator.csrf = "forged"
        assert (await operator.post(f"/api/queue/{held}/release", {}))[0] == 403
        assert await held_ids(operator) == [held]
    assert setup.audit() == []


async def test_transactions_are_searched_and_shown_decoded_and_masked(setup: Setup) -> None:
    await setup.send(ill_request(5, "REQLIB"), ill_request(6, "REQLIB"))
    await setup.target.wait_for(2, 5)
    async with Client(setup.port) as viewer, Client(setup.port) as admin:
        await viewer.login("viewer")
        await admin.login("admin")
        status, found = await viewer.get("/api/transactions", qualifier="TX-0005")
        assert status == 200 and [t["transaction_id"]["qualifier"] for t in found] == ["TX-0005"]
        assert len((await viewer.get("/api/transactions", peer="reqlib"))[1]) == 2
        assert len((await viewer.get("/api/transactions", peer="nobody"))[1]) == 0
        assert len((await viewer.get("/api/transactions", state="pending"))[1]) == 2
        status, detail = await viewer.get(f"/api/transactions/{found[0]['id']}")
        assert status == 200 and detail["patron_fields"] == "masked"
        (message,) = detail["messages"]
        request = message["apdu"]["ILL-Request"]
        assert request["client-id"] == "(masked)"
        assert request["item-id"]["title"] == "The Left Hand of Darkness"
        assert "Jane Patron" not in json.dumps(detail)
        assert [(s["requester"], s["responder"]) for s in detail["steps"]] == [
            ("PENDING", "IN-PROCESS")
        ]
        status, _ = await viewer.get(f"/api/transactions/{found[0]['id']}", patron="show")
        assert status == 403
        status, shown = await admin.get(f"/api/transactions/{found[0]['id']}", patron="show")
        assert status == 200 and shown["patron_fields"] == "shown"
        client = shown["messages"][0]["apdu"]["ILL-Request"]["client-id"]
        assert client["client-name"] == "Jane Patron"
        assert (await viewer.get("/api/transactions/999"))[0] == 400
    (entry,) = setup.audit()
    assert (entry["who"], entry["action"]) == ("admin", "show-patron-data")
    assert "Jane" not in json.dumps(entry)


async def test_the_queue_is_filtered_by_state_peer_and_type(setup: Setup) -> None:
    await setup.send(ill_request(7, "REQLIB"), ill_request(8, "NEWLIB"))
    await setup.target.wait_for(1, 5)
    async with Client(setup.port) as viewer:
        await viewer.login("viewer")
        peers = [m["peer"] for m in (await viewer.get("/api/queue", peer="newlib"))[1]]
        assert peers == ["NEWLIB"]
        assert len((await viewer.get("/api/queue", peer="RESPLIB"))[1]) == 2  # the target
        assert len((await viewer.get("/api/queue", type="ILL-Request"))[1]) == 2
        assert (await viewer.get("/api/queue", type="Shipped"))[1] == []
        assert (await viewer.get("/api/queue", state="nonsense"))[0] == 400
        assert (await viewer.get("/api/queue", limit="0"))[0] == 400
        status, peers_view = await viewer.get("/api/peers")
        assert status == 200
        reqlib = next(p for p in peers_view if p["symbol"] == "REQLIB")
        assert reqlib["configured"] and reqlib["sender_profile"]["name"] == "permissive"


async def test_a_route_edit_is_previewed_applied_kept_and_restored(
    setup: Setup, tmp_path: Path
) -> None:
    other = await RecordingPeer().start()
    routes_file = tmp_path / "routes.toml"
    try:
        async with Client(setup.port) as admin:
            await admin.login("admin")
            status, routes = await admin.get("/api/routes")
            original = routes["text"]
            edit = {"symbol": "resplib", "addresses": [other.address], "sha256": routes["sha256"]}
            status, proposal = await admin.post("/api/routes/preview", edit)
            assert status == 200 and proposal["problems"] == []
            assert f'+addresses = ["{other.address}"]' in proposal["diff"]
            status, version = await admin.post("/api/routes", edit)
            assert (status, version["who"], version["number"]) == (200, "admin", 2)
            await setup.send(ill_request(9, "REQLIB"))
            assert await other.wait_for(1, 5) == [ill_request(9, "REQLIB")]
            assert setup.target.received == []
            status, stale = await admin.post("/api/routes", edit)  # made on the old file
            assert status == 409 and "changed since" in stale["error"]

            # a move window under way: both addresses receive
            status, routes = await admin.get("/api/routes")
            now = datetime.now(UTC)
            move = {
                "symbol": "RESPLIB",
                "addresses": [other.address],
                "move_to": [setup.target.address],
                "move_start": (now - timedelta(hours=1)).isoformat(),
                "move_cutover": (now + timedelta(days=1)).isoformat(),
                "sha256": routes["sha256"],
            }
            assert (await admin.post("/api/routes", move))[0] == 200
            status, routes = await admin.get("/api/routes")
            (row,) = [r for r in routes["routes"] if r["symbol"] == "RESPLIB"]
            assert row["phase"] == "during" and len(row["changes"]) == 2
            await setup.send(ill_request(10, "REQLIB"))
            assert len(await other.wait_for(2, 5)) == 2
            assert await setup.target.wait_for(1, 5) == [ill_request(10, "REQLIB")]

            # back to the file as it was found
            versions = routes["versions"]
            assert [v["number"] for v in versions] == [3, 2, 1]
            status, restored = await admin.post(
                "/api/routes/versions/1/restore", {"sha256": routes["sha256"]}
            )
            assert status == 200 and restored["note"] == "restore version 1"
            assert routes_file.read_text() == original
            await setup.send(ill_request(11, "REQLIB"))
            assert len(await setup.target.wait_for(2, 5)) == 2
            assert len(other.received) == 2

            bad = {"symbol": "RESPLIB", "addresses": ["127.0.0.1:70000"], "sha256": "x"}
            status, refused = await admin.post("/api/routes", bad)
            assert status == 422
            assert refused["problems"] == [
                "peer RESPLIB: addresses: '127.0.0.1:70000': the port must be 1..65535"
            ]
            assert routes_file.read_text() == original
        actions = [e["action"] for e in setup.audit()]
        assert actions == ["routes-edit", "routes-edit", "routes-restore"]
        assert setup.audit()[0]["before"] == original
    finally:
        await other.stop()


async def test_a_failed_delivery_is_resent(tmp_path: Path) -> None:
    target = RecordingPeer()
    await target.start()
    address = target.address
    await target.stop()  # nobody listens there until the resend
    config = console_config(tmp_path, {"RESPLIB": [address]}, extra=KNOWN, attempts=1)
    app = await start_gateway(config)
    try:
        await exchange(app.ports[0], [ill_request(12, "REQLIB")])
        async with Client(app.admin_port or 0) as operator:
            await operator.login("operator")

            async def failed() -> list[int]:
                return [m["id"] for m in (await operator.get("/api/queue", state="failed"))[1]]

            async with asyncio.timeout(10):
                while not await failed():
                    await asyncio.sleep(0.05)
            (message,) = await failed()
            status, board = await operator.get("/api/dashboard")
            (resplib,) = board["peers"]
            assert resplib["addresses"][0]["reachable"] is False
            assert resplib["addresses"][0]["last_error"] is not None
            await target.start(int(address.rpartition(":")[2]))
            status, body = await operator.post(f"/api/queue/{message}/resend", {})
            assert (status, body) == (200, {"message": message, "deliveries": 1})
            assert await target.wait_for(1, 5) == [ill_request(12, "REQLIB")]
    finally:
        await app.stop()
        await target.stop()


async def test_a_routes_change_is_signalled_to_the_supervisor(setup: Setup) -> None:
    """With ``serve --workers``, the pid file names the supervisor: it is sent SIGHUP, which it
    forwards to every worker. A process standing in for it records the signal."""
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import signal, sys, time\n"
        "signal.signal(signal.SIGHUP, lambda *_: (print('SIGHUP', flush=True), sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n",
        stdout=asyncio.subprocess.PIPE,
    )
    assert supervisor.stdout is not None
    try:
        assert await supervisor.stdout.readline() == b"ready\n"
        setup.app.config.pid_file.write_text(f"{supervisor.pid}\n")
        assert setup.app.apply_routes()
        async with asyncio.timeout(10):
            assert await supervisor.stdout.readline() == b"SIGHUP\n"
            assert await supervisor.wait() == 0
    finally:
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()
        setup.app.config.pid_file.unlink(missing_ok=True)
