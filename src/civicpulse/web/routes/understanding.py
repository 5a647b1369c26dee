"""Routes of understanding: topics (public), a case's urgency and matches (staff), the undo
of a merge and staff's urgency marks. Each is one service call; the services check roles."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from civicpulse.domain import limits
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services import cases as case_actions
from civicpulse.services.case_insights import case_insights
from civicpulse.services.read_models import CaseInsights, TextUnderstanding, TopicView
from civicpulse.services.text_reading import preview_reading
from civicpulse.services.topics import list_topics
from civicpulse.services.urgency import mark_urgency
from civicpulse.web.deps import get_ctx, limit_public, staff, staff_or_integration
from civicpulse.web.schemas import ActionOut, RecordId, refusals

router = APIRouter(tags=["understanding"])
CaseId = RecordId


class UnmergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(min_length=1, max_length=4000)
    version: int | None = None


class UnderstandIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(min_length=1, max_length=8000)
    title: str | None = Field(None, max_length=200)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class UrgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    urgent: bool
    reason: str = Field(min_length=1, max_length=limits.REASON)


@router.get("/topics", responses=refusals(429))
def topics(
    request: Request,
    limit: int = Query(20, ge=1, le=200),
    min_size: int = Query(3, ge=3, le=1_000_000),
    ctx: Context = Depends(get_ctx),
) -> list[TopicView]:
    """Discovered topics, largest first: key, label, phrases, size, first and last voice
    time. No text and no personal data; labels are phrases several residents used."""
    limit_public(request)
    return list_topics(ctx, limit=limit, min_size=min_size)


@router.post("/understand", responses=refusals(401, body=True))
def understand(
    body: UnderstandIn,
    ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff_or_integration),
) -> TextUnderstanding:
    """What intake would make of a text, nothing stored: language, the model's category and
    department, urgency with reasons, the redacted text and the open case it would join.
    For staff and integrations (by API key), since it can name open cases."""
    return preview_reading(ctx, actor, body.text, body.title, body.lat, body.lon)


# exclude_unset: a voice never assessed has no urgency and match keys at all, not nulls
@router.get(
    "/cases/{case_id}/understanding",
    response_model_exclude_unset=True,
    responses=refusals(401, 403, 404),
)
def understanding(
    case_id: CaseId, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> CaseInsights:
    """Staff view: the case's urgency with reasons, each voice's match and topic."""
    return case_insights(ctx, actor, case_id)


@router.post("/cases/{case_id}/unmerge", responses=refusals(401, 403, 404, 409, body=True))
def unmerge(
    case_id: CaseId, body: UnmergeIn, ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> ActionOut:
    """Undo a merge (by staff or by intake matching); the reason is shown to residents."""
    r = case_actions.unmerge_case(ctx, actor, case_id, body.reason, body.version)
    return ActionOut(case_id=r.case_id, status=r.status, version=r.version, department=r.department)


@router.post(
    "/cases/{case_id}/urgency", status_code=204, responses=refusals(401, 403, 404, body=True)
)
def urgency(
    case_id: CaseId, body: UrgencyIn, ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> None:
    """Mark a case urgent or not urgent; the marks teach the urgency model."""
    mark_urgency(ctx, actor, case_id, body.urgent, body.reason)
