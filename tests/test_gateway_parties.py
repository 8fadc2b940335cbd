"""Parties only, end to end: registered peers ALIB (127.0.0.2), BLIB (127.0.0.3) and RESPLIB
(127.0.0.4) connect from their own addresses, the protocol machine enforced. A hostile BLIB
cannot cancel or speak in ALIB's loan; the loan's own parties go on; a target that answers a
delivery about a transaction it has no part in is refused on that connection."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import (
    AnsweringTarget,
    RecordingPeer,
    exchange,
    routes_for,
    start_gateway,
    until,
    write_config,
)
from prometheus_client import REGISTRY
from test_gateway_access import acknowledged, security_problem
from transaction_apdus import apdu, party

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import SystemId

pytestmark = pytest.mark.asyncio

ADDRESSES = {"ALIB": "127.0.0.2", "BLIB": "127.0.0.3", "RESPLIB": "127.0.0.4"}


def between(
    name: str,
    qualifier: str,
    requester: str | None,
    responder: str | None,
    initial: str = "ALIB",
) -> bytes:
    """``name`` of transaction ``initial``/"grp"/``qualifier``, naming these parties (a
    ``None`` party is left out where the APDU allows, else an empty System-Id)."""
    decoded = decode(apdu(name, qualifier))
    ids: dict[str, SystemId | None] = {
        "requester_id": party(requester) if requester else None,
        "responder_id": party(responder) if responder else None,
    }
    transaction = decoded.transaction_id.model_copy(update={"initial_requester_id": party(initial)})
    return encode(decoded.model_copy(update={**ids, "transaction_id": transaction}))


def security_rejections() -> float:
    return REGISTRY.get_sample_value("isoill_rejections_total", {"reason": "security"}) or 0.0


@dataclass
class Hub:
    directory: Path
    server: App
    targets: dict[str, RecordingPeer]

    async def send(self, sender: str, ber: bytes) -> bytes:
        """``ber`` sent from ``sender``'s address; the gateway's answer."""
        (answer,) = await exchange(self.server.ports[0], [ber], source=ADDRESSES[sender])
        return answer

    def kept(self, state: str) -> list[tuple[str, str, str]]:
        """(peer, APDU type, reason) of the messages stored in ``state``."""
        with sqlite3.connect(self.directory / "store.sqlite3") as db:
            return list(
                db.execute(
                    "SELECT peer, apdu_type, coalesce(reason, '') FROM messages"
                    " WHERE state = ? ORDER BY id",
                    (state,),
                )
            )


def registered(symbols: dict[str, str], extra: str = "") -> str:
    peers = "".join(
        f'[peers.{symbol}]\nnetworks = ["{address}"]\nstate_machine = "enforce"\n'
        for symbol, address in symbols.items()
    )
    return f'[access]\nmode = "registered"\n{peers}{extra}'


@pytest_asyncio.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    targets = {symbol: await RecordingPeer().start() for symbol in ADDRESSES}
    routes = routes_for({symbol: [peer.address] for symbol, peer in targets.items()})
    server = await start_gateway(write_config(tmp_path, routes, extra=registered(ADDRESSES)))
    yield Hub(tmp_path, server, targets)
    await server.stop()
    for target in targets.values():
        await target.stop()


async def test_another_library_cannot_cancel_or_speak_in_a_loan(hub: Hub) -> None:
    request = between("ILL-Request", "LOAN-1", "ALIB", "RESPLIB")
    assert acknowledged(await hub.send("ALIB", request))
    assert await hub.targets["RESPLIB"].wait_for(1) == [request]
    before = security_rejections()
    transaction = 'ALIB/"grp"/"LOAN-1"'

    # BLIB names itself as requester, with ALIB's transaction-id.
    cancel = await hub.send("BLIB", between("Cancel", "LOAN-1", "BLIB", "RESPLIB"))
    assert security_problem(cancel) == (
        f"BLIB is not a party to transaction {transaction}",
        f"BLIB is not a party to transaction {transaction}",
    )
    # A Message in ALIB's name (either party may send one: the sender check still holds).
    message = await hub.send("BLIB", between("Message", "LOAN-1", "ALIB", "RESPLIB"))
    assert security_problem(message)[0] == f"BLIB is not a party to transaction {transaction}"
    assert security_rejections() == before + 2

    # The loan's own parties go on: RESPLIB answers, ALIB writes, both delivered.
    answer = between("ILL-Answer", "LOAN-1", "ALIB", "RESPLIB")
    assert acknowledged(await hub.send("RESPLIB", answer))
    own = between("Message", "LOAN-1", "ALIB", "RESPLIB")
    assert acknowledged(await hub.send("ALIB", own))
    assert await hub.targets["ALIB"].wait_for(1) == [answer]
    assert await hub.targets["RESPLIB"].wait_for(2) == [request, own]
    assert hub.targets["BLIB"].received == []
    refusal = f"BLIB is not a party to transaction {transaction}"
    assert hub.kept("refused") == [("BLIB", "Cancel", refusal), ("BLIB", "Message", refusal)]


async def test_a_request_in_another_peers_name_is_refused(hub: Hub) -> None:
    answer = await hub.send("BLIB", between("ILL-Request", "NOT-MINE", "BLIB", "RESPLIB"))
    assert security_problem(answer)[0] == 'BLIB is not a party to transaction ALIB/"grp"/"NOT-MINE"'
    own = between("ILL-Request", "MINE", "BLIB", "RESPLIB", initial="BLIB")
    assert acknowledged(await hub.send("BLIB", own))
    assert await hub.targets["RESPLIB"].wait_for(1) == [own]


async def test_a_whole_loan_between_two_registered_peers(hub: Hub) -> None:
    steps = [
        ("ALIB", "ILL-Request", "RESPLIB"),
        ("RESPLIB", "Shipped", "ALIB"),
        ("ALIB", "Received", "RESPLIB"),
        ("ALIB", "Returned", "RESPLIB"),
        ("RESPLIB", "Checked-In", "ALIB"),
    ]
    sent: dict[str, list[bytes]] = {"ALIB": [], "RESPLIB": []}
    for sender, name, target in steps:
        ber = between(name, "WHOLE", "ALIB", "RESPLIB")
        assert acknowledged(await hub.send(sender, ber)), name
        sent[target].append(ber)
    for target, apdus in sent.items():
        assert await hub.targets[target].wait_for(len(apdus)) == apdus
    assert hub.kept("refused") == []


async def test_a_target_answering_for_a_transaction_it_has_no_part_in(tmp_path: Path) -> None:
    """CLIB, the target of ALIB's request, answers its delivery with a Shipped of BLIB's loan
    from RESPLIB, naming itself as responder: refused on the delivery connection."""
    blib, resplib = await RecordingPeer().start(), await RecordingPeer().start()
    meddling = between("Shipped", "BLIB-LOAN", "BLIB", "CLIB", initial="BLIB")
    clib = await AnsweringTarget(meddling).start()
    routes = routes_for(
        {"BLIB": [blib.address], "RESPLIB": [resplib.address], "CLIB": [clib.address]}
    )
    symbols = {
        "ALIB": "127.0.0.2",
        "BLIB": "127.0.0.3",
        "RESPLIB": "127.0.0.4",
        "CLIB": "127.0.0.5",
    }
    server = await start_gateway(write_config(tmp_path, routes, extra=registered(symbols)))
    try:
        port = server.ports[0]
        blibs = between("ILL-Request", "BLIB-LOAN", "BLIB", "RESPLIB", initial="BLIB")
        (ack,) = await exchange(port, [blibs], source="127.0.0.3")
        assert acknowledged(ack)
        alibs = between("ILL-Request", "ALIB-LOAN", "ALIB", "CLIB")
        (ack,) = await exchange(port, [alibs], source="127.0.0.2")
        assert acknowledged(ack)
        await until(lambda: bool(clib.replies))
        assert clib.delivered == [alibs]
        (refusal,) = clib.replies
        assert security_problem(refusal)[0] == (
            'CLIB is not a party to transaction BLIB/"grp"/"BLIB-LOAN"'
        )
        assert await resplib.wait_for(1) == [blibs]
        assert blib.received == []  # the Shipped went nowhere
    finally:
        await server.stop()
        for peer in (blib, resplib):
            await peer.stop()
        await clib.stop()
