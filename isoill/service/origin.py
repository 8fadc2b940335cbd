"""Where an APDU comes from, and what goes back: what a transport hands the intake service
with each APDU (:class:`Origin`, one per connection) and gets from it (:class:`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isoill import logs
from isoill.core.decision import Connection
from isoill.service.access import Identity


@dataclass
class Origin:
    """One connection, as intake keeps it: a peer's connection to a listener, or a delivery
    connection the gateway opened (its answers come from the target)."""

    address: str
    listener_default: str | None = None
    symbols: set[str] = field(default_factory=set)  # sender symbols seen on this connection
    malformed: int = 0
    identity: Identity | None = None
    """``[access] mode = "registered"``: the peers this connection speaks for (its ``peers``
    are ``symbols``, fixed at accept rather than added as seen)."""
    log: Any = field(init=False, repr=False, compare=False)
    """Bound to the address once a connection, not once an APDU."""

    def __post_init__(self) -> None:
        self.log = logs.get(peer=self.address)

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    def connection(self) -> Connection:
        """What the core is told of this connection now."""
        return Connection(
            self.address,
            frozenset(self.symbols),
            registered=self.identity is not None,
            listener_default=self.listener_default,
        )


# Made for every APDU, so its __init__ is written out (init=False): compiled by mypyc, the one
# dataclasses generates stays Python, ~11K instructions a call (docs/performance.md).
@dataclass(frozen=True, init=False)
class Outcome:
    """What to send back (``reply``), whether the connection must close afterwards (``close``),
    and whether the peer expects it closed once nothing more is pending (``done``); and, for
    the capture, whether the sender's settings let the APDU and the reply be recorded, who
    sent it and what it was."""

    reply: bytes | None
    close: bool = False
    done: bool = False
    capture: bool = True
    sender: str = ""
    """The sender's symbol, else the connection's address."""
    summary: str = ""
    """``SENDER -> TARGET APDU-TYPE`` (``?`` for no target)."""
    received: bytes | None = None
    """The APDU as kept and recorded (without Prompt-1 credentials); ``None``: as read, for
    an APDU that could not be decoded."""

    def __init__(
        self,
        reply: bytes | None,
        close: bool = False,
        done: bool = False,
        capture: bool = True,
        sender: str = "",
        summary: str = "",
        received: bytes | None = None,
    ) -> None:
        object.__setattr__(self, "reply", reply)
        object.__setattr__(self, "close", close)
        object.__setattr__(self, "done", done)
        object.__setattr__(self, "capture", capture)
        object.__setattr__(self, "sender", sender)
        object.__setattr__(self, "summary", summary)
        object.__setattr__(self, "received", received)
