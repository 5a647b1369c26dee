"""Read models for the public pages: aggregates and case summaries with no personal data.

Only columns that are safe to publish are selected here (never contacts, never voice text),
so a public page cannot leak what it never loaded; titles and timeline messages pass the
privacy gate (``public_text``) like every other public surface.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from civicpulse.domain.errors import NotFound
from civicpulse.domain.workflow import AWAITING_ACTION, CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.public_text import shown
from civicpulse.services.queries import public_timeline
from civicpulse.services.read_models import (
    Location,
    PublicCase,
    PublicCaseList,
    PublicCaseSummary,
)
from civicpulse.storage.tables import Case, Category, Department

MAX_PAGE_SIZE = 100


@dataclass
class Overview:
    by_category: list[tuple[str, int]]  # (category code or "", count), largest first
    by_status: dict[str, int]
    weeks: list[datetime]  # start of each week, oldest first
    weekly_by_status: dict[str, list[int]]  # "open" / "closed" per week of creation
    total: int


def _week_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def published_overview(ctx: Context) -> Overview:
    """The home page's figures, recomputed at most every
    ``public_aggregate_cache_seconds`` per process: three scans of every case each time."""
    if ctx.settings.public_aggregate_cache_seconds <= 0:
        return public_overview(ctx)
    overview: Overview = ctx.aggregates.get("overview", lambda: public_overview(ctx))
    return overview


def public_overview(ctx: Context, weeks: int = 12) -> Overview:
    """Counts by category and status, and new cases per week (still open vs closed since)."""
    now = ctx.now()
    first = _week_start(now) - timedelta(weeks=weeks - 1)
    with ctx.db.reader() as s:
        cats = {c.id: c.code for c in s.scalars(select(Category))}
        by_cat: dict[str, int] = {}
        per_category = select(Case.category_id, func.count()).group_by(Case.category_id)
        for cat_id, n in s.execute(per_category):
            code = cats.get(cat_id, "") if cat_id is not None else ""
            by_cat[code] = by_cat.get(code, 0) + int(n)
        by_status = {
            str(st): int(n)
            for st, n in s.execute(select(Case.status, func.count()).group_by(Case.status))
        }
        starts = [first + timedelta(weeks=i) for i in range(weeks)]
        open_per_week = [0] * weeks
        closed_per_week = [0] * weeks
        closed = {
            CaseStatus.CONFIRMED.value, CaseStatus.UNVERIFIED.value, CaseStatus.REJECTED.value,
            CaseStatus.MERGED.value, CaseStatus.RESOLVED.value,
        }
        # counted in the database: which week each case falls in, open or closed
        week = case(
            *[(Case.created_at >= starts[i], i) for i in reversed(range(weeks))], else_=-1
        ).label("week")
        is_closed = Case.status.in_(sorted(closed)).label("is_closed")
        marked = select(week, is_closed).where(Case.created_at >= first).subquery()
        counted = select(marked.c.week, marked.c.is_closed, func.count()).group_by(
            marked.c.week, marked.c.is_closed
        )
        for i, was_closed, n in s.execute(counted):
            if 0 <= i < weeks:
                if was_closed:
                    closed_per_week[i] += int(n)
                else:
                    open_per_week[i] += int(n)
    ranked = sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))
    return Overview(
        by_category=ranked,
        by_status=by_status,
        weeks=starts,
        weekly_by_status={"open": open_per_week, "closed": closed_per_week},
        total=sum(by_status.values()),
    )


def _summary(case: Case, cats: dict[int, str], depts: dict[int, str]) -> PublicCaseSummary:
    return PublicCaseSummary(
        case_id=case.id,
        title=shown(case.public_title, case.title),
        status=case.status,
        category=cats.get(case.category_id) if case.category_id else None,
        department=depts.get(case.department_id) if case.department_id else None,
        created_at=case.created_at,
    )


#: the public case list counts matches up to this many
COUNT_CAP = 1000


def public_cases(
    ctx: Context,
    q: str | None = None,
    category: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> PublicCaseList:
    """Cases anyone may see, newest first.

    The search looks at the public form of titles only (never voice text, never the title
    as written): what a page does not show must not be findable either, or ``q=138`` would
    confirm a phone number the page hides. A title not checked yet is not found."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    with ctx.db.reader() as s:
        cats = {c.id: c.code for c in s.scalars(select(Category))}
        depts = {d.id: d.code for d in s.scalars(select(Department))}
        query = select(Case)
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(Case.public_title.like(f"%{escaped}%", escape="\\"))
        if category:
            ids = [i for i, c in cats.items() if c == category]
            query = query.where(Case.category_id == (ids[0] if ids else -1))
        if status:
            query = query.where(Case.status == status)
        # counting every match of a common word reads the whole table on each request;
        # past COUNT_CAP the list says "more than" and pages on, which is all anyone needs
        counted = query.with_only_columns(Case.id).limit(COUNT_CAP + 1).subquery()
        total = s.scalar(select(func.count()).select_from(counted)) or 0
        rows = s.scalars(
            query.order_by(Case.id.desc()).offset((page - 1) * page_size).limit(page_size)
        ).all()
        return PublicCaseList(
            total=min(total, COUNT_CAP),
            more=total > COUNT_CAP,
            page=page,
            page_size=page_size,
            items=[_summary(c, cats, depts) for c in rows],
        )


def public_case(ctx: Context, case_id: int) -> PublicCase:
    """One case as the public sees it: summary and public timeline, no personal data."""
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        cats = {c.id: c.code for c in s.scalars(select(Category))}
        depts = {d.id: d.code for d in s.scalars(select(Department))}
        return PublicCase(
            **dict(_summary(case, cats, depts)),
            merged_into_case_id=case.merged_into_id,
            location=(
                Location(lat=round(case.lat, 3), lon=round(case.lon, 3))  # as in the open data
                if case.lat is not None and case.lon is not None
                else None
            ),
            timeline=public_timeline(s, case.id),
        )


def catalogue_names(ctx: Context) -> dict[str, dict[str, dict[str, str]]]:
    """Display names of categories and departments in English and Chinese, by code."""
    with ctx.db.reader() as s:
        return {
            "categories": {
                c.code: {"en": c.name_en, "zh": c.name_zh or c.name_en}
                for c in s.scalars(select(Category).where(Category.active.is_(True)))
            },
            "departments": {
                d.code: {"en": d.name_en, "zh": d.name_zh or d.name_en}
                for d in s.scalars(select(Department))
            },
        }


#: an area's code, names (en/zh) and outer rings of (lon, lat)
AreaOutline = tuple[str, dict[str, str], list[list[tuple[float, float]]]]


@dataclass
class MapData:
    areas: list[AreaOutline]
    points: list[tuple[int, float, float, str]]  # case id, lat, lon (rounded), status


def area_outlines(ctx: Context) -> list[AreaOutline]:
    """Each area's code, names and outer rings as (lon, lat), for drawing maps."""
    from civicpulse.domain.geo import polygons_of
    from civicpulse.storage.tables import Area

    with ctx.db.reader() as s:
        areas = []
        for a in s.scalars(select(Area).order_by(Area.code)):
            rings = [
                [(float(x), float(y)) for x, y, *_ in polygon[0]]
                for polygon in polygons_of(a.geojson)
            ]
            areas.append((a.code, {"en": a.name_en, "zh": a.name_zh or a.name_en}, rings))
    return areas


def public_map(ctx: Context, limit: int = 5000) -> MapData:
    """Area outlines and open cases, located to 3 decimals (about 100 m) as in the open data."""
    with ctx.db.reader() as s:
        rows = s.execute(
            select(Case.id, Case.lat, Case.lon, Case.status)
            .where(
                Case.status.in_(sorted(AWAITING_ACTION)),
                Case.lat.is_not(None),
                Case.lon.is_not(None),
            )
            .order_by(Case.id.desc())
            .limit(limit)
        )
        points = [
            (int(i), round(float(lat), 3), round(float(lon), 3), str(st))
            for i, lat, lon, st in rows
            if lat is not None and lon is not None
        ]
    return MapData(areas=area_outlines(ctx), points=points)
