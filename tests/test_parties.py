"""Who may say what about a transaction (isoill.access.parties), without sockets: the probes of
a hostile member library, and the legitimate parties' APDUs beside them."""

from __future__ import annotations

import pytest

from isoill.core.parties import Named, Parties, Refusal, check, sender_of
from isoill.ill.apdus import APDU_FLOW, Flow

ALIB, BLIB, RESP, NEW = "ALIB", "BLIB", "RESPLIB", "NEWLIB"
TX = 'ALIB/"grp"/"42"'
LOAN = Parties(ALIB, RESP)
PEERS = (ALIB, BLIB, RESP, NEW)  # every configured peer


def judged(
    apdu_type: str, named: Named, speaker: str, parties: Parties | None = LOAN
) -> Refusal | None:
    return check(apdu_type, named, frozenset({speaker}), parties, TX, PEERS)


def not_a_party(sender: str) -> Refusal:
    text = f"{sender} is not a party to transaction {TX}"
    return Refusal(text, text)


def test_the_element_that_names_the_sender() -> None:
    named = Named(requester=ALIB, responder=RESP, intermediary=BLIB, initial=ALIB)
    assert sender_of("Cancel", named) == ("requester-id", ALIB)
    assert sender_of("Shipped", named) == ("responder-id", RESP)
    # A Forward-Notification's responder-id is the new responder; its sender is the
    # intermediary.
    assert sender_of("Forward-Notification", named) == ("intermediary-id", BLIB)
    assert sender_of("Message", named) == ("", None)


def test_a_cancel_of_another_librarys_loan_is_refused() -> None:
    """BLIB names itself as requester, with ALIB's transaction-id."""
    meddling = Named(requester=BLIB, responder=RESP, initial=ALIB)
    assert judged("Cancel", meddling, BLIB) == not_a_party(BLIB)
    # ... and without a requester-id its transaction-id speaks for ALIB, not for BLIB.
    anonymous = Named(responder=RESP, initial=ALIB)
    assert judged("Cancel", anonymous, BLIB) == Refusal(
        "initial-requester-id ALIB is not a peer of this connection",
        "this connection speaks for BLIB only",
    )
    assert judged("Cancel", Named(requester=ALIB, responder=RESP, initial=ALIB), ALIB) is None


def test_a_message_in_another_librarys_name_is_refused() -> None:
    """Message (either party sends it) naming ALIB as requester-id, sent by BLIB."""
    forged = Named(requester=ALIB, responder=RESP, initial=ALIB)
    assert judged("Message", forged, BLIB) == not_a_party(BLIB)
    assert judged("Message", forged, ALIB) is None  # the requester's own
    assert judged("Message", forged, RESP) is None  # the responder's own
    # A party that names someone else for the role it plays is refused too.
    lying = Named(requester=ALIB, responder=BLIB, initial=ALIB)
    assert judged("Message", lying, RESP) == Refusal(
        "responder-id BLIB is not a peer of this connection",
        "this connection speaks for RESPLIB only",
    )


@pytest.mark.parametrize("apdu_type", sorted(t for t, f in APDU_FLOW.items() if f is Flow.EITHER))
def test_either_party_outside_a_known_transaction(apdu_type: str) -> None:
    assert judged(apdu_type, Named(requester=ALIB, responder=RESP), ALIB, None) is None
    assert judged(apdu_type, Named(requester=ALIB, responder=RESP), RESP, None) is None
    assert judged(apdu_type, Named(), BLIB, None) is None  # names nobody: the connection's
    assert judged(apdu_type, Named(requester=ALIB, responder=RESP), BLIB, None) == Refusal(
        "neither requester-id ALIB nor responder-id RESPLIB is a peer of this connection",
        "this connection speaks for BLIB only",
    )
    assert judged(apdu_type, Named(requester=ALIB), BLIB, None) == Refusal(
        "requester-id ALIB is not a peer of this connection",
        "this connection speaks for BLIB only",
    )


def test_each_role_speaks_for_itself() -> None:
    """The responder may not send a requester's APDU in its own name, nor the requester a
    responder's: a party plays the role it has."""
    assert judged("Cancel", Named(requester=RESP, responder=RESP, initial=ALIB), RESP) == (
        not_a_party(RESP)
    )
    assert judged("Shipped", Named(requester=ALIB, responder=ALIB, initial=ALIB), ALIB) == (
        not_a_party(ALIB)
    )
    assert judged("Shipped", Named(requester=ALIB, responder=RESP, initial=ALIB), RESP) is None


def test_a_new_request_in_another_peers_name_is_refused() -> None:
    assert judged("ILL-Request", Named(requester=BLIB, initial=ALIB), BLIB, None) == (
        not_a_party(BLIB)
    )
    # A requester the gateway does not know as a peer: an intermediary forwarding for it.
    assert judged("ILL-Request", Named(requester=BLIB, initial="ELSEWHERE"), BLIB, None) is None
    assert judged("ILL-Request", Named(requester=ALIB, initial=ALIB), ALIB, None) is None


def test_the_intermediary_a_request_was_forwarded_through() -> None:
    """RESPLIB forwarded ALIB's request to NEWLIB: NEWLIB is the responder now, and RESPLIB
    remains a party as intermediary."""
    forwarded = Parties(ALIB, NEW, frozenset({RESP}))
    notification = Named(requester=ALIB, responder=NEW, intermediary=RESP, initial=ALIB)
    assert judged("Forward-Notification", notification, RESP) is None  # before it: the responder
    shipped = Named(requester=ALIB, responder=NEW, initial=ALIB)
    assert judged("Shipped", shipped, NEW, forwarded) is None
    message = Named(requester=ALIB, responder=NEW, initial=ALIB)
    assert judged("Message", message, RESP, forwarded) is None
    assert judged("Message", message, BLIB, forwarded) == not_a_party(BLIB)
    assert judged("Forward-Notification", notification, BLIB, forwarded) == Refusal(
        "intermediary-id RESPLIB is not a peer of this connection",
        "this connection speaks for BLIB only",
    )


def test_a_connection_for_several_peers() -> None:
    both = frozenset({ALIB, BLIB})
    named = Named(requester=ALIB, responder=RESP, initial=ALIB)
    assert check("Cancel", named, both, LOAN, TX, PEERS) is None
    assert check("Cancel", Named(responder=RESP, initial=ALIB), both, LOAN, TX, PEERS) is None
    assert check("Cancel", Named(responder=RESP, initial=NEW), both, LOAN, TX, PEERS) == Refusal(
        "initial-requester-id NEWLIB is not a peer of this connection",
        "this connection speaks for ALIB, BLIB only",
    )
