"""What the store raises: :class:`StoreError` for anything that keeps it from being used as
the queue, :class:`StoreFault` when its driver failed, in words a peer can be told."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot be used as a queue (closed, written by a newer isoill, ...)."""

    #: What kept the store from taking a write, in a few words for the peer refused.
    reason = "a store error"


class StoreFault(StoreError):
    """The store's driver failed a read or a write: ``reason`` is what the peer refused for
    now is told ("its disk is full"), and ``temporary`` whether the fault passes by itself
    (the disk has room again, another process lets go of its lock). The message is the
    driver's own, for the log."""

    def __init__(self, reason: str, *, temporary: bool, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.temporary = temporary


class CopyRefused(StoreError):
    """``isoill store copy`` will not copy: the destination is not empty, or the two stores'
    tables do not match so that every value would carry over."""
