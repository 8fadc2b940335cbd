"""ISO 18626 peers in the routes: ``protocol = "iso18626"``, URLs for addresses (moves too),
and ``[peers.SYMBOL.iso18626]`` read into the bridge's :class:`PeerSettings18626`; every
wrong value refused with the peer and the reason, as ``isoill routes check`` shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from isoill import cli
from isoill.bridge.agency import AgencyId, AgencyMap
from isoill.bridge.settings import Conditional, PeerSettings18626
from isoill.iso18626.messages import Version
from isoill.router import Protocol, RoutesError, RoutingTable, Url, protocol_of

ROUTES = """
[peers.RESPLIB]
addresses = ["127.0.0.1:9001"]

[peers.RSLEND]
aliases = ["RS-LEND"]
protocol = "iso18626"
addresses = ["https://rs.example.org/rs/externalApi/iso18626"]

[peers.RSLEND.move]
to = ["http://127.0.0.1:9100/iso18626"]
start = 2026-11-01T00:00:00Z
cutover = 2026-12-15T00:00:00Z

[peers.RSLEND.iso18626]
version = "2021"
declared = "2021-3"
timezone = "Europe/Berlin"
conditional = "reshare"
expect_to_supply = false
headers = { "X-Okapi-Tenant" = "diku" }
agencies = { rslend = "RESHARE:DIKUA", " resplib " = "ISIL:DE-7" }

[peers.PLAIN]
protocol = "iso18626"
addresses = ["http://[::1]:8080/iso18626?tenant=a"]
"""


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return RoutingTable.parse(ROUTES, "routes.toml")


def test_an_iso18626_peers_settings(table: RoutingTable) -> None:
    assert table.settings18626("rs-lend") == PeerSettings18626(
        version=Version.V2021,
        timezone="Europe/Berlin",
        agencies=AgencyMap(
            (("RSLEND", AgencyId("RESHARE", "DIKUA")), ("RESPLIB", AgencyId("ISIL", "DE-7")))
        ),
        conditional=Conditional.RESHARE,
        expect_to_supply=False,
        declared="2021-3",
        headers=(("X-Okapi-Tenant", "diku"),),
    )
    assert table.settings18626("PLAIN") == PeerSettings18626()  # the defaults: v1.2, UTC
    assert table.settings18626("RESPLIB") is None
    assert table.settings18626("NOBODY") is None
    assert table.settings18626(None) is None
    route = table.route("RSLEND")
    assert route is not None and route.protocol is Protocol.ISO18626


def test_urls_are_addresses_with_moves(table: RoutingTable) -> None:
    during = datetime(2026, 11, 20, tzinfo=UTC)
    after = datetime(2026, 12, 20, tzinfo=UTC)
    assert [str(a) for a in table.addresses("RSLEND", during)] == [
        "https://rs.example.org/rs/externalApi/iso18626",
        "http://127.0.0.1:9100/iso18626",
    ]
    assert [str(a) for a in table.addresses("RSLEND", after)] == ["http://127.0.0.1:9100/iso18626"]
    assert [str(a) for a in table.addresses("PLAIN", after)] == [
        "http://[::1]:8080/iso18626?tenant=a"
    ]
    assert Url.model_validate("https://h/x").secure


@pytest.mark.parametrize(
    ("address", "protocol"),
    [
        ("http://127.0.0.1:9100/iso18626", Protocol.ISO18626),
        ("HTTPS://h/x", Protocol.ISO18626),
        ("127.0.0.1:499", Protocol.ISO10161),
        ("[::1]:499", Protocol.ISO10161),
        ("http.example:80", Protocol.ISO10161),
    ],
)
def test_a_stored_address_says_its_protocol(address: str, protocol: Protocol) -> None:
    assert protocol_of(address) is protocol


PEER = '[peers.P]\nprotocol = "iso18626"\naddresses = ["http://h/x"]\n'

BAD = [
    (
        '[peers.P]\nprotocol = "iso18626"\naddresses = ["127.0.0.1:99"]',
        "'127.0.0.1:99': an ISO 18626 peer is reached by http:// or https:// URLs",
    ),
    (
        '[peers.P]\naddresses = ["http://h/x"]',
        "'http://h/x': a URL is an ISO 18626 peer's: set protocol = \"iso18626\"",
    ),
    (
        f'{PEER}[peers.P.move]\nto = ["h:1"]\nstart = 2026-11-01T00:00:00Z\n'
        "cutover = 2026-12-01T00:00:00Z",
        "'h:1': an ISO 18626 peer is reached by http:// or https:// URLs",
    ),
    ('[peers.P]\nprotocol = "iso18626"\naddresses = ["ftp://h/x"]', "reached by http or https"),
    ('[peers.P]\nprotocol = "iso18626"\naddresses = ["http:///x"]', "the URL names no host"),
    (
        '[peers.P]\nprotocol = "iso18626"\naddresses = ["https://u:secret@h/x"]',
        "https://...@h: no credentials in a URL",
    ),
    ('[peers.P]\nprotocol = "iso18626"\naddresses = ["http://h:99999/x"]', "not a URL"),
    ('[peers.P]\nprotocol = "iso18626"\naddresses = ["http://h/x#f"]', "without a fragment"),
    ('[peers.P]\nprotocol = "tcp"\naddresses = ["h:1"]', "protocol: Input should be"),
    (
        '[peers.P]\naddresses = ["h:1"]\n[peers.P.iso18626]\nversion = "2021"',
        'iso18626: the settings of a peer with protocol = "iso18626"',
    ),
    (f'{PEER}[peers.P.iso18626]\nversion = "3"', "iso18626.version: Input should be"),
    (f'{PEER}[peers.P.iso18626]\ntimezone = "Mars/Base"', "unknown time zone 'Mars/Base'"),
    (f'{PEER}[peers.P.iso18626]\nconditional = "x"', "iso18626.conditional: Input should be"),
    (f"{PEER}[peers.P.iso18626]\nvesion = 1", "iso18626.vesion: unknown key"),
    (f'{PEER}[peers.P.iso18626]\ndeclared = ""', "iso18626.declared"),
    (
        f'{PEER}[peers.P.iso18626]\nheaders = {{ "Content-Type" = "text/xml" }}',
        "Content-Type: the gateway writes that header itself",
    ),
    (f'{PEER}[peers.P.iso18626]\nheaders = {{ "X Y" = "1" }}', "'X Y' is not an HTTP header"),
    (
        f'{PEER}[peers.P.iso18626]\nheaders = {{ "X" = "a\\nb" }}',
        "X: a header value holds no line break",
    ),
    (
        f'{PEER}[peers.P.iso18626]\nheaders = {{ "X-A" = "1", "x-a" = "2" }}',
        "a header is named twice",
    ),
    (
        f'{PEER}[peers.P.iso18626]\nagencies = {{ A = "nocolon" }}',
        "'nocolon' is not an agency id: write TYPE:VALUE",
    ),
    (
        f'{PEER}[peers.P.iso18626]\nagencies = {{ A = "ISIL:X", B = "isil:x" }}',
        "an agency map names an agency id twice",
    ),
    (
        f'{PEER}[peers.P.iso18626]\nagencies = {{ A = "ISIL:X", " a " = "ISIL:Y" }}',
        "an agency map names a symbol twice",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_iso18626_peer(text: str, message: str) -> None:
    with pytest.raises(RoutesError) as caught:
        RoutingTable.parse(text, "bad.toml")
    assert str(caught.value).startswith("bad.toml: peer P: ")
    assert message in str(caught.value)
    assert len(caught.value.problems) == 1


def test_routes_check_shows_the_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(ROUTES)
    cli.main(["routes", "check", str(path), "--at", "2026-11-20T00:00:00Z"])
    out = capsys.readouterr().out
    assert (
        "RSLEND: https://rs.example.org/rs/externalApi/iso18626, http://127.0.0.1:9100/iso18626\n"
        "  aliases: RS-LEND\n"
        "  protocol: ISO 18626 2021-2; zone Europe/Berlin; version attribute '2021-3';"
        " conditional reshare; no ExpectToSupply; headers X-Okapi-Tenant;"
        " agencies RSLEND=RESHARE:DIKUA, RESPLIB=ISIL:DE-7\n"
    ) in out
    assert "PLAIN: http://[::1]:8080/iso18626?tenant=a\n  protocol: ISO 18626 1.2; zone UTC;" in out
    assert "RESPLIB: 127.0.0.1:9001\n" in out and out.endswith(": ok, 3 peers\n")
