"""Which department must act: the category's own, unless a rule for its area says otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import contains
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


def area_at(session: Session, lat: float | None, lon: float | None) -> Area | None:
    if lat is None or lon is None:
        return None
    for area in session.scalars(select(Area).order_by(Area.id)):
        if contains(area.geojson, lat, lon):
            return area
    return None


def route_for(
    session: Session, category_code: str | None, lat: float | None, lon: float | None
) -> Route:
    area = area_at(session, lat, lon)
    area_id = area.id if area else None
    if not category_code:
        return Route(area_id=area_id)
    category = session.scalars(
        select(Category).where(Category.code == category_code, Category.active.is_(True))
    ).first()
    if category is None:
        raise ValidationFailed(f"unknown category {category_code!r}")
    department_id = category.department_id
    rule = "category"
    if area_id is not None:
        override = session.scalars(
            select(RoutingRule.department_id).where(
                RoutingRule.category_id == category.id, RoutingRule.area_id == area_id
            )
        ).first()
        if override is not None:
            department_id, rule = override, "category×area"
    department = session.get(Department, department_id) if department_id else None
    return Route(
        category_id=category.id,
        category_code=category.code,
        department_id=department.id if department else None,
        department_code=department.code if department else None,
        department_email=department.email if department else None,
        area_id=area_id,
        first_response_hours=category.first_response_hours,
        resolution_hours=category.resolution_hours,
        rule=rule if department else "none",
    )
