"""Routes of the formalism audit: the public per-department figures, the flags that name a
case (staff), and a department's explanation of a flag. Each is one service call; the
services check roles."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from civicpulse.domain import limits
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.formalism import case_formalism, explain_flag, published_formalism
from civicpulse.services.formalism_views import CaseFormalism, ExplanationView, FormalismSummary
from civicpulse.web.deps import get_ctx, limit_public, staff
from civicpulse.web.schemas import RecordId, refusals

router = APIRouter()


class ExplanationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    flag: str = Field(min_length=1, max_length=200,
                      description="The flag's key, e.g. `ping_pong:c17:roads`.")
    text: str = Field(min_length=1, max_length=limits.REASON)


@router.get("/formalism", tags=["accountability"], responses=refusals(429))
def formalism(
    request: Request,
    since: datetime | None = Query(
        None, description="Start of the period; default: `formalism_period_days` before "
        "`until`."),
    until: datetime | None = Query(None, description="End of the period (excluded); "
                                   "default: now."),
    ctx: Context = Depends(get_ctx),
) -> FormalismSummary:
    """Per department and for the city: how often cases were passed back and forth,
    resolved and then not fixed, came back at the same place after a fix, were resolved on
    the deadline's edge, were rejected and then done by another department, closed
    without the resident's confirmation, and resolved with a hollow reply; rates below the
    minimum sample are null. No case and no person. Without a period, the figures the job
    runner keeps (refreshed every `formalism_publish_minutes` at most)."""
    limit_public(request)
    return published_formalism(ctx, since, until)


@router.get("/cases/{case_id}/formalism", tags=["cases"], responses=refusals(401, 403, 404))
def case_flags(
    case_id: RecordId, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> CaseFormalism:
    """Staff view: the formalism flags that name this case, with their reasons, evidence
    and the departments' explanations."""
    return case_formalism(ctx, actor, case_id)


@router.post(
    "/formalism/explanations", tags=["accountability"], status_code=201,
    responses=refusals(401, 403, 404, body=True),
)
def explain(
    body: ExplanationIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ExplanationView:
    """The flagged department's explanation, kept beside the flag (which stays) and in the
    audit log: that department's officers, dispatchers and admins. 404 when no such flag
    stands now."""
    return explain_flag(ctx, actor, body.flag, body.text)
