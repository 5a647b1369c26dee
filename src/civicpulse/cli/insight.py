"""hotspots and bursts: where unresolved problems gather and what is suddenly rising.

Both print a table for a person or ``--format json`` for a script; both are what the API and
the pages show (the same service calls), so a figure can be checked from the shell.
"""

from __future__ import annotations

import json

import typer

from civicpulse.cli.common import context, moment, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.bursts import city_bursts
from civicpulse.services.hotspots import city_hotspots

FORMATS = ("table", "json")


def register(app: typer.Typer) -> None:
    app.command("hotspots")(hotspots)
    app.command("bursts")(bursts)


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationFailed(f"--format must be one of {', '.join(FORMATS)}")


@refusals_to_exit
def hotspots(
    since: str | None = typer.Option(
        None, help="Only cases created at or after this time (ISO date or date-time; without "
        "a zone, the city's time zone). Default: every case still waiting for action."
    ),
    until: str | None = typer.Option(None, help="Only cases created before this time."),
    cell: float | None = typer.Option(None, "--cell", help="Cell size in metres (250)."),
    band: float | None = typer.Option(None, "--band", help="Neighbour distance in metres (500)."),
    fmt: str = typer.Option("table", "--format", help=f"One of: {', '.join(FORMATS)}."),
) -> None:
    """Places where unresolved cases gather beyond chance (Getis–Ord Gi*, 5 % false
    discoveries), strongest first.

    JSON: {method, cell_m, band_m, fdr, cases, set_aside, hotspots: [{rank, key, place,
    south, west, north, east, cases, voices, expected, z, p, q, case_ids}]}.
    """
    _check(fmt)
    ctx = context()
    try:
        zone = ctx.settings.timezone
        found = city_hotspots(ctx, since=moment("since", since, zone),
                              until=moment("until", until, zone), cell_m=cell, band_m=band)
    finally:
        ctx.close()
    if fmt == "json":
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    typer.echo(f"{found.cases:,} open cases with a place, {found.set_aside:,} set aside at a "
               f"default position; cells {found.cell_m:g} m, neighbours within "
               f"{found.band_m:g} m, false discoveries {found.fdr:.0%}")
    for h in found.hotspots:
        typer.echo(f"{h.rank:>3}  {h.key}  {h.place.lat:.5f},{h.place.lon:.5f}  "
                   f"{h.cases:>5} cases (usual {h.expected:.1f})  z {h.z:.1f}  q {h.q:.2g}")


@refusals_to_exit
def bursts(
    day: str | None = typer.Option(
        None, help="The last day of the windows tested (YYYY-MM-DD, city time). Default: today."
    ),
    fmt: str = typer.Option("table", "--format", help=f"One of: {', '.join(FORMATS)}."),
) -> None:
    """Categories, areas and topics whose voices rose significantly over the last one to
    three days against their own eight weeks (weekday-aware, negative-binomial test,
    Benjamini–Hochberg at 10 % across series).

    JSON: {day, test, fdr, series_tested, bursts: [{kind, code, series, start, end, observed,
    expected, ratio, p_value, q_value, daily_observed, daily_expected, reasons, identity}]}.
    """
    _check(fmt)
    ctx = context()
    try:
        on = moment("day", day, ctx.settings.timezone)
        found = city_bursts(ctx, on.date() if on else None)
    finally:
        ctx.close()
    if fmt == "json":
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    typer.echo(f"{found.day.isoformat()}: {found.series_tested:,} series tested, "
               f"{len(found.bursts):,} bursts (false discoveries {found.fdr:.0%})")
    for b in found.bursts:
        typer.echo(f"  {b.series:<40} {b.start.isoformat()}–{b.end.isoformat()}  "
                   f"{b.observed:>5} seen, {b.expected:.1f} usual ({b.ratio:.1f}×)  "
                   f"q {b.q_value:.2g}")
