"""The connection limits both kinds of listener share: an address's own limit first, then the
global one, whose last ``reserved`` slots go only to an address holding at most one."""

from __future__ import annotations

import pytest

from isoill.transport.limits import over_limit


@pytest.mark.parametrize(
    ("count", "held", "refused"),
    [
        (0, 0, None),
        (5, 2, None),  # below the reserve
        (6, 2, "connection-limit"),  # in the reserve, and holding two
        (6, 1, None),  # in the reserve, a peer whose last one is closing
        (7, 0, None),
        (8, 0, "connection-limit"),  # the global limit, for anyone
        (3, 3, "address-limit"),  # its address's limit, whatever the count
    ],
)
def test_over_limit(count: int, held: int, refused: str | None) -> None:
    assert over_limit(count, held, max_connections=8, per_address=3, reserved=2) == refused
