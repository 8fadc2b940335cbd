"""``isoill send HOST:PORT FILE...``: send APDUs to an ILL server, lock-step, and print every
reply decoded (see :mod:`isoill.tools.send`). An ISO 18626 XML file is sent as the APDU the
gateway maps it to (:mod:`isoill.cli.xml18626`). ``isoill send URL FILE.xml...`` POSTs ISO
18626 messages to a peer instead, one by one, each checked before anything is sent, and says
what each Confirmation said (:mod:`isoill.tools.send18626`).

Exit status, as ``yaz-illclient``'s: 0 every APDU acknowledged; 7 an error report; 6 a wrong
reply (not a Status-Or-Error-Report, or unreadable); 5 no reply; 4 no connection. With several
APDUs, the worst: 4, then 5, then 6, then 7, then 0. 2 usage error, 3 bad input (nothing sent).
For ISO 18626: 0 an OK Confirmation, 7 an ERROR one, 6 an answer without the Confirmation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from isoill.cli import inputs, xml18626
from isoill.cli.common import BadInput
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.framing import DEFAULT_MAX_APDU_SIZE
from isoill.codec.jsonform import to_json
from isoill.codec.models import IllApdu
from isoill.codec.textform import render
from isoill.tools.send import Exchange, send, worst


def run_send(args: argparse.Namespace) -> None:
    if isinstance(args.address, str):
        _post(args)
        return
    labelled = [labelled for name in args.files for labelled in _read(name, args)]
    if not labelled:
        raise BadInput(f"no APDUs in {', '.join(args.files)}")
    host, port = args.address
    apdus = [_ber(label, apdu) for label, apdu in labelled]
    exchanges = asyncio.run(send(host, port, apdus, per_apdu=args.per_apdu, timeout=args.timeout))
    records = []
    for (label, apdu), exchange in zip(labelled, exchanges, strict=False):
        _say(f"{label} {apdu.apdu_type}: {exchange.reason}")
        reply = _decoded(exchange)
        if args.json:
            records.append(_record(label, apdu, exchange, reply))
        elif reply is not None:
            sys.stdout.write(render(reply))
            sys.stdout.flush()
    for label, apdu in labelled[len(exchanges) :]:
        _say(f"{label} {apdu.apdu_type}: not sent, the connection failed before it")
    if args.json:
        json.dump(records, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    status = worst(exchange.status for exchange in exchanges)
    if status:
        sys.exit(int(status))


def _read(name: str, args: argparse.Namespace) -> list[tuple[str, IllApdu]]:
    """File ``name``'s APDUs, labelled; an ISO 18626 message as its APDU."""
    data = inputs.read(name)
    if args.form == "ber" and xml18626.is_xml(data):
        message = xml18626.read(name, data, args.version, args.timezone)
        if message.apdu is None:
            raise BadInput(f"{name}: a {message.parsed.kind} answers a message: nothing to send")
        return [(f"{name} #1", message.apdu)]
    found = inputs.apdus_in(name, data, args.form, DEFAULT_MAX_APDU_SIZE)
    return [(f"{name} #{index}", apdu) for index, apdu in enumerate(found, 1)]


def _post(args: argparse.Namespace) -> None:
    """Each file's ISO 18626 message POSTed to the URL, all of them read first."""
    bodies = []
    for name in args.files:
        data = inputs.read(name)
        if not xml18626.is_xml(data):
            raise BadInput(f"{name}: not ISO 18626 XML: a URL is sent ISO 18626 messages")
        message = xml18626.read(name, data, args.version, args.timezone)
        if message.apdu is None:
            raise BadInput(f"{name}: a {message.parsed.kind} answers a message: nothing to send")
        bodies.append((name, message.parsed.kind.value, data))
    # Imported here: aiohttp is for the URLs alone.
    from isoill.tools.send18626 import post  # noqa: PLC0415

    results = asyncio.run(post(args.address, [body for _, _, body in bodies], args.timeout))
    records = []
    for (name, kind, _), result in zip(bodies, results, strict=True):
        _say(f"{name} {kind}: {result.reason}")
        records.append({"file": name, "message": kind, **result.shown()})
    if args.json:
        json.dump(records, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    status = worst(result.status for result in results)
    if status:
        sys.exit(int(status))


def _ber(label: str, apdu: IllApdu) -> bytes:
    """The bytes an APDU was read from; one read in the JSON form is encoded."""
    if apdu.ber is not None:
        return apdu.ber
    try:
        return encode(apdu)
    except CodecError as error:
        raise BadInput(f"{label}: {error}") from None


def _say(line: str) -> None:
    sys.stdout.flush()  # keep the order of the replies and of these lines on a terminal
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _decoded(exchange: Exchange) -> IllApdu | None:
    if exchange.reply is None:
        return None
    try:
        return decode(exchange.reply)
    except CodecError:
        return None  # the reason says why


def _record(label: str, apdu: IllApdu, exchange: Exchange, reply: IllApdu | None) -> dict[str, Any]:
    return {
        "apdu": label,
        "type": apdu.apdu_type,
        "status": int(exchange.status),
        "reason": exchange.reason,
        "reply": None if reply is None else to_json(reply),
    }
