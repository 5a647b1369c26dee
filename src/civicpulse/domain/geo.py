"""Just enough geometry to say which area a point lies in, without a GIS dependency."""

from __future__ import annotations

from typing import Any

from civicpulse.domain.errors import ValidationFailed

Ring = list[list[float]]


def validate_point(lat: float, lon: float) -> None:
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        raise ValidationFailed("location must have -90 ≤ lat ≤ 90 and -180 ≤ lon ≤ 180")


def polygons_of(geometry: dict[str, Any]) -> list[list[Ring]]:
    """The polygons (outer ring, holes...) of a GeoJSON Polygon, MultiPolygon or Feature."""
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coords, list):
        polys = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polys = coords
    else:
        raise ValidationFailed("an area needs a GeoJSON Polygon or MultiPolygon")
    for poly in polys:
        if not poly or any(len(ring) < 4 for ring in poly):
            raise ValidationFailed("each polygon ring needs at least 4 positions")
    return polys


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def contains(geometry: dict[str, Any], lat: float, lon: float) -> bool:
    """True when the point is inside the geometry (GeoJSON order is lon, lat)."""
    for poly in polygons_of(geometry):
        outer, holes = poly[0], poly[1:]
        if _in_ring(lon, lat, outer) and not any(_in_ring(lon, lat, h) for h in holes):
            return True
    return False
