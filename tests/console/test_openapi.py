"""The API's OpenAPI file (isoill/console/openapi.json) against the running console:
schemathesis generates requests from each operation's description, sends them to a gateway
on loopback, logged in as an admin, and checks every answer against the file (a documented
status, content type and body, and never a server error)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from console_harness import ACCOUNTS, console_config
from gateway_harness import start_gateway
from hypothesis import HealthCheck, given, settings

from isoill.app import App

SCHEMA = schemathesis.openapi.from_path(
    str(resources.files("isoill.console").joinpath("openapi.json"))
)
#: Left out: a login's and a logout's fuzzing would end the session the others run in (both
#: are tested in tests/console/test_api.py).
SKIPPED = {"/api/login", "/api/logout"}
OPERATIONS = [
    operation
    for operation in (result.ok() for result in SCHEMA.get_all_operations())  # type: ignore[union-attr]
    if operation.path not in SKIPPED
]


class Running:
    """A gateway in a thread of its own, with its own event loop."""

    def __init__(self, config: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.app: App | None = None
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.app = self.loop.run_until_complete(start_gateway(config))
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(30)

    def stop(self) -> None:
        assert self.app is not None
        asyncio.run_coroutine_threadsafe(self.app.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, requests.Session]]:
    directory = tmp_path_factory.mktemp("openapi")
    running = Running(console_config(directory, {"RESPLIB": ["127.0.0.1:9"]}))
    assert running.app is not None and running.app.admin_port is not None
    base = f"http://127.0.0.1:{running.app.admin_port}"
    session = requests.Session()
    name, password = ACCOUNTS["admin"]
    answer = session.post(
        f"{base}/api/login", json={"name": name, "password": password}, timeout=10
    )
    assert answer.status_code == 200
    session.headers["X-CSRF-Token"] = answer.json()["csrf"]
    try:
        yield base, session
    finally:
        session.close()
        running.stop()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_the_server_answers_as_its_openapi_file_says(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], console: tuple[str, requests.Session]
) -> None:
    base, session = console

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base, session=session, timeout=10)
        case.validate_response(response)

    check()
