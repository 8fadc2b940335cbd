"""``isoill decode`` and ``isoill encode``: BER to the JSON or text form and back. ``decode``
reads ISO 18626 XML too: each message as the APDU the gateway maps it to
(:mod:`isoill.cli.xml18626`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from isoill.cli import inputs, xml18626
from isoill.cli.common import BadInput
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.jsonform import to_json
from isoill.codec.textform import render


def run_decode(args: argparse.Namespace) -> None:
    out: TextIO = sys.stdout
    form = args.format or ("text" if out.isatty() else "json")
    documents: list[object] = []
    for name in args.files:
        data = inputs.read(name)
        if not args.hex and xml18626.is_xml(data):
            message = xml18626.read(name, data, args.version, args.timezone)
            shown = message.described()
            if form == "json":
                mapped = None if message.apdu is None else to_json(message.apdu)
                documents.append({"iso18626": shown, "apdu": mapped})
                continue
            out.write(f"# {name}: ISO 18626 {' '.join(f'{k}={v}' for k, v in shown.items())}\n")
            if message.apdu is not None:
                out.write(render(message.apdu))
            continue
        for apdu in inputs.apdus_in(name, data, "hex" if args.hex else "ber", args.max_size):
            if form == "json":
                documents.append(to_json(apdu))
            else:
                out.write(render(apdu))
    if form == "json":
        json.dump(documents, out, indent=2, ensure_ascii=False)
        out.write("\n")


def run_encode(args: argparse.Namespace) -> None:
    encoded = []
    for index, apdu in enumerate(inputs.apdus(args.file, "json", 0)):
        try:
            encoded.append(encode(apdu))
        except CodecError as error:
            raise BadInput(f"{args.file}: APDU {index}: {error}") from None
    output = b"".join(encoded)
    if args.output:
        Path(args.output).write_bytes(output)
    else:
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
