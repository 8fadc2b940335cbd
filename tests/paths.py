"""Where the tests find their captured APDUs."""

from pathlib import Path

#: yaz-illclient captures made by tests/data/captures/make_captures.py (its README says how).
CAPTURES = Path(__file__).resolve().parent / "data" / "captures"
