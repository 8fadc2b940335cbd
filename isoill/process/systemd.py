"""systemd's two protocols for a service, with the standard library: readiness (a datagram to
``$NOTIFY_SOCKET``, the ``sd_notify`` protocol) and socket activation (listening sockets
passed as file descriptors 3 and up, ``$LISTEN_FDS`` of them, for ``$LISTEN_PID``).

Both are read once, at start, and taken out of the environment, so that no process started
later (a worker) takes them for its own. Without systemd both are absent, and nothing is sent.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, MutableMapping

from isoill import logs
from isoill.process.errors import CannotStart

#: A readiness message (``READY=1``...) to whoever supervises the process.
Notify = Callable[[str], None]

READY = "READY=1"
STOPPING = "STOPPING=1"

#: The first file descriptor systemd passes (``SD_LISTEN_FDS_START``).
LISTEN_FDS_START = 3


def reloading() -> str:
    """``RELOADING=1``, with the monotonic clock's time that systemd (``Type=notify-reload``)
    asks for beside it."""
    return f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}"


def silent(state: str) -> None:
    """The notification of a process nobody supervises: none."""


class Notifier:
    """Sends readiness messages to systemd's socket, an ``AF_UNIX`` datagram socket named by a
    path or, written with a leading ``@``, in the abstract namespace. A message that cannot be
    sent is logged, and the daemon goes on: serving does not depend on it."""

    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.log = logs.get()

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] = os.environ) -> Notify:
        """The notifier ``$NOTIFY_SOCKET`` names (taken out of ``environ``), or :func:`silent`
        without one."""
        address = environ.pop("NOTIFY_SOCKET", "")
        if not address.startswith(("/", "@")):  # absent, or a kind (vsock) not spoken here
            return silent
        return cls(address)

    def __call__(self, state: str) -> None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode())
        except OSError as error:
            self.log.warning("service manager not told", state=state, error=str(error))


def listen_fds(environ: MutableMapping[str, str] = os.environ) -> list[socket.socket]:
    """The listening sockets systemd passed this process (none when ``$LISTEN_PID`` names
    another); the variables are taken out of ``environ``. :class:`CannotStart` for a passed
    descriptor that is not a listening TCP socket."""
    pid = environ.pop("LISTEN_PID", None)
    count = environ.pop("LISTEN_FDS", None)
    environ.pop("LISTEN_FDNAMES", None)
    if pid is None or count is None:
        return []
    try:
        if int(pid) != os.getpid():
            return []
        fds = range(LISTEN_FDS_START, LISTEN_FDS_START + int(count))
    except ValueError:
        raise CannotStart(f"LISTEN_PID={pid}, LISTEN_FDS={count}: not numbers") from None
    sockets = []
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError as error:
            raise CannotStart(f"fd {fd} from systemd: {error.strerror}") from None
        sock.set_inheritable(False)  # as sd_listen_fds does; a forked worker keeps it all the same
        tcp = sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM
        if not tcp or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise CannotStart(f"fd {fd} from systemd is not a listening TCP socket")
        sockets.append(sock)
    return sockets
