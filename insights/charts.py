"""Geometry for the server-rendered SVG charts: numbers in, rectangles and ticks out.

Templates only place what is computed here, so every chart is plain SVG that
works without JavaScript or any external asset.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ml.runtime.labels import LABELS

WIDTH = 720
HEIGHT = 240
# Room for the y-axis labels on the left and the x-axis labels below.
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 28


@dataclass(frozen=True)
class Segment:
    key: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    label: str  # the x-axis text, shown when `labelled`
    x: float
    width: float
    total: int
    segments: list[Segment]
    labelled: bool
    y: float  # top of the whole bar
    height: float

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    plot_left: int
    plot_right: int
    plot_bottom: int
    maximum: int

    @property
    def empty(self) -> bool:
        return self.maximum == 0


def _nice_ceiling(value: int) -> int:
    """1, 2, 5, 10, 20, 50 ...: an axis top at or above value."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(
    columns: Sequence[tuple[str, dict[str, int]]],
    *,
    keys: Sequence[str] = LABELS,
    width: int = WIDTH,
    height: int = HEIGHT,
    max_labels: int = 10,
) -> Chart:
    """One bar per column, stacked by key in `keys` order (the first key at the bottom)."""
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    bottom = TOP + plot_height
    totals = [sum(counts.get(key, 0) for key in keys) for _, counts in columns]
    maximum = max(totals, default=0)
    top_value = _nice_ceiling(maximum)
    slot = plot_width / max(len(columns), 1)
    bar_width = max(slot * 0.7, 1.0)
    every = max(1, math.ceil(len(columns) / max_labels))
    bars = []
    for index, ((label, counts), total) in enumerate(zip(columns, totals, strict=True)):
        x = LEFT + index * slot + (slot - bar_width) / 2
        segments = []
        y = float(bottom)
        for key in keys:
            value = counts.get(key, 0)
            if value <= 0:
                continue
            segment_height = plot_height * value / top_value
            y -= segment_height
            segments.append(Segment(key=key, value=value, y=round(y, 2), height=round(segment_height, 2)))
        bar_height = plot_height * total / top_value
        bars.append(
            Bar(
                label=label,
                x=round(x, 2),
                width=round(bar_width, 2),
                total=total,
                segments=segments,
                # The last column is always labelled: it is "today" or "this week".
                labelled=(len(columns) - 1 - index) % every == 0,
                y=round(bottom - bar_height, 2),
                height=round(bar_height, 2),
            )
        )
    ticks = [
        Tick(value=value, y=round(bottom - plot_height * value / top_value, 2))
        for value in sorted({0, top_value // 2, top_value})
    ]
    return Chart(
        width=width,
        height=height,
        bars=bars,
        ticks=ticks,
        plot_left=LEFT,
        plot_right=width - RIGHT,
        plot_bottom=bottom,
        maximum=maximum,
    )


def simple_bars(columns: Sequence[tuple[str, int]], **options) -> Chart:
    """A plain bar chart: stacked_bars with a single key."""
    return stacked_bars([(label, {"value": value}) for label, value in columns], keys=("value",), **options)
