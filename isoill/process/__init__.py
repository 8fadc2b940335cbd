"""Running as a daemon: the listening sockets (bound here, or handed down by systemd), the
service manager's readiness protocol, the lock that keeps one daemon per SQLite store, and
the supervisor of ``isoill serve --workers N`` (see docs/gateway.md, "Running several
processes")."""
