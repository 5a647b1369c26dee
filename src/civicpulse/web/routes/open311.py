"""Open311 GeoReport v2 at ``/open311/v2``: thin handlers over ``civicpulse.channels.open311``.

Every answer, errors included, is in the format the path asks for (``.xml`` or ``.json``),
and every refusal is the specification's ``{code, description}`` list with 400, 403 or 404
(405 for a wrong method), so an Open311 client never has to understand CivicPulse's own
JSON errors; even a path nobody serves answers that way.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from civicpulse.channels.open311.formats import (
    FORMATS,
    MEDIA_TYPES,
    render_error,
    render_list,
    render_object,
)
from civicpulse.channels.open311.intake import voice_from_request
from civicpulse.channels.open311.mapping import attribute_params
from civicpulse.channels.open311.updates import PostedUpdate, post_update
from civicpulse.channels.open311.views import (
    Params,
    city_zone,
    date_window,
    find_requests,
    known_service,
    last,
    list_services,
    paging,
    request_by_id,
    request_for_token,
    request_query,
    service_definition,
    service_notice,
    updates_feed,
)
from civicpulse.domain.errors import (
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.staff import account_for_api_key, actor_for_token
from civicpulse.services.voices import start_submission
from civicpulse.web.deps import ctx_of, integration_for_key, limit_public_async
from civicpulse.web.forms import read_form
from civicpulse.web.schemas.open311 import (
    READ_PARAMETERS,
    REQUEST_FORM,
    UPDATE_FORM,
    Open311Discovery,
    Open311PostedRequest,
    Open311PostedUpdate,
    Open311RequestToken,
    Open311RequestUpdate,
    Open311Service,
    Open311ServiceDefinition,
    Open311ServiceRequest,
    open311_responses,
    path_parameters,
    query_parameters,
)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00Z"

Handler = Callable[..., Awaitable[Response]]


def _http_status(exc: DomainError) -> int:
    """Only the codes the specification names, plus 429 for the public rate limit."""
    if isinstance(exc, PermissionDenied | NotAuthenticated):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if exc.status_code in (405, 413, 429):
        return exc.status_code
    return 400


def _error(fmt: str, status: int, description: str) -> Response:
    return Response(
        render_error(fmt, status, description), status_code=status, media_type=MEDIA_TYPES[fmt]
    )


def open311(handler: Handler) -> Handler:
    """Check the format, and turn any refusal into the specification's error body.

    The framework sees only ``request``: the handler's path parameters are passed from the
    matched path, so nothing is validated (or refused with the app's own 422) before the
    specification's errors can answer, and the document declares the parameters itself."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        kwargs: dict[str, Any] = dict(request.path_params)
        fmt = kwargs.get("fmt", "json")
        if fmt not in FORMATS:
            return _error("json", 404, "use .xml or .json")
        if any(isinstance(v, str) and "\x00" in v for v in kwargs.values()):
            # PostgreSQL cannot compare a NUL; refused here, in the channel's own format
            return _error(fmt, 400, "the address must not contain NUL characters (%00)")
        try:
            return await handler(request, **kwargs)
        except DomainError as exc:
            return _error(fmt, _http_status(exc), exc.message)
        except HTTPException as exc:
            # the framework's own refusals (a form that does not parse) in the same format
            status = exc.status_code if exc.status_code in (400, 404) else 400
            return _error(fmt, status, str(exc.detail))

    del wrapper.__wrapped__  # FastAPI would read the handler's signature instead
    return wrapper


async def _params(request: Request) -> list[tuple[str, str]]:
    """Query and (for POST) form parameters, in order; the form's come last and win."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await read_form(request)
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if any("\x00" in k or "\x00" in v for k, v in items):
        raise ValidationFailed("parameters must not contain NUL characters")
    return items


def _check_jurisdiction(ctx: Context, params: Params) -> None:
    served = ctx.settings.open311_jurisdiction_id
    if not served:
        return
    given = (last(params, "jurisdiction_id") or "").strip()
    if not given:
        raise ValidationFailed("jurisdiction_id is required")
    if given != served:
        raise NotFound(f"jurisdiction_id {given[:60]!r} is not served here")


def _api_key(request: Request, params: Params) -> str | None:
    return last(params, "api_key") or request.headers.get("x-api-key")


async def _integration(request: Request, params: Params, required: bool) -> Actor | None:
    """The integration behind ``api_key`` (or ``X-API-Key``); anonymous reads are rate-limited."""
    key = _api_key(request, params)
    if not key:
        if required:
            raise PermissionDenied("api_key is required")
        await limit_public_async(request)
        return None
    try:
        return await integration_for_key(request, key)
    except NotAuthenticated as exc:
        raise PermissionDenied("invalid api_key") from exc


async def _read_call(request: Request) -> list[tuple[str, str]]:
    params = await _params(request)
    _check_jurisdiction(ctx_of(request), params)
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


@router.get(
    "/discovery.{fmt}",
    responses=open311_responses(Open311Discovery, "discovery"),
    openapi_extra={"parameters": path_parameters()},
)
@open311
async def discovery(request: Request, fmt: str) -> Response:
    s = ctx_of(request).settings
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


@router.get(
    "/services.{fmt}",
    responses=open311_responses(Open311Service, "services", "service", 403, 429),
    openapi_extra={"parameters": path_parameters() + READ_PARAMETERS},
)
@open311
async def services(request: Request, fmt: str) -> Response:
    await _read_call(request)
    items = await run_in_threadpool(list_services, ctx_of(request))
    return _list(fmt, "services", "service", items)


@router.get(
    "/services/{service_code}.{fmt}",
    responses=open311_responses(Open311ServiceDefinition, "service_definition", None, 403, 429),
    openapi_extra={"parameters": path_parameters("service_code") + READ_PARAMETERS},
)
@open311
async def service(request: Request, service_code: str, fmt: str) -> Response:
    await _read_call(request)
    definition = await run_in_threadpool(service_definition, ctx_of(request), service_code)
    return _object(fmt, "service_definition", definition)


@router.post(
    "/requests.{fmt}",
    responses=open311_responses(
        Open311PostedRequest, "service_requests", "request", 403, body=True
    ),
    openapi_extra={"parameters": path_parameters(), "requestBody": REQUEST_FORM},
)
@open311
async def post_request(request: Request, fmt: str) -> Response:
    """Create a service request: a voice on the ``open311`` channel, answered after commit.

    The answer carries ``service_request_id`` and no ``token``: the specification's token is
    for a request not yet known when the answer is sent, and every request here is a case
    by then. (A resident's tracking code still works at ``tokens/{code}``.)"""
    ctx = ctx_of(request)
    items = await _params(request)
    _check_jurisdiction(ctx, items)
    actor = await _integration(request, items, required=True)
    assert actor is not None
    code = (last(items, "service_code") or "").strip()
    if not code:
        raise ValidationFailed("service_code is required")
    info = await run_in_threadpool(known_service, ctx, code)
    voice = voice_from_request(
        info, dict(items), attribute_params(items), city_zone(ctx), actor.label
    )
    idempotency_key = request.headers.get("idempotency-key")
    result = await asyncio.wrap_future(start_submission(ctx, actor, voice, idempotency_key))
    answer = {
        "service_request_id": str(result.case_id),
        "service_notice": service_notice(info.resolution_hours),
        "account_id": None,
    }
    return _list(fmt, "service_requests", "request", [answer])


@router.get(
    "/requests.{fmt}",
    responses=open311_responses(Open311ServiceRequest, "service_requests", "request", 403, 429),
    openapi_extra={"parameters": path_parameters() + READ_PARAMETERS + query_parameters(
        ("service_request_id", "Request ids separated by commas; overrides the others."),
        ("service_code", "Service codes separated by commas."),
        ("start_date", "W3C datetime; the window is at most 90 days."),
        ("end_date", "W3C datetime."),
        ("status", "open, closed or both, separated by commas."),
        ("page", "From 1."), ("page_size", "1 to 1000."),
    )},
)
@open311
async def get_requests(request: Request, fmt: str) -> Response:
    ctx = ctx_of(request)
    params = await _read_call(request)
    query = request_query(params, ctx.now(), city_zone(ctx))
    items = await run_in_threadpool(find_requests, ctx, query)
    return _list(fmt, "service_requests", "request", items)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    responses=open311_responses(Open311ServiceRequest, "service_requests", "request", 403, 429),
    openapi_extra={"parameters": path_parameters("service_request_id") + READ_PARAMETERS},
)
@open311
async def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    await _read_call(request)
    item = await run_in_threadpool(request_by_id, ctx_of(request), service_request_id)
    return _list(fmt, "service_requests", "request", [item])


@router.get(
    "/tokens/{token}.{fmt}",
    responses=open311_responses(Open311RequestToken, "service_requests", "request", 403, 429),
    openapi_extra={"parameters": path_parameters("token") + READ_PARAMETERS},
)
@open311
async def get_token(request: Request, token: str, fmt: str) -> Response:
    await _read_call(request)
    item = await run_in_threadpool(request_for_token, ctx_of(request), token)
    return _list(fmt, "service_requests", "request", [item])


@router.get(
    "/servicerequestupdates.{fmt}",
    responses=open311_responses(
        Open311RequestUpdate, "service_request_updates", "request_update", 403, 429
    ),
    openapi_extra={"parameters": path_parameters() + READ_PARAMETERS + query_parameters(
        ("start_date", "W3C datetime; the window is at most 90 days."),
        ("end_date", "W3C datetime."), ("page", "From 1."), ("page_size", "1 to 1000."),
    )},
)
@open311
async def get_updates(request: Request, fmt: str) -> Response:
    """The updates feed (FixMyStreet's extension), oldest first, ``page``/``page_size``."""
    ctx = ctx_of(request)
    params = await _read_call(request)
    zone = city_zone(ctx)
    window = date_window(last(params, "start_date"), last(params, "end_date"), ctx.now(), zone)
    page = paging(last(params, "page"), last(params, "page_size"))
    items = await run_in_threadpool(updates_feed, ctx, window, page)
    return _list(fmt, "service_request_updates", "request_update", items)


@router.post(
    "/servicerequestupdates.{fmt}",
    responses=open311_responses(
        Open311PostedUpdate, "service_request_updates", "request_update", 403, body=True
    ),
    openapi_extra={"parameters": path_parameters(), "requestBody": UPDATE_FORM},
)
@open311
async def post_update_route(request: Request, fmt: str) -> Response:
    """A back office's update. With a staff member's bearer token it acts as that member;
    otherwise (FixMyStreet sends its api_key alone) as the staff account the api_key was
    bound to by ``civicpulse keys add NAME --as USER``. A key bound to no account cannot
    change cases. Either way that account's role and departments decide what it may do."""
    ctx = ctx_of(request)
    params = await _params(request)
    _check_jurisdiction(ctx, params)
    await _integration(request, params, required=True)
    staff = await _acting_staff(request, ctx, params)
    update = PostedUpdate(
        service_request_id=last(params, "service_request_id") or "",
        status=last(params, "status") or "",
        description=last(params, "description") or None,
        department=last(params, "department") or None,
        duplicate_of=last(params, "duplicate_of") or None,
    )
    update_id = await run_in_threadpool(post_update, ctx, staff, update)
    return _list(fmt, "service_request_updates", "request_update", [{"update_id": str(update_id)}])


async def _acting_staff(request: Request, ctx: Context, params: Params) -> Actor:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if auth:
        if scheme.lower() != "bearer" or not token.strip():
            raise PermissionDenied("send a staff login as Authorization: Bearer <staff token>")
        try:
            return await run_in_threadpool(actor_for_token, ctx, token.strip())
        except NotAuthenticated as exc:
            raise PermissionDenied("invalid or expired staff token") from exc
    key = _api_key(request, params)
    assert key is not None  # _integration refused a call without one
    try:
        return await run_in_threadpool(account_for_api_key, ctx, key)
    except NotAuthenticated as exc:
        raise PermissionDenied("invalid api_key") from exc


# ---- anything else under /open311/v2 -------------------------------------------------------


_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("", methods=_ANY_METHOD, include_in_schema=False)
@router.api_route("/{rest:path}", methods=_ANY_METHOD, include_in_schema=False)
async def elsewhere(request: Request, rest: str = "") -> Response:
    """Registered last, so it only sees what no route above serves: a wrong method on a
    served path (405) or a path nobody serves (404), in the format its extension names."""
    fmt = "xml" if rest.endswith(".xml") else "json"
    path = f"{router.prefix}/{rest}"
    served = any(
        isinstance(route, APIRoute) and route.endpoint is not elsewhere
        and route.path_regex.match(path)
        for route in router.routes
    )
    if served:
        return _error(fmt, 405, f"{request.method} is not allowed here")
    return _error(fmt, 404, f"/open311/v2/{rest[:80]} is not an Open311 resource")
