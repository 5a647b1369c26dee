"""The staff formalism page: per department and per officer, the flags with their evidence
and explanations, and the form for a department's explanation.

It reads ``formalism_report`` like ``civicpulse audit formalism``; officers see their own
departments' flags and people, other staff the whole city's. The explanation form is
offered only beside the flags the reader may explain (``explainable_departments``); the
service checks again when it is sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.insight.formalism_patterns import FlagKind
from civicpulse.services.formalism import (
    explain_flag,
    explainable_departments,
    formalism_report,
)
from civicpulse.services.formalism_views import RATE_FIELDS, code_words
from civicpulse.services.import_options import parse_when
from civicpulse.services.public_views import catalogue_names
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

router = APIRouter(prefix="/staff", include_in_schema=False)

#: flags listed on one page; the rest are counted, and found by narrowing the filters
SHOWN = 200
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(value: str, name: str, zone: str) -> datetime | None:
    """A date field of the filters (YYYY-MM-DD, city time), or None when empty."""
    if not value:
        return None
    if not _DAY.match(value):
        raise ValidationFailed(f"{name} must be a date such as 2026-03-01")
    return parse_when(value, ZoneInfo(zone), name)


def _page(ctx: Context, actor: Actor, since: str, until: str, department: str, kind: str
          ) -> dict[str, Any]:
    zone = ctx.settings.timezone
    report = formalism_report(
        ctx, actor, since=_day(since, "since", zone), until=_day(until, "until", zone),
        department=department or None,
    )
    flags = [f for f in report.flags if not kind or f.kind == kind]
    return dict(
        report=report,
        flags=flags[:SHOWN],
        flag_count=len(flags),
        names=catalogue_names(ctx),
        explainable=explainable_departments(ctx, actor),
        rate_fields=RATE_FIELDS,
        kinds=[k.value for k in FlagKind],
        code_words=code_words,
    )


@router.get("/formalism", response_class=HTMLResponse)
async def formalism_page(
    request: Request,
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    department: str = Query("", max_length=limits.CODE),
    kind: str = Query("", max_length=32),
) -> Response:
    actor = await run_in_threadpool(session_actor, request)
    if actor is None:
        return redirect(request, "/staff/login")
    if kind not in {k.value for k in FlagKind}:
        kind = ""
    try:
        values = await run_in_threadpool(_page, ctx_of(request), actor, since, until,
                                         department, kind)
    except DomainError as exc:
        return refused(request, exc, actor)
    back = urlencode({k: v for k, v in (("since", since), ("until", until),
                                        ("department", department), ("kind", kind)) if v})
    return render(
        request, "pages/formalism.html", actor=actor, since=since, until=until,
        department=department, kind=kind, back=back,
        done=request.query_params.get("done"), **values,
    )


_BACK = re.compile(r"^[A-Za-z0-9_=&%.+-]{0,300}$")


@router.post("/formalism/explain", response_class=HTMLResponse)
async def explain(request: Request) -> Response:
    """A department's explanation of a flag, from the form beside it."""
    form = await read_form(request, max_files=0, max_fields=10)
    if not csrf_ok(request, form):
        return csrf_refused(request)
    actor = await run_in_threadpool(session_actor, request)
    if actor is None:
        return redirect(request, "/staff/login")
    back = form.get("back")
    query = back if isinstance(back, str) and _BACK.match(back) else ""
    try:
        key = form_text(form, "flag", 200)
        text = form_text(form, "text", limits.REASON)
        await run_in_threadpool(explain_flag, ctx_of(request), actor, key, text)
    except DomainError as exc:
        return refused(request, exc, actor)
    joined = f"{query}&done=explained" if query else "done=explained"
    return redirect(request, f"/staff/formalism?{joined}#{quote('flag-' + key, safe='')}")
