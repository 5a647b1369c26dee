"""Admin pages: the service catalogue (departments, categories with deadlines, areas from a
GeoJSON upload, or a whole catalogue file) and staff accounts (add one; end all sessions of
one, disable or enable it).

Each form calls the same service as ``civicpulse categories import`` / ``users add``; the
admin role is checked here before the call because those services trust their caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import Actor, Role, require_role
from civicpulse.services.catalogue import export_catalogue, import_catalogue, load_catalogue_text
from civicpulse.services.staff import add_user, end_sessions, list_users, set_active
from civicpulse.web.deps import ctx_of
from civicpulse.web.forms import read_form
from civicpulse.web.pages.common import (
    csrf_ok,
    csrf_refused,
    form_text,
    redirect,
    refused,
    render,
    session_actor,
)

router = APIRouter(prefix="/staff/admin", include_in_schema=False)

FORMS = ("department", "category", "area", "catalogue", "user")
#: what an admin does to one staff account from its row; each ends the account's sessions
#: (except ``enable``), so a lost laptop or a leaving employee is locked out at once
ACCOUNT_ACTIONS = ("sessions", "disable", "enable")
MAX_UPLOAD = 900_000


async def _admin(request: Request) -> Actor | None:
    return await run_in_threadpool(session_actor, request)


async def _page(request: Request, actor: Actor, status_code: int = 200, **values: Any) -> Response:
    ctx = ctx_of(request)
    catalogue = await run_in_threadpool(export_catalogue, ctx)
    users = await run_in_threadpool(list_users, ctx)
    return render(
        request, "pages/admin.html", status_code, actor=actor, catalogue=catalogue,
        users=users, roles=[r.value for r in Role], **values,
    )


@router.get("", response_class=HTMLResponse)
async def admin_home(request: Request) -> Response:
    actor = await _admin(request)
    if actor is None:
        return redirect(request, "/staff/login")
    try:
        require_role(actor, Role.ADMIN)
    except DomainError as exc:
        return refused(request, exc, actor)
    return await _page(request, actor, done=request.query_params.get("done"))


def _text(form: Any, name: str, limit: int = 500) -> str:
    return form_text(form, name, limit)


async def _upload(form: Any, name: str) -> str:
    """The uploaded file's text, or the same-named text area's when no file was chosen."""
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        raw = await value.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ValidationFailed(f"the file must be at most {MAX_UPLOAD} bytes")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("the file must be UTF-8 text") from None
    text = form.get(f"{name}_text", "")
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("choose a file or paste its content")
    return text


def _hours(form: Any, name: str) -> int | None:
    raw = _text(form, name, 6)
    if not raw:
        return None
    if not raw.isdecimal():
        raise ValidationFailed(f"{name} must be a whole number of hours")
    return int(raw)


async def _data_for(kind: str, form: Any) -> dict[str, Any]:
    if kind == "department":
        return {"departments": [{
            "code": _text(form, "code", 64), "name_en": _text(form, "name_en", 200),
            "name_zh": _text(form, "name_zh", 200), "email": _text(form, "email", 200) or None,
        }]}
    if kind == "category":
        category: dict[str, Any] = {
            "code": _text(form, "code", 64), "name_en": _text(form, "name_en", 200),
            "name_zh": _text(form, "name_zh", 200),
            "department": _text(form, "department", 64) or None,
            "first_response_hours": _hours(form, "first_response_hours"),
            "resolution_hours": _hours(form, "resolution_hours"),
            "active": form.get("active") == "yes",
        }
        extra = _text(form, "extra_fields", 20_000)
        if extra:  # left empty, a category keeps the extra fields it has
            category["extra_fields"] = extra
        return {"categories": [category]}
    if kind == "area":
        return {"areas": [{
            "code": _text(form, "code", 64), "name_en": _text(form, "name_en", 200),
            "name_zh": _text(form, "name_zh", 200), "geojson": await _upload(form, "geojson"),
        }]}
    text = await _upload(form, "catalogue")
    return load_catalogue_text(text, "csv" if form.get("format") == "csv" else "yaml")


async def _account_action(ctx: Any, actor: Actor, kind: str, username: str) -> None:
    if kind == "sessions":
        await run_in_threadpool(end_sessions, ctx, actor, username)
    else:
        await run_in_threadpool(set_active, ctx, actor, username, kind == "enable")


@router.post("/{kind}", response_class=HTMLResponse)
async def admin_post(request: Request, kind: str) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    actor = await _admin(request)
    if actor is None:
        return redirect(request, "/staff/login")
    ctx = ctx_of(request)
    try:
        require_role(actor, Role.ADMIN)
        if kind not in FORMS + ACCOUNT_ACTIONS:
            raise ValidationFailed(f"unknown form {kind!r}")
        if kind in ACCOUNT_ACTIONS:
            await _account_action(ctx, actor, kind, _text(form, "username", 100))
        elif kind == "user":
            await run_in_threadpool(
                add_user, ctx, actor, _text(form, "username", 100), _text(form, "role", 20),
                _text(form, "password", 200), _text(form, "department", 64) or None,
            )
        else:
            data = await _data_for(kind, form)
            await run_in_threadpool(import_catalogue, ctx, actor, data)
    except DomainError as exc:
        if exc.status_code in (401, 403):
            return refused(request, exc, actor)
        return await _page(request, actor, exc.status_code, error=exc.message, failed=kind)
    return redirect(request, f"/staff/admin?done={kind}")
