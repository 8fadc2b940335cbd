"""A transaction's steps: both machines after each APDU, replayed from the stored APDUs; a
refused APDU moves nothing; patron fields are masked wherever they are."""

from __future__ import annotations

from transaction_apdus import apdu as encoded

from isoill.codec.decoder import decode
from isoill.codec.models import IllApdu
from isoill.core.timeline import Message, steps
from isoill.service.transactions import MASK, masked


def apdu(name: str) -> IllApdu:
    return decode(encoded(name, "q1"))


def test_the_machines_step_with_each_apdu() -> None:
    request = apdu("ILL-Request")
    shipped = apdu("Shipped")
    received = apdu("Received")
    found = steps(
        [
            Message(1, request, "REQLIB", "accepted"),
            Message(2, received, "REQLIB", "refused"),
            Message(3, shipped, "RESPLIB", "accepted"),
            Message(4, received, "REQLIB", "accepted"),
        ],
        "REQLIB",
        "RESPLIB",
    )
    assert [(s.message_id, s.requester, s.responder, s.note) for s in found] == [
        (1, "PENDING", "IN-PROCESS", None),
        (2, "PENDING", "IN-PROCESS", "refused"),
        (3, "SHIPPED", "SHIPPED", None),
        (4, "RECEIVED", "SHIPPED", None),
    ]


def test_a_prohibited_apdu_is_noted_and_moves_nothing() -> None:
    (step,) = steps([Message(1, apdu("Received"), "REQLIB", "accepted")], "REQLIB", "RESPLIB")
    assert (step.requester, step.responder) == ("IDLE", "IDLE")
    assert step.note is not None and "prohibits it in IDLE" in step.note


def test_patron_fields_are_masked_at_any_depth() -> None:
    form = {"ILL-Request": {"client-id": {"client-name": "Ann"}, "items": [{"client-id": 1}]}}
    assert masked(form) == {"ILL-Request": {"client-id": MASK, "items": [{"client-id": MASK}]}}
