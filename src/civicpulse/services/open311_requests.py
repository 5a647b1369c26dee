"""What the Open311 channel may read: the catalogue as services, published requests, updates.

Like ``public_views`` these reads select only publishable columns: never a contact, an
address, the voice's own text or a photo, and titles and messages pass the same privacy gate
as the pages (``public_text``), so Open311 and the pages never disagree on what is hidden.
They return plain read models; how a model looks in GeoReport v2 (status words, W3C dates,
rounding) is the channel's business, so this module knows nothing of the protocol and the
channel never touches a table.

Two choices here are about what real clients tolerate:

* A case without a category is **not published** through Open311 until triage gives it one.
  The specification's Request schema requires ``service_code``, and a placeholder code that
  no service lists would make FixMyStreet's request fetcher skip the record with a warning
  (and other clients fail their lookup); a placeholder *service* would invite new requests
  into a bucket that exists only for triage. Once categorised, the case appears.
* ``requested_datetime`` is when the request was made: for a record brought from another
  system (a voice with an ``external_id``, from an Open311 pull or an import) that is the
  source's own time (``occurred_at``), not the moment it reached CivicPulse. Date windows
  select on the same time, so a pulled request is found where its source put it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import NotFound
from civicpulse.domain.workflow import CLOSED_STATES
from civicpulse.infra.context import Context
from civicpulse.services.public_text import shown
from civicpulse.storage.tables import Case, CaseEvent, Category, Department, Verification, Voice

#: timeline entries whose message is the city's word to the resident (status_notes)
STAFF_MESSAGES = ("reply", "resolve", "reject", "transfer", "closed_elsewhere")


@dataclass(frozen=True)
class ServiceRow:
    """An active category as the channel needs it to describe a service and check a request."""

    code: str
    name: str
    name_zh: str
    description: str
    department_name: str | None
    extra_fields: list[dict[str, Any]]
    resolution_hours: int | None


def active_services(ctx: Context) -> list[ServiceRow]:
    with ctx.db.reader() as s:
        depts = dict(s.execute(select(Department.id, Department.name_en)).all())
        return [
            _service_row(c, depts)
            for c in s.scalars(
                select(Category).where(Category.active.is_(True)).order_by(Category.code)
            )
        ]


def active_service(ctx: Context, code: str) -> ServiceRow | None:
    with ctx.db.reader() as s:
        cat = s.scalars(
            select(Category).where(Category.code == code, Category.active.is_(True))
        ).first()
        if cat is None:
            return None
        depts = dict(s.execute(select(Department.id, Department.name_en)).all())
        return _service_row(cat, depts)


def _service_row(c: Category, depts: dict[int, str]) -> ServiceRow:
    return ServiceRow(
        code=c.code,
        name=c.name_en,
        name_zh=c.name_zh,
        description=c.description,
        department_name=depts.get(c.department_id) if c.department_id else None,
        extra_fields=list(c.extra_fields or []),
        resolution_hours=c.resolution_hours,
    )


# ---- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRequest:
    """A categorised case as the public may see it."""

    case_id: int
    status: str
    service_code: str
    service_name: str
    resolution_hours: int | None
    agency: str | None
    #: the public form of the title; None while it is being checked for personal data
    title: str | None
    requested_at: datetime
    updated_at: datetime
    resolution_due: datetime | None
    lat: float | None
    lon: float | None
    last_public_message: str | None
    #: the last staff message is still being checked (``last_public_message`` is then None)
    last_message_pending: bool
    verified: bool | None
    satisfaction: int | None
    verification_due: datetime | None
    reopen_count: int
    merged_into_id: int | None


@dataclass(frozen=True)
class RequestFilter:
    """Which requests to list; ``ids`` given, every other condition is ignored."""

    start: datetime
    end: datetime
    ids: list[int] | None = None
    service_codes: tuple[str, ...] = ()
    #: None: open and closed alike
    closed: bool | None = None
    offset: int = 0
    limit: int = 1000


def _requested_at() -> ColumnElement[datetime]:
    """The source's own time for a record from another system, else when it came in."""
    original = (
        select(func.min(Voice.occurred_at))
        .where(Voice.case_id == Case.id, Voice.external_id.is_not(None))
        .correlate(Case)
        .scalar_subquery()
    )
    return func.coalesce(original, Case.created_at)


def find_published_requests(ctx: Context, f: RequestFilter) -> list[PublishedRequest]:
    """Matching categorised requests, newest first."""
    requested_at = _requested_at().label("requested_at")
    query = select(Case, requested_at).where(Case.category_id.is_not(None))
    if f.ids is not None:
        query = query.where(Case.id.in_(f.ids))
    else:
        # a record from elsewhere came in after it was made, so created_at >= start holds
        # for every match and lets the database use the case table's order first
        query = query.where(
            Case.created_at >= f.start, requested_at >= f.start, requested_at <= f.end
        )
        if f.closed is not None:
            closed = Case.status.in_(sorted(s.value for s in CLOSED_STATES))
            query = query.where(closed if f.closed else ~closed)
    with ctx.db.reader() as s:
        if f.ids is None and f.service_codes:
            cat_ids = list(
                s.scalars(select(Category.id).where(Category.code.in_(f.service_codes)))
            )
            query = query.where(Case.category_id.in_(cat_ids))
        rows = s.execute(
            query.order_by(requested_at.desc(), Case.id.desc()).offset(f.offset).limit(f.limit)
        ).all()
        return _published(s, [(case, when) for case, when in rows])


def published_request(ctx: Context, case_id: int) -> PublishedRequest:
    """One request by id; a case still awaiting its category is not published yet."""
    with ctx.db.reader() as s:
        row = s.execute(
            select(Case, _requested_at()).where(Case.id == case_id)
        ).first()
        if row is None:
            raise NotFound(f"service request {case_id} not found")
        if row[0].category_id is None:
            raise NotFound(
                f"service request {case_id} is published once the city has given it a service"
            )
        return _published(s, [(row[0], row[1])])[0]


def _published(s: Session, rows: list[tuple[Case, datetime]]) -> list[PublishedRequest]:
    if not rows:
        return []
    ids = [c.id for c, _ in rows]
    cats = {c.id: c for c in s.scalars(select(Category))}
    depts = dict(s.execute(select(Department.id, Department.name_en)).all())
    notes: dict[int, str | None] = {}
    for case_id, message, public_message in s.execute(
        select(CaseEvent.case_id, CaseEvent.message, CaseEvent.public_message)
        .where(
            CaseEvent.case_id.in_(ids),
            CaseEvent.public.is_(True),
            CaseEvent.kind.in_(STAFF_MESSAGES),
            CaseEvent.message.is_not(None),
        )
        .order_by(CaseEvent.id)
    ):
        notes[case_id] = shown(public_message, message or "")  # the last one wins
    verdicts: dict[int, Verification] = {}
    for v in s.scalars(
        select(Verification).where(Verification.case_id.in_(ids)).order_by(Verification.id)
    ):
        verdicts[v.case_id] = v
    out = []
    for case, requested_at in rows:
        cat = cats[case.category_id] if case.category_id else None
        assert cat is not None  # only categorised cases are selected
        verdict = verdicts.get(case.id)
        out.append(
            PublishedRequest(
                case_id=case.id,
                status=case.status,
                service_code=cat.code,
                service_name=cat.name_en,
                resolution_hours=cat.resolution_hours,
                agency=depts.get(case.department_id) if case.department_id else None,
                title=shown(case.public_title, case.title),
                requested_at=requested_at,
                updated_at=case.updated_at,
                resolution_due=case.resolution_due,
                lat=case.lat,
                lon=case.lon,
                last_public_message=notes.get(case.id),
                last_message_pending=case.id in notes and notes[case.id] is None,
                verified=verdict.fixed if verdict else None,
                satisfaction=verdict.satisfaction if verdict else None,
                verification_due=case.verification_due,
                reopen_count=case.reopen_count,
                merged_into_id=case.merged_into_id,
            )
        )
    return out


# ---- the updates feed ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedUpdate:
    """A public timeline entry that changed or explained a request's state."""

    event_id: int
    case_id: int
    kind: str
    to_status: str
    at: datetime
    #: the public form of the message; None when there is none or while it is being checked
    message: str | None
    pending: bool = False


def published_updates(
    ctx: Context, start: datetime, end: datetime, offset: int, limit: int
) -> list[PublishedUpdate]:
    """Oldest first, by timeline order, so pages are stable while new entries arrive."""
    with ctx.db.reader() as s:
        rows = s.execute(
            select(
                CaseEvent.id,
                CaseEvent.case_id,
                CaseEvent.kind,
                CaseEvent.to_status,
                CaseEvent.created_at,
                CaseEvent.message,
                CaseEvent.public_message,
            )
            .where(
                CaseEvent.public.is_(True),
                CaseEvent.to_status.is_not(None),
                CaseEvent.created_at >= start,
                CaseEvent.created_at <= end,
            )
            .order_by(CaseEvent.id)
            .offset(offset)
            .limit(limit)
        ).all()
        out = []
        for r in rows:
            message = shown(r.public_message, r.message)
            out.append(
                PublishedUpdate(
                    r.id, r.case_id, r.kind, r.to_status or "", r.created_at, message,
                    pending=message is None and bool(r.message),
                )
            )
        return out
