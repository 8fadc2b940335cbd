"""The YAZ interoperability tooling itself: yazill (libyaz) and the yaz-illclient harness.

These tests need no isoill codec; they check that the tools used by codec and gateway tests
give trustworthy answers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from interop.yaz import YazDecodeError, run_illclient, yaz_bench, yaz_decode, yaz_print
from paths import CAPTURES

# A Status-Or-Error-Report with a status report and no error report: yaz-illclient prints
# "Ok" and exits 0. Hand-assembled from the ASN.1 module (EXPLICIT TAGS unless IMPLICIT).
STATUS_REPORT_REPLY = bytes.fromhex(
    "734a"  # [APPLICATION 19] Status-Or-Error-Report, 74 bytes
    "3048"  # SEQUENCE, 72 bytes
    "800102"  # protocol-version-num [0] IMPLICIT INTEGER 2
    "a10a"  # transaction-id [1] IMPLICIT Transaction-Id, 10 bytes
    "a1031b0147"  # transaction-group-qualifier [1] { GeneralString "G" }
    "a2031b0154"  # transaction-qualifier [2] { GeneralString "T" }
    "a20c"  # service-date-time [2] IMPLICIT Service-Date-Time, 12 bytes
    "a00a"  # date-time-of-this-service [0] IMPLICIT SEQUENCE, 10 bytes
    "80083230323530313031"  # date [0] IMPLICIT ISO-Date (VisibleString) "20250101"
    "bf2c28"  # status-report [44] IMPLICIT Status-Report, 40 bytes (long tag form: 1f, 44)
    "a023"  # user-status-report [0] IMPLICIT History-Report, 35 bytes
    "85083230323530313031"  # date-of-last-transition [5] IMPLICIT ISO-Date "20250101"
    "860101"  # most-recent-service [6] IMPLICIT ENUMERATED iLL-REQUEST(1)
    "87083230323530313031"  # date-of-most-recent-service [7] IMPLICIT ISO-Date "20250101"
    "a80a"  # initiator-of-most-recent-service [8] IMPLICIT System-Id, 10 bytes
    "a008"  # person-or-institution-symbol [0] (explicit: its type is a CHOICE), 8 bytes
    "a106"  # institution-symbol [1] ILL-String, 6 bytes
    "1b0452455350"  # GeneralString "RESP"
    "810102"  # provider-status-report [1] IMPLICIT Current-State pENDING(2)
)

# The same header with reason-no-report instead of a report: also "Ok", exit 0.
REASON_NO_REPORT_REPLY = bytes.fromhex(
    "7323"  # [APPLICATION 19], 35 bytes
    "3021"  # SEQUENCE, 33 bytes
    "800102"  # protocol-version-num 2
    "a10a"  # transaction-id, 10 bytes, as above:
    "a1031b0147"  # transaction-group-qualifier "G"
    "a2031b0154"  # transaction-qualifier "T"
    "a20c"  # service-date-time, 12 bytes, as above:
    "a00a"  # date-time-of-this-service
    "80083230323530313031"  # date "20250101"
    "9f2b0101"  # reason-no-report [43] IMPLICIT ENUMERATED temporary(1) (long tag form)
)

# With an error report: yaz-illclient prints "Unable to perform: 1" and exits 7.
ERROR_REPORT_REPLY = bytes.fromhex(
    "732f"  # [APPLICATION 19], 47 bytes
    "302d"  # SEQUENCE, 45 bytes
    "800102"  # protocol-version-num 2
    "a10a"  # transaction-id, 10 bytes, as above:
    "a1031b0147"  # transaction-group-qualifier "G"
    "a2031b0154"  # transaction-qualifier "T"
    "a20c"  # service-date-time, 12 bytes, as above:
    "a00a"  # date-time-of-this-service
    "80083230323530313031"  # date "20250101"
    "bf2d0d"  # error-report [45] IMPLICIT Error-Report, 13 bytes
    "a0031b0178"  # correlation-information [0] { GeneralString "x" }
    "810101"  # report-source [1] IMPLICIT ENUMERATED user(1)
    "a203"  # user-error-report [2] (explicit: User-Error-Report is a CHOICE), 3 bytes
    "830101"  # unable-to-perform [3] IMPLICIT ENUMERATED not-available(1)
)

REPLIES = {
    "status-report": STATUS_REPORT_REPLY,
    "reason-no-report": REASON_NO_REPORT_REPLY,
    "error-report": ERROR_REPORT_REPLY,
}

DUNE = ["-D", "ill,item-id,title=Dune"]


def numbered_capture(n: int) -> bytes:
    return (CAPTURES / f"yaz-illclient-{n}.ber").read_bytes()


def load_make_captures() -> ModuleType:
    """The capture script, imported by path (tests/data is not a package)."""
    if "make_captures" in sys.modules:
        return sys.modules["make_captures"]
    path = CAPTURES / "make_captures.py"
    spec = importlib.util.spec_from_file_location("make_captures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_captures"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


# --- yazill: libyaz's decoder and encoder -------------------------------------------------


def capture_files() -> list[Path]:
    return sorted(CAPTURES.glob("*.ber"))


@pytest.mark.parametrize("path", capture_files(), ids=lambda path: path.name)
def test_yaz_decodes_capture_and_its_reencoding(yazill: Path, path: Path) -> None:
    data = path.read_bytes()
    again = yaz_decode(yazill, data)
    assert again[:1] == b"\x61"  # [APPLICATION 1] ILL-Request
    assert yaz_decode(yazill, again) == again
    # YAZ wrote these bytes in the first place, so its encoder reproduces them exactly,
    # indefinite lengths included.
    assert again == data


def test_yaz_decodes_back_to_back_apdus(yazill: Path) -> None:
    stream = numbered_capture(1) + STATUS_REPORT_REPLY + numbered_capture(2)
    assert yaz_decode(yazill, stream) == stream
    printed = yaz_print(yazill, stream)
    assert printed.count("-- APDU ") == 3
    assert "Status_Or_Error_Report" in printed


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_hand_assembled_reply_is_accepted_by_yaz(yazill: Path, name: str) -> None:
    reply = REPLIES[name]
    assert yaz_decode(yazill, reply) == reply
    printed = yaz_print(yazill, reply)
    assert printed.splitlines()[1] == "Status_Or_Error_Report {"
    assert name.replace("-", "_") in printed


def test_yaz_rejects_truncated_apdu_and_names_offset(yazill: Path) -> None:
    with pytest.raises(YazDecodeError) as caught:
        yaz_decode(yazill, numbered_capture(2)[:50])
    assert caught.value.returncode == 1
    assert "offset" in caught.value.message
    assert len(caught.value.message.splitlines()) == 1


def test_yaz_rejects_garbage_and_empty_input(yazill: Path) -> None:
    with pytest.raises(YazDecodeError, match="offset"):
        yaz_decode(yazill, b"\x01\x02garbage")
    with pytest.raises(YazDecodeError, match="empty"):
        yaz_decode(yazill, b"")


def test_yaz_bench_reports_rates(yazill: Path) -> None:
    decodes, encodes = yaz_bench(yazill, numbered_capture(3), 200)
    assert decodes > 0
    assert encodes > 0


# --- yaz-illclient against a loopback listener ---------------------------------------------


def test_illclient_ok_with_status_report(yaz_illclient: str) -> None:
    run = run_illclient(DUNE, reply=STATUS_REPORT_REPLY)
    assert run.received[:1] == b"\x61"
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["Ok"]
    # The client dumps both APDUs with YAZ's printer on stderr.
    assert "illRequest {" in run.stderr
    assert "status_report {" in run.stderr
    # The client keeps a copy of what it sent; with no clock in the request the bytes are
    # the same as capture 1, made with this very command.
    assert run.saved_request == run.received
    assert run.received == numbered_capture(1)


def test_illclient_ok_with_reason_no_report(yaz_illclient: str) -> None:
    run = run_illclient(DUNE, reply=REASON_NO_REPORT_REPLY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["Ok"]


def test_illclient_error_report_exits_7(yaz_illclient: str) -> None:
    run = run_illclient(DUNE, reply=ERROR_REPORT_REPLY)
    assert run.received[:1] == b"\x61"
    assert run.returncode == 7
    assert run.stdout.splitlines() == ["Unable to perform: 1"]


def test_illclient_wrong_apdu_type_exits_6(yaz_illclient: str) -> None:
    run = run_illclient(DUNE, reply=numbered_capture(1))  # an ILL-Request is no answer
    assert run.returncode == 6
    assert run.stdout.splitlines() == ["Server returned wrong packet type: 1"]


def test_illclient_no_reply_exits_6(yaz_illclient: str) -> None:
    # Hanging up without an answer is a decoding failure to the client, not "no response" (5).
    run = run_illclient(DUNE, reply=b"")
    assert run.received[:1] == b"\x61"
    assert run.returncode == 6
    assert "Error decoding incoming packet" in run.stderr


def test_illclient_bad_option_never_connects(yaz_illclient: str) -> None:
    run = run_illclient(["-x"], reply=STATUS_REPORT_REPLY)
    assert run.returncode == 1
    assert run.received == b""
    assert run.stderr.startswith("Usage:")


def test_illclient_request_is_decoded_by_yaz(yazill: Path, yaz_illclient: str) -> None:
    run = run_illclient([*DUNE, "-D", "ill,requester-note=hello"], reply=STATUS_REPORT_REPLY)
    assert yaz_decode(yazill, run.received) == run.received
    assert "GeneralString 'hello'" in yaz_print(yazill, run.received)


# --- tests/data/captures --------------------------------------------------------------------


def test_every_capture_is_made_by_the_script() -> None:
    names = {item.file for item in load_make_captures().CAPTURES}
    assert names == {path.name for path in capture_files()}
    assert {f"yaz-illclient-{n}.ber" for n in (1, 2, 3)} < names


def test_captures_are_reproducible(yaz_illclient: str) -> None:
    make_captures = load_make_captures()
    sizes: dict[str, int] = {}
    for item in make_captures.CAPTURES:
        data = make_captures.capture(item)
        assert data == (CAPTURES / item.file).read_bytes(), item.file
        sizes[item.file] = len(data)
    readme = (CAPTURES / "README.md").read_text()
    assert readme == make_captures.render_readme(sizes)
