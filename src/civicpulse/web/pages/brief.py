"""The leader's brief for staff: a week's brief in the page's language, the weeks around it,
and the same brief as PDF.

Leaders and admins read it (``domain/roles.BRIEF_READERS``, checked by the service); other
staff are refused, and the navigation offers it only to those who may open it. The page
shows the brief's sections inside the site's layout; the PDF is the standalone document
the weekly mail attaches.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain.errors import DomainError
from civicpulse.domain.roles import Actor
from civicpulse.domain.weeks import IsoWeek
from civicpulse.infra.catalogues import LANGUAGES
from civicpulse.reports.brief_document import BriefRenderer, filename
from civicpulse.services.brief import Brief, leader_brief
from civicpulse.web.deps import ctx_of
from civicpulse.web.pages.common import (
    Pages,
    choose_language,
    finish,
    redirect,
    refused,
    render,
    session_actor,
)

router = APIRouter(prefix="/staff", include_in_schema=False)


def _renderer(request: Request) -> BriefRenderer:
    """One renderer per app, sharing the catalogues the pages compiled; made on first use."""
    renderer: BriefRenderer | None = getattr(request.app.state, "brief_renderer", None)
    if renderer is None:
        pages: Pages = request.app.state.pages
        renderer = BriefRenderer(pages.translations)
        request.app.state.brief_renderer = renderer
    return renderer


async def _brief(request: Request, week: str) -> tuple[Actor | None, Brief | Response]:
    """The caller and their brief of ``week``; a response instead when they may not."""
    actor = await run_in_threadpool(session_actor, request)
    if actor is None:
        return None, redirect(request, "/staff/login")
    try:
        chosen = IsoWeek.parse(week) if week else None
        made = await run_in_threadpool(leader_brief, ctx_of(request), actor, chosen)
    except DomainError as exc:
        return actor, refused(request, exc, actor)
    return actor, made


@router.get("/brief", response_class=HTMLResponse)
async def brief_page(request: Request, week: str = Query("", max_length=20)) -> Response:
    """A week's brief (the last complete week by default) with links to the weeks around it."""
    actor, made = await _brief(request, week)
    if not isinstance(made, Brief):
        return made
    lang = choose_language(request)
    sections = await run_in_threadpool(_renderer(request).sections, made, lang)
    now = ctx_of(request).now()
    later = made.week.shifted(1)
    return render(
        request,
        "pages/brief.html",
        actor=actor,
        brief=made,
        sections=sections,
        earlier=str(made.week.shifted(-1)),
        later=str(later) if later.monday <= now.date() else "",
    )


@router.get("/brief.pdf")
async def brief_pdf(
    request: Request,
    week: str = Query("", max_length=20),
    lang: str = Query("", max_length=8),
) -> Response:
    """The week's brief as PDF, in ``lang`` (else the page's language)."""
    _, made = await _brief(request, week)
    if not isinstance(made, Brief):
        return made
    chosen = lang if lang in LANGUAGES else choose_language(request)
    pdf = await run_in_threadpool(_renderer(request).pdf, made, chosen)
    response = Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename(made, chosen, "pdf")}"',
            "Cache-Control": "private, no-store",
        },
    )
    finish(request, response)
    return response
