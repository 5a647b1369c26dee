"""Staff pages: log in and out, one's password, the inbox (overdue first), the case page
and its actions.

The session cookie holds a staff token from ``services.staff.login`` (HttpOnly, SameSite=Lax),
so the pages and the API share one login rule, one throttle and one lockout; logging out
ends the token on the server. Every action calls the same
service as the API route of the same name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CaseStatus
from civicpulse.services.case_commands import COMMANDS, CaseCommand, perform
from civicpulse.services.case_insights import case_insights
from civicpulse.services.formalism import case_formalism
from civicpulse.services.formalism_views import code_words
from civicpulse.services.photos import case_photo_ids, load_case_photo
from civicpulse.services.public_views import catalogue_names
from civicpulse.services.queries import CaseFilter, get_case, list_cases
from civicpulse.services.reply_checks import ReplyCheck, check_reply
from civicpulse.services.staff import change_password, login, logout
from civicpulse.web.deps import ctx_of, limit_public_async
from civicpulse.web.forms import read_form
from civicpulse.web.pages.common import (
    SESSION_COOKIE,
    csrf_ok,
    csrf_refused,
    form_text,
    photo_response,
    redirect,
    refused,
    render,
    session_actor,
)
from civicpulse.web.schemas import RecordId

router = APIRouter(prefix="/staff", include_in_schema=False)



def _field(form: Any, name: str, limit: int = limits.REASON) -> str:
    return form_text(form, name, limit)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render(request, "pages/login.html")


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    try:
        await limit_public_async(request, "login")
        username = _field(form, "username", 100)
        password = _field(form, "password", 200)
        token = await run_in_threadpool(login, ctx_of(request), username, password)
    except DomainError as exc:
        return render(
            request, "pages/login.html", exc.status_code, error=exc.message,
            username=str(form.get("username", ""))[:100],
        )
    response = redirect(request, "/staff")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=ctx_of(request).settings.token_ttl_hours * 3600,
        path="/",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
async def logout_submit(request: Request) -> Response:
    """Log out: the session's token is ended on the server, not only forgotten by this
    browser, so a copied cookie or token stops working too."""
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(logout, ctx_of(request), token)
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    return render(request, "pages/password.html", actor=actor)


@router.post("/password", response_class=HTMLResponse)
async def password_submit(request: Request) -> Response:
    """Change one's own password; every other session of the account ends, this one goes on."""
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    try:
        current = _field(form, "current_password", 200)
        new = _field(form, "new_password", 200)
        if new != _field(form, "repeat_password", 200):
            raise ValidationFailed("the two new passwords differ")
        ended = await run_in_threadpool(
            change_password, ctx_of(request), actor, current, new,
            request.cookies.get(SESSION_COOKIE),
        )
    except DomainError as exc:
        return render(request, "pages/password.html", exc.status_code, actor=actor,
                      error=exc.message)
    return render(request, "pages/password.html", actor=actor, changed=True, ended=ended)


async def _actor(request: Request) -> Actor | None:
    return await run_in_threadpool(session_actor, request)


@router.get("", response_class=HTMLResponse)
async def inbox(
    request: Request,
    status: str = Query("", max_length=32),
    category: str = Query("", max_length=64),
    department: str = Query("", max_length=64),
    q: str = Query("", max_length=200),
) -> Response:
    """The cases the staff member may see, overdue first."""
    return await _case_table(request, status, category, department, q, triage=False)


@router.get("/triage", response_class=HTMLResponse)
async def triage(
    request: Request,
    category: str = Query("", max_length=64),
    department: str = Query("", max_length=64),
    q: str = Query("", max_length=200),
) -> Response:
    """The dispatcher's queue: cases nobody has routed yet, uncategorised and oldest first."""
    return await _case_table(request, "", category, department, q, triage=True)


async def _case_table(
    request: Request, status: str, category: str, department: str, q: str, *, triage: bool
) -> Response:
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    ctx = ctx_of(request)
    if status not in {s.value for s in CaseStatus}:
        status = ""
    base = dict(
        status=status or None, category=category or None, department=department or None,
        q=q or None, page_size=200,
    )
    try:
        if triage:
            waiting = await run_in_threadpool(
                list_cases, ctx, actor, CaseFilter(triage=True, **base)  # type: ignore[arg-type]
            )
            items, total = waiting.items, waiting.total
        else:
            overdue = await run_in_threadpool(
                list_cases, ctx, actor, CaseFilter(overdue=True, **base)  # type: ignore[arg-type]
            )
            others = await run_in_threadpool(
                list_cases, ctx, actor, CaseFilter(overdue=False, **base)  # type: ignore[arg-type]
            )
            items = [*overdue.items, *others.items]
            total = overdue.total + others.total
    except DomainError as exc:
        return refused(request, exc, actor)
    names = await run_in_threadpool(catalogue_names, ctx)
    return render(
        request,
        "pages/inbox.html",
        actor=actor,
        items=items,
        total=total,
        names=names,
        statuses=[s.value for s in CaseStatus],
        filters={"status": status, "category": category, "department": department, "q": q},
        triage=triage,
    )


async def _case_page(
    request: Request, actor: Actor, case_id: int, status_code: int = 200, **values: Any
) -> HTMLResponse:
    ctx = ctx_of(request)
    try:
        case = await run_in_threadpool(get_case, ctx, actor, case_id)
    except DomainError as exc:
        return refused(request, exc, actor)
    names = await run_in_threadpool(catalogue_names, ctx)
    photos = await run_in_threadpool(case_photo_ids, ctx, case_id)
    insight = await run_in_threadpool(case_insights, ctx, actor, case_id)
    # the case's formalism flags only when asked (?formalism=1): finding its repeats reads
    # the city's resolutions around it, too much for every opening of a case
    flags = (await run_in_threadpool(case_formalism, ctx, actor, case_id)
             if request.query_params.get("formalism") == "1" else None)
    return render(
        request, "pages/staff_case.html", status_code, actor=actor, case=case, names=names,
        photos=photos, insight=insight, formalism=flags, code_words=code_words, **values,
    )


@router.get("/cases/{case_id}/photos/{photo_id}")
async def case_photo(request: Request, case_id: RecordId, photo_id: RecordId) -> Response:
    """A photo of a case, for staff who may see the case."""
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    ctx = ctx_of(request)
    try:
        await run_in_threadpool(get_case, ctx, actor, case_id)  # the case's own access check
        photo = await run_in_threadpool(load_case_photo, ctx, case_id, photo_id)
    except DomainError as exc:
        return refused(request, exc, actor)
    return photo_response(photo.data, photo.content_type)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: RecordId) -> Response:
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    return await _case_page(request, actor, case_id, done=request.query_params.get("done"))


#: the action whose message is checked before sending: the resolution, which tells the
#: resident what was done (an interim reply is assessed and recorded, not held up)
NUDGED = ("resolve",)


def _nudge(ctx: Any, actor: Actor, case_id: int, message: str) -> ReplyCheck | None:
    """The reply's check when it looks hollow, for a case the actor may act on (the
    reasons can quote the resident's words); None when it answers, or is empty (the
    action itself then says what is missing)."""
    get_case(ctx, actor, case_id)
    if not message.strip():
        return None
    check = check_reply(ctx, case_id, message)
    return check if check.hollow else None


def _perform(ctx: Any, actor: Actor, case_id: int, action: str, form: Any) -> None:
    raw_version = _field(form, "version", 12)
    into = _field(form, "into_case_id", 12)
    command = CaseCommand(
        action,
        message=_field(form, "message", limits.TEXT),
        reason=_field(form, "reason"),
        department=_field(form, "department", limits.CODE),
        into_case_id=int(into) if into.isdecimal() else None,
        urgent=_field(form, "urgent", 5) == "yes",
        sent_anyway=_field(form, "send_anyway", 5) == "yes",
    )
    perform(
        ctx, actor, case_id, [command],
        expected_version=int(raw_version) if raw_version.isdecimal() else None,
    )


@router.post("/cases/{case_id}/{action}", response_class=HTMLResponse)
async def case_action(request: Request, case_id: RecordId, action: str) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    actor = await _actor(request)
    if actor is None:
        return redirect(request, "/staff/login")
    if action not in COMMANDS:
        return refused(request, ValidationFailed(f"unknown action {action!r}"), actor)
    try:
        if action in NUDGED and _field(form, "send_anyway", 5) != "yes":
            message = _field(form, "message", limits.TEXT)
            check = await run_in_threadpool(_nudge, ctx_of(request), actor, case_id, message)
            if check is not None:  # shown before sending; the officer may still send it
                return await _case_page(request, actor, case_id, nudge=check,
                                        draft={"action": action, "message": message})
        await run_in_threadpool(_perform, ctx_of(request), actor, case_id, action, form)
    except DomainError as exc:
        return await _case_page(request, actor, case_id, exc.status_code, error=exc.message)
    return redirect(request, f"/staff/cases/{case_id}?done={action}")
