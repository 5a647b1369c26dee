"""Open311 GeoReport v2 at ``/open311/v2``: thin handlers over ``civicpulse.open311``.

Every answer, errors included, is in the format the path asks for (``.xml`` or ``.json``),
and every refusal is the specification's ``{code, description}`` with 400, 403 or 404, so
an Open311 client never has to understand CivicPulse's own JSON errors.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.errors import (
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.open311.formats import (
    FORMATS,
    MEDIA_TYPES,
    render_error,
    render_list,
    render_object,
)
from civicpulse.open311.intake import voice_from_request
from civicpulse.open311.mapping import attribute_params
from civicpulse.open311.updates import PostedUpdate, apply_update
from civicpulse.open311.views import (
    city_zone,
    date_window,
    find_requests,
    list_services,
    paging,
    request_by_id,
    request_for_token,
    request_query,
    service_definition,
    service_info,
    service_notice,
    updates_feed,
)
from civicpulse.services.staff import actor_for_api_key, actor_for_token, sha256
from civicpulse.services.voices import start_submission
from civicpulse.web.deps import limit_public

router = APIRouter(prefix="/open311/v2", tags=["open311"], include_in_schema=False)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00Z"

Handler = Callable[..., Awaitable[Response]]


def _http_status(exc: DomainError) -> int:
    """Only the codes the specification names, plus 429 for the public rate limit."""
    if isinstance(exc, PermissionDenied | NotAuthenticated):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if exc.status_code in (413, 429):
        return exc.status_code
    return 400


def open311(handler: Handler) -> Handler:
    """Check the format, and turn any refusal into the specification's error body."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        fmt = kwargs.get("fmt", "json")
        if fmt not in FORMATS:
            return Response(
                render_error("json", 404, "use .xml or .json"),
                status_code=404,
                media_type=MEDIA_TYPES["json"],
            )
        try:
            return await handler(*args, **kwargs)
        except DomainError as exc:
            status = _http_status(exc)
            return Response(
                render_error(fmt, status, exc.message),
                status_code=status,
                media_type=MEDIA_TYPES[fmt],
            )

    return wrapper


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def _params(request: Request) -> list[tuple[str, str]]:
    """Query and (for POST) form parameters, in order; the form's come last and win."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if any("\x00" in k or "\x00" in v for k, v in items):
        raise ValidationFailed("parameters must not contain NUL characters")
    return items


def _check_jurisdiction(ctx: Context, params: dict[str, str]) -> None:
    served = ctx.settings.open311_jurisdiction_id
    if not served:
        return
    given = params.get("jurisdiction_id", "").strip()
    if not given:
        raise ValidationFailed("jurisdiction_id is required")
    if given != served:
        raise NotFound(f"jurisdiction_id {given[:60]!r} is not served here")


async def _integration(request: Request, params: dict[str, str], required: bool) -> Actor | None:
    """The integration behind ``api_key`` (or ``X-API-Key``); anonymous reads are rate-limited."""
    key = params.get("api_key") or request.headers.get("x-api-key")
    if not key:
        if required:
            raise PermissionDenied("api_key is required")
        limit_public(request)
        return None
    ctx = _ctx(request)
    cached = ctx.api_keys.get(sha256(key))
    if cached is not None:
        return cached
    try:
        return await run_in_threadpool(actor_for_api_key, ctx, key)
    except NotAuthenticated as exc:
        raise PermissionDenied("invalid api_key") from exc


async def _read_call(request: Request) -> dict[str, str]:
    params = dict(await _params(request))
    _check_jurisdiction(_ctx(request), params)
    await _integration(request, params, required=False)
    return params


def _list(
    fmt: str, root: str, item: str, items: list[dict[str, Any]], status: int = 200
) -> Response:
    return Response(
        render_list(fmt, root, item, items), status_code=status, media_type=MEDIA_TYPES[fmt]
    )


def _object(fmt: str, root: str, obj: dict[str, Any]) -> Response:
    return Response(render_object(fmt, root, obj), media_type=MEDIA_TYPES[fmt])


@router.get("/discovery.{fmt}")
@open311
async def discovery(request: Request, fmt: str) -> Response:
    s = _ctx(request).settings
    base = s.public_base_url.rstrip("/") + "/open311/v2"
    return _object(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": s.mail_from,
            "key_service": "Ask the city for an API key (created with `civicpulse keys add`).",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@router.get("/services.{fmt}")
@open311
async def services(request: Request, fmt: str) -> Response:
    await _read_call(request)
    items = await run_in_threadpool(list_services, _ctx(request))
    return _list(fmt, "services", "service", items)


@router.get("/services/{service_code}.{fmt}")
@open311
async def service(request: Request, service_code: str, fmt: str) -> Response:
    await _read_call(request)
    definition = await run_in_threadpool(service_definition, _ctx(request), service_code)
    return _object(fmt, "service_definition", definition)


@router.post("/requests.{fmt}")
@open311
async def post_request(request: Request, fmt: str) -> Response:
    """Create a service request: a voice on the ``open311`` channel, answered after commit."""
    ctx = _ctx(request)
    items = await _params(request)
    params = dict(items)
    _check_jurisdiction(ctx, params)
    actor = await _integration(request, params, required=True)
    assert actor is not None
    code = params.get("service_code", "").strip()
    if not code:
        raise ValidationFailed("service_code is required")
    info = await run_in_threadpool(service_info, ctx, code)
    if info is None:
        raise ValidationFailed(f"service_code {code[:60]!r} not found")
    voice = voice_from_request(info, params, attribute_params(items), city_zone(ctx), actor.label)
    idempotency_key = request.headers.get("idempotency-key")
    result = await asyncio.wrap_future(start_submission(ctx, actor, voice, idempotency_key))
    answer = {
        "service_request_id": str(result.case_id),
        "token": result.tracking_code,
        "service_notice": service_notice(info.resolution_hours),
        "account_id": None,
    }
    return _list(fmt, "service_requests", "request", [answer])


@router.get("/requests.{fmt}")
@open311
async def get_requests(request: Request, fmt: str) -> Response:
    ctx = _ctx(request)
    params = await _read_call(request)
    query = request_query(params, ctx.now(), city_zone(ctx))
    items = await run_in_threadpool(find_requests, ctx, query)
    return _list(fmt, "service_requests", "request", items)


@router.get("/requests/{service_request_id}.{fmt}")
@open311
async def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    await _read_call(request)
    item = await run_in_threadpool(request_by_id, _ctx(request), service_request_id)
    return _list(fmt, "service_requests", "request", [item])


@router.get("/tokens/{token}.{fmt}")
@open311
async def get_token(request: Request, token: str, fmt: str) -> Response:
    await _read_call(request)
    item = await run_in_threadpool(request_for_token, _ctx(request), token)
    return _list(fmt, "service_requests", "request", [item])


@router.get("/servicerequestupdates.{fmt}")
@open311
async def get_updates(request: Request, fmt: str) -> Response:
    """The updates feed (FixMyStreet's extension), oldest first, ``page``/``page_size``."""
    ctx = _ctx(request)
    params = await _read_call(request)
    zone = city_zone(ctx)
    window = date_window(params.get("start_date"), params.get("end_date"), ctx.now(), zone)
    page = paging(params.get("page"), params.get("page_size"))
    items = await run_in_threadpool(updates_feed, ctx, window, page)
    return _list(fmt, "service_request_updates", "request_update", items)


@router.post("/servicerequestupdates.{fmt}")
@open311
async def post_update(request: Request, fmt: str) -> Response:
    """A back office's update: needs the integration's api_key *and* a staff member's bearer
    token, whose role and departments decide what the update may do."""
    ctx = _ctx(request)
    params = dict(await _params(request))
    _check_jurisdiction(ctx, params)
    await _integration(request, params, required=True)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PermissionDenied(
            "an update needs a staff login: send Authorization: Bearer <staff token>"
        )
    try:
        staff = await run_in_threadpool(actor_for_token, ctx, token.strip())
    except NotAuthenticated as exc:
        raise PermissionDenied("invalid or expired staff token") from exc
    update = PostedUpdate(
        service_request_id=params.get("service_request_id", ""),
        status=params.get("status", ""),
        description=params.get("description") or None,
        department=params.get("department") or None,
        duplicate_of=params.get("duplicate_of") or None,
    )
    update_id = await run_in_threadpool(apply_update, ctx, staff, update)
    return _list(fmt, "service_request_updates", "request_update", [{"update_id": str(update_id)}])
