"""Why the daemon cannot start."""

from __future__ import annotations


class CannotStart(Exception):
    """The daemon cannot start, and waiting will not change it (a port in use, a store another
    daemon holds, sockets from systemd that no listener names); the message says why."""
