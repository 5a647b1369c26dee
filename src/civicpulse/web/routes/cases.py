"""Staff routes over cases. Each action is one service call; the service checks roles.

Each route declares the refusals it can give (see ``web/schemas/errors.py``), so the OpenAPI
document tells a client generator every answer it must handle."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services import cases as svc
from civicpulse.services.case_change import ActionResult
from civicpulse.services.queries import CaseFilter, get_case, list_cases
from civicpulse.services.read_models import CaseDetail, CaseList
from civicpulse.web.deps import get_ctx, staff
from civicpulse.web.schemas import (
    ActionOut,
    AssignIn,
    MergeIn,
    RecordId,
    RejectIn,
    ReplyIn,
    ResolveIn,
    TransferIn,
    VersionIn,
    refusals,
)

router = APIRouter(tags=["cases"])

CaseId = RecordId


#: what an action on a case can meet: no login, not the caller's case or role, no such case,
#: a stale version or a state that does not allow it, an over-long body, a broken rule
ACTION_REFUSALS = refusals(401, 403, 404, 409, body=True)


def _out(r: ActionResult) -> ActionOut:
    return ActionOut(case_id=r.case_id, status=r.status, version=r.version, department=r.department)


@router.get("/cases", responses=refusals(401, 404))
def cases_list(
    status: CaseStatus | None = None,
    department: str | None = Query(None, max_length=64),
    category: str | None = Query(None, max_length=64),
    overdue: bool | None = None,
    q: str | None = Query(None, max_length=200),
    triage: bool = Query(
        False, description="Only cases waiting for routing, uncategorised and oldest first."
    ),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(50, ge=1, le=500),
    ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> CaseList:
    """Cases the caller may see (officers: their departments), newest first. 404 names an
    unknown department or category filter."""
    return list_cases(
        ctx,
        actor,
        CaseFilter(
            status=status,
            department=department,
            category=category,
            overdue=overdue,
            q=q,
            triage=triage,
            page=page,
            page_size=page_size,
        ),
    )


@router.get("/cases/{case_id}", responses=refusals(401, 403, 404))
def case_detail(
    case_id: CaseId, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> CaseDetail:
    """A case with its voices (and their contacts), full timeline and allowed actions."""
    return get_case(ctx, actor, case_id)


@router.post("/cases/{case_id}/assign", responses=ACTION_REFUSALS)
def assign(
    case_id: CaseId, body: AssignIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ActionOut:
    return _out(svc.assign_case(ctx, actor, case_id, body.department, body.version))


@router.post("/cases/{case_id}/transfer", responses=ACTION_REFUSALS)
def transfer(
    case_id: CaseId,
    body: TransferIn,
    ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> ActionOut:
    return _out(svc.transfer_case(ctx, actor, case_id, body.department, body.reason, body.version))


@router.post("/cases/{case_id}/start", responses=ACTION_REFUSALS)
def start(
    case_id: CaseId,
    body: VersionIn | None = None,
    ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> ActionOut:
    return _out(svc.start_case(ctx, actor, case_id, body.version if body else None))


@router.post("/cases/{case_id}/reply", responses=ACTION_REFUSALS)
def reply(
    case_id: CaseId, body: ReplyIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ActionOut:
    return _out(svc.reply_case(ctx, actor, case_id, body.message, body.public, body.version))


@router.post("/cases/{case_id}/resolve", responses=ACTION_REFUSALS)
def resolve(
    case_id: CaseId, body: ResolveIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ActionOut:
    return _out(svc.resolve_case(ctx, actor, case_id, body.message, body.version))


@router.post("/cases/{case_id}/reject", responses=ACTION_REFUSALS)
def reject(
    case_id: CaseId, body: RejectIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ActionOut:
    return _out(svc.reject_case(ctx, actor, case_id, body.reason, body.version))


@router.post("/cases/{case_id}/merge", responses=ACTION_REFUSALS)
def merge(
    case_id: CaseId, body: MergeIn, ctx: Context = Depends(get_ctx), actor: Actor = Depends(staff)
) -> ActionOut:
    return _out(svc.merge_case(ctx, actor, case_id, body.into_case_id, body.version))
