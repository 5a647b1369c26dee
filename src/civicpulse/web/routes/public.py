"""Public routes: login and logout, tracking, the resident's verdict and the department scorecard.

Nothing here returns personal data: tracking shows the public timeline only, scorecards
are aggregates.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from civicpulse.domain import limits
from civicpulse.domain.errors import NotAuthenticated, ValidationFailed
from civicpulse.domain.roles import RESIDENT, Actor
from civicpulse.infra.context import Context
from civicpulse.insight.scorecard import ScorecardRow
from civicpulse.services.queries import track_case
from civicpulse.services.read_models import TrackedCase
from civicpulse.services.scorecards import published_scorecards
from civicpulse.services.staff import change_password, login, logout
from civicpulse.services.verdicts import contest_rejection, verify_resolution
from civicpulse.web.deps import bearer, get_ctx, limit_public, staff
from civicpulse.web.schemas import (
    ActionOut,
    ContestIn,
    PasswordIn,
    SessionsEndedOut,
    TokenOut,
    VerificationIn,
    refusals,
)

router = APIRouter()


@router.post("/auth/token", tags=["auth"], responses=refusals(401, 429, body=True))
def token(
    request: Request,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=200),
    ctx: Context = Depends(get_ctx),
) -> TokenOut:
    """Staff log in with username and password (OAuth2 password form) for a bearer token.

    429 when this address tried too often, or when the account name had too many failed
    logins (it is locked for a while; unknown names are locked alike)."""
    limit_public(request, "login")
    return TokenOut(access_token=login(ctx, username, password))


@router.post("/auth/logout", tags=["auth"], status_code=204, responses=refusals(401))
def logout_token(
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_ctx),
) -> Response:
    """End this session: the token stops working at once (as Bearer and as the pages'
    cookie). Logging out with a token that already ended is not an error."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise NotAuthenticated("send the token to end: Authorization: Bearer <token>")
    logout(ctx, creds.credentials)
    return Response(status_code=204)


@router.post("/auth/password", tags=["auth"], responses=refusals(401, 403, body=True))
def password(
    body: PasswordIn,
    creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_ctx),
    actor: Actor = Depends(staff),
) -> SessionsEndedOut:
    """Change your own password (403 if the current one is wrong). Every other session of
    yours ends; the token that sent this one goes on working."""
    assert creds is not None  # ``staff`` refused a call without one
    ended = change_password(
        ctx, actor, body.current_password, body.new_password, keep_token=creds.credentials
    )
    return SessionsEndedOut(sessions_ended=ended)


@router.get("/track/{tracking_code}", tags=["residents"], responses=refusals(404, 429))
def track(tracking_code: str, request: Request, ctx: Context = Depends(get_ctx)) -> TrackedCase:
    """Where a case stands, for whoever holds its tracking code. No personal data."""
    limit_public(request)
    return track_case(ctx, tracking_code)


#: a verdict or contest meets: no such code, the case not (or no longer) awaiting it, an
#: over-long body, a broken rule, the public rate limit
RESIDENT_REFUSALS = refusals(404, 409, 429, body=True)


@router.post("/track/{tracking_code}/verification", tags=["residents"], responses=RESIDENT_REFUSALS)
def verification(
    tracking_code: str, body: VerificationIn, request: Request, ctx: Context = Depends(get_ctx)
) -> ActionOut:
    """The resident says whether it was really fixed (no reopens the case) and rates it."""
    limit_public(request)
    r = verify_resolution(ctx, RESIDENT, tracking_code, body.fixed, body.satisfaction, body.comment)
    return ActionOut(case_id=r.case_id, status=r.status, version=r.version, department=r.department)


@router.post("/track/{tracking_code}/contest", tags=["residents"], responses=RESIDENT_REFUSALS)
def contest(
    tracking_code: str, body: ContestIn, request: Request, ctx: Context = Depends(get_ctx)
) -> ActionOut:
    """The resident contests a rejection; the case goes back to the dispatcher."""
    limit_public(request)
    r = contest_rejection(ctx, RESIDENT, tracking_code, body.reason)
    return ActionOut(case_id=r.case_id, status=r.status, version=r.version, department=r.department)


@router.get("/departments/scorecard", tags=["accountability"], responses=refusals(429))
def scorecard(
    request: Request,
    since: datetime | None = None,
    until: datetime | None = None,
    ctx: Context = Depends(get_ctx),
) -> list[ScorecardRow]:
    """Per department, from residents' verdicts and the timeline; small samples withheld."""
    limit_public(request)
    for name, value in (("since", since), ("until", until)):
        limits.check_moment(name, value)
    if since and until and since >= until:
        raise ValidationFailed("since must be before until")
    return published_scorecards(ctx, since, until)
