"""What a new case is, in rows: the one definition that intake and bulk import both write.

A voice that opens a case becomes a case row, a voice row, perhaps a contact row, and the
first entries of the case's timeline. Intake (``voices.submit_voice``) writes one such set
per transaction and the bulk import thousands per COPY, but they must be the same rows, or
an imported case behaves differently from a submitted one later on: the two writers each
had their own column lists and had already drifted apart (the import left
``escalation_level`` and ``version`` to column defaults that its COPY had to re-apply by
hand). So both build their rows here, from the same checked input, with the ids and the
tracking code handed in, and differ only in how many they write at once.

Nothing here touches the database, which is also what lets the import build a batch's rows
ahead of its writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from civicpulse.domain import limits
from civicpulse.domain.deadlines import Deadlines, compute_deadlines
from civicpulse.domain.workflow import CaseStatus
from civicpulse.services.public_text import checked_now
from civicpulse.understanding.matching import signature_bytes
from civicpulse.understanding.urgency import URGENT

if TYPE_CHECKING:
    from civicpulse.services.classification import Suggestion
    from civicpulse.services.routing import Route
    from civicpulse.services.text_reading import MatchingKeys
    from civicpulse.services.voices import VoiceInput
    from civicpulse.understanding.urgency import Verdict


@dataclass(frozen=True)
class Opening:
    """The status and deadlines a case opens with: the same for every case of a route at
    one moment, so a bulk import works them out once per route and batch."""

    status: CaseStatus
    deadlines: Deadlines


def opening_status(route: Route) -> CaseStatus:
    """A new case is assigned at once when routing named a department, else left submitted."""
    return CaseStatus.ASSIGNED if route.department_id else CaseStatus.SUBMITTED


def opening_for(route: Route, now: datetime) -> Opening:
    return Opening(
        opening_status(route),
        compute_deadlines(now, route.first_response_hours, route.resolution_hours),
    )


def case_title(v: VoiceInput) -> str:
    """The case's headline: the voice's own title, else the first line of what was said."""
    return (v.title or v.text.strip().splitlines()[0])[: limits.TITLE]


def event_row(
    *,
    case_id: int,
    kind: str,
    actor: str,
    created_at: datetime,
    public: bool = True,
    from_status: str | None = None,
    to_status: str | None = None,
    to_department_id: int | None = None,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One timeline entry as column values; every entry has the same keys, so a case's
    opening entries (and a whole batch's) go in with one executemany or COPY."""
    return {
        "case_id": case_id,
        "kind": kind,
        "actor": actor,
        "from_status": from_status,
        "to_status": to_status,
        "from_department_id": None,
        "to_department_id": to_department_id,
        "message": message,
        "public": public,
        "data": data if data is not None else {},
        "created_at": created_at,
    }


def opening_events(
    *, case_id: int, voice_id: int, channel: str, actor: str, route: Route, now: datetime
) -> list[dict[str, Any]]:
    """The first timeline entries of a new case: submitted, and assigned when routed."""
    events = [
        event_row(
            case_id=case_id,
            kind="submitted",
            actor=actor,
            to_status=CaseStatus.SUBMITTED.value,
            data={"voice_id": voice_id, "channel": channel},
            created_at=now,
        )
    ]
    if route.department_id:
        events.append(
            event_row(
                case_id=case_id,
                kind="assigned",
                actor="system:routing",
                from_status=CaseStatus.SUBMITTED.value,
                to_status=CaseStatus.ASSIGNED.value,
                to_department_id=route.department_id,
                data={"rule": route.rule},
                created_at=now,
            )
        )
    return events


def classified_event(
    case_id: int, hint: Suggestion, applied: bool, now: datetime
) -> dict[str, Any]:
    """What the classifier said, for staff: kept even when it was not sure enough to act."""
    outcome = "applied" if applied else "below the threshold: left for the dispatcher"
    return event_row(
        case_id=case_id,
        kind="classified",
        actor=f"system:model-v{hint.model_version}",
        public=False,
        message=f"suggested {hint.category} ({hint.confidence:.2f}); {outcome}",
        data={
            "category": hint.category,
            "confidence": hint.confidence,
            "model_version": hint.model_version,
            "applied": applied,
        },
        created_at=now,
    )


def urgent_event(case_id: int, urgency: Verdict, now: datetime) -> dict[str, Any]:
    """The flag staff see on a case the rules or the model judged urgent, with why."""
    return event_row(
        case_id=case_id,
        kind="flagged_urgent",
        actor="system:urgency",
        public=False,
        message="; ".join(f"{r['reason']} ({r['matched']})" for r in urgency.reasons),
        data={"score": urgency.score, "reasons": urgency.reasons},
        created_at=now,
    )


@dataclass(frozen=True, slots=True)
class CaseRows:
    """Every row one voice's new case starts with, as column values."""

    case: dict[str, Any]
    voice: dict[str, Any]
    contact: dict[str, Any] | None
    events: list[dict[str, Any]]


def new_case_rows(
    v: VoiceInput,
    *,
    route: Route,
    case_id: int,
    voice_id: int,
    tracking_code: str,
    actor: str,
    now: datetime,
    language: str,
    idempotency_key: str | None = None,
    suggestion: Suggestion | None = None,
    applied: bool = False,
    urgency: Verdict | None = None,
    opening: Opening | None = None,
) -> CaseRows:
    """The rows of the case ``v`` opens on ``route``; ``v`` must have passed
    ``validate_voice`` and ``route`` must be the one routing chose for it.

    ``suggestion`` is the classifier's view (``applied`` when it chose the route's
    category); ``urgency`` adds the urgent flag when the verdict is urgent; ``opening``
    may be passed when the caller worked it out for many cases of this route at once.
    """
    opening = opening or opening_for(route, now)
    due = opening.deadlines
    title = case_title(v)
    case = {
        "id": case_id,
        "tracking_code": tracking_code,
        "status": opening.status.value,
        "title": title,
        # public at once when that is cheap, else the redaction pass checks it (public_text)
        "public_title": checked_now(title),
        "category_id": route.category_id,
        "department_id": route.department_id,
        "area_id": route.area_id,
        "lat": v.lat,
        "lon": v.lon,
        "created_at": now,
        "updated_at": now,
        "first_response_due": due.first_response_due,
        "resolution_due": due.resolution_due,
        "escalation_level": 0,
        "resolution_count": 0,
        "reopen_count": 0,
        "contest_count": 0,
        "version": 1,
    }
    voice = {
        "id": voice_id,
        "case_id": case_id,
        "channel": v.channel,
        "text": v.text,
        "title": v.title,
        "language": language,
        "category_id": route.category_id,
        "lat": v.lat,
        "lon": v.lon,
        "external_id": v.external_id,
        "idempotency_key": idempotency_key,
        "attributes": v.attributes,
        "suggested_category": suggestion.category if suggestion else None,
        "suggestion_confidence": suggestion.confidence if suggestion else None,
        "model_version": suggestion.model_version if suggestion else None,
        "occurred_at": v.occurred_at,
        "received_at": now,
    }
    c = v.contact
    contact = (
        {"voice_id": voice_id, "name": c.name, "email": c.email, "phone": c.phone,
         "address": v.address}
        if c.any() or v.address
        else None
    )  # fmt: skip
    events = opening_events(
        case_id=case_id, voice_id=voice_id, channel=v.channel, actor=actor, route=route, now=now
    )
    if suggestion is not None:
        events.append(classified_event(case_id, suggestion, applied, now))
    if urgency is not None and urgency.level == URGENT:
        events.append(urgent_event(case_id, urgency, now))
    return CaseRows(case, voice, contact, events)


def insight_row(
    keys: MatchingKeys, urgency: Verdict, *, case_id: int, category: str | None, now: datetime
) -> dict[str, Any]:
    """A voice's row in the same-problem index, not yet matched to anything."""
    return {
        "case_id": case_id,
        "signature": signature_bytes(keys.probe.signature),
        "at": keys.probe.at,
        "lat": keys.probe.lat,
        "lon": keys.probe.lon,
        "category": category,
        "urgency": urgency.level,
        "urgency_score": urgency.score,
        "urgency_reasons": urgency.reasons,
        "matched_case_id": None,
        "match_action": None,
        "match_score": None,
        "match_reasons": [],
        "computed_at": now,
    }
