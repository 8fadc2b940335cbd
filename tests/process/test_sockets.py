"""The listeners' sockets: those handed down matched to the listeners by address, the others
bound, and a handed-down socket that no listener names refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from isoill.config import Listener
from isoill.process.errors import CannotStart
from isoill.process.sockets import bind, listening


@pytest.fixture
def passed() -> Iterator[list[socket.socket]]:
    """Two listening sockets, as systemd would pass them."""
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    yield sockets
    for sock in sockets:
        sock.close()


def port(sock: socket.socket) -> int:
    number: int = sock.getsockname()[1]
    return number


def test_passed_sockets_go_to_the_listeners_of_their_address_the_rest_are_bound(
    passed: list[socket.socket],
) -> None:
    first, second = passed
    listeners = [
        Listener(host="127.0.0.1", port=port(second)),
        Listener(host="127.0.0.1", port=0),
        Listener(host="127.0.0.1", port=port(first)),
    ]
    found = listening(listeners, passed)
    try:
        assert [len(own) for own in found] == [1, 1, 1]
        assert found[0][0] is second and found[2][0] is first
        bound = found[1][0]
        assert bound not in passed and port(bound) != 0
        assert bound.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    finally:
        found[1][0].close()


def test_a_passed_socket_that_no_listener_names_stops_the_start(
    passed: list[socket.socket],
) -> None:
    first, second = passed
    with pytest.raises(CannotStart) as refused:
        listening([Listener(host="127.0.0.1", port=port(first))], passed)
    assert str(refused.value) == (
        "systemd passed sockets that no [[listeners]] entry names:"
        f" 127.0.0.1:{port(second)} (fd {second.fileno()})"
    )


def test_a_host_of_two_addresses_gets_a_socket_for_each() -> None:
    try:
        names = {info[4][0] for info in socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip("localhost does not resolve here")
    sockets = bind(Listener(host="localhost", port=0))
    try:
        assert {sock.getsockname()[0] for sock in sockets} == names
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_in_use_is_refused_with_the_reason(passed: list[socket.socket]) -> None:
    with pytest.raises(CannotStart) as refused:
        bind(Listener(host="127.0.0.1", port=port(passed[0])))
    assert str(refused.value) == f"listener 127.0.0.1:{port(passed[0])}: Address already in use"
