"""Resident pages: raise a concern, see the tracking code, follow the case, judge the result.

Submissions go through the same group-commit writer as the JSON API; verdicts and contests
call the same services as ``/api/v1/track/...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import RESIDENT, Actor
from civicpulse.domain.tracking import normalise_tracking_code
from civicpulse.infra.context import Context
from civicpulse.reports.maps import MapShape, project_map
from civicpulse.services.classification import suggest
from civicpulse.services.photos import (
    CleanPhoto,
    case_photo_ids,
    clean_photo,
    load_case_photo,
)
from civicpulse.services.public_views import area_outlines, catalogue_names
from civicpulse.services.queries import case_id_for_code, track_case
from civicpulse.services.supports import case_supports
from civicpulse.services.verdicts import contest_rejection, verify_resolution
from civicpulse.services.voices import Contact, VoiceInput
from civicpulse.web.deps import ctx_of, limit_public_async
from civicpulse.web.forms import read_form
from civicpulse.web.intake import hear
from civicpulse.web.pages.common import (
    choose_language,
    csrf_ok,
    csrf_refused,
    form_text,
    photo_response,
    redirect,
    render,
)
from civicpulse.web.schemas import CategoryHint, RecordId

router = APIRouter(include_in_schema=False)
REPORT_MAP_WIDTH = 300


def _text(form: Any, name: str, limit: int = limits.TEXT) -> str:
    return form_text(form, name, limit)


def _coordinate(form: Any, name: str) -> float | None:
    raw = _text(form, name, 40)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number") from None


def report_map(ctx: Context, lang: str = "en") -> MapShape:
    """The city's areas drawn small enough to fit a phone: the report form's place picker.

    Its width is fixed because a click on an image button is sent in the image's own pixels;
    the page shows it at exactly this size so the server can turn the click into a place."""
    areas = [(code, names[lang], rings) for code, names, rings in area_outlines(ctx)]
    return project_map(areas, [], width=REPORT_MAP_WIDTH)


def map_click(ctx: Context, form: Any) -> tuple[float, float] | None:
    """The place a resident clicked on the report form's map, if the map sent the form.

    Browsers also "click" the first image button at (0, 0) when Enter submits a form; that
    is read as an ordinary submission, not as a place."""
    x, y = form.get("map.x"), form.get("map.y")
    if x is None or y is None:
        return None
    try:
        px, py = float(x), float(y)
    except (TypeError, ValueError):
        raise ValidationFailed("the click on the map was not understood") from None
    if px == 0 and py == 0:
        return None
    frame = report_map(ctx).frame
    place = frame.latlon(px, py) if frame else None
    if place is None:
        raise ValidationFailed("click inside the map to mark the place")
    return place


async def _form_page(request: Request, status_code: int = 200, **values: Any) -> HTMLResponse:
    ctx = ctx_of(request)
    names = await run_in_threadpool(catalogue_names, ctx)
    shape = await run_in_threadpool(report_map, ctx)
    values.setdefault("form", {})
    return render(
        request,
        "pages/report.html",
        status_code,
        names=names,
        map_frame=shape.frame,
        photo_mb=f"{ctx.settings.photo_max_bytes / 1_000_000:g}",
        **values,
    )


@router.post("/report/suggest", response_model_exclude_unset=True)
async def report_suggest(request: Request) -> CategoryHint:
    """The category the city's model reads in a draft, for the form's script to preselect.

    Nothing is stored: it answers only what the model thinks of the text, and only when it is
    at least as sure as intake requires before applying a category by itself."""
    await limit_public_async(request)
    form = await read_form(request, max_files=0, max_fields=5)
    text = _text(form, "text")
    if len(text) < 8:
        return CategoryHint(category=None)
    ctx = ctx_of(request)
    hint = await run_in_threadpool(suggest, ctx, text)
    if hint is None or hint.confidence < ctx.settings.classifier_min_confidence:
        return CategoryHint(category=None)
    return CategoryHint(category=hint.category, confidence=round(hint.confidence, 3))


@router.get("/map/place.svg")
async def report_map_image(
    request: Request,
    lat: float | None = Query(None, ge=-90, le=90),
    lon: float | None = Query(None, ge=-180, le=180),
) -> Response:
    """The picker map as an SVG image, with a marker where the resident put the place."""
    ctx = ctx_of(request)
    shape = await run_in_threadpool(report_map, ctx, choose_language(request))
    marker = None
    if shape.frame is not None and lat is not None and lon is not None:
        marker = shape.frame.xy(lat, lon)
    page = render(request, "pages/report_map.svg", shape=shape, marker=marker)
    return Response(
        page.body,
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=60"},
    )


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request) -> HTMLResponse:
    return await _form_page(request)


async def _photo(ctx: Context, form: Any) -> CleanPhoto | None:
    """The attached photo, checked and stripped of metadata, or None when none was chosen."""
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    s = ctx.settings
    raw = await upload.read(s.photo_max_bytes + 1)
    return await run_in_threadpool(
        clean_photo,
        raw,
        max_bytes=s.photo_max_bytes,
        max_pixels=s.photo_max_pixels,
        max_side=s.photo_max_side,
    )


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request) -> Response:
    await limit_public_async(request)
    form = await read_form(request, max_files=1, max_fields=40)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    ctx = ctx_of(request)
    try:
        picked = await run_in_threadpool(map_click, ctx, form)
        if picked is not None:
            # a click on the map (without JavaScript) fills in the place and shows the form
            # again: the report is sent only with the Send button
            values = {k: v for k, v in form.items() if isinstance(v, str)}
            values["lat"], values["lon"] = f"{picked[0]:.6f}", f"{picked[1]:.6f}"
            return await _form_page(request, form=values, picked=True)
        contact = Contact(
            name=_text(form, "contact_name", limits.NAME) or None,
            email=_text(form, "contact_email", limits.EMAIL) or None,
            phone=_text(form, "contact_phone", limits.PHONE) or None,
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
            title=_text(form, "title", limits.TITLE) or None,
            category=_text(form, "category", limits.CODE) or None,
            channel="web",
            lat=lat,
            lon=lon,
            address=_text(form, "address", limits.ADDRESS) or None,
            contact=contact,
            photo=await _photo(ctx, form),
        )
        result = await hear(ctx, Actor(kind="resident", name="anonymous"), voice)
    except DomainError as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        return await _form_page(request, exc.status_code, error=exc.message, form=values)
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
    case_id = await run_in_threadpool(case_id_for_code, ctx, code)
    photos = await run_in_threadpool(case_photo_ids, ctx, case_id)
    # the reporter sees how many said "me too", but is not offered the button: their own
    # voice already counts them
    supports = (await run_in_threadpool(case_supports, ctx, case_id)).supports
    return render(
        request, "pages/track.html", status_code, case=case, names=names, photos=photos,
        supports=supports, **values,
    )


@router.get("/track/{code}/photos/{photo_id}")
async def track_photo(request: Request, code: str, photo_id: RecordId) -> Response:
    """A photo of the resident's own case: the tracking code is the key."""
    await limit_public_async(request)
    ctx = ctx_of(request)
    try:
        case_id = await run_in_threadpool(case_id_for_code, ctx, code)
        photo = await run_in_threadpool(load_case_photo, ctx, case_id, photo_id)
    except DomainError as exc:
        return render(request, "pages/track_lookup.html", exc.status_code, error=exc.message)
    return photo_response(photo.data, photo.content_type)


@router.get("/track/{code}", response_class=HTMLResponse)
async def track_page(request: Request, code: str) -> HTMLResponse:
    await limit_public_async(request)
    return await _track_page(request, code, done=request.query_params.get("done"))


async def _resident_action(
    request: Request, code: str, done: str, act: Callable[[Context, Any], object]
) -> Response:
    """The forms on the status page: checked, acted on, then back to the page with a note;
    a refusal shows the page again with the reason."""
    await limit_public_async(request)
    form = await read_form(request)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    try:
        await run_in_threadpool(act, ctx_of(request), form)
    except DomainError as exc:
        return await _track_page(request, code, exc.status_code, error=exc.message)
    return redirect(request, f"/track/{normalise_tracking_code(code)}?done={done}")


@router.post("/track/{code}/verify", response_class=HTMLResponse)
async def verify(request: Request, code: str) -> Response:
    def act(ctx: Context, form: Any) -> None:
        fixed = form.get("fixed")
        if fixed not in ("yes", "no"):
            raise ValidationFailed("say whether it was really fixed: yes or no")
        raw = _text(form, "satisfaction", 2)
        if raw not in {"1", "2", "3", "4", "5"}:
            raise ValidationFailed("choose a satisfaction from 1 to 5")
        comment = _text(form, "comment", limits.COMMENT) or None
        verify_resolution(ctx, RESIDENT, code, fixed == "yes", int(raw), comment)

    return await _resident_action(request, code, "verified", act)


@router.post("/track/{code}/contest", response_class=HTMLResponse)
async def contest(request: Request, code: str) -> Response:
    def act(ctx: Context, form: Any) -> None:
        contest_rejection(ctx, RESIDENT, code, _text(form, "reason", limits.REASON))

    return await _resident_action(request, code, "contested", act)
