"""Resident pages: raise a concern, see the tracking code, follow the case, judge the result.

Submissions go through the same group-commit writer as the JSON API; verdicts and contests
call the same services as ``/api/v1/track/...``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import RESIDENT, Actor
from civicpulse.domain.tracking import normalise_tracking_code
from civicpulse.services.cases import contest_rejection, verify_resolution
from civicpulse.services.public_views import catalogue_names
from civicpulse.services.queries import track_case
from civicpulse.services.voices import Contact, VoiceInput, start_submission
from civicpulse.web.deps import limit_public
from civicpulse.web.pages.common import (
    csrf_ok,
    csrf_refused,
    ctx_of,
    form_text,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)


def _text(form: Any, name: str, limit: int = 8000) -> str:
    return form_text(form, name, limit)


def _coordinate(form: Any, name: str) -> float | None:
    raw = _text(form, name, 40)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number") from None


async def _form_page(request: Request, status_code: int = 200, **values: Any) -> HTMLResponse:
    names = await run_in_threadpool(catalogue_names, ctx_of(request))
    values.setdefault("form", {})
    return render(request, "pages/report.html", status_code, names=names, **values)


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request) -> HTMLResponse:
    return await _form_page(request)


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request) -> Response:
    limit_public(request)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused(request)
    ctx = ctx_of(request)
    try:
        contact = Contact(
            name=_text(form, "contact_name", 200) or None,
            email=_text(form, "contact_email", 200) or None,
            phone=_text(form, "contact_phone", 50) or None,
        )
        if contact.any() and form.get("consent") != "yes":
            raise ValidationFailed(
                "to keep your contact details, tick the box that allows us to contact you"
            )
        lat, lon = _coordinate(form, "lat"), _coordinate(form, "lon")
        if (lat is None) != (lon is None):
            raise ValidationFailed("give both latitude and longitude, or neither")
        voice = VoiceInput(
            text=_text(form, "text"),
            title=_text(form, "title", 200) or None,
            category=_text(form, "category", 64) or None,
            channel="web",
            lat=lat,
            lon=lon,
            address=_text(form, "address", 500) or None,
            contact=contact,
        )
        pending = start_submission(ctx, Actor(kind="resident", name="anonymous"), voice)
        result = await asyncio.wrap_future(pending)
    except DomainError as exc:
        return await _form_page(request, exc.status_code, error=exc.message, form=dict(form))
    return redirect(request, f"/report/thanks/{result.tracking_code}")


@router.get("/report/thanks/{code}", response_class=HTMLResponse)
async def report_thanks(request: Request, code: str) -> HTMLResponse:
    return render(request, "pages/thanks.html", code=normalise_tracking_code(code))


@router.get("/track", response_class=HTMLResponse)
async def track_lookup(request: Request) -> Response:
    code = request.query_params.get("code", "").strip()
    if code:
        try:
            return redirect(request, f"/track/{normalise_tracking_code(code)}")
        except DomainError as exc:
            return render(request, "pages/track_lookup.html", 404, error=exc.message)
    return render(request, "pages/track_lookup.html")


async def _track_page(
    request: Request, code: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    ctx = ctx_of(request)
    try:
        case = await run_in_threadpool(track_case, ctx, code)
    except DomainError as exc:
        return render(request, "pages/track_lookup.html", exc.status_code, error=exc.message)
    names = await run_in_threadpool(catalogue_names, ctx)
    return render(request, "pages/track.html", status_code, case=case, names=names, **values)


@router.get("/track/{code}", response_class=HTMLResponse)
async def track_page(request: Request, code: str) -> HTMLResponse:
    limit_public(request)
    return await _track_page(request, code, done=request.query_params.get("done"))


@router.post("/track/{code}/verify", response_class=HTMLResponse)
async def verify(request: Request, code: str) -> Response:
    limit_public(request)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused(request)
    ctx = ctx_of(request)
    try:
        fixed = form.get("fixed")
        if fixed not in ("yes", "no"):
            raise ValidationFailed("say whether it was really fixed: yes or no")
        raw = _text(form, "satisfaction", 2)
        if raw not in {"1", "2", "3", "4", "5"}:
            raise ValidationFailed("choose a satisfaction from 1 to 5")
        comment = _text(form, "comment", 2000) or None
        await run_in_threadpool(
            verify_resolution, ctx, RESIDENT, code, fixed == "yes", int(raw), comment
        )
    except DomainError as exc:
        return await _track_page(request, code, exc.status_code, error=exc.message)
    return redirect(request, f"/track/{normalise_tracking_code(code)}?done=verified")


@router.post("/track/{code}/contest", response_class=HTMLResponse)
async def contest(request: Request, code: str) -> Response:
    limit_public(request)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused(request)
    ctx = ctx_of(request)
    try:
        reason = _text(form, "reason", 2000)
        await run_in_threadpool(contest_rejection, ctx, RESIDENT, code, reason)
    except DomainError as exc:
        return await _track_page(request, code, exc.status_code, error=exc.message)
    return redirect(request, f"/track/{normalise_tracking_code(code)}?done=contested")

