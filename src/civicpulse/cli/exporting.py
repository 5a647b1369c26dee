"""export: the public CSV or JSON of all cases, with no personal data."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from civicpulse.cli.common import context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.export import FORMATS, export_cases


def register(app: typer.Typer) -> None:
    app.command("export")(export)


@refusals_to_exit
def export(
    fmt: str = typer.Option("csv", "--format", help=f"One of: {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="File to write (default: stdout)."
    ),
) -> None:
    """The public CSV or JSON of all cases, with no personal data.

    One row per case: status, category, department, area, dates, channels, residents'
    verdicts and the location rounded to about 100 m; never text, names or contacts.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"--format must be one of {', '.join(FORMATS)}")
    ctx = context(migrate=False)
    try:
        if output is None:
            count = export_cases(ctx, fmt, sys.stdout)
        else:
            # written beside the target and renamed, so a failed export leaves no half file
            partial = output.with_name(output.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as f:
                    count = export_cases(ctx, fmt, f)
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
    finally:
        ctx.close()
    typer.echo(f"exported {count} cases", err=True)
