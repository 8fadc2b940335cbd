"""The expectations file of ``isoill replay``: what each replayed APDU must get back, and what
each simulated peer must receive. TOML; see docs/tools.md for the format.

    [peers.RESPLIB]                 # a simulated peer replay starts (routes must point here)
    listen = "127.0.0.1:7001"
    script = "peer-script.toml"     # optional, relative to this file

    [replies]
    default = "acknowledged"        # others: "error", "answer" (an APDU), "none", "any"

    [[reply]]
    apdu = 2                        # number in replay order, from 1
    status = "error"
    contains = "oclc-title"         # text the reply's note must contain

    [[receive]]
    peer = "RESPLIB"
    apdus = [1, 3]                  # replayed APDUs it must receive, byte for byte, in order
    types = ["ILL-Request"]         # or: the APDU types it must receive, in order
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Status = Literal["acknowledged", "error", "answer", "none", "any"]


class ExpectationsError(Exception):
    """The expectations file cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PeerSpec(_Section):
    listen: str
    script: Path | None = None


class Replies(_Section):
    default: Status = "acknowledged"


class Reply(_Section):
    apdu: int = Field(ge=1)
    status: Status = "acknowledged"
    type: str | None = None
    """The reply's APDU type, when it must be one (an answer other than a report)."""
    contains: str | None = None


class Receive(_Section):
    peer: str
    apdus: tuple[int, ...] | None = None
    types: tuple[str, ...] | None = None
    within: float = Field(10.0, gt=0)
    """Seconds to wait for the deliveries."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.apdus is None) == (self.types is None):
            raise ValueError("give either apdus or types")
        return self


class Expectations(_Section):
    peers: dict[str, PeerSpec] = {}
    replies: Replies = Replies()
    reply: tuple[Reply, ...] = ()
    receive: tuple[Receive, ...] = ()

    @model_validator(mode="after")
    def _peers_known(self) -> Self:
        for receive in self.receive:
            if receive.peer not in self.peers:
                raise ValueError(f"receive: no [peers.{receive.peer}] to receive anything")
        return self

    def reply_for(self, number: int) -> Reply:
        """What APDU ``number`` must get back."""
        for reply in self.reply:
            if reply.apdu == number:
                return reply
        return Reply(apdu=number, status=self.replies.default)


def load(path: Path) -> Expectations:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        expectations = Expectations.model_validate(data)
    except OSError as error:
        raise ExpectationsError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ExpectationsError(f"{path}: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'file'}: {item['msg']}"
            for item in error.errors()
        )
        raise ExpectationsError(f"{path}: {problems}") from None
    peers = {
        symbol: spec.model_copy(
            update={"script": path.parent / spec.script if spec.script else None}
        )
        for symbol, spec in expectations.peers.items()
    }
    return expectations.model_copy(update={"peers": peers})
