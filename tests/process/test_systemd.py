"""systemd's protocols read from the environment, and the readiness datagram sent to a path
and to the abstract namespace. (Sockets passed as fd 3 are tested with a daemon of their own:
tests/test_gateway_systemd.py.)"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from gateway_harness import json_logs, log_lines

from isoill.process.errors import CannotStart
from isoill.process.systemd import Notifier, listen_fds, reloading, silent


@pytest.mark.parametrize("name", ["path", "abstract"])
def test_a_notification_is_one_datagram_to_the_socket_named(tmp_path: Path, name: str) -> None:
    address = str(tmp_path / "notify") if name == "path" else f"@isoill-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(address if name == "path" else "\0" + address[1:])
        environ = {"NOTIFY_SOCKET": address, "HOME": "/"}
        notify = Notifier.from_environment(environ)
        assert environ == {"HOME": "/"}  # not for a process started later
        notify("READY=1")
        notify(reloading())
        assert manager.recv(4096) == b"READY=1"
        state, usec = manager.recv(4096).decode().split("\n")
        assert state == "RELOADING=1" and usec.startswith("MONOTONIC_USEC=")


def test_without_a_notify_socket_nothing_is_sent() -> None:
    assert Notifier.from_environment({}) is silent
    assert Notifier.from_environment({"NOTIFY_SOCKET": "vsock:2:1234"}) is silent


def test_a_notification_nobody_takes_is_logged_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with json_logs():
        notify = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "absent")})
        notify("READY=1")
    (line,) = log_lines(capsys, "service manager not told")
    assert (line["state"], line["level"]) == ("READY=1", "warning")


def test_sockets_passed_to_another_pid_are_not_taken() -> None:
    environ = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"}
    assert listen_fds(environ) == []
    assert environ == {}


def test_without_listen_variables_no_sockets() -> None:
    assert listen_fds({}) == []


def test_unreadable_listen_variables_stop_the_start() -> None:
    with pytest.raises(CannotStart, match="not numbers"):
        listen_fds({"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "two"})
