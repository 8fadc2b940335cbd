"""Whether a new connection is over the limits, decided the same way on the ISO 10161
listeners and the ISO 18626 endpoint (pure: the counts are the caller's)."""

from __future__ import annotations

__all__ = ["over_limit"]


def over_limit(
    count: int, held: int, *, max_connections: int, per_address: int, reserved: int
) -> str | None:
    """Why a new connection is refused (the rejections metric's label), or ``None``, when
    ``count`` connections are held in all and ``held`` of them from its address. The
    address's limit comes first; of the global limit, the last ``reserved`` go only to an
    address that holds at most one connection (a peer whose last one is still closing), so
    that a flood from a few addresses cannot lock the others out."""
    if held >= per_address:
        return "address-limit"
    if count >= max_connections or (count >= max_connections - reserved and held > 1):
        return "connection-limit"
    return None
