"""The routing table (isoill.router) and ``isoill routes check``: no sockets, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from test_ill import EITHER, FROM_REQUESTER, FROM_RESPONDER

from isoill import cli
from isoill.router import (
    Address,
    Phase,
    RoutesError,
    RoutingTable,
    Rule,
    Target,
    select_target,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "routes.toml"

GOOD = """
[peers.RESPLIB]
aliases = ["RESP-LIB", " oclc:rsp "]
addresses = ["127.0.0.1:9001"]

[peers." OCLC:LND "]
addresses = ["lender.example.org:499", "[2001:db8::7]:65535"]

[peers.OZZ]
addresses = ["127.0.0.1:9002", "127.0.0.1:9010"]
[peers.OZZ.move]
to = ["127.0.0.1:9010", "127.0.0.1:9003"]
start = 2026-11-01T00:00:00Z
cutover = 2026-12-15T01:00:00+01:00
"""

START = datetime(2026, 11, 1, tzinfo=UTC)
CUTOVER = datetime(2026, 12, 15, tzinfo=UTC)
TICK = timedelta(microseconds=1)
OLD = ("127.0.0.1:9002", "127.0.0.1:9010")
BOTH = ("127.0.0.1:9002", "127.0.0.1:9010", "127.0.0.1:9003")
NEW = ("127.0.0.1:9010", "127.0.0.1:9003")


def addresses(table: RoutingTable, symbol: str, now: datetime) -> tuple[str, ...]:
    return tuple(str(address) for address in table.addresses(symbol, now))


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return RoutingTable.parse(GOOD, "good.toml")


# --- parsing good files ---------------------------------------------------------------------


def test_good_file(table: RoutingTable) -> None:
    assert [route.symbol for route in table.routes] == ["RESPLIB", "OCLC:LND", "OZZ"]
    assert table.routes[0].aliases == ("RESP-LIB", "oclc:rsp")
    assert table.routes[1].addresses == (
        Address(host="lender.example.org", port=499),
        Address(host="2001:db8::7", port=65535),
    )
    move = table.routes[2].move
    assert move is not None
    assert (move.start, move.cutover) == (START, CUTOVER)


def test_example_config_is_valid() -> None:
    table = RoutingTable.load(EXAMPLE)
    assert len(table.routes) == 3
    assert any(route.move is not None for route in table.routes)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("127.0.0.1:1", "127.0.0.1", 1),
        ("ill.example.org:499", "ill.example.org", 499),
        (" [::1]:65535 ", "::1", 65535),
        ("[fe80::1%eth0]:1611", "fe80::1%eth0", 1611),
    ],
)
def test_address(text: str, host: str, port: int) -> None:
    address = Address.model_validate(text)
    assert (address.host, address.port) == (host, port)
    assert str(address) == text.strip()


def test_address_str_brackets_ipv6() -> None:
    assert str(Address(host="::1", port=499)) == "[::1]:499"
    assert str(Address(host="127.0.0.1", port=499)) == "127.0.0.1:499"


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("RESPLIB", "RESPLIB"),
        ("resplib", "RESPLIB"),
        ("  RespLib\t", "RESPLIB"),
        ("resp-lib", "RESPLIB"),
        ("OCLC:RSP", "RESPLIB"),
        ("oclc:lnd", "OCLC:LND"),
        ("OCLCLND", None),
        ("OCLC: LND", None),
        ("RESP", None),
        ("", None),
    ],
)
def test_peer_by_symbol_or_alias(table: RoutingTable, query: str, canonical: str | None) -> None:
    assert table.peer(query) == canonical
    expected = () if canonical is None else table.addresses(canonical, START)
    assert table.addresses(query, START) == expected


def test_unknown_symbol_has_no_addresses(table: RoutingTable) -> None:
    assert table.addresses("NOBODY", START) == ()


# --- parsing bad files: each message names the file, the peer and the problem -------------

PEER = '[peers.P]\naddresses = ["h:1"]\n'


def moving(start: str, cutover: str, to: str = '["h:2"]') -> str:
    return f"{PEER}[peers.P.move]\nto = {to}\nstart = {start}\ncutover = {cutover}\n"


BAD = [
    ("peers = [", "bad.toml: not valid TOML: "),
    ("", "bad.toml: no peers: add a [peers.SYMBOL] table for each peer library"),
    ("[peers]", "bad.toml: no peers: add a [peers.SYMBOL] table for each peer library"),
    (
        f"peer = 1\n{PEER}",
        "bad.toml: unknown top-level key 'peer': peers are [peers.SYMBOL] tables",
    ),
    ("peers.P = 'h:1'", "bad.toml: peer P: expected a [peers.P] table"),
    ("[peers.P]", "bad.toml: peer P: addresses: missing"),
    (f"{PEER}adresses = []", "bad.toml: peer P: adresses: unknown key"),
    (f'{PEER}symbol = "Q"', "bad.toml: peer P: symbol: unknown key (the table name is the symbol)"),
    ('[peers." "]\naddresses = ["h:1"]', "bad.toml: peer  : symbol: empty symbol"),
    ('[peers.P]\naddresses = "h:1"', "bad.toml: peer P: addresses: expected a list, got 'h:1'"),
    ("[peers.P]\naddresses = []", "bad.toml: peer P: addresses: at least one address is needed"),
    ("[peers.P]\naddresses = [1]", "bad.toml: peer P: addresses: expected 'host:port', got 1"),
    ('[peers.P]\naddresses = ["h"]', "bad.toml: peer P: addresses: 'h' is not host:port"),
    ('[peers.P]\naddresses = [":1"]', "bad.toml: peer P: addresses: ':1' is not host:port"),
    (
        '[peers.P]\naddresses = ["h:"]',
        "bad.toml: peer P: addresses: 'h:': the port is not a number",
    ),
    (
        '[peers.P]\naddresses = ["h:x"]',
        "bad.toml: peer P: addresses: 'h:x': the port is not a number",
    ),
    (
        '[peers.P]\naddresses = ["h:0"]',
        "bad.toml: peer P: addresses: 'h:0': the port must be 1..65535",
    ),
    (
        '[peers.P]\naddresses = ["h:65536"]',
        "bad.toml: peer P: addresses: 'h:65536': the port must be 1..65535",
    ),
    (
        '[peers.P]\naddresses = ["::1:499"]',
        "bad.toml: peer P: addresses: '::1:499': put an IPv6 address in brackets, as in [::1]:499",
    ),
    (
        '[peers.P]\naddresses = ["[h]:499"]',
        "bad.toml: peer P: addresses: '[h]:499': brackets are for IPv6 addresses only",
    ),
    (
        '[peers.P]\naddresses = ["[::g]:499"]',
        "bad.toml: peer P: addresses: '[::g]:499': not an IPv6 address",
    ),
    (
        '[peers.P]\naddresses = ["a host:499"]',
        "bad.toml: peer P: addresses: 'a host:499': not a host name or IP address",
    ),
    (
        '[peers.P]\naddresses = ["h:1", "H:2", "h:1"]',
        "bad.toml: peer P: addresses: 'h:1' is listed twice",
    ),
    (f"{PEER}aliases = 'A'", "bad.toml: peer P: aliases: expected a list, got 'A'"),
    (f"{PEER}aliases = [5]", "bad.toml: peer P: aliases: expected a string, got 5"),
    (f'{PEER}aliases = ["A", " "]', "bad.toml: peer P: aliases: empty symbol"),
    (
        f'{PEER}aliases = ["A", "a "]',
        "bad.toml: peer P: alias 'a' repeats the symbol or another alias",
    ),
    (f'{PEER}aliases = ["p"]', "bad.toml: peer P: alias 'p' repeats the symbol or another alias"),
    (
        f"{PEER}[peers.Q]\naddresses = ['h:1']\n[peers.p]\naddresses = ['h:2']",
        "bad.toml: peer p: the symbol is already used by peer P",
    ),
    (
        f"{PEER}aliases = ['A']\n[peers.Q]\naddresses = ['h:1']\naliases = [' a']",
        "bad.toml: peer Q: alias 'a' already names peer P",
    ),
    (
        f"{PEER}[peers.Q]\naddresses = ['h:1']\naliases = ['P']",
        "bad.toml: peer Q: alias 'P' already names peer P",
    ),
    (
        f"{PEER}aliases = ['Q']\n[peers.q]\naddresses = ['h:1']",
        "bad.toml: peer q: the symbol is already used by peer P",
    ),
    (f"{PEER}move = 1", "bad.toml: peer P: move: expected a table, got 1"),
    (
        f"{PEER}[peers.P.move]\nto = ['h:2']\ncutover = 2026-12-01T00:00:00Z",
        "bad.toml: peer P: move.start: missing",
    ),
    (
        moving("2026-11-01T00:00:00", "2026-12-01T00:00:00Z"),
        "bad.toml: peer P: move.start: 2026-11-01T00:00:00 has no timezone: "
        "add Z (UTC) or an offset, such as 2026-11-01T00:00:00Z",
    ),
    (
        moving("2026-11-01T00:00:00Z", "2026-12-01"),
        "bad.toml: peer P: move.cutover: 2026-12-01 is not a date and time with a timezone: "
        "write one such as 2026-11-01T00:00:00Z",
    ),
    (
        moving("2026-11-01T00:00:00Z", "10:00:00"),
        "bad.toml: peer P: move.cutover: 10:00:00 is not a date and time with a timezone: "
        "write one such as 2026-11-01T00:00:00Z",
    ),
    (
        moving("'2026-11-01T00:00:00Z'", "2026-12-01T00:00:00Z"),
        "bad.toml: peer P: move.start: expected an unquoted TOML date-time "
        "such as 2026-11-01T00:00:00Z, got '2026-11-01T00:00:00Z'",
    ),
    (
        moving("2026-11-01T01:00:00+01:00", "2026-11-01T00:00:00Z"),
        "bad.toml: peer P: move: start (2026-11-01T01:00:00+01:00) must be before "
        "cutover (2026-11-01T00:00:00+00:00)",
    ),
    (
        moving("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        "bad.toml: peer P: move: start (2026-11-01T00:00:00+00:00) must be before "
        "cutover (2026-11-01T00:00:00+00:00)",
    ),
    (
        moving("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "[]"),
        "bad.toml: peer P: move.to: at least one address is needed",
    ),
    (
        moving("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "['h:1']"),
        "bad.toml: peer P: move.to lists the same addresses as addresses: nothing moves",
    ),
    (
        f"{moving('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z')}from = 1",
        "bad.toml: peer P: move.from: unknown key",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_file(text: str, message: str) -> None:
    with pytest.raises(RoutesError) as caught:
        RoutingTable.parse(text, "bad.toml")
    assert str(caught.value).startswith(message)
    assert len(caught.value.problems) == 1


def test_every_problem_reported() -> None:
    text = f"{PEER}aliases = ['A']\n[peers.Q]\naddresses = ['h:0']\n[peers.R]\naliases = ['a']"
    text += "\naddresses = ['h:1']"
    with pytest.raises(RoutesError) as caught:
        RoutingTable.parse(text, "bad.toml")
    assert str(caught.value).splitlines() == [
        "bad.toml: peer Q: addresses: 'h:0': the port must be 1..65535",
        "bad.toml: peer R: alias 'a' already names peer P",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"\xff", "not UTF-8 text: "),
    ],
)
def test_unreadable_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "routes.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RoutesError) as caught:
        RoutingTable.load(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_table_built_in_code_refuses_shared_names(table: RoutingTable) -> None:
    with pytest.raises(RoutesError, match="peer RESPLIB: the symbol is already used"):
        RoutingTable((*table.routes, table.routes[0]))


# --- the address-change window ------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "phase", "expected"),
    [
        (START - timedelta(days=30), Phase.BEFORE, OLD),
        (START - TICK, Phase.BEFORE, OLD),
        (START, Phase.DURING, BOTH),
        (START.astimezone(timezone(timedelta(hours=-5))), Phase.DURING, BOTH),
        (CUTOVER - TICK, Phase.DURING, BOTH),
        (CUTOVER, Phase.AFTER, NEW),
        (CUTOVER + timedelta(days=365), Phase.AFTER, NEW),
    ],
)
def test_window(
    table: RoutingTable, now: datetime, phase: Phase, expected: tuple[str, ...]
) -> None:
    assert addresses(table, "ozz", now) == expected
    (row,) = [row for row in table.effective(now) if row.symbol == "OZZ"]
    assert row.phase is phase
    assert tuple(str(address) for address in row.addresses) == expected


def test_effective_rows(table: RoutingTable) -> None:
    fixed, _, moving_peer = table.effective(START)
    assert (fixed.symbol, fixed.aliases, fixed.phase, fixed.changes) == (
        "RESPLIB",
        ("RESP-LIB", "oclc:rsp"),
        Phase.FIXED,
        (),
    )
    assert [(change.at, tuple(map(str, change.addresses))) for change in moving_peer.changes] == [
        (START, BOTH),
        (CUTOVER, NEW),
    ]


def test_peer_without_move_never_changes(table: RoutingTable) -> None:
    for now in (START - TICK, START, CUTOVER):
        assert addresses(table, "RESP-LIB", now) == ("127.0.0.1:9001",)


# --- target selection -----------------------------------------------------------------------


def target(
    apdu: str,
    requester: str | None = "REQ",
    responder: str | None = "RSP",
    sender: tuple[str, ...] = (),
    counterpart: str | None = "TXN",
    default: str | None = "DFLT",
) -> Target:
    return select_target(
        apdu,
        requester=requester,
        responder=responder,
        sender=sender,
        counterpart=counterpart,
        default=default,
    )


@pytest.mark.parametrize("apdu", FROM_REQUESTER)
def test_from_requester_goes_to_responder_id(apdu: str) -> None:
    assert target(apdu) == Target("RSP", Rule.RESPONDER_ID)
    assert target(apdu, sender=("RSP",)) == Target("RSP", Rule.RESPONDER_ID)


@pytest.mark.parametrize("apdu", FROM_RESPONDER)
def test_from_responder_goes_to_requester_id(apdu: str) -> None:
    assert target(apdu) == Target("REQ", Rule.REQUESTER_ID)


@pytest.mark.parametrize("apdu", EITHER)
@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (("REQ",), Target("RSP", Rule.OTHER_PARTY)),
        (("rsp ", "OCLC:X"), Target("REQ", Rule.OTHER_PARTY)),
        (("OCLC:X", " req"), Target("RSP", Rule.OTHER_PARTY)),
        ((), Target("TXN", Rule.TRANSACTION)),
        (("OTHER",), Target("TXN", Rule.TRANSACTION)),
        (("REQ", "RSP"), Target("TXN", Rule.TRANSACTION)),
    ],
)
def test_either_side_goes_to_the_other_party(
    apdu: str, sender: tuple[str, ...], expected: Target
) -> None:
    assert target(apdu, sender=sender) == expected


@pytest.mark.parametrize(
    ("apdu", "fields", "expected"),
    [
        # requester-id / responder-id absent or blank: the transaction's counterpart
        ("ILL-Request", {"responder": None}, Target("TXN", Rule.TRANSACTION)),
        ("Renew", {"responder": "  "}, Target("TXN", Rule.TRANSACTION)),
        ("Shipped", {"requester": None}, Target("TXN", Rule.TRANSACTION)),
        ("ILL-Answer", {"requester": ""}, Target("TXN", Rule.TRANSACTION)),
        # the other party missing
        ("Message", {"responder": None, "sender": ("REQ",)}, Target("TXN", Rule.TRANSACTION)),
        ("Lost", {"requester": None, "sender": ("RSP",)}, Target("TXN", Rule.TRANSACTION)),
        # the sender missing from the APDU: it cannot be told apart from the other party
        ("Damaged", {"requester": None, "sender": ("X",)}, Target("TXN", Rule.TRANSACTION)),
        # no counterpart: the listener's default
        ("Cancel", {"responder": None, "counterpart": None}, Target("DFLT", Rule.DEFAULT)),
        ("Recall", {"requester": None, "counterpart": " "}, Target("DFLT", Rule.DEFAULT)),
        ("Expired", {"counterpart": None}, Target("DFLT", Rule.DEFAULT)),
        # nothing at all
        (
            "Status-Query",
            {"requester": None, "responder": None, "counterpart": None, "default": None},
            Target(None, Rule.NONE),
        ),
        (
            "Received",
            {"responder": None, "counterpart": None, "default": ""},
            Target(None, Rule.NONE),
        ),
        # symbols come back stripped of outer spaces, otherwise as given
        ("ILL-Request", {"responder": " oclc:Abc "}, Target("oclc:Abc", Rule.RESPONDER_ID)),
        ("ILL-Request", {"responder": None, "counterpart": " T "}, Target("T", Rule.TRANSACTION)),
    ],
)
def test_fallbacks(apdu: str, fields: dict[str, Any], expected: Target) -> None:
    assert target(apdu, **fields) == expected


def test_unknown_apdu_type() -> None:
    with pytest.raises(ValueError, match="unknown APDU type 'ILL-Answers'"):
        target("ILL-Answers")


# --- isoill routes check --------------------------------------------------------------------


def test_routes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(GOOD)
    cli.main(["routes", "check", str(path), "--at", "2026-11-20T10:00:00+01:00"])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        "# routes in effect at 2026-11-20T09:00:00Z",
        "RESPLIB: 127.0.0.1:9001",
        "  aliases: RESP-LIB, oclc:rsp",
        "OCLC:LND: lender.example.org:499, [2001:db8::7]:65535",
        "OZZ: 127.0.0.1:9002, 127.0.0.1:9010, 127.0.0.1:9003",
        "  from 2026-11-01T00:00:00Z: 127.0.0.1:9002, 127.0.0.1:9010, 127.0.0.1:9003 (now)",
        "  from 2026-12-15T00:00:00Z: 127.0.0.1:9010, 127.0.0.1:9003",
        f"routes {path}: ok, 3 peers",
    ]


@pytest.mark.parametrize(
    ("at", "window"),
    [
        (
            "2026-10-31T23:59:59Z",
            [
                "  from 2026-11-01T00:00:00Z: 127.0.0.1:9002, 127.0.0.1:9010, 127.0.0.1:9003",
                "  from 2026-12-15T00:00:00Z: 127.0.0.1:9010, 127.0.0.1:9003",
            ],
        ),
        (
            "2026-12-15T00:00:00Z",
            [
                "  from 2026-11-01T00:00:00Z: 127.0.0.1:9002, 127.0.0.1:9010, 127.0.0.1:9003",
                "  from 2026-12-15T00:00:00Z: 127.0.0.1:9010, 127.0.0.1:9003 (now; move over: "
                "make these the addresses, drop [peers.OZZ.move])",
            ],
        ),
    ],
)
def test_routes_check_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, window: list[str]
) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(GOOD)
    cli.main(["routes", "check", str(path), "--at", at])
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("  from")] == window


def test_routes_check_now(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["routes", "check", str(EXAMPLE)])
    assert capsys.readouterr().out.splitlines()[-1] == f"routes {EXAMPLE}: ok, 3 peers"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "isoill: {path}: No such file or directory\n"),
        (
            "[peers.P]\naddresses = ['h:0']\n[peers.Q]",
            "isoill: {path}: peer P: addresses: 'h:0': the port must be 1..65535\n"
            "{path}: peer Q: addresses: missing\n",
        ),
    ],
)
def test_routes_check_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, error: str
) -> None:
    path = tmp_path / "routes.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["routes", "check", str(path)])
    assert exit_.value.code == cli.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", error.format(path=path))


@pytest.mark.parametrize("at", ["2026-11-20", "2026-11-20T10:00:00", "soon"])
def test_routes_check_bad_at(capsys: pytest.CaptureFixture[str], at: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["routes", "check", str(EXAMPLE), "--at", at])
    assert exit_.value.code == cli.EXIT_USAGE
    assert "--at" in capsys.readouterr().err
