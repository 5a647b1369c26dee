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


@dataclass
class MapShape:
    width: float
    height: float
    outlines: list[tuple[str, str, str]]  # (area code, label, SVG points)
    labels: list[tuple[str, float, float]]  # (label, x, y)
    dots: list[tuple[int, float, float, str]]  # (case id, x, y, status)


def project_map(
    areas: list[tuple[str, str, list[list[tuple[float, float]]]]],
    points: list[tuple[int, float, float, str]],
    width: float = 600,
    pad: float = 12,
) -> MapShape:
    """Fit areas (lon, lat rings) and points (lat, lon) into an SVG box, north up.

    A plain equirectangular projection scaled by cos(latitude) is exact enough for a city."""
    import math

    lons = [x for _, _, rings in areas for ring in rings for x, _ in ring]
    lats = [y for _, _, rings in areas for ring in rings for _, y in ring]
    lons += [lon for _, _, lon, _ in points]
    lats += [lat for _, lat, _, _ in points]
    if not lons:
        return MapShape(width, width / 2, [], [], [])
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * squeeze, 1e-6)
    span_y = max(north - south, 1e-6)
    scale = (width - 2 * pad) / max(span_x, span_y * 1.0)
    height = span_y * scale + 2 * pad

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - west) * squeeze * scale, pad + (north - lat) * scale

    outlines, labels = [], []
    for code, label, rings in areas:
        for ring in rings:
            pts = [xy(x, y) for x, y in ring]
            outlines.append((code, label, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
            cx = sum(x for x, _ in pts) / len(pts)
            cy = sum(y for _, y in pts) / len(pts)
            labels.append((label, cx, cy))
    dots = [(cid, *xy(lon, lat), status) for cid, lat, lon, status in points]
    return MapShape(width, height, outlines, labels, dots)
