"""``isoill decode`` and ``isoill encode``: BER to the JSON or text form and back."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from isoill.cli.common import BadInput
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.framing import DEFAULT_MAX_APDU_SIZE, Framer
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.textform import render
from isoill.codec.values import ApduModel


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decode_cmd = commands.add_parser("decode", help="decode BER APDUs to text or JSON")
    decode_cmd.add_argument("files", nargs="+", metavar="FILE", help="APDU files, - for stdin")
    decode_cmd.add_argument("--hex", action="store_true", help="input is hex text")
    decode_cmd.add_argument(
        "--format",
        choices=("text", "json"),
        help="output form (default: text on a terminal, json otherwise)",
    )
    decode_cmd.add_argument(
        "--max-size", type=int, default=DEFAULT_MAX_APDU_SIZE, help="largest APDU in bytes"
    )
    decode_cmd.set_defaults(run=_decode)

    encode_cmd = commands.add_parser("encode", help="encode the JSON form of APDUs to BER")
    encode_cmd.add_argument("file", metavar="FILE.json", help="one APDU or a list; - for stdin")
    encode_cmd.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    encode_cmd.set_defaults(run=_encode)


def _read(name: str, stdin: BinaryIO) -> bytes:
    if name == "-":
        return stdin.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise BadInput(f"{name}: {error.strerror}") from None


def _apdus(name: str, data: bytes, max_size: int) -> Iterator[ApduModel]:
    framer = Framer(max_apdu_size=max_size)
    framer.feed(data)
    offset = 0
    try:
        while (apdu := framer.next_apdu()) is not None:
            try:
                yield decode(apdu)
            except CodecError as error:
                if error.offset is not None:
                    error.offset += offset
                raise
            offset += len(apdu)
    except CodecError as error:
        raise BadInput(f"{name}: {error}") from None
    if framer.buffered:
        raise BadInput(f"{name}: truncated APDU (offset {offset}, {framer.buffered} bytes)")


def _decode(args: argparse.Namespace) -> None:
    out: TextIO = sys.stdout
    form = args.format or ("text" if out.isatty() else "json")
    documents = []
    for name in args.files:
        data = _read(name, sys.stdin.buffer)
        if args.hex:
            try:
                data = bytes.fromhex(data.decode("ascii"))
            except (UnicodeDecodeError, ValueError) as error:
                raise BadInput(f"{name}: not hex text: {error}") from None
        for apdu in _apdus(name, data, args.max_size):
            if form == "json":
                documents.append(to_json(apdu))
            else:
                out.write(render(apdu))
    if form == "json":
        json.dump(documents, out, indent=2, ensure_ascii=False)
        out.write("\n")


def _encode(args: argparse.Namespace) -> None:
    raw = _read(args.file, sys.stdin.buffer)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"{args.file}: not JSON: {error}") from None
    documents = document if isinstance(document, list) else [document]
    encoded = []
    for index, item in enumerate(documents):
        try:
            encoded.append(encode(from_json(item)))
        except CodecError as error:
            raise BadInput(f"{args.file}: APDU {index}: {error}") from None
    output = b"".join(encoded)
    if args.output:
        Path(args.output).write_bytes(output)
    else:
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
