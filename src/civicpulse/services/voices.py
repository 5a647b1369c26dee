"""submit_voice: the one write path for a voice, whatever channel it came through.

A voice always lands: it opens a new case, routed at once when its category (and the
area of its location) name a department, otherwise left for the dispatcher.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicpulse.domain.deadlines import compute_deadlines
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.roles import Actor
from civicpulse.domain.tracking import new_tracking_code
from civicpulse.domain.workflow import CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.classification import Suggestion, suggest
from civicpulse.services.notifications import notify_department, notify_resident
from civicpulse.services.photos import CleanPhoto, photo_row
from civicpulse.services.queries import case_labels
from civicpulse.services.routing import Route, current_table
from civicpulse.services.understanding import apply_to_submission, precompute_for
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent, ResidentContact, Voice, VoicePhoto
from civicpulse.understanding.language import detect_language

CHANNELS = ("web", "api", "hotline", "email", "open311", "import")
MAX_TEXT = 8000


@dataclass
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None

    def any(self) -> bool:
        return bool(self.name or self.email or self.phone)


@dataclass
class VoiceInput:
    text: str
    title: str | None = None
    category: str | None = None
    language: str | None = None
    channel: str = "api"
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    contact: Contact = field(default_factory=Contact)
    external_id: str | None = None
    occurred_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    #: the classifier's view, filled in at intake when no category was given
    suggestion: Suggestion | None = None
    #: a photo already stripped of its metadata (see services/photos.py)
    photo: CleanPhoto | None = None
    #: brought in from another system's history (an Open311 pull): nobody is notified, since
    #: nobody submitted it today, and it is never merged automatically into another case
    historical: bool = False


@dataclass
class SubmitResult:
    voice_id: int
    case_id: int
    tracking_code: str
    case_status: str
    category: str | None
    department: str | None
    created: bool = True


def validate_voice(v: VoiceInput) -> None:
    """Refuse bad input before anything is written."""
    if not v.text or not v.text.strip():
        raise ValidationFailed("text must not be empty")
    if len(v.text) > MAX_TEXT:
        raise ValidationFailed(f"text must be at most {MAX_TEXT} characters")
    if "\x00" in v.text:
        raise ValidationFailed("text must not contain NUL characters")
    if v.title is not None and len(v.title) > 300:
        raise ValidationFailed("title must be at most 300 characters")
    if v.channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}")
    if (v.lat is None) != (v.lon is None):
        raise ValidationFailed("location needs both lat and lon")
    if v.lat is not None and v.lon is not None:
        validate_point(v.lat, v.lon)
    if v.occurred_at is not None and v.occurred_at.tzinfo is None:
        raise ValidationFailed("occurred_at needs a time zone (e.g. 2024-05-01T10:00:00+08:00)")
    if v.contact.email is not None and "@" not in v.contact.email:
        raise ValidationFailed("contact.email is not an e-mail address")
    if v.external_id is not None and not (0 < len(v.external_id) <= 200):
        raise ValidationFailed("external_id must be 1–200 characters")


def case_title(v: VoiceInput) -> str:
    """The case's headline: the voice's own title, else the first line of what was said."""
    return (v.title or v.text.strip().splitlines()[0])[:300]


def opening_status(route: Route) -> CaseStatus:
    """A new case is assigned at once when routing named a department, else left submitted."""
    return CaseStatus.ASSIGNED if route.department_id else CaseStatus.SUBMITTED


def opening_events(
    *, case_id: int, voice_id: int, channel: str, actor: str, route: Route, now: datetime
) -> list[dict[str, Any]]:
    """The first timeline entries of a new case, as column values.

    Every entry has the same keys, so bulk import can insert them in one executemany.
    """
    events: list[dict[str, Any]] = [
        {
            "case_id": case_id,
            "kind": "submitted",
            "actor": actor,
            "from_status": None,
            "to_status": CaseStatus.SUBMITTED.value,
            "to_department_id": None,
            "public": True,
            "data": {"voice_id": voice_id, "channel": channel},
            "created_at": now,
        }
    ]
    if route.department_id:
        events.append(
            {
                "case_id": case_id,
                "kind": "assigned",
                "actor": "system:routing",
                "from_status": CaseStatus.SUBMITTED.value,
                "to_status": CaseStatus.ASSIGNED.value,
                "to_department_id": route.department_id,
                "public": True,
                "data": {"rule": route.rule},
                "created_at": now,
            }
        )
    return events


def submit_voice(
    ctx: Context, actor: Actor, v: VoiceInput, idempotency_key: str | None = None
) -> SubmitResult:
    """Record a voice and open its case, exactly once per idempotency key or external id."""
    return start_submission(ctx, actor, v, idempotency_key).result()


def start_submission(
    ctx: Context, actor: Actor, v: VoiceInput, idempotency_key: str | None = None
) -> Future[SubmitResult]:
    """Validate now, then hand the write to the group-commit writer.

    The returned future completes once the voice is committed (or refused), so an async
    caller can wait for it without tying up a thread. The duplicate check runs inside the
    writing transaction, so a replay can never race past it.
    """
    validate_voice(v)
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise ValidationFailed("Idempotency-Key must be 1–200 characters")
    if v.category is None and v.suggestion is None:
        v.suggestion = suggest(ctx, v.text)  # CPU work, kept out of the writer thread
    # same-problem signature and urgency: CPU work too; applied inside the write below
    understood = precompute_for(
        ctx, text=v.text, title=v.title, occurred_at=v.occurred_at, lat=v.lat, lon=v.lon
    )

    def write(session: Session) -> SubmitResult:
        previous = _find_existing(session, v, idempotency_key)
        if previous is not None:
            return previous
        result = _insert(session, ctx, actor, v, idempotency_key)
        return apply_to_submission(session, ctx, result, understood, may_merge=not v.historical)

    def look_again(session: Session) -> SubmitResult:
        previous = _find_existing(session, v, idempotency_key)
        if previous is None:
            raise ValidationFailed("this voice clashes with one stored at the same moment")
        return previous

    outcome: Future[SubmitResult] = Future()

    def settle(first: Future[SubmitResult]) -> None:
        exc = first.exception()
        if isinstance(exc, IntegrityError):
            # another server process stored the same key or external id a moment ago:
            # answer with what it stored, as a replay would
            retry = ctx.writer.submit(look_again)
            retry.add_done_callback(lambda r: _copy(r, outcome))
        else:
            _copy(first, outcome)

    ctx.writer.submit(write).add_done_callback(settle)
    return outcome


def _copy(source: Future[SubmitResult], target: Future[SubmitResult]) -> None:
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


def _find_existing(
    session: Session, v: VoiceInput, idempotency_key: str | None
) -> SubmitResult | None:
    if idempotency_key is None and v.external_id is None:
        return None
    q = select(Voice)
    if idempotency_key is not None:
        q = q.where(Voice.idempotency_key == idempotency_key)
    else:
        q = q.where(Voice.channel == v.channel, Voice.external_id == v.external_id)
    voice = session.scalars(q).first()
    if voice is None:
        return None
    if voice.text != v.text:
        # a replay must be the same report: otherwise anyone trying common keys or ids
        # would be handed other residents' tracking codes
        raise ValidationFailed(
            "this Idempotency-Key (or external id) was already used for a different report"
        )
    case = session.get(Case, voice.case_id)
    assert case is not None
    category, department = case_labels(session, case)
    return SubmitResult(
        voice_id=voice.id,
        case_id=case.id,
        tracking_code=case.tracking_code,
        case_status=case.status,
        category=category,
        department=department,
        created=False,
    )


@dataclass(frozen=True)
class _Inserts:
    case: Any
    voice: Any
    contact: Any
    event: Any
    photo: Any


@functools.cache
def _statements() -> _Inserts:
    """The insert statements, built once on first use: parameters are passed at execution,
    so SQLAlchemy's statement cache hits every time."""
    return _Inserts(
        case=insert(Case).returning(Case.id),
        voice=insert(Voice).returning(Voice.id),
        contact=insert(ResidentContact),
        event=insert(CaseEvent),
        photo=insert(VoicePhoto),
    )


def _insert(
    session: Session, ctx: Context, actor: Actor, v: VoiceInput, idempotency_key: str | None
) -> SubmitResult:
    """Write the case, voice, contact and opening events with plain inserts.

    This is the hottest write path of the product; SQLAlchemy Core statements cost a
    fraction of the ORM's unit of work here, and nothing else needs these rows as objects.
    """
    now = ctx.now()
    table = current_table(ctx.routes, session, v.category)
    category, applied = v.category, False
    hint = v.suggestion
    if (
        category is None
        and hint is not None
        and hint.confidence >= ctx.settings.classifier_min_confidence
        and table.knows(hint.category)
    ):
        category, applied = hint.category, True
    route: Route = table.route(category, v.lat, v.lon)
    language = v.language or detect_language(v.text)
    deadlines = compute_deadlines(now, route.first_response_hours, route.resolution_hours)
    status = opening_status(route)
    title = case_title(v)
    tracking_code = new_tracking_code()
    conn = session.connection()
    case_id = conn.execute(
        _statements().case,
        dict(
            tracking_code=tracking_code,
            status=status.value,
            title=title,
            category_id=route.category_id,
            department_id=route.department_id,
            area_id=route.area_id,
            lat=v.lat,
            lon=v.lon,
            created_at=now,
            updated_at=now,
            first_response_due=deadlines.first_response_due,
            resolution_due=deadlines.resolution_due,
            escalation_level=0,
            resolution_count=0,
            reopen_count=0,
            contest_count=0,
            version=1,
        ),
    ).scalar_one()
    voice_id = conn.execute(
        _statements().voice,
        dict(
            case_id=case_id,
            channel=v.channel,
            text=v.text,
            title=v.title,
            language=language,
            category_id=route.category_id,
            lat=v.lat,
            lon=v.lon,
            external_id=v.external_id,
            idempotency_key=idempotency_key,
            attributes=v.attributes,
            suggested_category=hint.category if hint else None,
            suggestion_confidence=hint.confidence if hint else None,
            model_version=hint.model_version if hint else None,
            occurred_at=v.occurred_at,
            received_at=now,
        ),
    ).scalar_one()
    if v.contact.any() or v.address:
        conn.execute(
            _statements().contact,
            dict(
                voice_id=voice_id,
                name=v.contact.name,
                email=v.contact.email,
                phone=v.contact.phone,
                address=v.address,
            ),
        )
    if v.photo is not None:
        conn.execute(_statements().photo, photo_row(voice_id, v.photo, now))
    events = opening_events(
        case_id=case_id,
        voice_id=voice_id,
        channel=v.channel,
        actor=actor.label,
        route=route,
        now=now,
    )
    conn.execute(_statements().event, events)
    if hint is not None:
        outcome = "applied" if applied else "below the threshold: left for the dispatcher"
        conn.execute(
            _statements().event,
            {
                "case_id": case_id,
                "kind": "classified",
                "actor": f"system:model-v{hint.model_version}",
                "public": False,
                "message": f"suggested {hint.category} ({hint.confidence:.2f}); {outcome}",
                "data": {
                    "category": hint.category,
                    "confidence": hint.confidence,
                    "model_version": hint.model_version,
                    "applied": applied,
                },
                "created_at": now,
            },
        )
    if route.department_id and not v.historical:
        notify_department(
            session,
            email=route.department_email,
            subject=f"New case {case_id}: {title[:80]}",
            body=f"A new case was routed to your department.\n\n{v.text[:1000]}",
            case_id=case_id,
            now=now,
        )
    if not v.historical:
        notify_resident(
            session,
            kind="received",
            email=v.contact.email,
            language=language,
            tracking_code=tracking_code,
            base_url=ctx.settings.public_base_url,
            case_id=case_id,
            now=now,
        )
    append_audit(
        session,
        actor=actor.label,
        action="voice.submitted",
        subject=f"case:{case_id}",
        data={
            "voice_id": voice_id,
            "channel": v.channel,
            "category": route.category_code,
            "department": route.department_code,
            "status": status.value,
        },
        at=now,
    )
    return SubmitResult(
        voice_id=voice_id,
        case_id=case_id,
        tracking_code=tracking_code,
        case_status=status.value,
        category=route.category_code,
        department=route.department_code,
    )
