"""Chart geometry for server-rendered SVG: plain numbers the templates draw, no JavaScript."""

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
