"""What residents raise most, over the JSON API: the ranked concerns and residents' "me too".

Each route is one service call. The concerns are public: anyone gets the public form (no
voice text, contacts, voice ids or external ids; labels through the privacy gate); a
logged-in member of staff gets the ids too, as their role allows (``services/concerns.py``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.concerns import MAX_TOP, concern_detail, top_concerns
from civicpulse.services.read_models import ConcernDetail, ConcernView, SupportResult
from civicpulse.services.supports import Supporter, support_case
from civicpulse.web.deps import (
    bearer,
    client_address,
    get_ctx,
    integration_for_key,
    limit_public_async,
    public_caller,
    staff,
)
from civicpulse.web.schemas import RecordId, SupportIn, refusals

router = APIRouter(tags=["concerns"])


async def concern_reader(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Actor | None:
    """Staff by their Bearer token (401 when it is not valid); anyone else reads the public
    form, rate-limited per address unless they send an API key."""
    if creds is not None:
        return await run_in_threadpool(staff, request, creds)
    await public_caller(request)
    return None


async def supporting_caller(request: Request) -> Actor | None:
    """An integration by its API key (it may support on residents' behalf, unthrottled), or
    an anonymous resident, limited per address by the ``support`` bucket."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return await integration_for_key(request, key)
    await limit_public_async(request, "support")
    return None


@router.get("/concerns", responses=refusals(401, 429))
def concerns(
    top: int = Query(20, ge=1, le=MAX_TOP),
    since: datetime | None = None,
    until: datetime | None = None,
    ctx: Context = Depends(get_ctx),
    actor: Actor | None = Depends(concern_reader),
) -> list[ConcernView]:
    """The concerns residents raise most, in rank order, each with its score and the
    reasons that add up to it; ``since``/``until`` keep those with voices in that period.
    Public form for anyone; staff (Bearer) also get voice ids and external ids."""
    return top_concerns(ctx, actor, top=top, since=since, until=until)


@router.get("/concerns/{key}", responses=refusals(401, 404, 429))
def concern(
    key: str,
    ctx: Context = Depends(get_ctx),
    actor: Actor | None = Depends(concern_reader),
) -> ConcernDetail:
    """One concern with its cases (public titles) and its voices per week. A case's key
    (``c<case id>``) finds the concern that case is in now."""
    return concern_detail(ctx, actor, key)


@router.post(
    "/cases/{case_id}/support", tags=["residents"], responses=refusals(401, 404, 429, body=True)
)
def support(
    case_id: RecordId,
    body: SupportIn,
    request: Request,
    ctx: Context = Depends(get_ctx),
    integration: Actor | None = Depends(supporting_caller),
) -> SupportResult:
    """A resident says "me too" on a case (a merged case: on the case it was merged into),
    without filing a duplicate. Counted once per resident however often it is sent;
    ``counted`` says whether this call added one."""
    supporter = Supporter(
        email=body.email,
        phone=body.phone,
        device=body.device,
        account=f"key:{integration.name}" if integration is not None else None,
        network=client_address(request),
        notify=body.notify,
        language=body.language,
    )
    return support_case(ctx, case_id, supporter, channel="api")
