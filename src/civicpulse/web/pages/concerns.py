"""Concern pages: what residents raise most (public), one concern with its trend and cases,
residents' "me too" on a case, and the staff board (ranking, bursts, hotspots, lead
department, follow).

Each page reads the same services as ``/api/v1/concerns``, ``/bursts`` and ``/hotspots``;
the public ones get the public form (no text, contact or voice id), so nothing personal can
reach them. "Me too" calls ``support_case`` like the JSON route, behind the same ``support``
rate limit, with the device token this browser keeps in a long-lived cookie."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.reports.charts import sparkline
from civicpulse.reports.maps import project_map
from civicpulse.services.bursts import city_bursts
from civicpulse.services.concern_leads import (
    concern_marks,
    follow_concern,
    may_set_lead,
    set_lead_department,
)
from civicpulse.services.concerns import concern_detail, top_concerns
from civicpulse.services.hotspots import city_hotspots
from civicpulse.services.public_views import area_outlines, catalogue_names
from civicpulse.services.read_models import ConcernDetail
from civicpulse.services.supports import Supporter, case_supports, support_case
from civicpulse.services.topics import topic_labels
from civicpulse.web.deps import RateLimited, client_address, ctx_of, limit_public_async
from civicpulse.web.forms import read_form
from civicpulse.web.pages.common import (
    choose_language,
    csrf_ok,
    csrf_refused,
    form_text,
    redirect,
    refused,
    render,
    session_actor,
)
from civicpulse.web.schemas import RecordId

router = APIRouter(include_in_schema=False)

#: the browser's own random token for "me too" (one support per device and case)
DEVICE_COOKIE = "cp_device"
DEVICE_COOKIE_DAYS = 730
PUBLIC_TOP = 20
STAFF_TOP = 30
#: where a "me too" form may send the resident back to: the page it was on
_BACK = re.compile(r"^/(concerns/[A-Za-z0-9_-]{1,64}|cases/[0-9]{1,18})$")
_ROOT_CASE = re.compile(r"c([0-9]{1,18})$")


def lead_case(concern: ConcernDetail) -> int | None:
    """The case a "me too" on the concern's page supports: the case the concern grew from
    (its key ends in ``c<case id>``), else the one with the most voices."""
    root = _ROOT_CASE.search(concern.key)
    if root and int(root[1]) in concern.case_ids:
        return int(root[1])
    if not concern.cases:
        return None
    return max(concern.cases, key=lambda c: (c.voices, -c.case_id)).case_id


# ---- public ------------------------------------------------------------------------------


@router.get("/concerns", response_class=HTMLResponse)
async def concerns_page(request: Request) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    found = await run_in_threadpool(top_concerns, ctx, None, top=PUBLIC_TOP)
    names = await run_in_threadpool(catalogue_names, ctx)
    return render(request, "pages/concerns.html", concerns=found, names=names,
                  actor=await run_in_threadpool(session_actor, request))


@router.get("/concerns/{key}", response_class=HTMLResponse)
async def concern_page(request: Request, key: str) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    try:
        concern = await run_in_threadpool(concern_detail, ctx, None, key)
    except DomainError as exc:
        return refused(request, exc)
    names = await run_in_threadpool(catalogue_names, ctx)
    lead = lead_case(concern)
    supports = (await run_in_threadpool(case_supports, ctx, lead)).supports if lead else 0
    return render(
        request, "pages/concern.html", concern=concern, names=names, lead=lead,
        supports=supports, said=request.query_params.get("said"),
        trend=sparkline([w.voices for w in concern.weeks], width=240, height=40),
        actor=await run_in_threadpool(session_actor, request),
    )


def _support(ctx: Context, case_id: int, supporter: Supporter) -> bool:
    return support_case(ctx, case_id, supporter, channel="web").counted


@router.post("/cases/{case_id}/support", response_class=HTMLResponse)
async def me_too(request: Request, case_id: RecordId) -> Response:
    """A resident's "me too" from a page: one per browser (its device cookie) and case."""
    form = await read_form(request, max_files=0, max_fields=10)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    back = form.get("back")
    if not isinstance(back, str) or not _BACK.match(back):
        back = f"/cases/{case_id}"
    device = request.cookies.get(DEVICE_COOKIE, "")
    fresh = not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", device)
    if fresh:
        device = secrets.token_urlsafe(24)
    try:
        await limit_public_async(request, "support")
        email = form_text(form, "email", limits.EMAIL) or None
        counted = await run_in_threadpool(
            _support, ctx_of(request), case_id,
            Supporter(device=device, email=email, notify=email is not None,
                      network=client_address(request), language=choose_language(request)),
        )
        said = "counted" if counted else "again-told" if email else "again"
    except (ValidationFailed, RateLimited) as exc:
        # answered beside the form, in the page's language, with nothing counted
        said = "busy" if isinstance(exc, RateLimited) else "invalid"
    except DomainError as exc:
        return refused(request, exc)
    response = redirect(request, f"{back}?said={said}#me-too")
    if fresh:
        response.set_cookie(
            DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True,
            samesite="lax", secure=request.url.scheme == "https", path="/",
        )
    return response


# ---- staff board -------------------------------------------------------------------------


def _board(ctx: Context, actor: Actor, lang: str) -> dict[str, Any]:
    """Everything the board shows, read in one worker thread."""
    concerns = top_concerns(ctx, actor, top=STAFF_TOP, member_voices=False)
    marks = concern_marks(ctx, actor, [c.key for c in concerns])
    # followed first, each group in rank order
    concerns = sorted(concerns, key=lambda c: (not (c.key in marks and marks[c.key].following),
                                               c.rank))
    hotspots = city_hotspots(ctx)
    areas = area_outlines(ctx)
    shape = None
    if hotspots.hotspots:
        shape = project_map(
            [(code, n[lang], rings) for code, n, rings in areas], [],
            width=480, boxes=[(h.rank, h.south, h.west, h.north, h.east)
                              for h in hotspots.hotspots],
        )
    bursts = city_bursts(ctx)
    return dict(
        concerns=concerns,
        marks=marks,
        bursts=bursts,
        hotspots=hotspots,
        shape=shape,
        area_names={code: n for code, n, _ in areas},
        topic_labels=topic_labels(ctx, [b.code for b in bursts.bursts if b.kind == "topic"]),
        names=catalogue_names(ctx),
        may_set_lead=may_set_lead(actor),
    )


@router.get("/staff/concerns", response_class=HTMLResponse)
async def board(request: Request) -> Response:
    actor = await run_in_threadpool(session_actor, request)
    if actor is None:
        return redirect(request, "/staff/login")
    try:
        values = await run_in_threadpool(_board, ctx_of(request), actor,
                                         choose_language(request))
    except DomainError as exc:
        return refused(request, exc, actor)
    return render(request, "pages/concern_board.html", actor=actor,
                  done=request.query_params.get("done"), **values)


async def _board_action(request: Request, key: str, done: str, act: Any) -> Response:
    """A form on the board: CSRF, the session, the service call, then back to the board."""
    form = await read_form(request, max_files=0, max_fields=10)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    actor = await run_in_threadpool(session_actor, request)
    if actor is None:
        return redirect(request, "/staff/login")
    try:
        await run_in_threadpool(act, ctx_of(request), actor, form)
    except DomainError as exc:
        return refused(request, exc, actor)
    return redirect(request, f"/staff/concerns?done={done}#concern-{key}")


@router.post("/staff/concerns/{key}/lead", response_class=HTMLResponse)
async def lead(request: Request, key: str) -> Response:
    def act(ctx: Context, actor: Actor, form: Any) -> None:
        code = form_text(form, "department", limits.CODE) or None
        set_lead_department(ctx, actor, key, code)

    return await _board_action(request, key, "lead", act)


@router.post("/staff/concerns/{key}/follow", response_class=HTMLResponse)
async def follow(request: Request, key: str) -> Response:
    def act(ctx: Context, actor: Actor, form: Any) -> None:
        follow_concern(ctx, actor, key, form_text(form, "follow", 5) != "no")

    return await _board_action(request, key, "follow", act)
