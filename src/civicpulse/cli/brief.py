"""brief: the leader's brief of a week, written to a file as HTML or PDF.

The same brief as the staff page ``/staff/brief`` and the weekly mail: the operator acts as
the system, so no login is needed at the server's shell.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from civicpulse.cli.common import CLI_ACTOR, context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.weeks import IsoWeek
from civicpulse.infra.catalogues import LANGUAGES
from civicpulse.reports.brief_document import BriefRenderer
from civicpulse.services.brief import leader_brief
from civicpulse.services.concerns import refresh_concerns

FORMATS = ("html", "pdf")


def register(app: typer.Typer) -> None:
    app.command("brief")(brief)


@refusals_to_exit
def brief(
    week: str | None = typer.Option(
        None, "--week", help="ISO week, e.g. 2026-W09. Default: the last complete week on "
        "the city's calendar."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="zh or en. Default: the first of CIVICPULSE_BRIEF_LANGUAGES."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="html or pdf. Default: from the output file's extension."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
    refresh: bool = typer.Option(
        True, help="Bring the concerns up to date first; --no-refresh uses what the last "
        "refresh stored."
    ),
) -> None:
    """Write the leader's brief of a week: volume and trend, top concerns and how they
    moved, new bursts, hotspots, departments' rates, what is overdue and what residents
    said was not fixed."""
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"--format must be one of {', '.join(FORMATS)}")
    chosen_week = IsoWeek.parse(week) if week is not None else None
    ctx = context()
    try:
        lang = lang or ctx.settings.brief_language_list[0]
        if lang not in LANGUAGES:
            raise ValidationFailed(f"--lang must be one of {', '.join(LANGUAGES)}")
        started = time.perf_counter()
        if refresh:
            refresh_concerns(ctx)
        made = leader_brief(ctx, CLI_ACTOR, chosen_week)
        renderer = BriefRenderer()
        if fmt == "pdf":
            output.write_bytes(renderer.pdf(made, lang))
        else:
            output.write_text(renderer.html(made, lang), encoding="utf-8")
    finally:
        ctx.close()
    typer.echo(
        f"wrote the brief of {made.week} ({lang}, {fmt}) to {output} in "
        f"{time.perf_counter() - started:.1f} s", err=True,
    )
