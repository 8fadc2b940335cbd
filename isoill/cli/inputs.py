"""Reading APDU files for the commands that take them: raw BER (any number of APDUs back to
back), hex text of the same, or the JSON form (one APDU or a list)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from isoill.cli.common import BadInput
from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.framing import Framer
from isoill.codec.jsonform import from_json
from isoill.codec.models import IllApdu


def read(name: str) -> bytes:
    """The bytes of file ``name``; ``-`` is stdin."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise BadInput(f"{name}: {error.strerror}") from None


def apdus(name: str, form: str, max_size: int) -> Iterator[IllApdu]:
    """Every APDU in file ``name``, decoded; :class:`BadInput` says where one is broken."""
    yield from apdus_in(name, read(name), form, max_size)


def apdus_in(name: str, data: bytes, form: str, max_size: int) -> Iterator[IllApdu]:
    """Every APDU in ``data``, file ``name``'s bytes."""
    if form == "json":
        yield from _from_json(name, data)
        return
    if form == "hex":
        try:
            data = bytes.fromhex(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BadInput(f"{name}: not hex text: {error}") from None
    yield from _from_ber(name, data, max_size)


def _from_ber(name: str, data: bytes, max_size: int) -> Iterator[IllApdu]:
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


def _from_json(name: str, data: bytes) -> Iterator[IllApdu]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"{name}: not JSON: {error}") from None
    for index, item in enumerate(document if isinstance(document, list) else [document]):
        try:
            yield from_json(item)
        except CodecError as error:
            raise BadInput(f"{name}: APDU {index}: {error}") from None
