"""The listeners' sockets, bound before anything serves on them: by the supervisor once for
all its workers (one accept queue that a restarting worker does not empty), or taken from
systemd (socket activation: the ``.socket`` unit owns the port).

The listeners are the ``[[listeners]]`` entries, then the ``[iso18626]`` endpoint
(:attr:`isoill.config.Config.bound_listeners`). A socket systemd passes belongs to the one
whose host and port it is bound to (the host as ``getaddrinfo`` reads it, so ``localhost``
names 127.0.0.1 and ::1); a listener no passed socket belongs to is bound here, as asyncio
would bind it; a passed socket that no listener names stops the start, rather than listen
where the configuration does not say.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from isoill import logs
from isoill.capture.recorder import socket_address
from isoill.config import Listener
from isoill.process.errors import CannotStart

#: The listen queue: connections the kernel has accepted and no worker has taken yet (the
#: standard library's default; the listeners set it again on the sockets systemd passes).
BACKLOG = 100

#: For each listener, in configuration order, its sockets (one per address its host names).
Listening = Sequence[Sequence[socket.socket]]


def listening(listeners: Sequence[Listener], inherited: Sequence[socket.socket]) -> Listening:
    """Each listener's sockets: those of ``inherited`` bound to its address, or new ones."""
    left = list(inherited)
    found: list[list[socket.socket]] = []
    for listener in listeners:
        addresses = {_name(address) for _, address in _addresses(listener)}
        own = [sock for sock in left if _name(sock.getsockname()) in addresses]
        left = [sock for sock in left if sock not in own]
        for sock in own:
            logs.get().info(
                "socket from systemd", address=socket_address(sock.getsockname()), fd=sock.fileno()
            )
        found.append(own or bind(listener))
    if left:
        names = ", ".join(f"{socket_address(s.getsockname())} (fd {s.fileno()})" for s in left)
        raise CannotStart(f"systemd passed sockets that no [[listeners]] entry names: {names}")
    return found


def bind(listener: Listener) -> list[socket.socket]:
    """New listening sockets for ``listener``: one per address its host names, each with
    ``SO_REUSEADDR`` (a restart need not wait for the old connections' ``TIME_WAIT``), IPv6
    ones IPv6 only."""
    sockets: list[socket.socket] = []
    try:
        for family, address in _addresses(listener):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as error:
        for sock in sockets:
            sock.close()
        reason = error.strerror or str(error)
        raise CannotStart(f"listener {listener.host}:{listener.port}: {reason}") from None
    return sockets


def _addresses(listener: Listener) -> list[tuple[socket.AddressFamily, tuple[object, ...]]]:
    """The (family, socket address) pairs ``listener``'s host and port name, each once."""
    try:
        infos = socket.getaddrinfo(
            listener.host or None,
            listener.port,
            family=socket.AF_UNSPEC,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )
    except socket.gaierror as error:
        raise CannotStart(f"listener {listener.host}:{listener.port}: {error.strerror}") from None
    return list(dict.fromkeys((family, tuple(address)) for family, _, _, _, address in infos))


def _name(address: object) -> tuple[str, int]:
    """A socket address as (host, port), IPv6's flow and scope left out."""
    assert isinstance(address, tuple)
    return str(address[0]), int(address[1])
