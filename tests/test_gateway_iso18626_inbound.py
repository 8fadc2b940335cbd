"""An ISO 18626 requester to an ISO 10161 responder through ``isoill serve``, every part a
process of its own on 127.0.0.1: the simulated ISO 18626 requester (``isoill peer --protocol
iso18626 --role requester``) POSTs a Request to the daemon's endpoint, which confirms it once
stored and delivers it as an ILL-Request to ``isoill peer``, the ISO 10161 responder."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path

import pytest
from daemon_support import Daemon
from gateway_harness import routes_for, until, write_config

from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest
from isoill.ill.symbols import symbol_of
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.messages import Confirmation, Request
from isoill.tools.peer18626.reading import read

pytestmark = pytest.mark.asyncio

ISOILL = str(Path(sys.executable).with_name("isoill"))


async def peer(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """``isoill peer ARGS``, and what its first line on stderr says it listens at."""
    process = await asyncio.create_subprocess_exec(
        ISOILL, "peer", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode().strip()
    found = re.search(r"listening on (\S+)$", line)
    assert found is not None, line
    return process, found.group(1)


async def ended(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.communicate(), 20)


def apdus(path: Path) -> list[ILLRequest]:
    framer = Framer()
    framer.feed(path.read_bytes() if path.exists() else b"")
    found = []
    while (ber := framer.next_apdu()) is not None:
        apdu = decode(ber)
        assert isinstance(apdu, ILLRequest), apdu
        found.append(apdu)
    return found


@pytest.mark.parametrize("version", [Version.V1_2, Version.V2021])
async def test_an_iso18626_request_reaches_an_iso10161_responder_as_its_ill_request(
    tmp_path: Path, version: Version
) -> None:
    received = tmp_path / "responder.ber"
    responder, address = await peer(
        "--listen", "127.0.0.1:0", "--symbol", "SUP1", "--record", str(received)
    )  # fmt: skip
    daemon = requester = None
    try:
        config = write_config(
            tmp_path,
            routes_for({"SUP1": [address]}),
            extra='[iso18626]\nhost = "127.0.0.1"\nport = 0\n',
        )
        daemon = await Daemon.spawn(config)
        url = (await daemon.line("listening", listener="iso18626"))["url"]
        (tmp_path / "requests.toml").write_text(
            '[[request]]\ntitle = "Dune"\nauthor = "Herbert, Frank"\nrequest_id = "req-e2e-1"\n'
        )
        exchanges = tmp_path / "requester.jsonl"
        requester, _ = await peer(
            "--protocol", "iso18626", "--role", "requester", "--listen", "127.0.0.1:0",
            "--agency", "ISIL:REQ1", "--peer-agency", "ISIL:SUP1", "--peer-url", url,
            "--version", "2021" if version is Version.V2021 else "1.2",
            "--requests", str(tmp_path / "requests.toml"), "--record", str(exchanges),
        )  # fmt: skip
        await until(lambda: bool(apdus(received)), timeout=30)
        await until(lambda: exchanges.exists() and bool(exchanges.read_text()), timeout=30)
    finally:
        for process in (requester, responder):
            if process is not None:
                await ended(process)
        if daemon is not None:
            daemon.stop()
            assert await daemon.exit() == 0

    # The Confirmation the requester got: OK, the ids and the timestamp echoed.
    (posted,) = [json.loads(line) for line in exchanges.read_text().splitlines()]
    assert (posted["direction"], posted["kind"], posted["status"]) == ("out", "request", 200)
    confirmation = read(wire.parse(posted["response"].encode(), version=version))
    assert isinstance(confirmation, Confirmation)
    assert confirmation.ok, confirmation
    assert confirmation.request_id == "req-e2e-1"
    assert (str(confirmation.requester), str(confirmation.supplier)) == ("ISIL:REQ1", "ISIL:SUP1")
    sent = read(wire.parse(posted["request"].encode(), version=version))
    assert isinstance(sent, Request)
    assert confirmation.received == sent.header.timestamp

    # What the ISO 10161 responder got: the Request as its ILL-Request, once.
    (apdu,) = apdus(received)
    assert symbol_of(apdu.requester_id) == "REQ1"
    assert symbol_of(apdu.responder_id) == "SUP1"
    tid = apdu.transaction_id
    assert symbol_of(tid.initial_requester_id) == "REQ1"
    assert (tid.transaction_group_qualifier.text, tid.transaction_qualifier.text) == (
        "ISO18626",
        "req-e2e-1",
    )
    assert apdu.item_id.title is not None and apdu.item_id.title.text == "Dune"
    assert apdu.item_id.author is not None and apdu.item_id.author.text == "Herbert, Frank"

    # What the daemon stored: the ILL-Request from REQ1 to SUP1, delivered.
    listed = await asyncio.create_subprocess_exec(
        ISOILL, "queue", "list", "--json", "--config", str(config), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(listed.communicate(), 30)
    (stored,) = json.loads(out)
    assert (stored["peer"], stored["apdu_type"], stored["target_symbol"]) == (
        "REQ1",
        "ILL-Request",
        "SUP1",
    )
    assert json.loads(stored["transaction_key"]) == ["REQ1", "ISO18626", "req-e2e-1", None]
    assert stored["state"] == "delivered"
    (delivery,) = stored["deliveries"]
    assert (delivery["address"], delivery["attempts"]) == (address, 1)
