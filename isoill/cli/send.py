"""``isoill send HOST:PORT FILE...``: send APDUs to an ILL server, lock-step, and print every
reply decoded (see :mod:`isoill.tools.send`).

Exit status, as ``yaz-illclient``'s: 0 every APDU acknowledged; 7 an error report; 6 a wrong
reply (not a Status-Or-Error-Report, or unreadable); 5 no reply; 4 no connection. With several
APDUs, the worst: 4, then 5, then 6, then 7, then 0. 2 usage error, 3 bad input (nothing sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from isoill.cli import inputs
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
    labelled = [
        (f"{name} #{index}", apdu)
        for name in args.files
        for index, apdu in enumerate(inputs.apdus(name, args.form, DEFAULT_MAX_APDU_SIZE), 1)
    ]
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
