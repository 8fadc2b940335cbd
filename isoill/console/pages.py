"""The console's pages: server-rendered (Jinja2, autoescaped), plain forms, no JavaScript.
Every form that changes something carries the session's CSRF token, and after a change the
browser is sent on to a page that shows its outcome (post, redirect, get)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from isoill.console import charts, inputs
from isoill.console.api import reveal, search
from isoill.console.auth import LoginRefused, client_address
from isoill.console.keys import GUARD, SERVICE, SETTINGS, render, visitor
from isoill.service.route_history import digest
from isoill.store.records import MESSAGE_STATES


def _back(path: str, note: str, **query: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{path}?{urlencode({**query, 'note': note})}")


def _local(target: str) -> str:
    """A redirect target on this site only (``/queue``, never ``//elsewhere``)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", next=_local(request.query.get("next", "/")), error="")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name = inputs.text(form, "name")
    password = form.get("password")
    target = _local(inputs.text(form, "next") or "/")
    guard = request.app[GUARD]
    if not isinstance(password, str) or not name:
        return render(request, "login.html", 400, next=target, error="name and password: needed")
    try:
        _, token = await guard.login(name, password, client_address(request))
    except LoginRefused as refused:
        return render(request, "login.html", refused.status, next=target, error=str(refused))
    response = web.HTTPSeeOther(target)
    guard.set_cookie(response, token)
    raise response


async def logout(request: web.Request) -> web.Response:
    found = visitor(request)
    guard = request.app[GUARD]
    guard.logout(found.session)
    response = web.HTTPSeeOther("/login")
    guard.clear_cookie(response)
    raise response


async def dashboard(request: web.Request) -> web.Response:
    visitor(request)
    board = await request.app[SERVICE].dashboard()
    bars = charts.traffic_bars(board.traffic, board.traffic_since, board.traffic_step)
    return render(
        request, "dashboard.html", board=board, bars=bars, width=charts.WIDTH, height=charts.HEIGHT
    )


async def queue(request: web.Request) -> web.Response:
    visitor(request)
    query = request.query
    state = inputs.optional(query, "state")
    peer = inputs.optional(query, "peer")
    apdu_type = inputs.optional(query, "type")
    found = await request.app[SERVICE].messages(
        state, peer, apdu_type, inputs.number(query, "limit", 50)
    )
    return render(
        request,
        "queue.html",
        messages=found,
        states=MESSAGE_STATES,
        state=state or "",
        peer=peer or "",
        apdu_type=apdu_type or "",
    )


async def act(request: web.Request) -> web.Response:
    """Resend, release or refuse one message, then back to the queue it was done from."""
    who = visitor(request, "operator").operator.name
    message_id = inputs.identifier(request.match_info["id"], "message")
    action = request.match_info["action"]
    form = await request.post()
    service = request.app[SERVICE]
    back = inputs.text(form, "state")
    if action == "resend":
        count = await service.resend(message_id, who)
        note = f"message {message_id}: {count} deliveries due now"
    elif action == "release":
        released = await service.release(message_id, who)
        note = f"message {message_id}: released to {released.target}"
    else:
        reason = inputs.text(form, "reason") or "refused by the gateway's operator"
        refused = await service.refuse(message_id, reason, who)
        told = (
            f"report {refused.report_id} queued to {refused.requester}"
            if refused.report_id is not None
            else "the requester could not be told (no route)"
        )
        note = f"message {message_id}: refused; {told}"
    raise _back("/queue", note, state=back)


async def refusals(request: web.Request) -> web.Response:
    visitor(request)
    found = await request.app[SERVICE].refusals(inputs.number(request.query, "limit", 50))
    return render(request, "refusals.html", messages=found)


async def transactions(request: web.Request) -> web.Response:
    visitor(request)
    wanted = search(request.query)
    found = await request.app[SERVICE].transactions(wanted)
    return render(request, "transactions.html", records=found, search=wanted)


async def transaction(request: web.Request) -> web.Response:
    found = visitor(request)
    transaction_id = inputs.identifier(request.match_info["id"], "transaction")
    shown = await request.app[SERVICE].transaction(
        transaction_id, found.operator.name, reveal=reveal(request)
    )
    may_reveal = found.operator.role in request.app[SETTINGS].patron_roles
    return render(request, "transaction.html", detail=shown, may_reveal=may_reveal)


async def routes(request: web.Request) -> web.Response:
    visitor(request)
    view = await request.app[SERVICE].routes_view()
    windows = {
        row.symbol: charts.move_window(row.changes[0].at, row.changes[1].at, view.now)
        for row in view.effective
        if len(row.changes) == 2
    }
    return render(request, "routes.html", view=view, windows=windows, width=charts.WIDTH)


async def preview(request: web.Request) -> web.Response:
    visitor(request, "admin")
    edit = inputs.route_edit(await request.post())
    proposal = await request.app[SERVICE].propose(edit)
    return render(
        request,
        "route_preview.html",
        422 if proposal.problems else 200,
        proposal=proposal,
        fields=inputs.edit_fields(edit),
        sha256=digest(proposal.before),
    )


async def apply(request: web.Request) -> web.Response:
    who = visitor(request, "admin").operator.name
    form = await request.post()
    edit = inputs.route_edit(form)
    version = await request.app[SERVICE].apply(edit, who, inputs.text(form, "sha256"))
    raise _back("/routes", f"routes version {version.number} applied: {version.note}")


async def restore(request: web.Request) -> web.Response:
    who = visitor(request, "admin").operator.name
    form = await request.post()
    number = inputs.identifier(request.match_info["number"], "version")
    version = await request.app[SERVICE].restore(number, who, inputs.text(form, "sha256"))
    raise _back("/routes", f"routes version {version.number} applied: {version.note}")


async def peers(request: web.Request) -> web.Response:
    visitor(request)
    return render(request, "peers.html", peers=request.app[SERVICE].peers())


async def audit(request: web.Request) -> web.Response:
    visitor(request, "admin")
    entries = await request.app[SERVICE].audit_entries(inputs.number(request.query, "limit", 100))
    return render(request, "audit.html", entries=entries)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", dashboard)
    app.router.add_get("/queue", queue)
    app.router.add_post(r"/queue/{id}/{action:resend|release|refuse}", act)
    app.router.add_get("/refusals", refusals)
    app.router.add_get("/transactions", transactions)
    app.router.add_get("/transactions/{id}", transaction)
    app.router.add_get("/routes", routes)
    app.router.add_post("/routes/preview", preview)
    app.router.add_post("/routes/apply", apply)
    app.router.add_post("/routes/versions/{number}/restore", restore)
    app.router.add_get("/peers", peers)
    app.router.add_get("/audit", audit)
