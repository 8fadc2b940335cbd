"""The console's operator accounts: a name, a role and a salted scrypt hash of the password
(:mod:`isoill.access.passwords`), in a file of their own (``[console] accounts``, by default
``operators.toml`` beside the configuration), never in the configuration, readable by the
daemon's user alone. ``isoill operators add`` writes it::

    [operators.alice]
    role = "admin"
    password_hash = "scrypt$16384$8$1$...$..."

Roles, each allowed what the one before it is: ``viewer`` reads everything but patron data,
``operator`` also resends, releases and refuses, ``admin`` also edits and restores routes."""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from isoill.access import passwords

ROLES = ("viewer", "operator", "admin")
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

HEADER = (
    "# The operators of isoill's console, written by `isoill operators add`: each one's role\n"
    "# and a salted scrypt hash of the password. Keep this file readable by the daemon's user\n"
    "# alone.\n"
)


class AccountsError(Exception):
    """The accounts file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    password_hash: str

    def __repr__(self) -> str:  # never show the hash
        return f"Operator(name={self.name!r}, role={self.role!r})"

    def may(self, role: str) -> bool:
        """Whether this operator has ``role`` or one above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def check_name(name: str) -> str:
    """An operator's name: 1 to 64 of lower-case letters, digits and ``._-``."""
    if not 1 <= len(name) <= 64 or not set(name) <= _NAME_CHARACTERS:
        raise AccountsError(
            f"operator name {name!r}: 1 to 64 lower-case letters, digits, '.', '_' or '-'"
        )
    return name


def load(path: Path) -> dict[str, Operator]:
    """The accounts by name; none when the file does not exist."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise AccountsError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise AccountsError(f"{path}: {error}") from None
    unknown = set(data) - {"operators"}
    if unknown:
        raise AccountsError(f"{path}: unknown key {sorted(unknown)[0]!r}")
    found = {}
    for name, entry in data.get("operators", {}).items():
        try:
            check_name(name)
            if not isinstance(entry, dict) or set(entry) != {"role", "password_hash"}:
                raise AccountsError("expected role and password_hash, nothing else")
            if entry["role"] not in ROLES:
                raise AccountsError(f"role must be one of {', '.join(ROLES)}")
            passwords.parse(entry["password_hash"])
        except (AccountsError, passwords.PasswordHashError) as error:
            raise AccountsError(f"{path}: operators.{name}: {error}") from None
        found[name] = Operator(name, entry["role"], entry["password_hash"])
    return found


def save(path: Path, accounts: Mapping[str, Operator]) -> None:
    """Write the whole file anew, readable by its owner only, replacing the old one at once."""
    lines = [HEADER]
    for name in sorted(accounts):
        account = accounts[name]
        lines.append(
            f"\n[operators.{json.dumps(name)}]\nrole = {json.dumps(account.role)}\n"
            f"password_hash = {json.dumps(account.password_hash)}\n"
        )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:  # mkstemp creates it with mode 0600
            file.writelines(lines)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
