"""The admin listener's server: one aiohttp application, the health routes always, the
console's when it is on, on one host and port, with TLS if ``[admin] tls`` says so."""

from __future__ import annotations

import ssl

from aiohttp import web

from isoill.console import health
from isoill.console.health import HEALTH, Health


class AdminServer:
    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner

    @property
    def port(self) -> int:
        port: int = self._runner.addresses[0][1]
        return port

    async def close(self) -> None:
        await self._runner.cleanup()


def application(checks: Health, max_body: int = 65536) -> web.Application:
    """The health routes; the console adds its own (:func:`isoill.console.routes.install`)."""
    app = web.Application(client_max_size=max_body)
    app[HEALTH] = checks
    health.add_routes(app)
    return app


async def serve(
    app: web.Application, host: str, port: int, tls: ssl.SSLContext | None = None
) -> AdminServer:
    # No access log: a URL may carry a search for a patron's transaction.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    return AdminServer(runner)
