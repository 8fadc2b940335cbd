"""What the console reads from a request, and the geometry of its charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from isoill.console import charts, inputs
from isoill.console.inputs import InputError
from isoill.service.route_edits import MoveEdit, RouteEdit

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_route_edit_from_a_form_or_json_and_back() -> None:
    form = {
        "symbol": " RESPLIB ",
        "addresses": "127.0.0.1:1, 127.0.0.1:2\n[::1]:3",
        "aliases": "",
        "move_to": "127.0.0.1:4",
        "move_start": "2026-12-01T00:00",  # a datetime-local: UTC
        "move_cutover": "2026-12-02T00:00:00+01:00",
    }
    edit = inputs.route_edit(form)
    move = MoveEdit(("127.0.0.1:4",), T0, datetime(2026, 12, 1, 23, tzinfo=UTC))
    assert edit == RouteEdit("RESPLIB", ("127.0.0.1:1", "127.0.0.1:2", "[::1]:3"), (), move)
    assert inputs.route_edit(inputs.edit_fields(edit)) == edit
    as_json = {"symbol": "A", "addresses": ["127.0.0.1:1"], "aliases": ["B"]}
    assert inputs.route_edit(as_json) == RouteEdit("A", ("127.0.0.1:1",), ("B",))
    assert inputs.route_edit({"symbol": "A", "remove": True}) == RouteEdit("A", remove=True)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({}, "symbol: needed"),
        ({"symbol": 3}, "expected text"),
        ({"symbol": "A\x00"}, "control characters"),
        ({"symbol": "A" * 3000}, "longer than"),
        ({"symbol": "A", "addresses": [1]}, "list of strings"),
        ({"symbol": "A", "move_to": "h:1", "move_start": "soon"}, "not an ISO 8601"),
    ],
)
def test_bad_input_is_refused_with_its_field(values: dict[str, object], problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        inputs.route_edit(values)


def test_numbers_and_ids() -> None:
    assert inputs.number({}, "limit", 50) == 50
    assert inputs.number({"limit": "7"}, "limit", 50) == 7
    for bad in ("0", "1001", "-1", "1e3", "x", True, 2.5):
        with pytest.raises(InputError):
            inputs.number({"limit": bad}, "limit", 50)
    assert inputs.identifier("12", "message") == 12
    for bad in ("0", "", "1" * 19, "١٢", "-3"):
        with pytest.raises(InputError):
            inputs.identifier(bad, "message")


def test_traffic_bars_scale_to_the_largest_count() -> None:
    bars = charts.traffic_bars([0, 5, 10], T0, timedelta(hours=1))
    assert [bar.count for bar in bars] == [0, 5, 10]
    assert bars[0].height == 0 and bars[2].height == 2 * bars[1].height
    assert bars[2].y + bars[2].height == bars[0].y  # all stand on the axis
    assert [bar.label for bar in bars] == ["00:00", "", ""]
    assert charts.traffic_bars([], T0, timedelta(hours=1)) == []


def test_a_move_window_is_placed_with_now_on_the_line() -> None:
    window = charts.move_window(T0, T0 + timedelta(days=10), T0 + timedelta(days=5))
    assert 0 < window.start_x < window.now_x < window.cutover_x < charts.WIDTH
    early = charts.move_window(T0, T0 + timedelta(days=1), T0 - timedelta(days=3))
    assert 0 < early.now_x < early.start_x
