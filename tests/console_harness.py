"""What the console's tests share: a gateway configuration with the admin listener and the
console on 127.0.0.1, operator accounts of each role, and an HTTP client that logs in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from gateway_harness import routes_for, write_config

from isoill.access import operators
from isoill.access.operators import Operator
from isoill.access.passwords import hash_password

#: Name and password of an account of each role.
ACCOUNTS = {role: (role, f"{role}-password") for role in operators.ROLES}

CONSOLE = """
[admin]
host = "127.0.0.1"
port = {port}

[console]
accounts = "operators.toml"
login_delay = 0.01
login_max_delay = 0.05
login_lockout_after = 5
"""


def write_accounts(directory: Path) -> Path:
    path = directory / "operators.toml"
    operators.save(
        path,
        {
            name: Operator(name, role, hash_password(password.encode()))
            for role, (name, password) in ACCOUNTS.items()
        },
    )
    return path


def console_config(
    directory: Path,
    routes: dict[str, list[str]],
    *,
    extra: str = "",
    port: int = 0,
    hold: bool = False,
    attempts: int = 50,
) -> Path:
    """The gateway harness's configuration with the console on, and the accounts; a
    delivery fails after ``attempts``."""
    write_accounts(directory)
    config = write_config(directory, routes_for(routes), extra=CONSOLE.format(port=port) + extra)
    config.write_text(config.read_text().replace("max_attempts = 50", f"max_attempts = {attempts}"))
    if hold:
        config.write_text("hold_unknown_requesters = true\n" + config.read_text())
    return config


class Client:
    """An HTTP client of the admin listener with a cookie jar; ``csrf`` once logged in."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, an IP address
        self.http = aiohttp.ClientSession(cookie_jar=jar)
        self.csrf = ""

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    async def login(self, role: str) -> Client:
        name, password = ACCOUNTS[role]
        status, body = await self.post("/api/login", {"name": name, "password": password})
        assert status == 200, body
        self.csrf = body["csrf"]
        return self

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, params=params) as response:
            return response.status, await _body(response)

    async def post(
        self, path: str, json: object | None = None, *, csrf: bool = True
    ) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        async with self.http.post(self.base + path, json=json, headers=headers) as response:
            return response.status, await _body(response)


async def _body(response: aiohttp.ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    return await response.text()
