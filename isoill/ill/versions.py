"""The versions of the protocol: Protocol-Version-Num is version-1 (1) or version-2 (2)."""

from __future__ import annotations

from typing import Final

#: The version the gateway writes, and answers an APDU of an unsupported version in.
PROTOCOL_VERSION: Final = 2

#: The versions ISO 10161 defines; an APDU of another is refused.
SUPPORTED_VERSIONS: Final = (1, 2)


def reply_version(version: int) -> int:
    """The version to answer an APDU of ``version`` in: its own where it is one ISO 10161
    defines, else ours (the answer to an unsupported version says so in a version the sender
    can read)."""
    return version if version in SUPPORTED_VERSIONS else PROTOCOL_VERSION
