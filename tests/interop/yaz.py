"""Helpers that put YAZ, the reference ISO 10161 ILL implementation, next to isoill.

* :func:`yazill_binary` builds ``yazill.c`` (next to this file) against libyaz.
* :func:`yaz_decode`, :func:`yaz_print` and :func:`yaz_bench` run that binary.
* :func:`run_illclient` runs Debian's ``yaz-illclient`` against a one-shot loopback listener.

Anything missing on the machine (gcc, libyaz-dev, yaz-illclient) raises
:class:`YazUnavailable`, which the fixtures in ``tests/conftest.py`` turn into a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("yazill.c")
BINARY_NAME = "yazill"
ILLCLIENT = "yaz-illclient"


class YazUnavailable(Exception):
    """A YAZ tool cannot be used on this machine; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class YazDecodeError(Exception):
    """YAZ refused the bytes; ``message`` is yazill's one-line diagnostic (it names the offset)."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode


class IllclientError(Exception):
    """The loopback exchange with ``yaz-illclient`` went wrong (timeout, torn APDU, ...)."""


def _yaz_build_flags() -> list[str]:
    """Compiler and linker flags for libyaz, from pkg-config or else yaz-config."""
    attempts: list[str] = []
    for command in (
        ["pkg-config", "--cflags", "--libs", "yaz"],
        ["yaz-config", "--cflags", "--libs"],
    ):
        if shutil.which(command[0]) is None:
            attempts.append(f"{command[0]} not installed")
            continue
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.split()
        attempts.append(f"{' '.join(command)} failed: {done.stderr.strip() or 'no output'}")
    raise YazUnavailable(
        "libyaz-dev not found (" + "; ".join(attempts) + "); install it with apt-get"
    )


def yazill_binary(build_dir: Path) -> Path:
    """Compile ``yazill.c`` into ``build_dir`` unless an up-to-date build is already there."""
    build_dir = Path(build_dir)
    target = build_dir / BINARY_NAME
    if target.is_file() and target.stat().st_mtime >= SOURCE.stat().st_mtime:
        return target
    gcc = shutil.which("gcc")
    if gcc is None:
        raise YazUnavailable("gcc not found on PATH")
    flags = _yaz_build_flags()
    build_dir.mkdir(parents=True, exist_ok=True)
    # Build under a private name and rename, so concurrent builders never see half a file.
    fd, partial_name = tempfile.mkstemp(prefix=".yazill-", dir=build_dir)
    os.close(fd)
    partial = Path(partial_name)
    command = [gcc, "-O2", "-Wall", "-o", str(partial), str(SOURCE), *flags]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise YazUnavailable(
                f"building yazill failed ({' '.join(command)}): {done.stderr.strip()[-2000:]}"
            )
        partial.chmod(0o755)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _run_yazill(binary: Path, args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(binary), *args], input=data, capture_output=True, check=False, timeout=120
    )


def _raise_rejected(done: subprocess.CompletedProcess[bytes]) -> None:
    message = done.stderr.decode("utf-8", "replace").strip()
    raise YazDecodeError(message or f"yazill exited with {done.returncode}", done.returncode)


def yaz_decode(binary: Path, data: bytes) -> bytes:
    """Let YAZ decode ``data`` (one or more APDUs) and return YAZ's own re-encoding of it.

    Raises :class:`YazDecodeError` carrying YAZ's message if YAZ cannot decode the bytes.
    """
    done = _run_yazill(binary, ["decode", "-"], data)
    if done.returncode != 0:
        _raise_rejected(done)
    return done.stdout


def yaz_print(binary: Path, data: bytes) -> str:
    """YAZ's printed (ODR_PRINT) form of the APDUs in ``data``; handy in assertion messages."""
    done = _run_yazill(binary, ["decode", "-p", "-"], data)
    if done.returncode != 0:
        _raise_rejected(done)
    return done.stderr.decode("utf-8", "replace")


def yaz_bench(binary: Path, data: bytes, n: int) -> tuple[float, float]:
    """Decode and re-encode the first APDU of ``data`` ``n`` times in YAZ.

    Returns ``(decodes per second, encodes per second)``.
    """
    done = _run_yazill(binary, ["bench", str(n), "-"], data)
    if done.returncode != 0:
        _raise_rejected(done)
    rates: dict[str, float] = {}
    for line in done.stdout.decode("ascii").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            rates[key.strip()] = float(value)
    return rates["decodes_per_s"], rates["encodes_per_s"]


@dataclass(frozen=True)
class IllclientRun:
    """What one ``yaz-illclient`` exchange produced."""

    received: bytes
    """The one APDU the client sent (empty if it never connected or sent nothing)."""
    returncode: int
    stdout: str
    stderr: str
    saved_request: bytes | None = None
    """The copy the client writes to ``req.apdu`` in its working directory, if it wrote one."""


class _OneShotListener(threading.Thread):
    """Accepts one connection, reads one whole APDU, answers with ``reply`` and hangs up."""

    def __init__(self, reply: bytes, timeout: float) -> None:
        super().__init__(name="yaz-illclient-listener", daemon=True)
        self.reply = reply
        self.timeout = timeout
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.apdu: bytes | None = None
        self.raw = bytearray()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = self._accept()
            if conn is not None:
                with conn:
                    self._serve(conn)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self.sock.close()

    def _accept(self) -> socket.socket | None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(self.timeout)
            return conn
        return None

    def _serve(self, conn: socket.socket) -> None:
        # The lead's framer decides where the APDU ends (indefinite lengths included).
        from isoill.codec.framing import Framer  # noqa: PLC0415 - optional until it exists

        framer = Framer()
        while self.apdu is None:
            chunk = conn.recv(65536)
            if not chunk:
                return
            self.raw += chunk
            framer.feed(chunk)
            self.apdu = framer.next_apdu()
        conn.sendall(self.reply)
        conn.shutdown(socket.SHUT_WR)
        # Wait for the client to hang up, so it has read the whole reply.
        while conn.recv(65536):
            pass


def run_illclient(
    args: list[str], reply: bytes, timeout: float = 10, files: Sequence[Path] = ()
) -> IllclientRun:
    """Run ``yaz-illclient ARGS tcp:127.0.0.1:PORT`` against a loopback listener.

    The listener reads one complete APDU, writes ``reply`` back and closes. The client runs
    in a fresh temporary directory (it drops a ``req.apdu`` file there). Each of ``files`` is
    copied into that directory under its own name, so that ``args`` can name it as it is
    (``-f params.txt``); any other file argument must be an absolute path.
    """
    client = shutil.which(ILLCLIENT)
    if client is None:
        raise YazUnavailable(f"{ILLCLIENT} not found on PATH (Debian package yaz-illclient)")
    listener = _OneShotListener(reply, timeout)
    listener.start()
    try:
        with tempfile.TemporaryDirectory(prefix="yaz-illclient-") as workdir:
            for file in files:
                shutil.copyfile(file, Path(workdir, Path(file).name))
            try:
                done = subprocess.run(
                    [client, *args, f"tcp:127.0.0.1:{listener.port}"],
                    cwd=workdir,
                    capture_output=True,
                    check=False,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired as exc:
                raise IllclientError(
                    f"{ILLCLIENT} did not finish within {timeout} s; "
                    f"listener had received {len(listener.raw)} bytes"
                ) from exc
            saved = Path(workdir, "req.apdu")
            saved_request = saved.read_bytes() if saved.is_file() else None
    finally:
        listener.stop.set()
        listener.join(timeout)
    if listener.is_alive():
        raise IllclientError("the loopback listener did not finish")
    if listener.error is not None:
        raise listener.error
    if listener.apdu is None and listener.raw:
        raise IllclientError(
            f"{ILLCLIENT} closed the connection inside an APDU after {len(listener.raw)} bytes: "
            f"{bytes(listener.raw[:32]).hex(' ')}..."
        )
    return IllclientRun(
        received=listener.apdu or b"",
        returncode=done.returncode,
        stdout=done.stdout.decode("utf-8", "replace"),
        stderr=done.stderr.decode("utf-8", "replace"),
        saved_request=saved_request,
    )
