"""init, serve, worker, jobs: running CivicPulse."""

from __future__ import annotations

import time

import typer

from civicpulse.bootstrap import build_transport, schema_revision
from civicpulse.cli.common import context
from civicpulse.jobs.runner import Every, run_once


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("worker")(worker)


def init() -> None:
    """Create the database, or upgrade it to the newest schema."""
    ctx = context(migrate=True)
    typer.echo(f"database ready at revision {schema_revision(ctx)}: {ctx.db.url}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes (use >1 with PostgreSQL)."),
) -> None:
    """Serve the API (and run background jobs in-process unless disabled)."""
    import uvicorn

    ctx = context(migrate=True)
    ctx.db.dispose()
    trusted = ctx.settings.trusted_proxies.strip()
    uvicorn.run(
        "civicpulse.web.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # uvicorn believes X-Forwarded-For from loopback by default; only a configured proxy
        # may say who the client is
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
    )


def worker(
    once: bool = typer.Option(False, help="Run one pass and exit."),
    interval: float = typer.Option(10.0, help="Seconds between passes."),
) -> None:
    """Deliver notifications, enforce deadlines (escalations, unverified resolutions), refresh
    triage suggestions after a new model, place new voices in topics and refresh the ranked
    concerns."""
    ctx = context(migrate=False)
    transport = build_transport(ctx.settings)
    topics = Every(ctx.settings.topics_refresh_seconds)
    while True:
        r = run_once(ctx, transport, topics=once or topics.due())
        typer.echo(
            f"sent {r.sent}, failed {r.failed}, escalated {r.escalated}, unverified "
            f"{r.unverified}, suggestions refreshed {r.resuggested}, "
            f"voices placed in topics {r.topics_placed}, public texts checked {r.redacted}, "
            f"concerns recomputed {r.concerns_recomputed}"
        )
        if once:
            return
        time.sleep(interval)
