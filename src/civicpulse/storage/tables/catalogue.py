"""The service catalogue: departments, categories, areas and the rules routing between them.

Apart from the cases because it is configuration, written by administrators and read on every
intake to pick a department and a deadline; nothing here names a resident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicpulse.storage.tables.base import Base, UTCDateTime


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    first_response_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # [{code, datatype, required, description, order, values: [{key, name}]}]
    extra_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Area(Base):
    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    geojson: Mapped[dict[str, Any]] = mapped_column(JSON)


class RoutingRule(Base):
    """category × area → department; overrides the category's own department."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("category_id", "area_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
