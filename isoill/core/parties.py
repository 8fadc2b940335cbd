"""Who may say what about a transaction, in ``[access] mode = "registered"``: each APDU names
one of its connection's peers as sender, and an APDU of a transaction the gateway knows comes
from one of that transaction's parties, in a role it plays there.

Pure decisions on symbols: the gateway reads them from the APDU and from the store.

- **The sender.** The element that says who sends an APDU is the ``requester-id`` of a
  requester's APDU (its transaction-id's ``initial-requester-id`` when it has none), the
  ``responder-id`` of a responder's, and the ``intermediary-id`` of a Forward-Notification
  (whose ``responder-id`` names the new responder). An APDU either party sends (Message,
  Status-Query, Status-Or-Error-Report, Lost, Damaged, Expired) says who sends it by the
  party's id for the role its sender plays: in a known transaction, the role the connection's
  peer plays there; outside one, by ``requester-id`` or ``responder-id``. An APDU that names
  no sender at all is taken as the connection's.
- **The parties.** The requester (stored, else the transaction-id's initial requester), the
  responder, and each intermediary that forwarded the request (Forward-Notification). A
  requester's APDU comes from the requester; a responder's from the responder or an
  intermediary; either party's from any of them. A new ILL-Request whose transaction-id names
  another configured peer as initial requester would start a transaction in that peer's name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from isoill.ill.apdus import APDU_FLOW, Flow


# A dataclass made on every APDU writes its __init__ out (init=False): compiled by mypyc, the
# one dataclasses generates stays Python, some fourteen times the cost (docs/performance.md).
# tests/test_build.py holds each to its fields.
@dataclass(frozen=True, init=False)
class Named:
    """The symbols an APDU names (normalised, ``None`` where absent)."""

    requester: str | None = None  # requester-id
    responder: str | None = None  # responder-id
    intermediary: str | None = None  # intermediary-id (Forward-Notification)
    initial: str | None = None  # transaction-id's initial-requester-id

    def __init__(
        self,
        requester: str | None = None,
        responder: str | None = None,
        intermediary: str | None = None,
        initial: str | None = None,
    ) -> None:
        object.__setattr__(self, "requester", requester)
        object.__setattr__(self, "responder", responder)
        object.__setattr__(self, "intermediary", intermediary)
        object.__setattr__(self, "initial", initial)


@dataclass(frozen=True)
class Parties:
    """The parties of a transaction the gateway knows."""

    requester: str | None
    responder: str | None
    intermediaries: frozenset[str] = frozenset()

    def __contains__(self, symbol: object) -> bool:
        return symbol in (self.requester, self.responder) or symbol in self.intermediaries


@dataclass(frozen=True)
class Refusal:
    """Why an APDU is refused: ``problem`` goes in the user-error-report's security-problem,
    ``reason`` in the note; ``close`` ends the connection after the answer."""

    problem: str
    reason: str
    close: bool = False


def sender_of(apdu_type: str, named: Named) -> tuple[str, str | None]:
    """The element that says who sends an APDU of a type one party sends, and the symbol it
    holds; ``("", None)`` for the types either party sends (see :func:`check`)."""
    flow = APDU_FLOW[apdu_type]
    if flow is Flow.EITHER:
        return "", None
    if apdu_type == "Forward-Notification":
        return "intermediary-id", named.intermediary
    if flow is Flow.FROM_RESPONDER:
        return "responder-id", named.responder
    return "requester-id", named.requester


def check(
    apdu_type: str,
    named: Named,
    peers: frozenset[str],
    parties: Parties | None,
    transaction: str,
    others: Collection[str] = (),
) -> Refusal | None:
    """Whether an APDU from a connection that speaks for ``peers`` may go on (``None``) or
    why not. ``parties`` are those of its transaction (``None``: not known to the gateway),
    ``transaction`` the transaction-id as shown to people, ``others`` every configured
    peer's symbol."""
    if APDU_FLOW[apdu_type] is Flow.EITHER:
        return _either(named, peers, parties, transaction)
    element, claimed = sender_of(apdu_type, named)
    if claimed is None and APDU_FLOW[apdu_type] is Flow.FROM_REQUESTER:
        element, claimed = "initial-requester-id", named.initial
    if claimed is not None and claimed not in peers:
        return _not_ours(element, claimed, peers)
    senders = frozenset({claimed}) if claimed is not None else peers
    if parties is None:
        initial = named.initial
        starting = apdu_type == "ILL-Request" and initial is not None and initial in others
        if starting and initial not in peers:
            return _not_a_party(_one(senders), transaction)
        return None
    allowed = _in_role(apdu_type, parties)
    if senders.isdisjoint(allowed):
        return _not_a_party(_one(senders), transaction)
    return None


def _in_role(apdu_type: str, parties: Parties) -> frozenset[str]:
    """The parties that may send an APDU of this type in their transaction."""
    requester = frozenset(s for s in (parties.requester,) if s is not None)
    responders = frozenset(s for s in (parties.responder,) if s is not None)
    responders |= parties.intermediaries
    if apdu_type == "ILL-Request":  # again: the request forwarded by one who had it
        return requester | responders
    return requester if APDU_FLOW[apdu_type] is Flow.FROM_REQUESTER else responders


def _either(
    named: Named, peers: frozenset[str], parties: Parties | None, transaction: str
) -> Refusal | None:
    """An APDU either party sends: its sender is the connection's peer in the role it plays
    (in a known transaction), and the APDU's id for that role, if any, names it."""
    ids = (("requester-id", named.requester), ("responder-id", named.responder))
    if parties is None:
        given = [(element, symbol) for element, symbol in ids if symbol is not None]
        if not given or any(symbol in peers for _, symbol in given):
            return None
        if len(given) == 1:
            return _not_ours(*given[0], peers)
        listed = " nor ".join(f"{element} {symbol}" for element, symbol in given)
        return Refusal(
            f"neither {listed} is a peer of this connection",
            f"this connection speaks for {_listed(peers)} only",
        )
    roles = [
        (element, symbol)
        for (element, symbol), party in zip(
            ids, (parties.requester, parties.responder), strict=True
        )
        if party is not None and party in peers
    ]
    if not roles and peers.isdisjoint(parties.intermediaries):
        return _not_a_party(_one(peers), transaction)
    for element, symbol in roles:
        if symbol is not None and symbol not in peers:
            return _not_ours(element, symbol, peers)
    return None


def _not_ours(element: str, symbol: str, peers: frozenset[str]) -> Refusal:
    return Refusal(
        f"{element} {symbol} is not a peer of this connection",
        f"this connection speaks for {_listed(peers)} only",
    )


def _not_a_party(sender: str, transaction: str) -> Refusal:
    text = f"{sender} is not a party to transaction {transaction}"
    return Refusal(text, text)


def _one(symbols: frozenset[str]) -> str:
    return " or ".join(sorted(symbols)) or "this connection"


def _listed(symbols: Collection[str]) -> str:
    return ", ".join(sorted(symbols)) or "no peer"
