"""Public pages: what the city hears, the case list and page, the department league table.

Nothing here shows personal data: the read models behind them never load contacts or voice
text."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.errors import DomainError
from civicpulse.domain.workflow import CaseStatus
from civicpulse.reports.charts import horizontal_bars, stacked_columns
from civicpulse.reports.maps import project_map
from civicpulse.services.export import FIELDS as EXPORT_FIELDS
from civicpulse.services.formalism import published_formalism
from civicpulse.services.formalism_views import LEAGUE_RATES
from civicpulse.services.open_data import open_data_file
from civicpulse.services.public_views import (
    catalogue_names,
    public_case,
    public_cases,
    public_map,
    published_overview,
)
from civicpulse.services.scorecards import published_scorecards
from civicpulse.services.supports import case_supports
from civicpulse.web.deps import ctx_of, limit_public_async
from civicpulse.web.pages.common import choose_language, refused, render, session_actor
from civicpulse.web.schemas import RecordId

router = APIRouter(include_in_schema=False)


def _name(names: dict[str, dict[str, str]], code: str | None, lang: str) -> str:
    if not code:
        return ""
    entry = names.get(code)
    return entry.get(lang, code) if entry else code


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    overview = await run_in_threadpool(published_overview, ctx)
    names = await run_in_threadpool(catalogue_names, ctx)
    lang = choose_language(request)
    cat_items = [
        (_name(names["categories"], code, lang), n) for code, n in overview.by_category[:10]
    ]
    bars, bars_height = horizontal_bars(cat_items)
    status_bars, status_height = horizontal_bars(
        sorted(overview.by_status.items(), key=lambda kv: -kv[1])
    )
    columns = stacked_columns(
        [w.strftime("%m-%d") for w in overview.weeks], overview.weekly_by_status
    )
    return render(
        request,
        "pages/home.html",
        overview=overview,
        bars=bars,
        bars_height=bars_height,
        status_bars=status_bars,
        status_height=status_height,
        columns=columns,
        actor=await run_in_threadpool(session_actor, request),
    )


@router.get("/cases", response_class=HTMLResponse)
async def case_list(
    request: Request,
    q: str = Query("", max_length=200),
    category: str = Query("", max_length=64),
    status: str = Query("", max_length=32),
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    if status and status not in {s.value for s in CaseStatus}:
        status = ""
    result = await run_in_threadpool(
        public_cases, ctx, q or None, category or None, status or None, page
    )
    names = await run_in_threadpool(catalogue_names, ctx)
    return render(
        request,
        "pages/cases.html",
        result=result,
        names=names,
        q=q,
        category=category,
        status=status,
        statuses=[s.value for s in CaseStatus],
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: RecordId) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    try:
        case = await run_in_threadpool(public_case, ctx, case_id)
    except DomainError as exc:
        return refused(request, exc)
    names = await run_in_threadpool(catalogue_names, ctx)
    supports = await run_in_threadpool(case_supports, ctx, case_id)
    return render(
        request, "pages/case_public.html", case=case, names=names,
        supports=supports.supports, said=request.query_params.get("said"),
    )


@router.get("/league", response_class=HTMLResponse)
async def league(request: Request) -> HTMLResponse:
    await limit_public_async(request)
    ctx = ctx_of(request)
    rows = await run_in_threadpool(published_scorecards, ctx, None, None)
    names = await run_in_threadpool(catalogue_names, ctx)

    def rank(row: object) -> tuple[float, float, str]:
        confirmed = getattr(row, "confirmed_resolution_rate", None)
        satisfaction = getattr(row, "satisfaction_mean", None)
        return (
            -(confirmed if confirmed is not None else -1.0),
            -(satisfaction if satisfaction is not None else -1.0),
            str(getattr(row, "department", "")),
        )

    formalism = await run_in_threadpool(published_formalism, ctx)
    return render(
        request, "pages/league.html", rows=sorted(rows, key=rank), names=names,
        formalism={r.department: r for r in formalism.departments},
        formalism_rates=LEAGUE_RATES, formalism_days=ctx.settings.formalism_period_days,
    )


@router.get("/map", response_class=HTMLResponse)
async def case_map(request: Request) -> HTMLResponse:
    """Open cases on the city's areas, drawn as SVG on the server: works offline; base-map
    tiles are drawn under it only when the city configures a tile server."""
    await limit_public_async(request)
    ctx = ctx_of(request)
    data = await run_in_threadpool(public_map, ctx)
    lang = choose_language(request)
    shape = project_map(
        [(c, n[lang], rings) for c, n, rings in data.areas],
        data.points,
        tile_url=ctx.settings.map_tile_url,
    )
    return render(
        request,
        "pages/map.html",
        shape=shape,
        count=len(data.points),
        attribution=ctx.settings.map_tile_attribution if shape.tiles else "",
    )


@router.get("/data", response_class=HTMLResponse)
async def open_data(request: Request) -> HTMLResponse:
    """The open-data page: what can be downloaded, what each column means, how fresh it is."""
    await limit_public_async(request)
    ctx = ctx_of(request)
    return render(
        request,
        "pages/open_data.html",
        case_fields=EXPORT_FIELDS,
        refresh_minutes=round(ctx.settings.open_data_refresh_seconds / 60),
    )


@router.get("/data/{name}")
async def open_data_download(request: Request, name: str) -> Response:
    await limit_public_async(request)
    try:
        found = await run_in_threadpool(open_data_file, ctx_of(request), name)
    except DomainError as exc:
        return refused(request, exc)
    return FileResponse(
        found.path,
        media_type=found.media_type,
        filename=found.name,
        headers={"Cache-Control": "public, max-age=300"},
    )
