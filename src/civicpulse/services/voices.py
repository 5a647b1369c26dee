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

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.limits import check_length
from civicpulse.domain.roles import Actor
from civicpulse.domain.tracking import new_tracking_code
from civicpulse.infra.context import Context
from civicpulse.services.case_rows import new_case_rows
from civicpulse.services.notifications import notify_department, notify_resident
from civicpulse.services.photos import CleanPhoto, photo_row
from civicpulse.services.queries import case_labels
from civicpulse.services.routing import Route, current_table
from civicpulse.services.same_problem import apply_to_submission
from civicpulse.services.text_reading import TextReading, read_text
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.bulk_insert import reserve_in_transaction, table_of
from civicpulse.storage.tables import Case, CaseEvent, ResidentContact, Voice, VoicePhoto

CHANNELS = ("web", "api", "hotline", "email", "open311", "import")


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
    #: what understanding makes of the text (``read_voice``), filled in at intake unless
    #: the caller read it already, off its event loop
    reading: TextReading | None = None
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
    """Refuse bad input before anything is written.

    Every channel's voices come through here, the bulk import's rows included, so this is
    where the field limits of ``domain.limits`` are enforced, with one wording whatever
    the entry point.
    """
    check_length("text", v.text, limits.TEXT, required=True)
    check_length("title", v.title, limits.TITLE)
    check_length("category", v.category, limits.CODE)
    check_length("language", v.language, limits.LANGUAGE)
    check_length("address", v.address, limits.ADDRESS)
    check_length("contact.name", v.contact.name, limits.NAME)
    check_length("contact.email", v.contact.email, limits.EMAIL)
    check_length("contact.phone", v.contact.phone, limits.PHONE)
    _check_key("external_id", v.external_id)
    if v.channel not in CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(CHANNELS)}")
    if (v.lat is None) != (v.lon is None):
        raise ValidationFailed("location needs both lat and lon")
    if v.lat is not None and v.lon is not None:
        validate_point(v.lat, v.lon)
    limits.check_moment("occurred_at", v.occurred_at)
    limits.check_data("attributes", v.attributes)
    if v.contact.email is not None and "@" not in v.contact.email:
        raise ValidationFailed("contact.email is not an e-mail address")


def _check_key(name: str, key: str | None) -> None:
    """A key another system chose: any characters, but never empty (it could not tell
    two reports apart) and never longer than its column."""
    if key is not None and not key:
        raise ValidationFailed(f"{name} must not be empty")
    check_length(name, key, limits.EXTERNAL_ID)


def read_voice(ctx: Context, v: VoiceInput) -> TextReading:
    """The one understanding step for a voice (see ``text_reading``): CPU work, so an async
    caller runs it on a worker thread and passes it in as ``VoiceInput.reading``.

    The voice is validated first: reading a voice its rules refuse is wasted work, and an
    out-of-range date crashed the reading (a 500) before validation could refuse it."""
    validate_voice(v)
    return read_text(
        ctx,
        v.text,
        title=v.title,
        at=v.occurred_at,
        lat=v.lat,
        lon=v.lon,
        language=v.language,
        classify=v.category is None,
    )


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
    _check_key("Idempotency-Key", idempotency_key)
    # CPU work, done here so that the writer thread only stores what it found
    reading = v.reading or read_voice(ctx, v)

    def write(session: Session) -> SubmitResult:
        previous = _find_existing(session, v, idempotency_key)
        if previous is not None:
            return previous
        result = _insert(session, ctx, actor, v, reading, idempotency_key)
        return apply_to_submission(session, ctx, result, reading, may_merge=not v.historical)

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
        case=insert(Case),
        voice=insert(Voice),
        contact=insert(ResidentContact),
        event=insert(CaseEvent),
        photo=insert(VoicePhoto),
    )


#: ids are reserved before the rows are built, as the bulk import does
_ID_TABLES = (table_of(Case), table_of(Voice))


def _insert(
    session: Session,
    ctx: Context,
    actor: Actor,
    v: VoiceInput,
    reading: TextReading,
    idempotency_key: str | None,
) -> SubmitResult:
    """Write the case's rows (``case_rows``, as the bulk import does) with plain inserts.

    This is the hottest write path of the product; SQLAlchemy Core statements cost a
    fraction of the ORM's unit of work here, and nothing else needs these rows as objects.
    """
    now = ctx.now()
    table = current_table(ctx.routes, session, v.category)
    category, applied = v.category, False
    hint = reading.suggestion
    if (
        category is None
        and hint is not None
        and hint.confidence >= ctx.settings.classifier_min_confidence
        and table.knows(hint.category)
    ):
        category, applied = hint.category, True
    route: Route = table.route(category, v.lat, v.lon)
    (case_id,), (voice_id,) = reserve_in_transaction(session, _ID_TABLES, 1)
    rows = new_case_rows(
        v,
        route=route,
        case_id=case_id,
        voice_id=voice_id,
        tracking_code=new_tracking_code(),
        actor=actor.label,
        now=now,
        language=reading.language,
        idempotency_key=idempotency_key,
        suggestion=hint,
        applied=applied,
        urgency=reading.urgency,
    )
    conn = session.connection()
    statements = _statements()
    conn.execute(statements.case, rows.case)
    conn.execute(statements.voice, rows.voice)
    if rows.contact is not None:
        conn.execute(statements.contact, rows.contact)
    if v.photo is not None:
        conn.execute(statements.photo, photo_row(voice_id, v.photo, now))
    conn.execute(statements.event, rows.events)
    title = rows.case["title"]
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
            language=reading.language,
            tracking_code=rows.case["tracking_code"],
            base_url=ctx.settings.public_base_url,
            case_id=case_id,
            now=now,
        )
    status = rows.case["status"]
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
            "status": status,
        },
        at=now,
    )
    return SubmitResult(
        voice_id=voice_id,
        case_id=case_id,
        tracking_code=rows.case["tracking_code"],
        case_status=status,
        category=route.category_code,
        department=route.department_code,
    )
