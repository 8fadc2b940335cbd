"""docs/iso18626.md shows the mapping as the code does it: its tables are generated from the
mapping's own and close the page, and every row the mapping has is in them."""

from __future__ import annotations

from pathlib import Path

from isoill.bridge.codes import TABLES
from isoill.bridge.doc import HEADING, markdown
from isoill.bridge.inbound import ACTIONS, STATUSES
from isoill.bridge.outbound import FROM_REQUESTER, FROM_RESPONDER
from isoill.codec import plan

DOC = Path(__file__).resolve().parents[2] / "docs" / "iso18626.md"


def test_the_docs_close_with_the_generated_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.endswith(markdown()), "copy isoill.bridge.doc.markdown() into docs/iso18626.md"
    assert text.count(HEADING) == 1


def test_the_generated_tables_have_every_row() -> None:
    generated = markdown()
    for name in plan.APDUS:
        assert f"| {name} |" in generated
    rows = sum(len(rows) for rows in (FROM_REQUESTER, FROM_RESPONDER))
    assert sum(line.startswith("| ") for line in generated.splitlines()) > rows
    for action in ACTIONS:
        assert f"| RAM {action} |" in generated
    for status in STATUSES:
        assert f"| SAM status {status} |" in generated
    for table in TABLES:
        assert table.markdown().rstrip() in generated
