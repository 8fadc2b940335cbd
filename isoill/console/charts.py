"""The console's pictures as geometry for its SVG templates (no JavaScript): the traffic of the
last day as bars, and each move window on a time line. Pure: numbers in, shapes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH = 720
HEIGHT = 160
_TOP = 16  # room for the largest bar's count
_BOTTOM = 20  # room for the hours


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str
    """The hour it starts (UTC), shown under every third bar."""


def traffic_bars(counts: Sequence[int], since: datetime, step: timedelta) -> list[Bar]:
    """One bar per step, scaled to the largest count."""
    if not counts:
        return []
    top = max(*counts, 1)
    slot = WIDTH / len(counts)
    room = HEIGHT - _TOP - _BOTTOM
    bars = []
    for index, count in enumerate(counts):
        height = room * count / top
        start = since + step * index
        bars.append(
            Bar(
                x=round(index * slot + 1, 1),
                y=round(_TOP + room - height, 1),
                width=round(slot - 2, 1),
                height=round(height, 1),
                count=count,
                label=start.strftime("%H:%M") if index % 3 == 0 else "",
            )
        )
    return bars


@dataclass(frozen=True)
class Window:
    """A move window on a line from ``first`` to ``last``: where its start, its cut-over and
    now fall, in pixels of :data:`WIDTH`."""

    start_x: float
    cutover_x: float
    now_x: float
    first: datetime
    last: datetime


def move_window(start: datetime, cutover: datetime, now: datetime) -> Window:
    """The window with a tenth of its span (at least a day) around it, now included."""
    pad = max((cutover - start) / 10, timedelta(days=1))
    first = min(start, now) - pad
    last = max(cutover, now) + pad
    span = (last - first).total_seconds()

    def x(moment: datetime) -> float:
        return round(WIDTH * (moment - first).total_seconds() / span, 1)

    return Window(x(start), x(cutover), x(now), first, last)
