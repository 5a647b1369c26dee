"""The server-drawn map: a click turns back into the place it shows; tiles line up."""

from __future__ import annotations

import pytest

from civicpulse.reports.maps import frame_for, mercator, project_map, tile_grid

RING = [(120.0, 30.0), (120.1, 30.0), (120.1, 30.1), (120.0, 30.1), (120.0, 30.0)]


def test_a_click_returns_the_place_drawn_under_it() -> None:
    frame = frame_for([(lat, lon) for lon, lat in RING], width=300)
    assert frame is not None
    for lat, lon in [(30.0, 120.0), (30.05, 120.07), (30.1, 120.1)]:
        x, y = frame.xy(lat, lon)
        back = frame.latlon(x, y)
        assert back is not None
        assert back[0] == pytest.approx(lat, abs=1e-9) and back[1] == pytest.approx(lon, abs=1e-9)
    assert frame.latlon(-1, 5) is None and frame.latlon(5, frame.height + 1) is None


def test_north_is_up_and_the_box_keeps_its_padding() -> None:
    frame = frame_for([(lat, lon) for lon, lat in RING], width=300, pad=10)
    assert frame is not None
    west_x, north_y = frame.xy(30.1, 120.0)
    east_x, south_y = frame.xy(30.0, 120.1)
    assert west_x == pytest.approx(10) and north_y == pytest.approx(10)
    # the square is taller than wide in Mercator at 30°N, so its height fills the box
    assert south_y == pytest.approx(290) == pytest.approx(frame.height - 10)
    assert 10 < east_x < 290


def test_mercator_matches_the_tile_grid() -> None:
    # zoom 1 has 2x2 tiles; lon 0, lat 0 is the corner where all four meet
    assert mercator(0, 0) == pytest.approx((0.5, 0.5))
    assert mercator(85.05, -180)[1] == pytest.approx(0, abs=1e-3)


def test_tiles_cover_the_frame_and_fill_the_template() -> None:
    frame = frame_for([(lat, lon) for lon, lat in RING], width=600)
    assert frame is not None
    tiles = tile_grid(frame, "https://tiles.example/{z}/{x}/{y}.png")
    assert 0 < len(tiles) <= 36
    zooms = {url.split("/")[3] for url, *_ in tiles}
    assert len(zooms) == 1
    left = min(x for _, x, _, _ in tiles)
    top = min(y for _, _, y, _ in tiles)
    right = max(x + size for _, x, _, size in tiles)
    bottom = max(y + size for _, _, y, size in tiles)
    assert left <= 0 and top <= 0 and right >= frame.width and bottom >= frame.height


def test_the_tile_count_is_capped_by_coarser_zoom() -> None:
    frame = frame_for([(lat, lon) for lon, lat in RING], width=600)
    assert frame is not None
    assert len(tile_grid(frame, "https://t/{z}/{x}/{y}.png", max_tiles=4)) <= 4


def test_no_tiles_unless_configured_and_empty_cities_draw_nothing() -> None:
    shape = project_map([("n", "North", [RING])], [(1, 30.05, 120.05, "new")])
    assert shape.tiles == [] and len(shape.outlines) == 1 and len(shape.dots) == 1
    empty = project_map([], [])
    assert empty.frame is None and empty.outlines == []
