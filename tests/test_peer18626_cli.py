"""``isoill peer --protocol iso18626``: a supplier and a requester process through a whole
loan over loopback, the requests file, the record, and what the command refuses."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sys
from pathlib import Path

import pytest
from gateway_harness import run_cli, until

from isoill.cli import EXIT_BAD_INPUT, EXIT_USAGE
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer18626 import orders
from isoill.tools.peer18626.messages import PostalAddress
from isoill.tools.peer18626.requester import Order

ISOILL = str(Path(sys.executable).with_name("isoill"))
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/iso18626)$")


def free_port() -> int:
    """A loopback port nobody listens on now (for a peer whose URL the other needs first)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """``isoill peer --protocol iso18626 ARGS``, and the URL it says it listens at."""
    process = await asyncio.create_subprocess_exec(
        ISOILL,
        "peer",
        "--protocol",
        "iso18626",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stderr.readline(), 20)).decode().strip()
    found = LISTENING.search(line)
    assert found is not None, line
    return process, found.group(1)


@pytest.mark.asyncio
async def test_a_supplier_and_a_requester_process_take_a_loan_to_its_end(tmp_path: Path) -> None:
    record = tmp_path / "supplier.jsonl"
    requester_port = free_port()
    supplier, supplier_url = await start(
        "--role", "supplier", "--listen", "127.0.0.1:0", "--agency", "ISIL:SUP1",
        "--peer-url", f"http://127.0.0.1:{requester_port}/iso18626", "--version", "2021",
        "--delay", "0.02", "--record", str(record),
    )  # fmt: skip
    try:
        requester, requester_url = await start(
            "--role", "requester", "--listen", f"127.0.0.1:{requester_port}",
            "--agency", "ISIL:REQ1", "--peer-agency", "ISIL:SUP1", "--peer-url", supplier_url,
            "--version", "2021", "--delay", "0.02", "--return-after", "0.1",
            "--title", "Dune", "--note", "MOCK:LOANED_OVERDUE #RENEW#",
        )  # fmt: skip
        assert requester_url == f"http://127.0.0.1:{requester_port}/iso18626"
        out, err = await asyncio.wait_for(requester.communicate(), 30)
        assert requester.returncode == 0, err
        await until(lambda: len(record.read_text().splitlines()) == 8)  # it records as it goes
    finally:
        supplier.send_signal(signal.SIGTERM)
        await asyncio.wait_for(supplier.wait(), 20)
    assert supplier.returncode == 0
    lines = out.decode().splitlines()
    # Each side's messages in order; between the two, the supplier's next message may come in
    # before the Confirmation of the requester's last one (each line is written when its
    # exchange ends).
    kinds = {
        way: [line.split(" -> ")[0].split()[-3:-1] for line in lines if line.split()[1] == way]
        for way in ("out", "in")
    }
    assert kinds == {
        "out": [
            ["New", "Loan"],
            ["requestingAgencyMessage", "Received"],
            ["requestingAgencyMessage", "Renew"],
            ["requestingAgencyMessage", "ShippedReturn"],
        ],
        "in": [
            ["RequestResponse", "Loaned"],
            ["StatusChange", "Overdue"],
            ["Y", "Loaned"],
            ["StatusChange", "LoanCompleted"],
        ],
    }
    assert len(lines) == 8
    assert all(line.endswith(" OK") and " -> 200 " in line for line in lines)
    assert re.search(r"isoill peer: req-\w+: LoanCompleted\n", err.decode())
    exchanges = [json.loads(line) for line in record.read_text().splitlines()]
    assert [e["direction"] for e in exchanges] == ["in", "out"] * 4
    assert exchanges[0]["kind"] == "request"
    for exchange in exchanges:
        body = exchange["response" if exchange["direction"] == "in" else "request"]
        assert wire.parse(body.encode(), version=Version.V2021).version is Version.V2021


@pytest.mark.asyncio
async def test_a_requester_sends_every_request_of_its_file(tmp_path: Path) -> None:
    requests = tmp_path / "requests.toml"
    requests.write_text(
        '[[request]]\ntitle = "Dune"\nnote = "MOCK:UNFILLED"\nrequest_id = "one"\n\n'
        '[[request]]\ntitle = "Emma"\nrecord_id = "COMPLETED"\nservice_type = "Copy"\n'
        'request_id = "two"\nemail = "ill@example.org"\n'
    )
    requester_port = free_port()
    supplier, supplier_url = await start(
        "--role", "supplier", "--listen", "127.0.0.1:0", "--agency", "ISIL:SUP1",
        "--peer-url", f"http://127.0.0.1:{requester_port}/iso18626", "--delay", "0.02",
    )  # fmt: skip
    try:
        requester, _ = await start(
            "--role", "requester", "--listen", f"127.0.0.1:{requester_port}",
            "--agency", "ISIL:REQ1", "--peer-agency", "ISIL:SUP1", "--peer-url", supplier_url,
            "--requests", str(requests), "--delay", "0.02",
        )  # fmt: skip
        _, err = await asyncio.wait_for(requester.communicate(), 30)
        assert requester.returncode == 0
    finally:
        supplier.terminate()
        await asyncio.wait_for(supplier.wait(), 20)
    assert "isoill peer: one: Unfilled\n" in err.decode()
    assert "isoill peer: two: CopyCompleted\n" in err.decode()


def test_a_requests_file_that_cannot_be_used_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = tmp_path / "requests.toml"
    requests.write_text('[[request]]\ntitel = "Dune"\nservice_type = "Lend"\n')
    argv = [
        "peer", "--protocol", "iso18626", "--role", "requester", "--listen", "127.0.0.1:0",
        "--agency", "ISIL:REQ1", "--peer-agency", "ISIL:SUP1",
        "--peer-url", "http://127.0.0.1:9/iso18626", "--requests", str(requests),
    ]  # fmt: skip
    assert run_cli(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{requests}: request 1: unknown key 'titel'" in err
    assert f"{requests}: request 1: service_type 'Lend': expected Loan, Copy, CopyOrLoan" in err


def test_a_port_in_use_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [
            "peer", "--protocol", "iso18626", "--role", "supplier",
            "--listen", f"127.0.0.1:{port}", "--agency", "ISIL:SUP1",
            "--peer-url", "http://127.0.0.1:9/iso18626",
        ]  # fmt: skip
        assert run_cli(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith(f"isoill: cannot listen on 127.0.0.1:{port}: ")


SUPPLIER = ["--listen", "127.0.0.1:0", "--agency", "ISIL:SUP1", "--peer-url", "http://h/x"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--protocol", "iso18626", *SUPPLIER], "--role required"),
        (
            ["--protocol", "iso18626", "--role", "supplier", "--listen", "127.0.0.1:0"],
            "--agency, --peer-url required",
        ),
        (["--protocol", "iso18626", "--role", "requester", *SUPPLIER], "--peer-agency required"),
        (
            ["--protocol", "iso18626", "--role", "supplier", *SUPPLIER, "--symbol", "X"],
            "--symbol: not with --protocol iso18626",
        ),
        (
            ["--protocol", "iso18626", "--role", "supplier", *SUPPLIER, "--title", "Dune"],
            "--title: only with --role requester",
        ),
        (
            ["--protocol", "iso18626", "--role", "requester", *SUPPLIER, "--peer-agency",
             "ISIL:S", "--scenario", "LOANED", "--unknown", "error"],
            "--scenario, --unknown: only with --role supplier",
        ),
        (
            ["--protocol", "iso18626", "--role", "requester", *SUPPLIER, "--peer-agency",
             "ISIL:S", "--requests", "r.toml", "--note", "x"],
            "--requests or --note, not both",
        ),
        (
            ["--protocol", "iso18626", "--role", "supplier", *SUPPLIER, "--scenario", "LENT"],
            "--scenario: unknown scenario 'LENT'",
        ),
        (["--symbol", "X", "--listen", "127.0.0.1:0", "--role", "supplier"], "--role: only with"),
        (["--listen", "127.0.0.1:0"], "--symbol is required"),
    ],
)  # fmt: skip
def test_options_that_do_not_go_together_are_a_usage_error(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["peer", *argv]) == EXIT_USAGE
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--agency", "SUP1"],
        ["--agency", ":SUP1"],
        ["--peer-url", "ftp://h/x"],
        ["--peer-url", "http://"],
        ["--delay", "-1"],
        ["--delay", "nan"],
        ["--version", "2017"],
    ],
)
def test_a_malformed_value_is_a_usage_error(argv: list[str]) -> None:
    base = ["peer", "--protocol", "iso18626", "--role", "supplier", *SUPPLIER]
    assert run_cli([*base, *argv]) == EXIT_USAGE


def test_a_requests_file_holds_every_field_of_an_order() -> None:
    read = orders.parse(
        '[[request]]\ntitle = "Dune"\nauthor = "Herbert, Frank"\nisbn = "9780441013593"\n'
        'service_type = "CopyOrLoan"\nnote = "MOCK:LOANED"\nrecord_id = "r"\nrequest_id = "q"\n'
        'postal = "Hauptstraße 1"\n\n[[request]]\n'
    )
    assert read == [
        Order(
            title="Dune",
            author="Herbert, Frank",
            isbn="9780441013593",
            record_id="r",
            service_type="CopyOrLoan",
            note="MOCK:LOANED",
            request_id="q",
            address=PostalAddress("Hauptstraße 1"),
        ),
        Order(),
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("title = ", "<requests>: not TOML"),
        ("", "<requests>: no [[request]]"),
        ('request = "x"', "request must be [[request]] tables"),
        ('[order]\ntitle = "x"', "'order' is not a [[request]] table"),
        ("[[request]]\ntitle = 1", "request 1: title must be a string, got 1"),
        ('[[request]]\nemail = "a"\npostal = "b"', "request 1: email and postal: give one"),
    ],
)
def test_a_requests_file_is_refused_with_each_problem(text: str, said: str) -> None:
    with pytest.raises(orders.OrdersError, match=re.escape(said)):
        orders.parse(text, "<requests>")
