"""The console's audit log: one JSON line per change made, or patron data shown, through the
console: who, when, what, on which message or version, and for routes the text before and
after. It holds no patron data and no secret (a password, a session, a CSRF token): only ids,
symbols, addresses and reasons an operator typed. The file is the daemon user's alone."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from isoill import private


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, who: str, action: str, now: datetime, details: Mapping[str, object]) -> None:
        """Append one entry, synced before this returns."""
        entry = {"at": now.isoformat(), "who": who, "action": action, **details}
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        private.make_directory(self.path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fd = os.open(self.path, flags, private.FILE_MODE)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest entries, newest first."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in reversed(lines[-limit:])]
