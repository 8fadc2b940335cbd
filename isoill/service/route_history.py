"""The routes file as the console changes it: each change replaces the file at once (a new
file written beside it, synced, then renamed over it: a reader sees the old file or the new,
never half of one), and every version is kept in a history directory with who made it, when
and why, so that an earlier one can be restored.

A version is two files, ``NNNNNN.toml`` (the text) and ``NNNNNN.json`` (who, when, note), both
the daemon user's alone. The file as found before the first change, and a file changed by hand
since the last version, are kept as a version of their own (``who`` "(on disk)") before the
change is made: nothing the history is asked to restore was lost."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from isoill import private

ON_DISK = "(on disk)"


class HistoryError(Exception):
    """A version that does not exist, or a file changed since the edit was shown."""


@dataclass(frozen=True)
class Version:
    number: int
    at: datetime
    who: str
    note: str
    digest: str
    """SHA-256 of the text, hex."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RoutesHistory:
    def __init__(self, routes: Path, directory: Path) -> None:
        self.routes = routes
        self.directory = directory

    def current(self) -> str:
        return self.routes.read_text(encoding="utf-8")

    def versions(self) -> list[Version]:
        """Every version kept, newest first."""
        if not self.directory.is_dir():
            return []
        numbers = sorted(
            (int(path.stem) for path in self.directory.glob("*.json") if path.stem.isdigit()),
            reverse=True,
        )
        return [self._meta(number) for number in numbers]

    def version(self, number: int) -> tuple[Version, str]:
        """A version and its text; :class:`HistoryError` if there is none."""
        text_path = self.directory / f"{number:06d}.toml"
        try:
            return self._meta(number), text_path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            raise HistoryError(f"no routes version {number}") from None

    def replace(
        self, after: str, *, who: str, note: str, now: datetime, expected: str | None = None
    ) -> Version:
        """Make ``after`` the routes file and keep it as the newest version. ``expected``:
        the digest of the text the change was made on; if the file is not that text any more
        (somebody else changed it meanwhile), :class:`HistoryError` and nothing is written."""
        before = self.current()
        if expected is not None and digest(before) != expected:
            raise HistoryError(f"{self.routes} changed since this edit was shown: look at it again")
        private.make_directory(self.directory)
        versions = self.versions()
        if not versions or versions[0].digest != digest(before):
            self._keep(before, ON_DISK, "as found before a change by the console", now)
        _replace_file(self.routes, after)
        return self._keep(after, who, note, now)

    def _keep(self, text: str, who: str, note: str, now: datetime) -> Version:
        versions = self.versions()
        number = versions[0].number + 1 if versions else 1
        version = Version(number, now, who, note, digest(text))
        with private.open_new(self.directory / f"{number:06d}.toml", exclusive=True) as out:
            out.write(text.encode())
        meta = {"at": now.isoformat(), "who": who, "note": note, "sha256": version.digest}
        with private.open_new(self.directory / f"{number:06d}.json", exclusive=True) as out:
            out.write(json.dumps(meta).encode())
        return version

    def _meta(self, number: int) -> Version:
        meta = json.loads((self.directory / f"{number:06d}.json").read_text())
        return Version(
            number, datetime.fromisoformat(meta["at"]), meta["who"], meta["note"], meta["sha256"]
        )


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path`` (with ``path``'s mode), sync it, rename
    it over ``path``, and sync the directory so that the rename survives a crash."""
    mode = path.stat().st_mode & 0o777
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode())
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
