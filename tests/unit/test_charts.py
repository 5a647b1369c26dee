"""Chart geometry: the sparkline of a concern's weeks."""

from __future__ import annotations

import pytest

from civicpulse.reports.charts import sparkline


def _points(points: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in points.split())]


def test_a_sparkline_spans_the_box_and_peaks_at_the_top() -> None:
    line = sparkline([0, 2, 4, 1], width=100, height=20, pad=2)
    pts = _points(line.points)
    assert len(pts) == 4
    assert pts[0][0] == pytest.approx(2) and pts[-1][0] == pytest.approx(98)
    assert pts[0][1] == pytest.approx(18)  # zero sits on the bottom
    assert pts[2][1] == pytest.approx(2)  # the largest touches the top
    assert pts[1][1] == pytest.approx(10)  # half of the largest is half way
    assert line.last == pytest.approx(pts[-1], abs=0.05)


def test_a_sparkline_of_one_value_or_none() -> None:
    one = _points(sparkline([3], width=50, height=10, pad=1).points)
    assert one == [(1.0, 1.0), (49.0, 1.0)]
    flat = _points(sparkline([0, 0, 0], width=50, height=10, pad=1).points)
    assert {y for _, y in flat} == {9.0}  # nothing is drawn at the bottom, not the middle
    empty = sparkline([])
    assert empty.points == "" and empty.last is None
