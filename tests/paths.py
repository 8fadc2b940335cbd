"""Where the tests find their captured APDUs."""

from pathlib import Path

#: yaz-illclient captures made by tests/data/captures/make_captures.py (its README says how).
CAPTURES = Path(__file__).resolve().parent / "data" / "captures"

#: ISO 18626 sample messages copied from OCLC's toolkit (their PROVENANCE.md says whence).
ISO18626_SAMPLES = Path(__file__).resolve().parent / "data" / "iso18626"

#: ISO 18626 2021-2 messages the project wrote itself (one of each message).
ISO18626_2021 = ISO18626_SAMPLES / "v2021"
