"""Where the tests find their captured APDUs."""

from pathlib import Path

#: yaz-illclient captures made by tests/data/captures/make_captures.py (its README says how).
CAPTURES = Path(__file__).resolve().parent / "data" / "captures"

#: ISO 18626 sample messages copied from OCLC's toolkit (their PROVENANCE.md says whence).
ISO18626_SAMPLES = Path(__file__).resolve().parent / "data" / "iso18626"
