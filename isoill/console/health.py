"""``GET /metrics`` (Prometheus), ``GET /healthz`` (live: serving, not stopping, the store
reached; else 503 and why) and ``GET /readyz`` (ready: the store answers and the listeners are
bound), open to anyone who reaches the admin listener, as before the console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


@dataclass(frozen=True)
class Health:
    unhealthy: Callable[[], str | None]
    """Why the process does not serve as it should; ``None`` when it does."""
    ready: Callable[[], Awaitable[dict[str, bool]]]
    """Each check by name (``store``, ``listeners``, ...), true when it passes."""


HEALTH = web.AppKey("health", Health)


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def healthz(request: web.Request) -> web.Response:
    problem = request.app[HEALTH].unhealthy()
    if problem is None:
        return web.Response(text="ok\n")
    return web.Response(text=f"unhealthy: {problem}\n", status=503)


async def readyz(request: web.Request) -> web.Response:
    checks = await request.app[HEALTH].ready()
    ready = all(checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
