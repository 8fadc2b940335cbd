"""A transaction step by step: both protocol machines' states after each of its APDUs, as the
gateway judged them. The store keeps only the latest states; the steps are replayed from the
stored APDUs through the same machine (:mod:`isoill.transactions.machine`). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from isoill.codec.models import IllApdu
from isoill.core.tracking import NEW, sender_role
from isoill.transactions.machine import Prohibited, States, advance, event_of

#: Stored states of a message whose APDU did not move the machines.
_NOT_JUDGED = ("refused", "unroutable")


@dataclass(frozen=True)
class Step:
    """One APDU of the transaction and the machines after it. ``note`` says why they did not
    move: refused or unroutable, or the machine that prohibits it (forwarded in warn mode)."""

    message_id: int
    apdu_type: str
    sender: str
    requester: str
    responder: str
    note: str | None = None


@dataclass(frozen=True)
class Message:
    """What the timeline needs of a stored message: its APDU, who sent it, how it was kept."""

    id: int
    apdu: IllApdu
    peer: str
    state: str


def steps(messages: Iterable[Message], requester: str | None, responder: str | None) -> list[Step]:
    """The steps of a transaction whose parties are ``requester`` and ``responder``."""
    states: States = NEW
    found: list[Step] = []
    for message in messages:
        note = None
        if message.state in _NOT_JUDGED:
            note = message.state
        else:
            role = sender_role(message.apdu.apdu_type, {message.peer}, requester, responder)
            after = advance(states, event_of(message.apdu), role)
            if isinstance(after, Prohibited):
                note = f"the {after.role.value} machine prohibits it in {after.state.value}"
            else:
                states = after
        found.append(
            Step(
                message.id,
                message.apdu.apdu_type,
                message.peer,
                states.requester.value,
                states.responder.value,
                note,
            )
        )
    return found
