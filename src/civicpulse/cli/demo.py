"""demo: a working city in one command, seeded once and then served."""

from __future__ import annotations

import os
import socket

import typer

from civicpulse.bootstrap import build_context
from civicpulse.cli import server
from civicpulse.cli.common import refusals_to_exit
from civicpulse.demo.seed import SeedReport, reset_sqlite, seed_demo
from civicpulse.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@refusals_to_exit
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Seed, print, and exit."),
    voices: int = typer.Option(300, min=0, help="How many voices to seed."),
    reset: bool = typer.Option(
        False, "--reset", help="Delete the embedded SQLite file first and seed a new city."
    ),
) -> None:
    """A working demo city in one command: seed it once, then serve it.

    Seeds departments, categories, areas, staff accounts (passwords printed once) and a few
    hundred voices with their history, unless the database already holds a city. Voices
    come from the real data in CIVICPULSE_SHARED_DATA_DIR when present, else from a small
    Chinese and English sample shipped with CivicPulse.
    """
    settings = advertised(Settings(), host, port)
    if reset:
        typer.echo(f"deleted {reset_sqlite(settings)}")
    ctx = build_context(settings, migrate=True)
    try:
        typer.echo("seeding the demo city unless one is already there…", err=True)
        report = seed_demo(ctx, voices=voices, data_dir=settings.shared_data_dir)
    finally:
        ctx.close()
    _print_report(report)
    if not no_serve:
        typer.echo(f"serving on {settings.public_base_url}  (Ctrl+C to stop)")
        server.serve(host=host, port=port, workers=1)


def advertised(settings: Settings, host: str, port: int) -> Settings:
    """Settings whose public URL is where this demo really serves, unless the operator set
    CIVICPULSE_PUBLIC_BASE_URL (a proxy in front, say).

    Links in mail and Open311 discovery are built from ``public_base_url``; its default
    names port 8000, so a demo on another port advertised an address nobody answered. The
    served app builds its own settings from the environment, so the URL is put there too.
    """
    if "public_base_url" in settings.model_fields_set:
        return settings
    if host in ("", "0.0.0.0", "::"):
        name = socket.getfqdn()  # every interface: the machine's own name reaches one
    else:
        name = f"[{host}]" if ":" in host else host
    url = f"http://{name}:{port}"
    os.environ["CIVICPULSE_PUBLIC_BASE_URL"] = url
    return settings.model_copy(update={"public_base_url": url})


def _print_report(report: SeedReport) -> None:
    s = report.summary
    if not report.seeded:
        typer.echo(
            f"the database already holds a city ({s['departments']} departments, "
            f"{s['cases']} cases, {s['staff']} staff accounts): nothing seeded. "
            "Use --reset to start a new demo city."
        )
        return
    typer.echo(
        f"seeded {s['departments']} departments, {s['categories']} categories, "
        f"{s['areas']} areas and {s['voices']} voices from the {report.source} "
        f"in {report.seconds:.1f} s"
    )
    typer.echo("cases by status: " + ", ".join(
        f"{status} {n}" for status, n in sorted(s["cases_by_status"].items())
    ))
    if report.skipped:
        typer.echo(f"{len(report.skipped)} simulated step(s) refused, first: {report.skipped[0]}")
    typer.echo("")
    typer.echo("Staff accounts (shown once; only password hashes are stored):")
    width = max(len(a.username) for a in report.accounts)
    typer.echo(f"  {'username':<{width}}  {'role':<10}  {'department':<14}  password")
    for a in report.accounts:
        typer.echo(f"  {a.username:<{width}}  {a.role:<10}  {a.department or '-':<14}  "
                   f"{a.password}")
    typer.echo("")
    typer.echo(f"API key (shown once): {report.api_key}")
    typer.echo("store these now: they cannot be shown again", err=True)
