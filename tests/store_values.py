"""Values the store's tests share: a fixed clock, two addresses, and bytes standing in for an
APDU (the store keeps and returns them unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OLD, NEW = "ill.old.example:499", "ill.new.example:1611"
BER = bytes.fromhex("6180300302010201010a")
