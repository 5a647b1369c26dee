"""open311 pull: bring another GeoReport v2 endpoint's requests (and updates) in.

The command parses options and prints the report; what a remote request becomes, and why a
rerun adds nothing twice, is in ``civicpulse.channels.open311.client``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

import typer

from civicpulse.channels.open311.mapping import parse_w3c
from civicpulse.channels.open311.views import city_zone
from civicpulse.cli.common import context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed

open311 = typer.Typer(help="Open311 GeoReport v2 endpoints of other systems.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(open311, name="open311")


def _service_map(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        remote, sep, ours = pair.rpartition("=")
        if not sep or not remote.strip() or not ours.strip():
            raise ValidationFailed(f"--map-service needs REMOTE_CODE=OUR_CODE, got {pair!r}")
        out[remote.strip()] = ours.strip()
    return out


@open311.command("pull")
@refusals_to_exit
def pull_command(
    url: str = typer.Argument(
        ..., help="Base URL of the endpoint, e.g. https://city.example/open311/v2"
    ),
    since: str | None = typer.Option(
        None, help="Start here (W3C date/time) instead of where the last pull stopped."
    ),
    until: str | None = typer.Option(None, help="Stop here (default: now)."),
    jurisdiction: str | None = typer.Option(
        None, help="jurisdiction_id, if the endpoint needs one."
    ),
    api_key: str | None = typer.Option(None, help="The endpoint's api_key, if reads need one."),
    map_service: list[str] = typer.Option(
        [], help="REMOTE_CODE=OUR_CATEGORY (repeatable); unmapped codes matching ours are kept."
    ),
    updates_as: str | None = typer.Option(
        None,
        help="Staff account that writes the endpoint's updates on our timelines as internal "
        "notes; without it the updates feed is not read.",
    ),
    limit: int = typer.Option(
        1000, help="page_size asked for; a server that answers fewer is read page by page."
    ),
    timeout: float = typer.Option(60.0, help="Seconds to wait for each HTTP answer."),
) -> None:
    """Pull service requests (and updates) from another GeoReport v2 endpoint.

    Incremental (the next run starts where this one stopped) and idempotent (a request or an
    update already pulled is never added again). Exits 1 when the endpoint could not give
    every record; the next run then starts again before what was missed."""
    # imported here: the rest of the command line must start even where httpx is missing
    import httpx

    from civicpulse.channels.open311.client import PullOptions, pull

    ctx = context()
    try:
        zone = city_zone(ctx)
        options = PullOptions(
            url=url,
            since=_when(since, "--since", zone),
            until=_when(until, "--until", zone),
            jurisdiction_id=jurisdiction,
            api_key=api_key,
            service_map=_service_map(map_service),
            updates_as=updates_as,
            limit=limit,
        )
        with httpx.Client(timeout=timeout, follow_redirects=True) as http:
            report = pull(ctx, options, http)
    finally:
        ctx.close()
    typer.echo(
        f"fetched {report.fetched} requests: {report.added} added, "
        f"{report.already_stored} already here, {len(report.refused)} refused"
    )
    for rid, why in report.refused[:50]:
        typer.echo(f"  refused {rid}: {why}")
    if report.closed_here:
        typer.echo(f"closed here as the endpoint closed them: {report.closed_here}")
    if report.updates_feed is None:
        typer.echo("updates: not read (give --updates-as to record them)")
    elif report.updates_feed is False:
        typer.echo("updates: the endpoint has no servicerequestupdates feed")
    else:
        typer.echo(
            f"updates: {report.updates_fetched} fetched, {report.updates_recorded} recorded, "
            f"{report.updates_skipped} skipped"
        )
    for doubt in report.doubts[:20]:
        typer.echo(f"warning: {doubt}", err=True)
    if report.incomplete is not None:
        typer.echo(f"incomplete: {report.incomplete}", err=True)
        raise typer.Exit(1)


def _when(text: str | None, name: str, zone: tzinfo) -> datetime | None:
    return None if text is None else parse_w3c(text, zone, name)
