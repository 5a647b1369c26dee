"""What Open311 GET calls may see: services, requests and the updates feed.

Like ``services/public_views.py`` these reads select only publishable columns: never a
contact, an address, the voice's own text or a photo. A request's description is the case
title (what the public case page shows), passed through the redaction rules once more, and
its location is rounded to 3 decimals (about 100 m) as in the open data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.domain.tracking import normalise_tracking_code
from civicpulse.domain.workflow import CLOSED_STATES
from civicpulse.infra.context import Context
from civicpulse.open311.mapping import (
    attributes_of,
    extended_status_of_event,
    open311_status,
    parse_w3c,
    service_of,
    w3c,
)
from civicpulse.storage.tables import Case, CaseEvent, Category, Department, Verification
from civicpulse.understanding.redaction import redact

#: the specification's defaults: a span of 90 days and at most 1,000 requests per answer
MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000

#: timeline entries whose message is the city's word to the resident (status_notes)
_STAFF_MESSAGES = ("reply", "resolve", "reject", "transfer")


def city_zone(ctx: Context) -> tzinfo:
    return ZoneInfo(ctx.settings.timezone)


# ---- services ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceInfo:
    """What intake needs to know about a service: its fields and promise."""

    code: str
    extra_fields: list[dict[str, Any]]
    resolution_hours: int | None


def service_notice(resolution_hours: int | None) -> str | None:
    if not resolution_hours:
        return None
    return f"The city aims to resolve this within {resolution_hours} hours."


def list_services(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.reader() as s:
        depts = {d.id: d.name_en for d in s.scalars(select(Department))}
        cats = s.scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
        ).all()
        return [
            service_of(
                c.code,
                c.name_en,
                c.name_zh,
                c.description,
                depts.get(c.department_id) if c.department_id else None,
                list(c.extra_fields or []),
            )
            for c in cats
        ]


def _active_category(s: Session, code: str) -> Category | None:
    return s.scalars(
        select(Category).where(Category.code == code, Category.active.is_(True))
    ).first()


def service_definition(ctx: Context, code: str) -> dict[str, Any]:
    with ctx.db.reader() as s:
        cat = _active_category(s, code)
        if cat is None:
            raise NotFound(f"service_code {code!r} not found")
        return {"service_code": cat.code, "attributes": attributes_of(list(cat.extra_fields or []))}


def service_info(ctx: Context, code: str) -> ServiceInfo | None:
    with ctx.db.reader() as s:
        cat = _active_category(s, code)
        if cat is None:
            return None
        return ServiceInfo(cat.code, list(cat.extra_fields or []), cat.resolution_hours)


# ---- query parameters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def date_window(
    start_text: str | None, end_text: str | None, now: datetime, zone: tzinfo
) -> Window:
    """start_date/end_date with the specification's default: the last 90 days."""
    start = parse_w3c(start_text, zone, "start_date") if start_text else None
    end = parse_w3c(end_text, zone, "end_date") if end_text else None
    if start is None and end is None:
        end, start = now, now - MAX_SPAN
    elif start is None:
        assert end is not None
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise ValidationFailed("end_date is before start_date")
    if end - start > MAX_SPAN:
        raise ValidationFailed("start_date and end_date may not span more than 90 days")
    return Window(start, end)


@dataclass(frozen=True)
class Paging:
    page: int = 1
    page_size: int = MAX_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def paging(page: str | None, page_size: str | None) -> Paging:
    """The ``page``/``page_size`` extension; without them, the first 1,000."""
    try:
        p = int(page) if page else 1
        size = int(page_size) if page_size else MAX_PAGE_SIZE
    except ValueError as exc:
        raise ValidationFailed("page and page_size must be whole numbers") from exc
    if p < 1:
        raise ValidationFailed("page starts at 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size must be 1–{MAX_PAGE_SIZE}")
    return Paging(p, size)


def _comma_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


@dataclass(frozen=True)
class RequestQuery:
    ids: list[int] | None
    service_codes: list[str]
    statuses: list[str]
    window: Window
    paging: Paging


def request_query(params: Mapping[str, str], now: datetime, zone: tzinfo) -> RequestQuery:
    """GET requests' parameters, checked; ``service_request_id`` overrides the others."""
    ids = None
    if params.get("service_request_id"):
        parts = _comma_list(params["service_request_id"])
        if not parts or not all(p.isdigit() and len(p) < 19 for p in parts):
            raise ValidationFailed("service_request_id must be request ids separated by commas")
        if len(parts) > MAX_PAGE_SIZE:
            raise ValidationFailed(f"at most {MAX_PAGE_SIZE} service_request_id at once")
        ids = [int(p) for p in parts]
    statuses = [s.lower() for s in _comma_list(params.get("status"))]
    if any(s not in ("open", "closed") for s in statuses):
        raise ValidationFailed("status must be open, closed or both (comma separated)")
    return RequestQuery(
        ids=ids,
        service_codes=_comma_list(params.get("service_code")),
        statuses=statuses,
        window=date_window(params.get("start_date"), params.get("end_date"), now, zone),
        paging=paging(params.get("page"), params.get("page_size")),
    )


# ---- requests ------------------------------------------------------------------------------


def find_requests(ctx: Context, q: RequestQuery) -> list[dict[str, Any]]:
    """Matching requests, newest first."""
    query = select(Case)
    closed = sorted(s.value for s in CLOSED_STATES)
    if q.ids is not None:
        query = query.where(Case.id.in_(q.ids))
    else:
        query = query.where(Case.created_at >= q.window.start, Case.created_at <= q.window.end)
        if q.statuses and set(q.statuses) != {"open", "closed"}:
            wanted = Case.status.in_(closed)
            query = query.where(wanted if q.statuses == ["closed"] else ~wanted)
    with ctx.db.reader() as s:
        if q.ids is None and q.service_codes:
            cat_ids = s.scalars(select(Category.id).where(Category.code.in_(q.service_codes)))
            query = query.where(Case.category_id.in_(list(cat_ids)))
        cases = s.scalars(
            query.order_by(Case.created_at.desc(), Case.id.desc())
            .offset(q.paging.offset)
            .limit(q.paging.page_size)
        ).all()
        return _as_requests(s, list(cases), city_zone(ctx))


def request_by_id(ctx: Context, request_id: str) -> dict[str, Any]:
    if not request_id.isdigit() or len(request_id) > 18:
        raise NotFound(f"service request {request_id[:40]!r} not found")
    with ctx.db.reader() as s:
        case = s.get(Case, int(request_id))
        if case is None:
            raise NotFound(f"service request {request_id} not found")
        return _as_requests(s, [case], city_zone(ctx))[0]


def request_for_token(ctx: Context, token: str) -> dict[str, Any]:
    """The token of a posted request is its tracking code; it names the request it made."""
    code = normalise_tracking_code(token)
    with ctx.db.reader() as s:
        case_id = s.scalar(select(Case.id).where(Case.tracking_code == code))
    if case_id is None:
        raise NotFound(f"no service request has the token {token[:40]!r}")
    return {"service_request_id": str(case_id), "token": token}


def _as_requests(s: Session, cases: list[Case], zone: tzinfo) -> list[dict[str, Any]]:
    if not cases:
        return []
    ids = [c.id for c in cases]
    cats = {c.id: c for c in s.scalars(select(Category))}
    depts = {d.id: d.name_en for d in s.scalars(select(Department))}
    notes: dict[int, str] = {}
    for case_id, message in s.execute(
        select(CaseEvent.case_id, CaseEvent.message)
        .where(
            CaseEvent.case_id.in_(ids),
            CaseEvent.public.is_(True),
            CaseEvent.kind.in_(_STAFF_MESSAGES),
            CaseEvent.message.is_not(None),
        )
        .order_by(CaseEvent.id)
    ):
        notes[case_id] = message or ""  # the last one wins
    verdicts: dict[int, Verification] = {}
    for v in s.scalars(
        select(Verification).where(Verification.case_id.in_(ids)).order_by(Verification.id)
    ):
        verdicts[v.case_id] = v
    return [_as_request(c, cats, depts, notes, verdicts, zone) for c in cases]


def _as_request(
    case: Case,
    cats: dict[int, Category],
    depts: dict[int, str],
    notes: dict[int, str],
    verdicts: dict[int, Verification],
    zone: tzinfo,
) -> dict[str, Any]:
    cat = cats.get(case.category_id) if case.category_id else None
    verdict = verdicts.get(case.id)
    note = notes.get(case.id)
    return {
        "service_request_id": str(case.id),
        "status": open311_status(case.status),
        "status_notes": redact(note).text if note else None,
        "service_name": cat.name_en if cat else None,
        "service_code": cat.code if cat else "",
        "description": redact(case.title).text,
        "agency_responsible": depts.get(case.department_id) if case.department_id else None,
        "service_notice": service_notice(cat.resolution_hours if cat else None),
        "requested_datetime": w3c(case.created_at, zone),
        "updated_datetime": w3c(case.updated_at, zone),
        "expected_datetime": w3c(case.resolution_due, zone),
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": round(case.lat, 3) if case.lat is not None else None,
        "long": round(case.lon, 3) if case.lon is not None else None,
        "media_url": None,
        "extended_attributes": {
            "case_status": case.status,
            "verified": verdict.fixed if verdict else None,
            "satisfaction": verdict.satisfaction if verdict else None,
            "verification_due": w3c(case.verification_due, zone),
            "reopen_count": case.reopen_count,
            "merged_into": str(case.merged_into_id) if case.merged_into_id else None,
        },
    }


# ---- the updates feed ----------------------------------------------------------------------


def updates_feed(ctx: Context, window: Window, page: Paging) -> list[dict[str, Any]]:
    """Public timeline entries that changed or explained a request's state, oldest first."""
    zone = city_zone(ctx)
    with ctx.db.reader() as s:
        rows = s.scalars(
            select(CaseEvent)
            .where(
                CaseEvent.public.is_(True),
                CaseEvent.to_status.is_not(None),
                CaseEvent.created_at >= window.start,
                CaseEvent.created_at <= window.end,
            )
            .order_by(CaseEvent.id)
            .offset(page.offset)
            .limit(page.page_size)
        ).all()
        return [
            {
                "update_id": str(e.id),
                "service_request_id": str(e.case_id),
                "status": extended_status_of_event(e.kind, e.to_status or ""),
                "updated_datetime": w3c(e.created_at, zone),
                "description": redact(e.message).text if e.message else "",
                "media_url": None,
                "extended_attributes": {"case_status": e.to_status},
            }
            for e in rows
        ]


def latest_event_id(ctx: Context, case_id: int) -> int:
    with ctx.db.reader() as s:
        last = s.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id))
        return int(last or 0)
