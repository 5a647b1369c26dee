"""Which department must act: the category's own, unless a rule for its area says otherwise.

Routing runs on every submission, so the catalogue is read into a ``RouteTable`` that each
process keeps for a few seconds. A change made in this process clears it at once; an
unknown category code reloads it before being refused, so a new category works at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import contains
from civicpulse.infra.reloading import Reloading
from civicpulse.storage.tables import Area, Category, Department, RoutingRule


@dataclass(frozen=True)
class Route:
    category_id: int | None = None
    category_code: str | None = None
    department_id: int | None = None
    department_code: str | None = None
    department_email: str | None = None
    area_id: int | None = None
    first_response_hours: int | None = None
    resolution_hours: int | None = None
    rule: str = "none"


@dataclass(frozen=True)
class _Cat:
    id: int
    code: str
    department_id: int | None
    first_response_hours: int | None
    resolution_hours: int | None


class RouteTable:
    """A read-only snapshot of what routing needs from the catalogue."""

    def __init__(self, session: Session) -> None:
        self.categories = {
            c.code: _Cat(c.id, c.code, c.department_id, c.first_response_hours,
                         c.resolution_hours)
            for c in session.scalars(select(Category).where(Category.active.is_(True)))
        }
        self.departments = {
            d.id: (d.code, d.email) for d in session.scalars(select(Department))
        }
        self.areas: list[tuple[int, dict[str, Any]]] = [
            (a.id, a.geojson) for a in session.scalars(select(Area).order_by(Area.id))
        ]
        self.rules = {
            (r.category_id, r.area_id): r.department_id
            for r in session.scalars(select(RoutingRule))
        }

    def area_at(self, lat: float | None, lon: float | None) -> int | None:
        if lat is None or lon is None:
            return None
        for area_id, geometry in self.areas:
            if contains(geometry, lat, lon):
                return area_id
        return None

    def knows(self, category_code: str) -> bool:
        return category_code in self.categories

    def route(self, category_code: str | None, lat: float | None, lon: float | None) -> Route:
        area_id = self.area_at(lat, lon)
        if not category_code:
            return Route(area_id=area_id)
        category = self.categories.get(category_code)
        if category is None:
            raise ValidationFailed(f"unknown category {category_code!r}")
        department_id, rule = category.department_id, "category"
        override = self.rules.get((category.id, area_id)) if area_id is not None else None
        if override is not None:
            department_id, rule = override, "category×area"
        dept = self.departments.get(department_id) if department_id else None
        return Route(
            category_id=category.id,
            category_code=category.code,
            department_id=department_id if dept else None,
            department_code=dept[0] if dept else None,
            department_email=dept[1] if dept else None,
            area_id=area_id,
            first_response_hours=category.first_response_hours,
            resolution_hours=category.resolution_hours,
            rule=rule if dept else "none",
        )


def current_table(
    routes: Reloading[RouteTable], session: Session, need_category: str | None = None
) -> RouteTable:
    """This process's table, read again when it is old or does not know ``need_category``."""
    return routes.get(
        lambda: RouteTable(session),
        None if not need_category else (lambda t: t.knows(need_category)),
    )


def route_for(
    session: Session, category_code: str | None, lat: float | None, lon: float | None
) -> Route:
    """Route with a fresh read of the catalogue (for callers without a cache)."""
    return RouteTable(session).route(category_code, lat, lon)
