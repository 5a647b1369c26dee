"""The service catalogue: departments, categories (with deadlines and extra fields), areas
and routing rules. Imported from YAML or CSV so a city can keep it in version control.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml
from sqlalchemy import select

from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.domain.geo import polygons_of
from civicpulse.domain.roles import Actor, require_administrator
from civicpulse.infra.context import Context
from civicpulse.settings import Settings
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Area, Category, Department, RoutingRule

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def _require(item: dict[str, Any], key: str, where: str) -> Any:
    value = item.get(key)
    if value in (None, ""):
        raise ValidationFailed(f"{where}: '{key}' is required")
    return value


def _hours(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        hours = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{where}: deadline hours must be whole numbers") from exc
    if hours <= 0:
        raise ValidationFailed(f"{where}: deadline hours must be positive")
    return hours


def validate_extra_fields(fields: Any, where: str) -> list[dict[str, Any]]:
    """Extra fields of a category, normalised; they become Open311 attributes later."""
    if fields in (None, ""):
        return []
    if isinstance(fields, str):
        try:
            fields = json.loads(fields)
        except ValueError as exc:
            raise ValidationFailed(f"{where}: extra_fields is not valid JSON") from exc
    if not isinstance(fields, list):
        raise ValidationFailed(f"{where}: extra_fields must be a list")
    out = []
    for i, f in enumerate(fields, 1):
        here = f"{where} extra field {i}"
        if not isinstance(f, dict):
            raise ValidationFailed(f"{here}: must be a mapping")
        code = str(_require(f, "code", here))
        datatype = str(f.get("datatype", "string"))
        if datatype not in DATATYPES:
            raise ValidationFailed(f"{here}: datatype must be one of {', '.join(DATATYPES)}")
        values = f.get("values") or []
        if datatype.endswith("valuelist") and not values:
            raise ValidationFailed(f"{here}: a value list needs values")
        out.append(
            {
                "code": code,
                "datatype": datatype,
                "required": bool(f.get("required", False)),
                "description": str(f.get("description", code)),
                "order": int(f.get("order", i)),
                "values": [
                    {"key": str(v["key"]), "name": str(v.get("name", v["key"]))}
                    if isinstance(v, dict)
                    else {"key": str(v), "name": str(v)}
                    for v in values
                ],
            }
        )
    return out


def load_catalogue_text(text: str, fmt: str) -> dict[str, list[dict[str, Any]]]:
    """Parse a catalogue file: YAML with departments/categories/areas, or a categories CSV."""
    if fmt == "yaml":
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ValidationFailed(f"not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationFailed("the YAML must be a mapping with departments/categories/areas")
        return {
            k: list(data.get(k) or [])
            for k in ("departments", "categories", "areas", "routing_rules")
        }
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        return {"departments": [], "categories": rows, "areas": [], "routing_rules": []}
    raise ValidationFailed("format must be yaml or csv")


def import_catalogue(
    ctx: Context, actor: Actor, data: dict[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """Create or update by code, all in one transaction: a bad entry changes nothing."""
    require_administrator(actor)
    now = ctx.now()
    counts = {"departments": 0, "categories": 0, "areas": 0, "routing_rules": 0}
    with ctx.db.transaction() as s:
        for i, d in enumerate(data.get("departments", []), 1):
            where = f"department {i}"
            code = str(_require(d, "code", where))
            dept = s.scalars(select(Department).where(Department.code == code)).first()
            if dept is None:
                dept = Department(code=code, created_at=now)
                s.add(dept)
            dept.name_en = str(_require(d, "name_en", where))
            dept.name_zh = str(d.get("name_zh") or "")
            dept.email = d.get("email") or None
            counts["departments"] += 1
        s.flush()
        depts = {code: id_ for id_, code in s.execute(select(Department.id, Department.code))}
        for i, c in enumerate(data.get("categories", []), 1):
            where = f"category {i}"
            code = str(_require(c, "code", where))
            dept_code = c.get("department") or None
            if dept_code and dept_code not in depts:
                raise ValidationFailed(f"{where}: unknown department {dept_code!r}")
            cat = s.scalars(select(Category).where(Category.code == code)).first()
            if cat is None:
                cat = Category(code=code)
                s.add(cat)
            cat.name_en = str(_require(c, "name_en", where))
            cat.name_zh = str(c.get("name_zh") or "")
            cat.description = str(c.get("description") or "")
            cat.department_id = depts[dept_code] if dept_code else None
            cat.first_response_hours = _hours(c.get("first_response_hours"), where)
            cat.resolution_hours = _hours(c.get("resolution_hours"), where)
            if "extra_fields" in c or cat.extra_fields is None:
                # an upsert that does not mention the extra fields keeps them ([] clears them)
                cat.extra_fields = validate_extra_fields(c.get("extra_fields"), where)
            active = c.get("active", True)
            cat.active = str(active).lower() not in ("false", "0", "no")
            counts["categories"] += 1
        for i, a in enumerate(data.get("areas", []), 1):
            where = f"area {i}"
            code = str(_require(a, "code", where))
            geometry = a.get("geojson")
            if isinstance(geometry, str):
                try:
                    geometry = json.loads(geometry)
                except ValueError as exc:
                    raise ValidationFailed(f"{where}: geojson is not valid JSON") from exc
            if not isinstance(geometry, dict):
                raise ValidationFailed(f"{where}: geojson must be a GeoJSON object")
            polygons_of(geometry)
            area = s.scalars(select(Area).where(Area.code == code)).first()
            if area is None:
                area = Area(code=code)
                s.add(area)
            area.name_en = str(_require(a, "name_en", where))
            area.name_zh = str(a.get("name_zh") or "")
            area.geojson = geometry
            counts["areas"] += 1
        s.flush()
        cats = {code: id_ for id_, code in s.execute(select(Category.id, Category.code))}
        areas = {code: id_ for id_, code in s.execute(select(Area.id, Area.code))}
        for i, r in enumerate(data.get("routing_rules", []), 1):
            where = f"routing rule {i}"
            try:
                cat_id = cats[_require(r, "category", where)]
                area_id = areas[_require(r, "area", where)]
                dept_id = depts[_require(r, "department", where)]
            except KeyError as exc:
                raise ValidationFailed(f"{where}: unknown code {exc.args[0]!r}") from exc
            rule = s.scalars(
                select(RoutingRule).where(
                    RoutingRule.category_id == cat_id, RoutingRule.area_id == area_id
                )
            ).first()
            if rule is None:
                rule = RoutingRule(category_id=cat_id, area_id=area_id)
                s.add(rule)
            rule.department_id = dept_id
            counts["routing_rules"] += 1
        append_audit(
            s,
            actor=actor.label,
            action="catalogue.imported",
            subject="catalogue",
            data=counts,
            at=now,
        )
    ctx.routes.clear()
    return counts


def export_catalogue(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    with ctx.db.reader() as s:
        depts = {d.id: d for d in s.scalars(select(Department).order_by(Department.code))}
        cats = list(s.scalars(select(Category).order_by(Category.code)))
        areas = {a.id: a for a in s.scalars(select(Area).order_by(Area.code))}
        rules = list(s.scalars(select(RoutingRule).order_by(RoutingRule.id)))
        cat_codes = {c.id: c.code for c in cats}
        return {
            "departments": [
                {"code": d.code, "name_en": d.name_en, "name_zh": d.name_zh, "email": d.email}
                for d in depts.values()
            ],
            "categories": [
                {
                    "code": c.code,
                    "name_en": c.name_en,
                    "name_zh": c.name_zh,
                    "description": c.description,
                    "department": depts[c.department_id].code if c.department_id else None,
                    "first_response_hours": c.first_response_hours,
                    "resolution_hours": c.resolution_hours,
                    "extra_fields": c.extra_fields,
                    "active": c.active,
                }
                for c in cats
            ],
            "areas": [
                {"code": a.code, "name_en": a.name_en, "name_zh": a.name_zh, "geojson": a.geojson}
                for a in areas.values()
            ],
            "routing_rules": [
                {
                    "category": cat_codes[r.category_id],
                    "area": areas[r.area_id].code,
                    "department": depts[r.department_id].code,
                }
                for r in rules
            ],
        }


CSV_COLUMNS = [
    "code",
    "name_en",
    "name_zh",
    "description",
    "department",
    "first_response_hours",
    "resolution_hours",
    "extra_fields",
    "active",
]


def dump_catalogue(data: dict[str, list[dict[str, Any]]], fmt: str) -> str:
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for c in data["categories"]:
            row = dict(c)
            row["extra_fields"] = json.dumps(c["extra_fields"], ensure_ascii=False)
            writer.writerow({k: row.get(k) for k in CSV_COLUMNS})
        return out.getvalue()
    raise ValidationFailed("format must be yaml or csv")


def department_codes(ctx: Context) -> list[str]:
    with ctx.db.reader() as s:
        return list(s.scalars(select(Department.code).order_by(Department.code)))


def get_department_id(ctx: Context, code: str) -> int:
    with ctx.db.reader() as s:
        dept_id = s.scalar(select(Department.id).where(Department.code == code))
    if dept_id is None:
        raise NotFound(f"unknown department {code!r}")
    return dept_id


def departments_by_category(settings: Settings) -> dict[str, str]:
    """Category code → department code from the catalogue; empty when there is no database.

    Predicting on a file must not create a database as a side effect, so the embedded
    SQLite file is only opened when it already exists.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    if not settings.database_url and not (settings.data_dir / "civicpulse.db").exists():
        return {}
    engine = create_engine(settings.resolved_database_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Category.code, Department.code).join(
                    Department, Category.department_id == Department.id
                )
            )
            return {cat: dept for cat, dept in rows}
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()
