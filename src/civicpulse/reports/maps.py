"""Maps drawn on the server as SVG: the city's areas, open cases, and optional base-map tiles.

No map library and no JavaScript: the page is an SVG the server computes, so the map works
offline and on any phone; tiles are added only when the city configures a tile server. The
leader's brief draws its hotspot map with the same frame (never with tiles: a PDF is made
offline)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MapFrame:
    """Where the city sits in an SVG box: Web Mercator, north up, so base-map tiles line up.

    The same frame turns a click on the map back into a latitude and longitude, which is how
    the report form takes a place without JavaScript (an image button sends the click)."""

    west: float  # Mercator x (0..1 round the world) of the box's left content edge
    north: float  # Mercator y (0 at the top of the world) of its top content edge
    scale: float  # SVG units per Mercator unit
    pad: float
    width: float
    height: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        mx, my = mercator(lat, lon)
        return self.pad + (mx - self.west) * self.scale, self.pad + (my - self.north) * self.scale

    def latlon(self, x: float, y: float) -> tuple[float, float] | None:
        """The place under (x, y), or None when the point is outside the box."""
        if not (0 <= x <= self.width and 0 <= y <= self.height):
            return None
        mx = self.west + (x - self.pad) / self.scale
        my = self.north + (y - self.pad) / self.scale
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * my))))
        return lat, mx * 360 - 180


def mercator(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator in world units (0..1 on both axes), the grid map tiles are cut on."""
    lat = max(min(lat, 85.05), -85.05)
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360, y


def frame_for(
    places: list[tuple[float, float]], width: float = 600, pad: float = 12
) -> MapFrame | None:
    """The smallest frame showing every (lat, lon) given, or None when there are none."""
    if not places:
        return None
    xs, ys = zip(*(mercator(lat, lon) for lat, lon in places), strict=True)
    west, east, north, south = min(xs), max(xs), min(ys), max(ys)
    span = max(east - west, south - north, 1e-9)
    scale = (width - 2 * pad) / span
    height = (south - north) * scale + 2 * pad
    return MapFrame(west, north, scale, pad, width, max(height, 2 * pad + 1))


@dataclass
class MapShape:
    width: float
    height: float
    outlines: list[tuple[str, str, str]]  # (area code, label, SVG points)
    labels: list[tuple[str, float, float]]  # (label, x, y)
    dots: list[tuple[int, float, float, str]]  # (case id, x, y, status)
    tiles: list[tuple[str, float, float, float]] = field(default_factory=list)  # url, x, y, size
    frame: MapFrame | None = None
    #: (id, x, y, width, height) of each box given, e.g. a hotspot's cells
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)


def project_map(
    areas: list[tuple[str, str, list[list[tuple[float, float]]]]],
    points: list[tuple[int, float, float, str]],
    width: float = 600,
    pad: float = 12,
    tile_url: str | None = None,
    boxes: list[tuple[int, float, float, float, float]] | None = None,
) -> MapShape:
    """Fit areas (lon, lat rings), points (lat, lon) and boxes (id, south, west, north,
    east: a hotspot's cells) into an SVG box."""
    boxes = boxes or []
    places = [(lat, lon) for _, _, rings in areas for ring in rings for lon, lat in ring]
    places += [(lat, lon) for _, lat, lon, _ in points]
    places += [corner for _, s, w, n, e in boxes for corner in ((s, w), (n, e))]
    frame = frame_for(places, width, pad)
    if frame is None:
        return MapShape(width, width / 2, [], [], [])
    outlines, labels = [], []
    for code, label, rings in areas:
        for ring in rings:
            pts = [frame.xy(lat, lon) for lon, lat in ring]
            outlines.append((code, label, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
            cx = sum(x for x, _ in pts) / len(pts)
            cy = sum(y for _, y in pts) / len(pts)
            labels.append((label, cx, cy))
    dots = [(cid, *frame.xy(lat, lon), status) for cid, lat, lon, status in points]
    tiles = tile_grid(frame, tile_url) if tile_url else []
    drawn = []
    for box_id, s, w, n, e in boxes:
        left, top = frame.xy(n, w)
        right, bottom = frame.xy(s, e)
        drawn.append((box_id, left, top, max(right - left, 1.0), max(bottom - top, 1.0)))
    return MapShape(frame.width, frame.height, outlines, labels, dots, tiles, frame, drawn)


def tile_grid(
    frame: MapFrame, template: str, max_tiles: int = 36
) -> list[tuple[str, float, float, float]]:
    """Base-map tiles covering the frame, at the finest zoom that needs at most ``max_tiles``.

    Tiles are 256 px squares at zoom z, 2**z of them round the world; the zoom is chosen from
    the frame's scale so a tile is drawn at about its own size, then coarsened if the city
    would need too many requests."""
    west = frame.west - frame.pad / frame.scale
    north = frame.north - frame.pad / frame.scale
    east = west + frame.width / frame.scale
    south = north + frame.height / frame.scale
    zoom = max(0, min(19, round(math.log2(frame.scale / 256))))
    while True:
        n = 2**zoom
        cols = range(math.floor(west * n), math.floor(min(east, 1 - 1e-12) * n) + 1)
        rows = range(math.floor(max(north, 0) * n), math.floor(min(south, 1 - 1e-12) * n) + 1)
        if len(cols) * len(rows) <= max_tiles or zoom == 0:
            break
        zoom -= 1
    size = frame.scale / n
    return [
        (
            template.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty)),
            frame.pad + (tx / n - frame.west) * frame.scale,
            frame.pad + (ty / n - frame.north) * frame.scale,
            size,
        )
        for ty in rows
        for tx in cols
    ]
