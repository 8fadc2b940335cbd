"""The acknowledgement of a stored APDU: a Status-Or-Error-Report whose status-report says the
gateway holds it, built from the APDU's own bytes.

It answers the APDU it is about with the same transaction-id, requester-id and responder-id
(their elements copied as received: the tags are the same in every ILL-APDU), the APDU's
protocol version where it is one the gateway speaks, and a History-Report naming the APDU as
the most recent service, with the author and title of an ILL-Request's item-id (the same
elements under the History-Report's tags). Overdue and Renew have no value in
most-recent-service, so they are acknowledged with reason-no-report instead. Nothing of the APDU
is decoded but its version: this runs for every APDU the gateway accepts.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from datetime import datetime
from typing import Literal

from isoill.codec import plan
from isoill.codec.ber import encode_header
from isoill.codec.decoder import decode_node
from isoill.codec.encoder import encode_node
from isoill.codec.models import CurrentState, ReasonNoReport
from isoill.codec.schema import Node
from isoill.codec.splice import components, members, retagged
from isoill.ill.enumerated import MOST_RECENT_SERVICE
from isoill.ill.versions import reply_version

Party = Literal["requester-id", "responder-id"]

_REPORT = plan.APDUS["Status-Or-Error-Report"]
_FIELDS = {field.name: field.node for field in _REPORT.fields}
_STATUS = {field.name: field.node for field in _FIELDS["status-report"].fields}
_HISTORY = {field.name: field.node for field in _STATUS["user-status-report"].fields}
_ITEM_ID = next(field.node for field in plan.APDUS["ILL-Request"].fields if field.name == "item-id")
_ITEM = {field.name: field.node for field in _ITEM_ID.fields}
_COPIED = ("transaction-id", "requester-id", "responder-id")


def acknowledgement(
    ber: bytes,
    now: datetime,
    state: CurrentState = CurrentState.UNKNOWN,
    initiator: Party | None = None,
) -> bytes:
    """The acknowledgement of ``ber`` (one whole ILL-APDU, already decoded once, so known to
    be well formed) at ``now``: its sender's ``state`` is the provider-status-report, and the
    element ``initiator`` names the initiator of the most recent service (empty without)."""
    apdu_type, received = components(ber)
    # ISO-Date and ISO-Time; formatted by hand: strftime costs a fifth of the whole answer.
    today = f"{now.year:04}{now.month:02}{now.day:02}"
    elements = {
        "protocol-version-num": _version(received["protocol-version-num"]),
        "service-date-time": _service_date_time(
            today, f"{now.hour:02}{now.minute:02}{now.second:02}"
        ),
        **{name: received[name] for name in _COPIED if name in received},
    }
    if apdu_type not in MOST_RECENT_SERVICE:
        elements["reason-no-report"] = _encoded(
            _FIELDS["reason-no-report"], ReasonNoReport.TEMPORARY
        )
    else:
        sender = received.get(initiator) if initiator is not None else None
        history = _history(apdu_type, received.get("item-id"), sender, today)
        status = history + _encoded(_STATUS["provider-status-report"], state)
        elements["status-report"] = _constructed(_FIELDS["status-report"], status)
    content = b"".join(elements[f.name] for f in _REPORT.fields if f.name in elements)
    return _constructed(_REPORT, content)


def _history(apdu_type: str, item_id: bytes | None, sender: bytes | None, today: str) -> bytes:
    elements = {
        **_dates_and_service(apdu_type, today),
        "initiator-of-most-recent-service": _initiator(sender),
    }
    if item_id is not None:
        item = members(item_id)
        for name in ("author", "title"):
            found = item.get(_ITEM[name].wrappers[0])
            if found is not None:
                elements[name] = retagged(found, _HISTORY[name].wrappers[0])
    node = _STATUS["user-status-report"]
    return _constructed(node, b"".join(elements[f.name] for f in node.fields if f.name in elements))


# The parts every acknowledgement of a kind shares are encoded once (per day, per second).


@functools.cache
def _encoded(node: Node, value: Hashable) -> bytes:
    return encode_node(node, value)


@functools.lru_cache(maxsize=4)
def _version(element: bytes) -> bytes:
    """The APDU's protocol version, or the gateway's when it is not one the gateway speaks."""
    node = _FIELDS["protocol-version-num"]
    version = decode_node(node, element, 0, len(element))[0]
    return encode_node(node, reply_version(version))


@functools.lru_cache(maxsize=4)
def _service_date_time(date: str, time: str) -> bytes:
    node = _FIELDS["service-date-time"]
    value = {"date-time-of-this-service": {"date": date, "time": time}}
    return encode_node(node, node.model.model_validate(value))


@functools.lru_cache(maxsize=64)
def _dates_and_service(apdu_type: str, today: str) -> dict[str, bytes]:
    values: dict[str, object] = {
        "date-of-last-transition": today,
        "most-recent-service": MOST_RECENT_SERVICE[apdu_type],
        "date-of-most-recent-service": today,
    }
    if apdu_type == "ILL-Request":
        values["date-requested"] = today
    return {name: encode_node(_HISTORY[name], value) for name, value in values.items()}


def _initiator(sender: bytes | None) -> bytes:
    """The sender's System-Id under initiator-of-most-recent-service; an empty one without."""
    node = _HISTORY["initiator-of-most-recent-service"]
    assert node.tag is not None
    if sender is None:
        return encode_header(node.tag, True, 0)
    return retagged(sender, node.tag)


def _constructed(node: Node, content: bytes) -> bytes:
    """A SEQUENCE of ``node`` (with its explicit tags) around already encoded ``content``."""
    assert node.tag is not None
    body = encode_header(node.tag, True, len(content)) + content
    for wrapper in reversed(node.wrappers):
        body = encode_header(wrapper, True, len(body)) + body
    return body
