"""The console's JSON API under ``/api`` (``openapi.json`` describes it): what the pages show
and do, for scripts. A change is a POST with the session's cookie and its CSRF token in the
``X-CSRF-Token`` header; the body is a JSON object."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from isoill.console import inputs, shapes
from isoill.console.auth import LoginRefused, client_address
from isoill.console.keys import GUARD, SERVICE, SETTINGS, visitor
from isoill.service.queries import TransactionSearch
from isoill.service.route_history import digest


async def body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; 415 for another type, 400 for bad JSON or not an object."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send application/json")
    found = await request.json()
    if not isinstance(found, dict):
        raise inputs.InputError("the body must be a JSON object")
    return found


async def login(request: web.Request) -> web.Response:
    values = await body(request)
    name = inputs.text(values, "name")
    password = values.get("password")
    if not isinstance(password, str) or not name:
        raise inputs.InputError("name and password: needed, as strings")
    guard = request.app[GUARD]
    try:
        operator, token = await guard.login(name, password, client_address(request))
    except LoginRefused as refused:
        return web.json_response({"error": str(refused)}, status=refused.status)
    found = guard.visitor(token)
    assert found is not None
    response = web.json_response({"name": operator.name, "role": operator.role, "csrf": found.csrf})
    guard.set_cookie(response, token)
    return response


async def logout(request: web.Request) -> web.Response:
    found = visitor(request)
    guard = request.app[GUARD]
    guard.logout(found.session)
    response = web.json_response({"logged_out": found.operator.name})
    guard.clear_cookie(response)
    return response


async def session(request: web.Request) -> web.Response:
    found = visitor(request)
    return web.json_response(
        {"name": found.operator.name, "role": found.operator.role, "csrf": found.csrf}
    )


async def dashboard(request: web.Request) -> web.Response:
    visitor(request)
    return web.json_response(shapes.dashboard(await request.app[SERVICE].dashboard()))


async def peers(request: web.Request) -> web.Response:
    visitor(request)
    return web.json_response([shapes.peer(view) for view in request.app[SERVICE].peers()])


async def queue(request: web.Request) -> web.Response:
    visitor(request)
    query = request.query
    found = await request.app[SERVICE].messages(
        inputs.optional(query, "state"),
        inputs.optional(query, "peer"),
        inputs.optional(query, "type"),
        inputs.number(query, "limit", 50),
    )
    return web.json_response([shapes.message(view) for view in found])


async def refusals(request: web.Request) -> web.Response:
    visitor(request)
    found = await request.app[SERVICE].refusals(inputs.number(request.query, "limit", 50))
    return web.json_response([shapes.message(view) for view in found])


def _message_id(request: web.Request) -> int:
    return inputs.identifier(request.match_info["id"], "message")


async def resend(request: web.Request) -> web.Response:
    who = visitor(request, "operator").operator.name
    count = await request.app[SERVICE].resend(_message_id(request), who)
    return web.json_response({"message": _message_id(request), "deliveries": count})


async def release(request: web.Request) -> web.Response:
    who = visitor(request, "operator").operator.name
    released = await request.app[SERVICE].release(_message_id(request), who)
    return web.json_response(
        {
            "message": _message_id(request),
            "target": released.target,
            "deliveries": released.deliveries,
        }
    )


async def refuse(request: web.Request) -> web.Response:
    who = visitor(request, "operator").operator.name
    values = await body(request)
    reason = inputs.text(values, "reason") or "refused by the gateway's operator"
    refused = await request.app[SERVICE].refuse(_message_id(request), reason, who)
    return web.json_response(
        {
            "message": _message_id(request),
            "requester": refused.requester,
            "report": refused.report_id,
        }
    )


def search(query: Any) -> TransactionSearch:
    return TransactionSearch(
        inputs.optional(query, "peer"),
        inputs.optional(query, "state"),
        inputs.optional(query, "qualifier"),
        inputs.number(query, "limit", 50),
    )


async def transactions(request: web.Request) -> web.Response:
    visitor(request)
    found = await request.app[SERVICE].transactions(search(request.query))
    return web.json_response([shapes.transaction(record) for record in found])


def reveal(request: web.Request) -> bool:
    """Whether the request asks for patron fields (``patron=show``), which only the roles of
    ``[console] patron_roles`` may."""
    if request.query.get("patron") != "show":
        return False
    found = visitor(request)
    if found.operator.role not in request.app[SETTINGS].patron_roles:
        raise web.HTTPForbidden(reason="your role may not see patron fields")
    return True


async def transaction(request: web.Request) -> web.Response:
    found = visitor(request)
    transaction_id = inputs.identifier(request.match_info["id"], "transaction")
    shown = await request.app[SERVICE].transaction(
        transaction_id, found.operator.name, reveal=reveal(request)
    )
    return web.json_response(shapes.detail(shown))


async def routes(request: web.Request) -> web.Response:
    visitor(request)
    return web.json_response(shapes.routes(await request.app[SERVICE].routes_view()))


async def preview(request: web.Request) -> web.Response:
    visitor(request, "admin")
    proposal = await request.app[SERVICE].propose(inputs.route_edit(await body(request)))
    return web.json_response(
        {
            "diff": proposal.diff,
            "problems": list(proposal.problems),
            "sha256": digest(proposal.before),
        }
    )


async def apply(request: web.Request) -> web.Response:
    who = visitor(request, "admin").operator.name
    values = await body(request)
    expected = inputs.text(values, "sha256")
    version = await request.app[SERVICE].apply(inputs.route_edit(values), who, expected)
    return web.json_response(shapes.version(version))


async def restore(request: web.Request) -> web.Response:
    who = visitor(request, "admin").operator.name
    values = await body(request)
    number = inputs.identifier(request.match_info["number"], "version")
    version = await request.app[SERVICE].restore(number, who, inputs.text(values, "sha256"))
    return web.json_response(shapes.version(version))


async def audit(request: web.Request) -> web.Response:
    visitor(request, "admin")
    limit = inputs.number(request.query, "limit", 100)
    return web.json_response(await request.app[SERVICE].audit_entries(limit))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/dashboard", dashboard)
    app.router.add_get("/api/peers", peers)
    app.router.add_get("/api/queue", queue)
    app.router.add_post("/api/queue/{id}/resend", resend)
    app.router.add_post("/api/queue/{id}/release", release)
    app.router.add_post("/api/queue/{id}/refuse", refuse)
    app.router.add_get("/api/refusals", refusals)
    app.router.add_get("/api/transactions", transactions)
    app.router.add_get("/api/transactions/{id}", transaction)
    app.router.add_get("/api/routes", routes)
    app.router.add_post("/api/routes/preview", preview)
    app.router.add_post("/api/routes", apply)
    app.router.add_post("/api/routes/versions/{number}/restore", restore)
    app.router.add_get("/api/audit", audit)
