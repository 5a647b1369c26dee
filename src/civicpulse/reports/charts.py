"""Chart geometry for server-rendered SVG: plain numbers the templates draw, no JavaScript.

Shared by the public pages and the leader's brief (whose PDF draws the same SVG as vector
paths), so a chart means the same thing wherever it appears."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def horizontal_bars(
    items: list[tuple[str, int]], width: float = 320, row: float = 26, label_width: float = 120
) -> tuple[list[Bar], float]:
    """One bar per item, scaled to the largest; returns the bars and the chart's height."""
    top = max((v for _, v in items), default=0) or 1
    room = width - label_width - 40
    bars = [
        Bar(label, value, label_width, i * row + 4, max(1.0, room * value / top), row - 8)
        for i, (label, value) in enumerate(items)
    ]
    return bars, max(row, len(items) * row + 4)


@dataclass
class Column:
    label: str
    x: float
    width: float
    segments: list[tuple[str, int, float, float]]  # (series, value, y, height)


def stacked_columns(
    labels: list[str],
    series: dict[str, list[int]],
    width: float = 320,
    height: float = 160,
    bottom: float = 24,
) -> list[Column]:
    """Stacked columns, one per label, scaled to the tallest stack."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = width / max(1, len(labels))
    plot = height - bottom
    columns = []
    for i, label in enumerate(labels):
        y = plot
        segments = []
        for name, values in series.items():
            h = plot * values[i] / top
            y -= h
            segments.append((name, values[i], y, h))
        columns.append(Column(label, i * step + 2, max(1.0, step - 4), segments))
    return columns


@dataclass
class Sparkline:
    """A trend line: ``points`` for an SVG ``<polyline>``; ``last`` is the final point, so
    a page can mark where the line ends (the latest week)."""

    points: str
    width: float
    height: float
    last: tuple[float, float] | None


def sparkline(
    values: list[int] | list[float], width: float = 160, height: float = 32, pad: float = 2
) -> Sparkline:
    """A line through ``values``, left to right, scaled to the largest (zero at the bottom,
    so a flat line at the bottom means "nothing", not "steady"). One value draws a flat
    line across; none draws nothing."""
    if not values:
        return Sparkline("", width, height, None)
    top = max(max(values), 0) or 1
    plot_w, plot_h = width - 2 * pad, height - 2 * pad
    if len(values) == 1:
        y = pad + plot_h * (1 - max(values[0], 0) / top)
        return Sparkline(f"{pad:.1f},{y:.1f} {width - pad:.1f},{y:.1f}", width, height,
                         (width - pad, y))
    step = plot_w / (len(values) - 1)
    xy = [(pad + i * step, pad + plot_h * (1 - max(v, 0) / top)) for i, v in enumerate(values)]
    return Sparkline(" ".join(f"{x:.1f},{y:.1f}" for x, y in xy), width, height, xy[-1])
