"""Geometry of a small vertical bar chart, drawn by a template as SVG. No Django here.

The template only places what this computes: no arithmetic in templates, no inline styles
(the CSP forbids them); colours come from CSS classes.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar, e.g. "Mar"
    description: str  # for assistive technology, e.g. "March 2027: 3 certificates"
    value: int
    x: float
    y: float
    width: float
    height: float
    center: float  # x of the texts
    value_y: float  # baseline of the number above the bar
    note: str = ""  # a second line under the label, e.g. the year at January


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float  # y of the axis
    label_y: float
    note_y: float
    left: float
    right: float
    bars: tuple[Bar, ...]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


@dataclass(frozen=True)
class Point:
    label: str
    description: str
    value: int
    note: str = ""


def bar_chart(
    points: Sequence[Point],
    *,
    width: int = 720,
    height: int = 220,
    top: int = 22,
    bottom: int = 40,
    side: int = 8,
    fill: float = 0.62,
) -> BarChart:
    """Bars scaled to the largest value; an all-zero chart keeps flat bars on the axis."""
    baseline = height - bottom
    plot_height = baseline - top
    slot = (width - 2 * side) / max(len(points), 1)
    bar_width = round(slot * fill, 1)
    largest = max((point.value for point in points), default=0)
    bars = []
    for index, point in enumerate(points):
        bar_height = round(plot_height * point.value / largest, 1) if largest else 0.0
        if point.value and bar_height < 2:
            bar_height = 2.0  # a non-zero month stays visible next to a very large one
        center = round(side + slot * index + slot / 2, 1)
        y = round(baseline - bar_height, 1)
        bars.append(
            Bar(
                label=point.label,
                description=point.description,
                value=point.value,
                x=round(center - bar_width / 2, 1),
                y=y,
                width=bar_width,
                height=bar_height,
                center=center,
                value_y=round(y - 6, 1),
                note=point.note,
            )
        )
    return BarChart(
        width=width,
        height=height,
        baseline=baseline,
        label_y=baseline + 16,
        note_y=baseline + 31,
        left=side,
        right=width - side,
        bars=tuple(bars),
    )
