"""What the console's handlers share through the application and the request: the service,
the guard, the settings, the templates, the visitor; and the role a handler asks for."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from isoill.config import Console
from isoill.console.auth import CSRF_FIELD, Guard, Visitor
from isoill.service.console import ConsoleService

SERVICE = web.AppKey("console-service", ConsoleService)
GUARD = web.AppKey("console-guard", Guard)
SETTINGS = web.AppKey("console-settings", Console)
TEMPLATES = web.AppKey("console-templates", jinja2.Environment)
VISITOR = web.RequestKey("visitor", Visitor)


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    """The page ``name`` for this request (its visitor, its note, its path) with ``values``."""
    page = request.app[TEMPLATES].get_template(name)
    text = page.render(
        visitor=request.get(VISITOR),
        csrf_field=CSRF_FIELD,
        note=request.query.get("note", "")[:300],
        path=request.path,
        **values,
    )
    return web.Response(text=text, status=status, content_type="text/html")


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def visitor(request: web.Request, role: str = "viewer") -> Visitor:
    """The request's operator, who must have ``role``: else 401 for the API (403 without
    the role), a redirect to the login page for a page."""
    found: Visitor | None = request.get(VISITOR)
    if found is None:
        if is_api(request) or request.method != "GET":
            raise web.HTTPUnauthorized(reason="log in first")
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
    if not found.operator.may(role):
        raise web.HTTPForbidden(reason=f"this needs the {role} role; you are {found.operator.role}")
    return found
