"""The ISO 10161 link to one target address: a kept TCP connection on which delivery sends one
APDU at a time and reads what the target answers, raw BER as on the listeners.

:meth:`Link.exchange` sends an APDU and, for a target that answers (``expects_reply``), reads
one APDU back and says what it means: ``None`` for an acknowledgement (any
Status-Or-Error-Report without an error-report), the target's own APDU (which is delivered
too, and goes through intake), :class:`Refused` for an error-report or an answer that cannot
be read; :class:`OSError` or :class:`TimeoutError` when nobody answered. Only the outer layers
of the answer are read here (:func:`isoill.codec.splice.present_fields`). A kept connection
the target has closed since is not an attempt: it is dropped and the APDU sent again on a
fresh one. With ``[capture]``, the link records what it sends and reads.
"""

from __future__ import annotations

import asyncio
import time

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.capture.recorder import Recorder, Tap, socket_address
from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.framing import Framer
from isoill.codec.splice import present_fields, without_extensions
from isoill.service.links import Refused
from isoill.transport import streams
from isoill.transport.deadline import Deadline

READ_CHUNK = 65536


class Iso10161Link:
    """A :class:`isoill.service.links.Link` over TCP."""

    def __init__(
        self,
        address: str,
        recorder: Recorder | None,
        *,
        connect_timeout: float,
        max_apdu_size: int,
    ) -> None:
        self.address = address
        self._recorder = recorder
        self._connect_timeout = connect_timeout
        self._max_apdu_size = max_apdu_size
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._tap: Tap | None = None
        self._watch: Deadline | None = None

    async def exchange(
        self,
        wire: bytes,
        recorded: bytes,
        *,
        expects_reply: bool,
        reply_timeout: float,
        capture: bool,
        target: str,
        apdu_type: str,
    ) -> bytes | None:
        """Send ``wire`` (the capture records it as ``recorded``, without a login added for
        the target); the target's own APDU if it answered with one."""
        reused = self._stream is not None and not self._stream[1].is_closing()
        try:
            return await self._once(
                wire, recorded, expects_reply, reply_timeout, capture, target, apdu_type
            )
        except OSError:  # the await goes after the except block (see the listener's _accept)
            if not reused:
                raise
        self.close()  # the reused connection was gone: once more, on a new one
        return await self._once(
            wire, recorded, expects_reply, reply_timeout, capture, target, apdu_type
        )

    async def send_back(self, reply: bytes, timeout: float, comment: str | None) -> None:
        """Write the gateway's answer to the target's own APDU on this connection (recorded
        with ``comment``, if given). :class:`OSError` if it cannot go out."""
        if self._stream is None:
            raise ConnectionResetError("the delivery connection is gone")
        if comment is not None and self._tap is not None:
            self._tap.apdu(True, reply, time.time(), comment)
        await streams.send(self._stream[1], reply, timeout)

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._tap is not None:
            self._tap.close(time.time())
            self._tap = None

    async def _once(
        self,
        wire: bytes,
        recorded: bytes,
        expects_reply: bool,
        reply_timeout: float,
        capture: bool,
        target: str,
        apdu_type: str,
    ) -> bytes | None:
        reader, writer, tap, watch = await self._connect()
        if capture:
            tap.apdu(True, recorded, time.time(), f"isoill -> {target} {apdu_type}")
        writer.write(wire)
        await writer.drain()
        if not expects_reply:
            return None
        framer = Framer(max_apdu_size=self._max_apdu_size)
        watch.at(asyncio.get_running_loop().time() + reply_timeout)
        try:
            while (answer := framer.next_apdu()) is None:
                data = await reader.read(READ_CHUNK)
                if watch.expired:  # said, for the delivery's log line and its last error
                    raise TimeoutError(f"no answer within {reply_timeout:g} s")
                if not data:
                    raise ConnectionResetError("connection closed before an answer")
                framer.feed(data)
        finally:
            watch.at(None)
        try:
            kind, fields = present_fields(answer)
        except CodecError as error:
            if capture:
                tap.apdu(False, answer, time.time(), f"{target} -> isoill unreadable APDU")
            raise Refused(f"unreadable answer: {error}") from None
        if capture and tap.recorder is not None:
            tap.apdu(False, _kept(answer, fields), time.time(), f"{target} -> isoill {kind}")
        if kind == "Status-Or-Error-Report":
            if "error-report" in fields:
                raise Refused(f"refused: {_refusal(answer)}")
            return None
        return answer

    async def _connect(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Tap, Deadline]:
        if self._stream is not None and self._tap is not None and self._watch is not None:
            if not self._stream[1].is_closing():
                return (*self._stream, self._tap, self._watch)
            self.close()
        host, _, port = self.address.rpartition(":")
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except TimeoutError:
            raise TimeoutError(f"no connection within {self._connect_timeout:g} s") from None
        self._stream = reader, writer
        local = socket_address(writer.get_extra_info("sockname"))
        remote = socket_address(writer.get_extra_info("peername"))
        self._tap = Tap(self._recorder, local, remote)
        # A reply not read within its time aborts the connection: a late one would be taken
        # for the next APDU's.
        self._watch = Deadline(asyncio.get_running_loop(), writer.transport.abort)
        return reader, writer, self._tap, self._watch


def _kept(answer: bytes, fields: frozenset[str]) -> bytes:
    """A target's answer as the gateway records it: without a Prompt-1 login it carries (as
    received when its extensions are not BER: then nothing in them can be cut reliably)."""
    if not any(name.endswith("-extensions") for name in fields):
        return answer
    try:
        return without_extensions(answer, PROMPT_1)
    except CodecError:
        return answer


def _refusal(answer: bytes) -> str:
    """What a target's error-report says, for the log and the delivery's last error."""
    try:
        report = decode(answer)
    except CodecError as error:
        return f"an error-report that does not decode ({error})"
    error_report = getattr(report, "error_report", None)
    return str(error_report.model_dump(mode="json")) if error_report is not None else "?"
