"""The copied ISO 18626 schemas and sample messages are byte for byte what their provenance
files record, so that nobody edits them unknowingly."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

from paths import ISO18626_SAMPLES

SCHEMAS = resources.files("isoill.iso18626") / "schemas"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|.*`(?P<sha256>[0-9a-f]{64})`", re.MULTILINE)


def recorded(provenance: str) -> dict[str, str]:
    return {m["name"]: m["sha256"] for m in ROW.finditer(provenance)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_schemas_are_the_recorded_copies() -> None:
    rows = recorded((SCHEMAS / "PROVENANCE.md").read_text(encoding="utf-8"))
    assert sorted(rows) == ["ISO-18626-2021-2.xsd", "ISO-18626-v1_2.xsd"]
    for name, digest in rows.items():
        assert sha256((SCHEMAS / name).read_bytes()) == digest, f"{name} differs from its copy"


def test_the_2021_schema_keeps_its_crlf_line_endings() -> None:
    # a checkout that converted line endings would change the bytes, not the schema
    data = (SCHEMAS / "ISO-18626-2021-2.xsd").read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 0


def test_the_samples_are_the_recorded_copies() -> None:
    rows = recorded((ISO18626_SAMPLES / "PROVENANCE.md").read_text(encoding="utf-8"))
    on_disk = sorted(path.name for path in Path(ISO18626_SAMPLES).glob("*.xml"))
    assert sorted(rows) == on_disk
    assert len(on_disk) == 21
    for name, digest in rows.items():
        data = (ISO18626_SAMPLES / name).read_bytes()
        assert sha256(data) == digest, f"{name} differs from its copy"


def test_the_samples_carry_the_toolkits_mit_notice() -> None:
    provenance = (ISO18626_SAMPLES / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "Copyright (c) 2020 OCLC & 2010 eXtensible Catalog Organization" in provenance
    assert "The above copyright notice and this permission notice shall be included" in provenance
