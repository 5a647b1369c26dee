"""The FastAPI app factory. Nothing is built at import: ``create_app`` takes a context."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.infra.context import Context
from civicpulse.infra.rate_limits import build_limiters
from civicpulse.web.deps import refuse_nul
from civicpulse.web.limits import BodySizeLimit
from civicpulse.web.pages import install_pages
from civicpulse.web.pages.common import is_page, refused
from civicpulse.web.routes import (
    cases,
    concerns,
    formalism,
    insight,
    open311,
    public,
    understanding,
    voices,
)
from civicpulse.web.security import SecurityHeaders


def _clean_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            msg = "the body is not valid JSON (UTF-8)"
            loc = []  # the location is a byte position, not a field
        out.append({"field": ".".join(loc) or "body", "message": msg})
    return out


#: the groups of /openapi.json, in the order a client meets them
OPENAPI_TAGS = [
    {"name": "voices", "description": "Residents and partner systems report a problem."},
    {"name": "residents", "description": "The tracking code: follow a case, judge the fix."},
    {"name": "auth", "description": "Staff log in for a bearer token, change their password "
     "and log out (which ends the token)."},
    {"name": "cases", "description": "Staff read and act on cases; each action returns the "
     "case's new `version`, to send with the next one."},
    {"name": "understanding", "description": "Topics, urgency and same-problem matches."},
    {"name": "concerns", "description": "What residents raise most: concerns ranked by an "
     "explainable score, each reason shown; public, with ids for staff."},
    {"name": "accountability", "description": "Department scorecards from residents' verdicts."},
    {"name": "open311", "description": "GeoReport v2: services, requests and the updates "
     "feed, as `.xml` or `.json`."},
]


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        dependencies=[Depends(refuse_nul)],
        title="CivicPulse",
        version="0.1.0",
        description=(
            "Listen to residents, act on what matters most, let residents judge.\n\n"
            "Every refusal has the body `{\"detail\": \"...\"}`; a request that fails to "
            "parse adds `errors`, one entry per field. Open311 GeoReport v2 is served under "
            "`/open311/v2` (tag `open311`), in XML and JSON, with the standard's "
            "`[{code, description}]` errors."
        ),
        openapi_tags=OPENAPI_TAGS,
        openapi_url="/openapi.json",
        # the bundled docs pages load scripts from a CDN; the city's server must not
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    s = ctx.settings
    # shared by every server process on PostgreSQL or Redis, per process on SQLite
    app.state.limiters = build_limiters(s, ctx.db)

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = _clean_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if is_page(request):  # a page's bad address (an id past any record's) gets a page
            return refused(request, ValidationFailed(summary))
        return JSONResponse({"detail": summary, "errors": errors}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(voices.router, prefix="/api/v1")
    app.include_router(cases.router, prefix="/api/v1")
    app.include_router(public.router, prefix="/api/v1")
    app.include_router(understanding.router, prefix="/api/v1")
    app.include_router(concerns.router, prefix="/api/v1")
    app.include_router(insight.router, prefix="/api/v1")
    app.include_router(formalism.router, prefix="/api/v1")
    app.include_router(open311.router)
    install_pages(app)  # server-rendered pages and /static
    app.add_middleware(
        BodySizeLimit,
        max_bytes=s.max_body_bytes,
        overrides={"/report": max(s.max_body_bytes, 2 * s.photo_max_bytes + 200_000)},
    )
    # last added is outermost: the 413 above and any 500 carry the headers too
    app.add_middleware(SecurityHeaders, tile_url=s.map_tile_url)
    return app
