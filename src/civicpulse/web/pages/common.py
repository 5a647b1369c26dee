"""What every page shares: templates, language choice, CSRF, the staff session, headers."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, NotAuthenticated, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.catalogues import LANGUAGES, load_translations
from civicpulse.services.staff import actor_for_token
from civicpulse.web.deps import ctx_of
from civicpulse.web.forms import UnreadableForm

WEB = Path(__file__).resolve().parents[1]
LANG_COOKIE = "cp_lang"
CSRF_COOKIE = "cp_csrf"
SESSION_COOKIE = "cp_session"
CSRF_FIELD = "csrf_token"


class Pages:
    """The template environment and catalogues, built once per app (never at import)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(WEB / "templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # forms take their maxlength from the same numbers the services enforce
        self.env.globals["limits"] = limits
        self.translations = {lang: load_translations(lang) for lang in LANGUAGES}


def choose_language(request: Request) -> str:
    """?lang= wins, then the cookie, then the browser's Accept-Language; English otherwise."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token
    cached: str | None = getattr(request.state, "new_csrf", None)
    if cached is None:
        cached = secrets.token_urlsafe(32)
        request.state.new_csrf = cached
    return cached


def csrf_ok(request: Request, form: Any) -> bool:
    """Double-submit check: the form's token must equal the cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    return bool(cookie) and isinstance(sent, str) and secrets.compare_digest(cookie, sent)


def session_actor(request: Request) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return actor_for_token(ctx_of(request), token)
    except NotAuthenticated:
        return None


def render(
    request: Request, template: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    lang = choose_language(request)
    tr = pages.translations[lang]
    gettext_: Callable[[str], str] = tr.gettext
    actor = values.pop("actor", None)
    html = pages.env.get_template(template).render(
        request=request,
        lang=lang,
        _=gettext_,
        csrf_token=csrf_token(request),
        actor=actor,
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> None:
    """Keep the language and the CSRF token in cookies."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax")
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="lax")


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response


def refused(request: Request, exc: DomainError, actor: Actor | None = None) -> HTMLResponse:
    return render(request, "pages/error.html", exc.status_code, message=exc.message, actor=actor)


def csrf_refused(request: Request) -> HTMLResponse:
    return render(
        request,
        "pages/error.html",
        403,
        message="The form expired or was not sent from this site. Go back, reload and try again.",
    )


def install_pages(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app``."""
    from civicpulse.web.pages import admin, brief, concerns, formalism, public, resident, staff

    app.state.pages = Pages()
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    app.include_router(public.router)
    app.include_router(resident.router)
    app.include_router(staff.router)
    app.include_router(admin.router)
    app.include_router(brief.router)
    app.include_router(concerns.router)
    app.include_router(formalism.router)

    async def unreadable_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UnreadableForm)
        return refused(request, exc)

    app.add_exception_handler(UnreadableForm, unreadable_form)


def is_page(request: Request) -> bool:
    """Whether ``request`` is for a page (answered in HTML), not the JSON API or Open311."""
    path = request.url.path
    return not path.startswith(("/api/", "/open311/", "/openapi.json"))


def photo_response(data: bytes, content_type: str) -> Response:
    """A stored photo, private to the browser that asked; never cached by shared proxies."""
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


def form_text(form: Any, name: str, limit: int) -> str:
    """A text field of a submitted form, trimmed; refused if it is a file or too long."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be text")
    value = value.strip()
    limits.check_length(name, value, limit)
    return value
