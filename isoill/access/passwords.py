"""Prompt-1 passwords at rest: salted scrypt hashes in a self-describing form,
``scrypt$N$r$p$SALT$HASH`` (cost parameters in decimal; salt and hash in base64 without
padding), so that stronger parameters can be chosen later without breaking stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import NamedTuple

SCHEME = "scrypt"
COST = 2**14  # N: about 16 MiB and tens of milliseconds per check
BLOCK_SIZE = 8  # r
PARALLELISM = 1  # p
SALT_BYTES = 16
HASH_BYTES = 32
MAX_MEMORY = 64 * 2**20  # bytes; a stored hash asking for more is refused, not computed


class PasswordHashError(ValueError):
    """A stored password hash that is not in the form this module writes."""


class _Hash(NamedTuple):
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def hash_password(password: bytes) -> str:
    """A new salted hash of ``password`` in the encoded form."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, _Hash(COST, BLOCK_SIZE, PARALLELISM, salt, b""), HASH_BYTES)
    return "$".join(
        (SCHEME, str(COST), str(BLOCK_SIZE), str(PARALLELISM), _b64(salt), _b64(digest))
    )


def verify(password: bytes, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from (compared in constant time)."""
    stored = parse(encoded)
    return hmac.compare_digest(_scrypt(password, stored, len(stored.digest)), stored.digest)


def parse(encoded: str) -> _Hash:
    """The parts of an encoded hash; :class:`PasswordHashError` when it is not one."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PasswordHashError("not a scrypt$N$r$p$salt$hash password hash")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PasswordHashError("malformed scrypt password hash") from None
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or _memory(n, r, p) > MAX_MEMORY:
        raise PasswordHashError(f"unusable scrypt parameters N={n} r={r} p={p}")
    if len(salt) < 8 or len(digest) < 16:
        raise PasswordHashError("scrypt salt or hash too short")
    return _Hash(n, r, p, salt, digest)


def _scrypt(password: bytes, params: _Hash, length: int) -> bytes:
    n, r, p = params.n, params.r, params.p
    return hashlib.scrypt(
        password, salt=params.salt, n=n, r=r, p=p, maxmem=_memory(n, r, p) + 2**20, dklen=length
    )


def _memory(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
