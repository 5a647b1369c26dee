"""What Open311 GET calls answer: the read models of ``services.open311_requests`` in
GeoReport v2's words, and the query parameters those calls take, checked.

The reads select only publishable columns and give titles and messages through the privacy
gate the pages use (``services/public_text.py``), so Open311 shows exactly what they show;
a text still being checked says so (:data:`PENDING`). Locations are rounded to 3 decimals
(about 100 m), as in the open data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from civicpulse.channels.open311.mapping import (
    attributes_of,
    extended_status_of_event,
    open311_status,
    parse_w3c,
    service_of,
    w3c,
)
from civicpulse.domain import limits
from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.infra.context import Context
from civicpulse.services.open311_requests import (
    PublishedRequest,
    PublishedUpdate,
    RequestFilter,
    ServiceRow,
    active_service,
    active_services,
    find_published_requests,
    published_request,
    published_updates,
)
from civicpulse.services.public_text import PENDING
from civicpulse.services.queries import case_id_for_code

#: the specification's defaults: a span of 90 days and at most 1,000 requests per answer
MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000

#: query parameters as they came, repeated names included (``service_code=a&service_code=b``)
Params = Sequence[tuple[str, str]]


def city_zone(ctx: Context) -> tzinfo:
    return ZoneInfo(ctx.settings.timezone)


# ---- services ------------------------------------------------------------------------------


def service_notice(resolution_hours: int | None) -> str | None:
    if not resolution_hours:
        return None
    return f"The city aims to resolve this within {resolution_hours} hours."


def list_services(ctx: Context) -> list[dict[str, Any]]:
    return [
        service_of(s.code, s.name, s.name_zh, s.description, s.department_name, s.extra_fields)
        for s in active_services(ctx)
    ]


def service_definition(ctx: Context, code: str) -> dict[str, Any]:
    service = known_service(ctx, code)
    return {"service_code": service.code, "attributes": attributes_of(service.extra_fields)}


def known_service(ctx: Context, code: str) -> ServiceRow:
    """An active service, or 404: an unknown service_code names a resource that is not there,
    whether it is read or posted to."""
    service = active_service(ctx, code)
    if service is None:
        raise NotFound(f"service_code {code[:60]!r} not found")
    return service


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
    if (p - 1) * size > limits.MAX_ID:
        # an offset past the database integer overflowed in the driver (a 500)
        raise ValidationFailed("page is past the last request there can be")
    return Paging(p, size)


def listed(params: Params, name: str) -> list[str]:
    """Every value of a list parameter, whether repeated, comma separated, or both."""
    return [
        part.strip()
        for key, value in params
        if key == name
        for part in value.split(",")
        if part.strip()
    ]


def last(params: Params, name: str) -> str | None:
    values = [v for k, v in params if k == name]
    return values[-1] if values else None


def request_query(params: Params, now: datetime, zone: tzinfo) -> RequestFilter:
    """GET requests' parameters, checked.

    ``service_request_id`` "overrides all other arguments" (the specification): given, the
    others are not even read, so a bad start_date beside it cannot refuse the call."""
    if any(v.strip() for k, v in params if k == "service_request_id"):
        parts = listed(params, "service_request_id")
        if not all(p.isdecimal() and len(p) < 19 for p in parts):
            raise ValidationFailed("service_request_id must be request ids separated by commas")
        if len(parts) > MAX_PAGE_SIZE:
            raise ValidationFailed(f"at most {MAX_PAGE_SIZE} service_request_id at once")
        ids = list(dict.fromkeys(int(p) for p in parts))
        return RequestFilter(start=now, end=now, ids=ids, limit=len(ids))
    statuses = {s.lower() for s in listed(params, "status")}
    if statuses - {"open", "closed"}:
        raise ValidationFailed("status must be open, closed or both (comma separated)")
    window = date_window(last(params, "start_date"), last(params, "end_date"), now, zone)
    page = paging(last(params, "page"), last(params, "page_size"))
    return RequestFilter(
        start=window.start,
        end=window.end,
        service_codes=tuple(dict.fromkeys(listed(params, "service_code"))),
        closed=None if len(statuses) != 1 else statuses == {"closed"},
        offset=page.offset,
        limit=page.page_size,
    )


# ---- requests ------------------------------------------------------------------------------


def find_requests(ctx: Context, query: RequestFilter) -> list[dict[str, Any]]:
    zone = city_zone(ctx)
    return [as_request(r, zone) for r in find_published_requests(ctx, query)]


def request_by_id(ctx: Context, request_id: str) -> dict[str, Any]:
    if not request_id.isdecimal() or len(request_id) > 18:
        raise NotFound(f"service request {request_id[:40]!r} not found")
    return as_request(published_request(ctx, int(request_id)), city_zone(ctx))


def request_for_token(ctx: Context, token: str) -> dict[str, Any]:
    """A token is a tracking code (what a resident was given); it names the request it made."""
    try:
        case_id = case_id_for_code(ctx, token)
    except NotFound as exc:
        raise NotFound(f"no service request has the token {token[:40]!r}") from exc
    return {"service_request_id": str(case_id), "token": token}


def as_request(r: PublishedRequest, zone: tzinfo) -> dict[str, Any]:
    return {
        "service_request_id": str(r.case_id),
        "status": open311_status(r.status),
        "status_notes": PENDING if r.last_message_pending else (r.last_public_message or None),
        "service_name": r.service_name,
        "service_code": r.service_code,
        "description": PENDING if r.title is None else r.title,
        "agency_responsible": r.agency,
        "service_notice": service_notice(r.resolution_hours),
        "requested_datetime": w3c(r.requested_at, zone),
        "updated_datetime": w3c(r.updated_at, zone),
        "expected_datetime": w3c(r.resolution_due, zone),
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": round(r.lat, 3) if r.lat is not None else None,
        "long": round(r.lon, 3) if r.lon is not None else None,
        "media_url": None,
        "extended_attributes": {
            "case_status": r.status,
            "verified": r.verified,
            "satisfaction": r.satisfaction,
            "verification_due": w3c(r.verification_due, zone),
            "reopen_count": r.reopen_count,
            "merged_into": str(r.merged_into_id) if r.merged_into_id else None,
        },
    }


# ---- the updates feed ----------------------------------------------------------------------


def updates_feed(ctx: Context, window: Window, page: Paging) -> list[dict[str, Any]]:
    """Public timeline entries that changed or explained a request's state, oldest first."""
    zone = city_zone(ctx)
    rows = published_updates(ctx, window.start, window.end, page.offset, page.page_size)
    return [as_update(u, zone) for u in rows]


def as_update(u: PublishedUpdate, zone: tzinfo) -> dict[str, Any]:
    return {
        "update_id": str(u.event_id),
        "service_request_id": str(u.case_id),
        "status": extended_status_of_event(u.kind, u.to_status),
        "updated_datetime": w3c(u.at, zone),
        "description": PENDING if u.pending else (u.message or ""),
        "media_url": None,
        "extended_attributes": {"case_status": u.to_status},
    }
