"""Where the tests find their captured APDUs."""

from pathlib import Path

#: yaz-illclient captures shipped beside the checkout (CI puts shared/ there too).
SHARED_CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "captures"
#: more yaz-illclient captures, made by tests/data/captures/make_captures.py.
LOCAL_CAPTURES = Path(__file__).resolve().parent / "data" / "captures"
