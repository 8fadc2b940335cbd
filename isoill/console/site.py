"""The console on the admin application: its routes, and the middleware every request of it
passes: errors answered with a clear status (JSON under ``/api``, a page elsewhere) and nothing
changed, security headers, the session, and the CSRF token on every change."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from isoill.config import Console
from isoill.console import api, pages
from isoill.console.auth import COOKIE, CSRF_FIELD, CSRF_HEADER, Guard
from isoill.console.inputs import InputError
from isoill.console.keys import GUARD, SERVICE, SETTINGS, TEMPLATES, VISITOR, is_api, render
from isoill.ill.transaction_id import shown
from isoill.service.console import ConsoleService, RouteChangeError
from isoill.service.operations import OperationError
from isoill.service.queries import QueryError
from isoill.service.route_history import HistoryError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Changes that need no session: the login itself (throttled instead).
_NO_CSRF = frozenset({"/login", "/api/login"})
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_OPENAPI = resources.files("isoill.console").joinpath("openapi.json").read_bytes()
_CSS = resources.files("isoill.console").joinpath("static/console.css").read_bytes()


def install(app: web.Application, service: ConsoleService, settings: Console, guard: Guard) -> None:
    app[SERVICE] = service
    app[SETTINGS] = settings
    app[GUARD] = guard
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("isoill.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["when"] = _when
    templates.filters["shown"] = shown
    app[TEMPLATES] = templates
    app.middlewares.extend([_errors, _headers, _session])
    app.router.add_get("/api/openapi.json", _openapi)
    app.router.add_get("/console.css", _css)
    api.add_routes(app)
    pages.add_routes(app)


def error_response(request: web.Request, status: int, message: str, **extra: Any) -> web.Response:
    if is_api(request):
        return web.json_response({"error": message, **extra}, status=status)
    return render(request, "error.html", status, code=status, message=message, **extra)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (InputError, QueryError) as error:
        return error_response(request, 400, str(error))
    except (OperationError, HistoryError) as error:
        return error_response(request, 409, str(error))
    except RouteChangeError as error:
        return error_response(
            request, 422, "the routes change was refused", problems=error.problems
        )
    except json.JSONDecodeError as error:
        return error_response(request, 400, f"the body is not JSON: {error.msg}")
    except web.HTTPRequestEntityTooLarge:
        return error_response(request, 413, "the request body is too large")
    except web.HTTPRedirection:
        raise
    except web.HTTPException as error:
        return error_response(request, error.status, error.reason)


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(_HEADERS)
    return response


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking, and, for a change, whether its CSRF token is the session's."""
    guard = request.app[GUARD]
    visitor = guard.visitor(request.cookies.get(COOKIE))
    if visitor is not None:
        request[VISITOR] = visitor
    if request.method not in _SAFE and request.path not in _NO_CSRF:
        if visitor is None:
            raise web.HTTPUnauthorized(reason="log in first")
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            field = form.get(CSRF_FIELD)
            token = field if isinstance(field, str) else None
        if not guard.csrf_ok(visitor, token):
            raise web.HTTPForbidden(reason="the CSRF token is missing or wrong: nothing changed")
    return await handler(request)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(body=_OPENAPI, content_type="application/json")


async def _css(request: web.Request) -> web.Response:
    return web.Response(body=_CSS, content_type="text/css")
