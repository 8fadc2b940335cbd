"""The peer's messages (:mod:`.messages`) as bytes, in the version it speaks.

Each message becomes the generated model of that version (:mod:`.as_v1_2`,
:mod:`.as_v2021`) and goes through :func:`isoill.iso18626.wire.serialise`, which validates
it against the schema: what the peer writes is valid, or it is not written
(:class:`~isoill.iso18626.wire.NotSerialisable`).
"""

from __future__ import annotations

from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626 import as_v1_2, as_v2021
from isoill.tools.peer18626.messages import Message


def write(message: Message, version: Version) -> bytes:
    """``message`` as a valid document of ``version``."""
    if version is Version.V1_2:
        return wire.serialise(as_v1_2.envelope(message))
    return wire.serialise(as_v2021.envelope(message))
