"""One rule for library symbols (isoill.ill.symbols): spellings of one symbol resolve to the
same library, and others do not, alike in the routes (symbols and aliases), ``[peers]``, the
credentials file, target selection and the gateway's loop check."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_support import request
from gateway_harness import exchange, routes_for, start_gateway, write_config

from isoill.access import passwords
from isoill.codec.decoder import decode
from isoill.codec.models import IntermediaryProblem, StatusOrErrorReport
from isoill.config import ConfigError, load
from isoill.ill.symbols import symbol_key, symbol_of, system_id
from isoill.router import RoutingTable, Rule, select_target

#: (as configured, as an APDU names it, whether they are one library): Python's upper case
#: of the stripped symbol decides, and nothing else.
SPELLINGS = [
    ("RESPLIB", " resplib ", True),  # outer spaces and case
    ("RespLib", "RESPLIB", True),
    ("STRASSE", " straße ", True),  # ß upper-cases to SS
    ("Straße", "strasse", True),
    ("ISTANBUL", "\u0131stanbul", True),  # dotless i upper-cases to I
    ("\u0131stanbul", " Istanbul", True),
    ("İZMİR", "İzmİr", True),  # dotted capital I is a letter of its own
    ("STRASSE", "STRA\u1e9eE", False),  # capital sharp s upper-cases to itself, not SS
    ("İZMİR", "IZMIR", False),
    ("İZMİR", "i\u0307zmi\u0307r", False),  # an i and a combining dot: not normalised to İ
    ("OK", "O\u212a", False),  # the Kelvin sign is no K
    ("OCLC:ABC", "OCLCABC", False),  # punctuation counts
]
IDS = [f"{written!r}-{named!r}" for written, named, _ in SPELLINGS]


@pytest.mark.parametrize(("written", "named", "alike"), SPELLINGS, ids=IDS)
def test_the_rule(written: str, named: str, alike: bool) -> None:
    assert (symbol_key(written) == symbol_key(named)) is alike
    assert symbol_key(named) == symbol_key(symbol_key(named)) == named.strip().upper()
    assert symbol_of(system_id(named)) == symbol_key(named)


def test_a_blank_or_absent_symbol_is_none() -> None:
    assert symbol_of(None) is None
    assert symbol_of(system_id(" \t")) is None
    assert symbol_of(system_id("")) is None


@pytest.mark.parametrize(("written", "named", "alike"), SPELLINGS, ids=IDS)
def test_routes_symbols_and_aliases(written: str, named: str, alike: bool) -> None:
    by_symbol = RoutingTable.parse(f'[peers."{written}"]\naddresses = ["127.0.0.1:9001"]\n')
    assert (by_symbol.peer(named) == written.strip()) is alike
    by_alias = RoutingTable.parse(
        f'[peers.HOME]\naliases = ["{written}"]\naddresses = ["127.0.0.1:9002"]\n'
    )
    assert (by_alias.peer(named) == "HOME") is alike


@pytest.mark.parametrize(("written", "named", "alike"), SPELLINGS, ids=IDS)
def test_peers_and_credentials(tmp_path: Path, written: str, named: str, alike: bool) -> None:
    config = write_config(
        tmp_path,
        routes_for({"RESPLIB": ["127.0.0.1:9001"]}),
        extra=f'[access]\nmode = "registered"\n\n[peers."{named}"]\nack = "none"\n',
    )
    assert (load(config).peer(written).ack == "none") is alike
    password_hash = passwords.hash_password(b"pw")
    (tmp_path / "credentials.toml").write_text(
        f'["{written}"]\nuser_id = "u"\npassword_hash = "{password_hash}"\n'
    )
    if alike:
        assert list(load(config).credentials.peers) == list(load(config).peers)
    else:
        with pytest.raises(ConfigError, match="is not under \\[peers\\]"):
            load(config)


@pytest.mark.parametrize(("written", "named", "alike"), SPELLINGS, ids=IDS)
def test_target_selection(written: str, named: str, alike: bool) -> None:
    """An APDU either party sends goes to the other party when its sender is one of them."""
    chosen = select_target(
        "Message",
        requester=written,
        responder="OTHER",
        sender={named},
        counterpart=None,
        default=None,
    )
    assert (chosen.symbol, chosen.rule) == (
        ("OTHER", Rule.OTHER_PARTY) if alike else (None, Rule.NONE)
    )


@pytest.mark.asyncio
async def test_an_apdu_for_its_own_sender_goes_nowhere(tmp_path: Path) -> None:
    """A requester naming itself responder in another spelling is told so, not answered by
    its own request."""
    routes = routes_for({"STRASSE": ["127.0.0.1:9"], "RESPLIB": ["127.0.0.1:9"]})
    server = await start_gateway(write_config(tmp_path, routes))
    try:
        port = server.ports[0]
        (answer,) = await exchange(port, [request(1, requester="straße", responder="Strasse ")])
    finally:
        await server.stop()
    report = decode(answer)
    assert isinstance(report, StatusOrErrorReport) and report.error_report is not None
    user_error = report.error_report.user_error_report
    assert user_error is not None
    assert user_error.intermediary_problem is IntermediaryProblem.CANNOT_SEND_ONWARD
    assert report.note is not None and "is the sender" in report.note.text
