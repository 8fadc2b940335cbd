"""A routes edit keeps the file's comments and layout, is checked as ``isoill routes check``
checks a file, and is shown as a diff; the history keeps every version, the one found on disk
included, and refuses a change made on a file that changed meanwhile."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from paths import CAPTURES

from isoill.router import RoutesError, RoutingTable
from isoill.service.route_edits import MoveEdit, RouteEdit, edited, propose
from isoill.service.route_history import ON_DISK, HistoryError, RoutesHistory, digest

ROOT = CAPTURES.parents[2]
EXAMPLE = (ROOT / "config" / "routes.toml").read_text()
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_an_edit_keeps_every_comment_and_changes_one_peer() -> None:
    after = edited(EXAMPLE, RouteEdit("resplib", ("127.0.0.1:9100",), ("RESP-LIB",)))
    comments = [line for line in EXAMPLE.splitlines() if line.startswith("#")]
    assert [line for line in after.splitlines() if line.startswith("#")] == comments
    table = RoutingTable.parse(after)
    route = table.route("RESPLIB")
    assert route is not None
    assert [str(a) for a in route.addresses] == ["127.0.0.1:9100"]
    assert route.aliases == ("RESP-LIB",)
    assert table.route("OCLC:RSP") is None  # the alias went
    assert table.route("OZZ") == RoutingTable.parse(EXAMPLE).route("OZZ")


def test_a_move_window_is_set_and_taken_away() -> None:
    move = MoveEdit(("127.0.0.1:9200",), T0, datetime(2027, 1, 1, tzinfo=UTC))
    after = edited(EXAMPLE, RouteEdit("RESPLIB", ("127.0.0.1:9001",), move=move))
    route = RoutingTable.parse(after).route("RESPLIB")
    assert route is not None and route.move is not None
    assert [str(a) for a in route.addresses_at(T0)] == ["127.0.0.1:9001", "127.0.0.1:9200"]
    gone = edited(after, RouteEdit("RESPLIB", ("127.0.0.1:9001",)))
    route = RoutingTable.parse(gone).route("RESPLIB")
    assert route is not None and route.move is None


def test_a_peer_is_added_and_removed() -> None:
    added = edited(EXAMPLE, RouteEdit("NEWLIB", ("127.0.0.1:9300",)))
    assert RoutingTable.parse(added).peer("newlib") == "NEWLIB"
    removed = edited(added, RouteEdit("newlib", remove=True))
    assert RoutingTable.parse(removed).peer("NEWLIB") is None


def test_a_proposal_has_a_diff_and_the_checks_problems() -> None:
    good = propose(EXAMPLE, RouteEdit("RESPLIB", ("127.0.0.1:9100",), ("RESP-LIB", "OCLC:RSP")))
    assert good.problems == ()
    assert '-addresses = ["127.0.0.1:9001"]\n+addresses = ["127.0.0.1:9100"]\n' in good.diff
    bad = propose(EXAMPLE, RouteEdit("OZZ", ("127.0.0.1:99999",)))
    assert bad.problems == ("peer OZZ: addresses: '127.0.0.1:99999': the port must be 1..65535",)
    clash = propose(EXAMPLE, RouteEdit("OZZ", ("127.0.0.1:1",), ("RESP-LIB",)))
    assert clash.problems == ("peer OZZ: alias 'RESP-LIB' already names peer RESPLIB",)
    assert propose(EXAMPLE, RouteEdit("OZZ")).problems == ("peer OZZ: addresses: missing",)
    with pytest.raises(RoutesError):
        edited("[peers", RouteEdit("A", ("127.0.0.1:1",)))


def test_the_history_keeps_each_version_and_restores_one(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(EXAMPLE)
    routes.chmod(0o644)
    history = RoutesHistory(routes, tmp_path / "history")
    assert history.versions() == []
    changed = edited(EXAMPLE, RouteEdit("NEWLIB", ("127.0.0.1:9300",)))
    version = history.replace(changed, who="alice", note="add", now=T0, expected=digest(EXAMPLE))
    assert routes.read_text() == changed
    assert stat.S_IMODE(routes.stat().st_mode) == 0o644  # the file's mode stays
    found, made = history.versions()[::-1]
    assert (found.number, found.who) == (1, ON_DISK)
    assert made == version
    assert (version.number, version.who, version.note) == (2, "alice", "add")
    assert history.version(1)[1] == EXAMPLE
    for path in (tmp_path / "history").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(HistoryError, match="changed since"):
        history.replace(EXAMPLE, who="bob", note="x", now=T0, expected=digest(EXAMPLE))
    routes.write_text(changed + "\n# by hand\n")  # an edit outside the console is kept too
    history.replace(EXAMPLE, who="bob", note="restore 1", now=T0)
    assert [v.who for v in history.versions()] == ["bob", ON_DISK, "alice", ON_DISK]
    assert history.version(3)[1].endswith("# by hand\n")
    with pytest.raises(HistoryError, match="no routes version 9"):
        history.version(9)
