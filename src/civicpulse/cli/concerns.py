"""concerns: what residents raise most, ranked with reasons, at the server's shell.

The operator's view is staff's: every member voice's id and external id are listed, so a
ranking can be checked against the city's own records.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from civicpulse.cli.common import CLI_ACTOR, context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.concerns import MAX_TOP, refresh_concerns, top_concerns
from civicpulse.services.import_options import parse_when
from civicpulse.services.read_models import ConcernView

FORMATS = ("table", "json")


def register(app: typer.Typer) -> None:
    app.command("concerns")(concerns)


def _moment(name: str, value: str | None, zone: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value, ZoneInfo(zone))
    except ValidationFailed:
        raise ValidationFailed(
            f"--{name} {value!r} is not a date or a date and time (e.g. 2019-11-01)"
        ) from None


@refusals_to_exit
def concerns(
    top: int = typer.Option(10, "--top", min=1, max=MAX_TOP, help="How many concerns to list."),
    since: str | None = typer.Option(
        None, help="Only concerns with voices at or after this time (ISO date or date-time; "
        "without a zone, the city's time zone)."
    ),
    until: str | None = typer.Option(None, help="Only concerns with voices before this time."),
    fmt: str = typer.Option("table", "--format", help=f"One of: {', '.join(FORMATS)}."),
    refresh: bool = typer.Option(
        True, help="Bring concerns up to date first (topics included); --no-refresh lists "
        "what the last refresh stored."
    ),
) -> None:
    """The concerns residents raise most, in rank order, with the reasons behind each score.

    JSON: an array of {rank, key, label, score, reasons: [{name, value, weight,
    contribution}], voices, residents, supports, first_at, last_at, case_ids, voice_ids,
    external_ids, departments, place}, listing every member voice.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"--format must be one of {', '.join(FORMATS)}")
    ctx = context()
    try:
        if refresh:
            run = refresh_concerns(ctx)
            typer.echo(
                f"{run.new_voices:,} new voices, {run.recomputed:,} concerns recomputed in "
                f"{run.seconds:.1f} s", err=True,
            )
        zone = ctx.settings.timezone
        listed = top_concerns(ctx, CLI_ACTOR, top=top, since=_moment("since", since, zone),
                              until=_moment("until", until, zone))
    finally:
        ctx.close()
    if fmt == "json":
        typer.echo(json.dumps([c.model_dump(mode="json") for c in listed], ensure_ascii=False,
                              indent=1))
        return
    for c in listed:
        typer.echo(_line(c))


def _line(c: ConcernView) -> str:
    why = ", ".join(
        f"{r.name} {r.value:g} {r.contribution:+g}"
        for r in sorted(c.reasons, key=lambda r: -abs(r.contribution))
        if r.contribution
    )
    return (
        f"{c.rank:>3}. {c.score:7.2f}  {c.residents:>5} residents {c.supports:>6} supports "
        f"{c.voices:>5} voices  {c.key:<18} {c.label}\n"
        f"{'':>14}{c.first_at:%Y-%m-%d} – {c.last_at:%Y-%m-%d}  {why}"
    )
