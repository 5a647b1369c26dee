"""Read models: what staff and the public see of cases. Public views never touch contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from civicpulse.domain.errors import NotFound
from civicpulse.domain.roles import Actor, can_read_all_cases, check_case_visible, require_staff
from civicpulse.domain.tracking import normalise_tracking_code
from civicpulse.domain.workflow import AWAITING_ACTION, MAX_CONTESTS, CaseStatus, allowed_actions
from civicpulse.infra.context import Context
from civicpulse.services.public_text import shown
from civicpulse.services.read_models import (
    CaseDetail,
    CaseList,
    CaseSummary,
    ContactView,
    JoinedCase,
    Location,
    PublicEvent,
    StaffEvent,
    Suggestion,
    TrackedCase,
    VerificationView,
    VoiceView,
)
from civicpulse.storage.tables import (
    Case,
    CaseEvent,
    Category,
    Department,
    ResidentContact,
    Verification,
    Voice,
    VoiceInsight,
)
from civicpulse.understanding.urgency import URGENT


def case_labels(session: Session, case: Case) -> tuple[str | None, str | None]:
    category = session.get(Category, case.category_id) if case.category_id else None
    department = session.get(Department, case.department_id) if case.department_id else None
    return (category.code if category else None, department.code if department else None)


def _codes(session: Session, model: type[Category] | type[Department]) -> dict[int, str]:
    return {row.id: row.code for row in session.execute(select(model.id, model.code))}


#: states in which a case waits for the dispatcher to route it
TRIAGE_STATES = (CaseStatus.SUBMITTED.value, CaseStatus.CONTESTED.value)


@dataclass
class CaseFilter:
    status: str | None = None
    department: str | None = None
    category: str | None = None
    overdue: bool | None = None
    q: str | None = None
    triage: bool = False  # the dispatcher's queue: waiting for routing, oldest first
    page: int = 1
    page_size: int = 50


def case_summary(
    case: Case, categories: dict[int, str], departments: dict[int, str], now: datetime
) -> CaseSummary:
    return CaseSummary(
        case_id=case.id,
        tracking_code=case.tracking_code,
        status=case.status,
        title=case.title,
        category=categories.get(case.category_id) if case.category_id else None,
        department=departments.get(case.department_id) if case.department_id else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
        first_response_due=case.first_response_due,
        resolution_due=case.resolution_due,
        overdue=_overdue(case, now),
        escalation_level=case.escalation_level,
        version=case.version,
        merged_into_case_id=case.merged_into_id,
    )


def _overdue(case: Case, now: datetime) -> bool:
    """:func:`overdue_clause` for one loaded case."""
    if case.status not in AWAITING_ACTION:
        return False
    return case.resolution_due is not None and case.resolution_due < now


def overdue_clause(now: datetime) -> Any:
    """The overdue rule as a query condition: past its resolution deadline while someone
    still owes it action. The inbox, its filter and the leader's brief all use this one."""
    return (Case.resolution_due < now) & Case.status.in_(sorted(AWAITING_ACTION))


def _triage_order() -> tuple[Any, ...]:
    """What the dispatcher should look at first among cases nobody has routed yet: danger
    (an urgent voice), then cases without a category, then those the model was least sure
    of (no suggestion counts as the least sure), then the longest waiting."""
    urgent = (
        select(VoiceInsight.case_id)
        .where(VoiceInsight.case_id == Case.id, VoiceInsight.urgency == URGENT)
        .exists()
    )
    confidence = (
        select(func.min(func.coalesce(Voice.suggestion_confidence, 0.0)))
        .where(Voice.case_id == Case.id)
        .scalar_subquery()
    )
    return (~urgent, Case.category_id.is_not(None), confidence, Case.id)


def list_cases(ctx: Context, actor: Actor, f: CaseFilter) -> CaseList:
    """Cases the actor may see, newest first, overdue filter and text search included."""
    require_staff(actor)
    now = ctx.now()
    with ctx.db.reader() as s:
        departments = _codes(s, Department)
        categories = _codes(s, Category)
        q = select(Case)
        if not can_read_all_cases(actor):
            q = q.where(Case.department_id.in_(actor.department_ids or {-1}))
        if f.status:
            q = q.where(Case.status == f.status)
        if f.department:
            ids = [i for i, c in departments.items() if c == f.department]
            if not ids:
                raise NotFound(f"unknown department {f.department!r}")
            q = q.where(Case.department_id == ids[0])
        if f.category:
            ids = [i for i, c in categories.items() if c == f.category]
            if not ids:
                raise NotFound(f"unknown category {f.category!r}")
            q = q.where(Case.category_id == ids[0])
        overdue = overdue_clause(now)
        if f.overdue is True:
            q = q.where(overdue)
        elif f.overdue is False:
            q = q.where(~overdue | Case.resolution_due.is_(None))
        if f.q:
            pattern = f"%{f.q}%"
            matching_voices = select(Voice.case_id).where(Voice.text.like(pattern))
            q = q.where(or_(Case.title.like(pattern), Case.id.in_(matching_voices)))
        order: tuple[Any, ...]
        if f.triage:
            q = q.where(Case.status.in_(TRIAGE_STATES))
            order = _triage_order()
        else:
            order = (Case.id.desc(),)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(
            q.order_by(*order).offset((f.page - 1) * f.page_size).limit(f.page_size)
        ).all()
        return CaseList(
            total=total,
            page=f.page,
            page_size=f.page_size,
            items=[case_summary(c, categories, departments, now) for c in rows],
        )


def public_timeline(s: Session, case_id: int) -> list[PublicEvent]:
    """The events anyone holding the case may see, oldest first; internal notes left out,
    and each message through the privacy gate (``public_text``)."""
    departments = _codes(s, Department)
    q = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.public.is_(True))
        .order_by(CaseEvent.id)
    )
    out = []
    for e in s.scalars(q):
        message = shown(e.public_message, e.message)
        out.append(_event(e, departments, message, pending=message is None and bool(e.message)))
    return out


def _staff_timeline(s: Session, case_id: int) -> list[StaffEvent]:
    """Every event with what was written, unchanged: staff see the originals."""
    departments = _codes(s, Department)
    q = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return [
        StaffEvent(
            **dict(_event(e, departments, e.message)),
            event_id=e.id,
            actor=e.actor,
            public=e.public,
            data=e.data,
        )
        for e in s.scalars(q)
    ]


def _event(
    e: CaseEvent, departments: dict[int, str], message: str | None, pending: bool = False
) -> PublicEvent:
    return PublicEvent(
        kind=e.kind,
        at=e.created_at,
        from_status=e.from_status,
        to_status=e.to_status,
        from_department=departments.get(e.from_department_id or -1),
        to_department=departments.get(e.to_department_id or -1),
        message=message,
        message_pending=pending,
    )


def get_case(ctx: Context, actor: Actor, case_id: int) -> CaseDetail:
    """The staff view of a case: voices with contacts, the full timeline, allowed actions."""
    require_staff(actor)
    now = ctx.now()
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        check_case_visible(actor, case.department_id)
        summary = case_summary(case, _codes(s, Category), _codes(s, Department), now)
        voices = []
        rows = s.execute(
            select(Voice, ResidentContact)
            .outerjoin(ResidentContact, ResidentContact.voice_id == Voice.id)
            .where(Voice.case_id == case_id)
            .order_by(Voice.id)
        ).all()
        for voice, contact in rows:
            voices.append(
                VoiceView(
                    voice_id=voice.id,
                    channel=voice.channel,
                    title=voice.title,
                    text=voice.text,
                    language=voice.language,
                    received_at=voice.received_at,
                    occurred_at=voice.occurred_at,
                    external_id=voice.external_id,
                    location=_loc(voice.lat, voice.lon),
                    attributes=voice.attributes,
                    suggestion=(
                        Suggestion(
                            category=voice.suggested_category,
                            confidence=voice.suggestion_confidence,
                            model_version=voice.model_version,
                        )
                        if voice.suggested_category
                        else None
                    ),
                    contact=(
                        ContactView(
                            name=contact.name,
                            email=contact.email,
                            phone=contact.phone,
                            address=contact.address,
                        )
                        if contact
                        else None
                    ),
                )
            )
        return CaseDetail(
            **dict(summary),
            location=_loc(case.lat, case.lon),
            voices=voices,
            timeline=_staff_timeline(s, case_id),
            allowed_actions=[a.value for a in allowed_actions(CaseStatus(case.status))],
            verifications=_verifications(s, case_id),
            verification_due=case.verification_due,
        )


def _loc(lat: float | None, lon: float | None) -> Location | None:
    return Location(lat=lat, lon=lon) if lat is not None and lon is not None else None


def _verifications(s: Session, case_id: int) -> list[VerificationView]:
    return [
        VerificationView(
            resolution_number=v.resolution_number,
            fixed=v.fixed,
            satisfaction=v.satisfaction,
            comment=v.comment,
            at=v.created_at,
        )
        for v in s.scalars(
            select(Verification).where(Verification.case_id == case_id).order_by(Verification.id)
        )
    ]


def case_id_for_code(ctx: Context, tracking_code: str) -> int:
    """The case a tracking code opens (the resident's key to their case), or NotFound."""
    with ctx.db.reader() as s:
        case_id = s.scalar(
            select(Case.id).where(Case.tracking_code == normalise_tracking_code(tracking_code))
        )
    if case_id is None:
        raise NotFound("no case has this tracking code")
    return int(case_id)


#: how many merges a tracking page follows to reach the open case (a merged case's target
#: may itself be merged later); more than a handful is a loop, not a history
MAX_MERGE_HOPS = 16


def track_case(ctx: Context, tracking_code: str) -> TrackedCase:
    """The public view behind a tracking code: status and public timeline, no personal data.

    A report merged into another shows, under its own code, the public progress of the case
    it joined: never that case's tracking code, which is another resident's key."""
    code = normalise_tracking_code(tracking_code)
    with ctx.db.reader() as s:
        case = s.scalars(select(Case).where(Case.tracking_code == code)).first()
        if case is None:
            raise NotFound("no case has this tracking code")
        category, department = case_labels(s, case)
        return TrackedCase(
            tracking_code=case.tracking_code,
            status=case.status,
            title=shown(case.public_title, case.title),
            category=category,
            department=department,
            created_at=case.created_at,
            resolution_due=case.resolution_due,
            joined=_joined(s, case),
            awaiting_verification=case.status == CaseStatus.RESOLVED.value,
            verification_due=case.verification_due,
            can_contest=(
                case.status == CaseStatus.REJECTED.value and case.contest_count < MAX_CONTESTS
            ),
            timeline=public_timeline(s, case.id),
        )


def _joined(s: Session, case: Case) -> JoinedCase | None:
    """The case a merged report now lives in, following merges of merges."""
    target: Case | None = None
    seen = {case.id}
    next_id = case.merged_into_id
    while next_id is not None and next_id not in seen and len(seen) <= MAX_MERGE_HOPS:
        target = s.get(Case, next_id)
        if target is None:
            break
        seen.add(target.id)
        next_id = target.merged_into_id
    if target is None:
        return None
    category, department = case_labels(s, target)
    return JoinedCase(
        case_id=target.id,
        status=target.status,
        title=shown(target.public_title, target.title),
        category=category,
        department=department,
        created_at=target.created_at,
        resolution_due=target.resolution_due,
        timeline=public_timeline(s, target.id),
    )
