"""The credentials file: each peer's Prompt-1 userId and password hash, by peer symbol.

It lives apart from the configuration (``[access] credentials``, by default
``credentials.toml`` beside it) so that the configuration can be shared and versioned while
the hashes stay readable by the daemon's user alone. ``isoill peers passwd`` writes it::

    ["REQLIB"]
    user_id = "reqlib"
    password_hash = "scrypt$16384$8$1$...$..."
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isoill.access import passwords

HEADER = (
    "# Prompt-1 credentials of isoill's peers, written by `isoill peers passwd`.\n"
    "# Passwords are kept as salted scrypt hashes only; keep this file readable by the daemon.\n"
)


class CredentialsError(Exception):
    """The credentials file cannot be used; the message says where and why."""


class Credential(BaseModel):
    """What the first APDU of a peer's connection must carry in its Prompt-1 response."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1)
    password_hash: str
    """``scrypt$N$r$p$salt$hash`` (see :mod:`isoill.access.passwords`)."""

    @field_validator("password_hash")
    @classmethod
    def _usable(cls, value: str) -> str:
        passwords.parse(value)
        return value

    def __repr__(self) -> str:  # never show the hash, whatever prints the configuration
        return f"Credential(user_id={self.user_id!r})"

    __str__ = __repr__


def load(path: Path) -> dict[str, Credential]:
    """The credentials by peer symbol (upper case); none when the file does not exist."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise CredentialsError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise CredentialsError(f"{path}: {error}") from None
    credentials: dict[str, Credential] = {}
    for symbol, entry in data.items():
        try:
            credentials[symbol.strip().upper()] = Credential.model_validate(entry)
        except ValidationError as error:
            problems = "; ".join(
                ".".join((symbol, *(str(p) for p in item["loc"]))) + f": {item['msg']}"
                for item in error.errors(include_input=False)
            )
            raise CredentialsError(f"{path}: {problems}") from None
    return credentials


def save(path: Path, credentials: dict[str, Credential]) -> None:
    """Write the whole file anew, readable by its owner only, replacing the old one at once."""
    lines = [HEADER]
    for symbol in sorted(credentials):
        credential = credentials[symbol]
        lines.append(
            f"\n[{_string(symbol)}]\n"
            f"user_id = {_string(credential.user_id)}\n"
            f"password_hash = {_string(credential.password_hash)}\n"
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


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's; TOML wants DEL escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
