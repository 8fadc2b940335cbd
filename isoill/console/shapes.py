"""The service's values as the API's JSON (docs/console.md, ``openapi.json``): times in ISO
8601, a transaction-id in its parts and as people read it."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from isoill.core.views import TransactionRecord
from isoill.ill.transaction_id import key_parts, shown
from isoill.router import RouteStatus
from isoill.rules.engine import Profile
from isoill.service.console import Dashboard, PeerView, RoutesView
from isoill.service.route_history import Version
from isoill.service.transactions import TransactionDetail
from isoill.store.records import MessageView


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def message(view: MessageView) -> dict[str, Any]:
    found = dataclasses.asdict(view)
    found["received_at"] = when(view.received_at)
    for delivery in found["deliveries"]:
        for name in ("next_attempt_at", "last_attempt_at", "delivered_at"):
            delivery[name] = when(delivery[name])
    return found


def transaction(record: TransactionRecord) -> dict[str, Any]:
    parts = key_parts(record.key)
    return {
        "id": record.id,
        "key": record.key,
        "shown": shown(record.key),
        "transaction_id": None if parts is None else parts._asdict(),
        "requester_symbol": record.requester_symbol,
        "responder_symbol": record.responder_symbol,
        "requester_state": record.requester_state,
        "responder_state": record.responder_state,
        "intermediaries": list(record.intermediaries),
        "created_at": when(record.created_at),
        "updated_at": when(record.updated_at),
    }


def detail(found: TransactionDetail) -> dict[str, Any]:
    return {
        "transaction": transaction(found.record),
        "patron_fields": "shown" if found.revealed else "masked",
        "messages": [
            {**message(each.message), "apdu": each.apdu, "decode_error": each.error}
            for each in found.messages
        ],
        "steps": [dataclasses.asdict(step) for step in found.steps],
    }


def route(row: RouteStatus) -> dict[str, Any]:
    return {
        "symbol": row.symbol,
        "aliases": list(row.aliases),
        "addresses": [str(address) for address in row.addresses],
        "phase": row.phase.value,
        "changes": [
            {"at": when(change.at), "addresses": [str(a) for a in change.addresses]}
            for change in row.changes
        ],
    }


def dashboard(board: Dashboard) -> dict[str, Any]:
    return {
        "now": when(board.now),
        "counts": board.counts,
        "peers": [
            {
                "symbol": peer.route.symbol,
                "phase": peer.route.phase.value,
                "addresses": [
                    {
                        "address": status.address,
                        "reachable": status.reachable,
                        "last_error": None
                        if status.last_error is None
                        else {"at": when(status.last_error[0]), "error": status.last_error[1]},
                    }
                    for status in peer.addresses
                ],
            }
            for peer in board.peers
        ],
        "traffic": {
            "since": when(board.traffic_since),
            "step_seconds": int(board.traffic_step.total_seconds()),
            "counts": list(board.traffic),
        },
    }


def version(kept: Version) -> dict[str, Any]:
    return {
        "number": kept.number,
        "at": when(kept.at),
        "who": kept.who,
        "note": kept.note,
        "sha256": kept.digest,
    }


def routes(view: RoutesView) -> dict[str, Any]:
    return {
        "now": when(view.now),
        "source": view.source,
        "text": view.text,
        "sha256": view.digest,
        "routes": [route(row) for row in view.effective],
        "versions": [version(kept) for kept in view.versions],
    }


def profile(chosen: Profile) -> dict[str, Any]:
    return {
        "name": chosen.name,
        "summary": chosen.summary,
        "rules": [
            {"name": rule.name, "severity": severity.value, "summary": rule.summary}
            for rule, severity in chosen.rules
        ],
    }


def peer(view: PeerView) -> dict[str, Any]:
    return {
        "symbol": view.symbol,
        "configured": view.configured,
        "settings": view.settings,
        "sender_profile": profile(view.sender_profile),
        "target_profile": profile(view.target_profile),
        "route": None if view.route is None else route(view.route),
    }
