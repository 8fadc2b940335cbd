"""The credentials file, by peer symbol: the Prompt-1 userId and password hash a peer's
connections must log in with, the gateway's own Prompt-1 login at a target that wants one, and
the ``requestingAgencyAuthentication`` the gateway writes in the ISO 18626 messages it sends
to a peer that demands one (Koha does).

It lives apart from the configuration (``[access] credentials``, by default
``credentials.toml`` beside it) so that the configuration can be shared and versioned while
the secrets stay readable by the daemon's user alone. ``isoill peers passwd`` and ``isoill
peers login`` write it::

    ["REQLIB"]
    user_id = "reqlib"
    password_hash = "scrypt$16384$8$1$...$..."

    ["OCLC".login]
    user_id = "100-123-456"
    password = "..."

    ["KOHALIB".agency]
    account_id = "isoill"
    security_code = "..."

The gateway's logins must be kept in clear, since the gateway sends them; they are never
logged, stored with an APDU or recorded in a capture (an ISO 18626 message is stored without
its security code, which is added at each POST from this file as it is then).
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from isoill.access import passwords
from isoill.ill.symbols import symbol_key

HEADER = (
    "# Prompt-1 credentials of isoill's peers, written by `isoill peers passwd` and `login`.\n"
    "# Peers' passwords are kept as salted scrypt hashes only; the gateway's own logins at\n"
    "# targets are in clear: keep this file readable by the daemon's user alone.\n"
)


class CredentialsError(Exception):
    """The credentials file cannot be used; the message says where and why."""


class GatewayLogin(BaseModel):
    """The Prompt-1 userId and password the gateway logs in with at one target."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1)
    password: str = Field(min_length=1)

    def __repr__(self) -> str:  # never show the password
        return f"GatewayLogin(user_id={self.user_id!r})"

    __str__ = __repr__


class AgencyLogin(BaseModel):
    """The ``requestingAgencyAuthentication`` (accountId, securityCode) the gateway writes in
    the ISO 18626 Requests and requesting agency messages it sends to one peer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(min_length=1)
    security_code: str = Field(min_length=1)

    def __repr__(self) -> str:  # never show the security code
        return f"AgencyLogin(account_id={self.account_id!r})"

    __str__ = __repr__


class _Entry(BaseModel):
    """One symbol's table in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = Field(None, min_length=1)
    password_hash: str | None = None
    login: GatewayLogin | None = None
    agency: AgencyLogin | None = None

    @model_validator(mode="after")
    def _whole(self) -> _Entry:
        if (self.user_id is None) != (self.password_hash is None):
            raise ValueError("user_id and password_hash go together")
        return self

    def __repr__(self) -> str:
        return f"_Entry(user_id={self.user_id!r}, login={self.login!r})"


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


@dataclass(frozen=True)
class Credentials:
    """What the file holds: peers' logins to check, and the gateway's own logins."""

    peers: dict[str, Credential] = field(default_factory=dict)
    logins: dict[str, GatewayLogin] = field(default_factory=dict)
    agencies: dict[str, AgencyLogin] = field(default_factory=dict)


def load(path: Path) -> Credentials:
    """The file's credentials by peer symbol (upper case); none when it does not exist."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Credentials()
    except OSError as error:
        raise CredentialsError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise CredentialsError(f"{path}: {error}") from None
    found = Credentials()
    for symbol, table in data.items():
        try:
            entry = _Entry.model_validate(table)
            if entry.user_id is not None and entry.password_hash is not None:
                credential = Credential(user_id=entry.user_id, password_hash=entry.password_hash)
                found.peers[symbol_key(symbol)] = credential
        except ValidationError as error:
            problems = "; ".join(
                ".".join((symbol, *(str(p) for p in item["loc"]))) + f": {item['msg']}"
                for item in error.errors(include_input=False)
            )
            raise CredentialsError(f"{path}: {problems}") from None
        if entry.login is not None:
            found.logins[symbol_key(symbol)] = entry.login
        if entry.agency is not None:
            found.agencies[symbol_key(symbol)] = entry.agency
    return found


def save(path: Path, credentials: Credentials) -> None:
    """Write the whole file anew, readable by its owner only, replacing the old one at once."""
    lines = [HEADER]
    symbols = credentials.peers.keys() | credentials.logins.keys() | credentials.agencies.keys()
    for symbol in sorted(symbols):
        credential = credentials.peers.get(symbol)
        login = credentials.logins.get(symbol)
        agency = credentials.agencies.get(symbol)
        if credential is not None:
            lines.append(
                f"\n[{_string(symbol)}]\n"
                f"user_id = {_string(credential.user_id)}\n"
                f"password_hash = {_string(credential.password_hash)}\n"
            )
        if login is not None:
            lines.append(
                f"\n[{_string(symbol)}.login]\n"
                f"user_id = {_string(login.user_id)}\n"
                f"password = {_string(login.password)}\n"
            )
        if agency is not None:
            lines.append(
                f"\n[{_string(symbol)}.agency]\n"
                f"account_id = {_string(agency.account_id)}\n"
                f"security_code = {_string(agency.security_code)}\n"
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
