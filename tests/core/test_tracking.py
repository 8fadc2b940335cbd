"""The gateway's helpers around the protocol machine: sameness, sender role, locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from transaction_apdus import REQUESTER, RESPONDER, apdu

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import RenewAnswer, ServiceDateTime
from isoill.codec.text import Text
from isoill.core.tracking import dedup_key, sender_role
from isoill.ill.apdus import Role
from isoill.service.locks import TransactionLocks


def key_of(ber: bytes, transaction: str = "T") -> str:
    return dedup_key(decode(ber), transaction, ber)


def test_same_service_time_is_the_same_apdu_even_re_encoded() -> None:
    ber = apdu("Shipped", "DUP")
    model = decode(ber)
    reencoded = encode(model.model_copy(update={"client_id": None}))  # other bytes, same time
    assert reencoded != ber
    assert key_of(reencoded) == key_of(ber)


@pytest.mark.parametrize("other", ["transaction", "type", "time"])
def test_different_transaction_type_or_time_is_another_apdu(other: str) -> None:
    ber = apdu("Message", "DUP")
    if other == "transaction":
        assert key_of(ber, "T") != key_of(ber, "U")
    elif other == "type":
        assert key_of(ber) != key_of(apdu("Lost", "DUP"))
    else:
        assert key_of(ber) != key_of(apdu("Message", "DUP"))  # the next second


def test_answers_of_one_second_that_say_otherwise_are_two_apdus() -> None:
    yes = decode(apdu("Renew-Answer", "DUP", answer=True))
    assert isinstance(yes, RenewAnswer)
    no = yes.model_copy(update={"answer": False})
    assert key_of(encode(no)) != key_of(encode(yes))
    reencoded = yes.model_copy(update={"date_due": None})  # other bytes, the same answer
    assert key_of(encode(reencoded)) == key_of(encode(yes))


def test_apdus_of_iso18626_messages_of_one_second_are_told_apart_by_their_timestamps() -> None:
    ber = apdu("Renew", "DUP")
    renew = decode(ber)
    sent = datetime(2026, 3, 2, 10, 15, 30, 120000, tzinfo=UTC)
    again = datetime(2026, 3, 2, 11, 15, 30, 120000, tzinfo=timezone(timedelta(hours=1)))
    assert dedup_key(renew, "T", ber, sent) == dedup_key(renew, "T", ber, again)  # one instant
    later = sent + timedelta(milliseconds=400)  # the same second: the same ISO-Time
    assert dedup_key(renew, "T", ber, sent) != dedup_key(renew, "T", ber, later)
    assert dedup_key(renew, "T", ber, sent) != key_of(ber)


def test_without_a_time_the_bytes_decide() -> None:
    model = decode(apdu("Message", "NOTIME"))
    day_only = ServiceDateTime.model_validate({"date-time-of-this-service": {"date": "20260101"}})
    first = model.model_copy(update={"service_date_time": day_only})
    second = first.model_copy(update={"note": Text.of("another message that day")})
    assert key_of(encode(first)) == key_of(encode(first))
    assert key_of(encode(first)) != key_of(encode(second))


def test_sender_role_by_type_then_by_party() -> None:
    assert sender_role("ILL-Request", set(), None, None) is Role.REQUESTER
    assert sender_role("Shipped", set(), None, None) is Role.RESPONDER
    assert sender_role("Lost", {REQUESTER}, REQUESTER, RESPONDER) is Role.REQUESTER
    assert sender_role("Lost", {RESPONDER}, REQUESTER, RESPONDER) is Role.RESPONDER
    assert sender_role("Message", set(), REQUESTER, RESPONDER) is None


@pytest.mark.asyncio
async def test_locks_serialise_one_transaction_and_are_dropped_after_use() -> None:
    locks = TransactionLocks()
    order: list[str] = []

    async def hold(key: str, name: str, pause: float) -> None:
        async with locks.holding(key):
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    await asyncio.gather(hold("A", "first", 0.05), hold("A", "second", 0), hold("B", "other", 0))
    assert order.index("first out") < order.index("second in")
    assert order.index("other in") < order.index("first out")  # other transactions run on
    assert len(locks) == 0


@pytest.mark.asyncio
async def test_waiting_releases_the_transaction_until_notified() -> None:
    locks = TransactionLocks()
    woke = asyncio.Event()

    async def early() -> None:
        async with locks.holding("T") as transaction:
            await transaction.wait()
            woke.set()

    waiter = asyncio.create_task(early())
    await asyncio.sleep(0.01)
    async with locks.holding("T") as transaction:  # not blocked by the waiter
        transaction.notify_all()
    await asyncio.wait_for(waiter, 1)
    assert woke.is_set() and len(locks) == 0
