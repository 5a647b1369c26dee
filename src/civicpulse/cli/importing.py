"""import voices: load a CSV/XLSX export of hotline or message-board records.

The command only opens the file, draws the progress bar and prints the report; what a row
becomes, and the exactly-once guarantees, live in ``services.imports`` and the modules it names.
"""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from civicpulse.channels.tabular import file_sha256, open_table
from civicpulse.cli.common import CLI_ACTOR, context, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.import_options import DEFAULT_BATCH, FIELDS, ImportOptions, Rejection
from civicpulse.services.import_run import ImportProgress
from civicpulse.services.imports import ImportReport, import_voices

importing = typer.Typer(help="Bring records in from files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(importing, name="import")


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``field=column`` pairs; the column name may itself contain ``=``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise ValidationFailed(f"--map needs field=column, got {pair!r}")
        if name in mapping:
            raise ValidationFailed(f"{name} is mapped twice")
        mapping[name] = column
    return mapping


class _RateColumn(ProgressColumn):
    """Rows per second since the start of this run (rich's own speed column counts bytes),
    and the rejected rows so far, so a wrong mapping shows before the whole file is read."""

    def render(self, task: Task) -> Text:
        rows = task.fields.get("rows", 0)
        rejected = task.fields.get("rejected", 0)
        elapsed = task.elapsed or 0.0
        rate = rows / elapsed if elapsed > 0 else 0.0
        text = f"{rows:,} rows  {rate:,.0f} rows/s"
        if rejected:
            text += f"  {rejected:,} rejected"
        return Text(text, style="progress.data.speed")


@importing.command("voices")
@refusals_to_exit
def voices(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, CSV.GZ or XLSX."),
    mapping: list[str] = typer.Option(
        [], "--map", "-m", help=f"field=column, repeated. Fields: {', '.join(FIELDS)}."
    ),
    channel: str = typer.Option("import", help="Channel of the voices (unless mapped)."),
    encoding: str | None = typer.Option(
        None, help="CSV encoding (default: UTF-8 if it reads as UTF-8, else GB18030)."
    ),
    timezone: str | None = typer.Option(
        None, help="Time zone of times without one (default: the city's time zone)."
    ),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    keep_columns: bool = typer.Option(
        False, help="Keep unmapped columns in the voice's attributes (staff-only)."
    ),
    batch_size: int = typer.Option(DEFAULT_BATCH, min=1, max=100_000, help="Rows per commit."),
    rejects: Path | None = typer.Option(
        None, help="Write every rejected row (row, reason, external_id) to this CSV."
    ),
    show: int = typer.Option(20, min=0, help="Rejected rows to list on screen."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Import voices from a file, resumably and exactly once; report rejected rows and why.

    Each row becomes a voice and a case as if submitted now, without notifying anyone.
    Running the same command again after a crash resumes where the last commit ended;
    rows whose external_id is already stored are skipped.
    """
    ctx = context()
    options = ImportOptions(
        mapping=parse_mapping(mapping),
        channel=channel,
        timezone=timezone or ctx.settings.timezone,
        keep_columns=keep_columns,
        batch_size=batch_size,
    )
    digest = file_sha256(file)
    table = open_table(file, encoding=encoding, sheet=sheet)
    console = Console(stderr=True)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            transient=False,
        ) as progress:
            task = progress.add_task(file.name, total=None, rows=0)

            def tick(p: ImportProgress) -> None:
                progress.update(
                    task,
                    completed=p.position,
                    total=p.total,
                    rows=p.rows_this_run,
                    rejected=p.rejected,
                )

            report = import_voices(ctx, CLI_ACTOR, table, digest, options, on_progress=tick)
    finally:
        table.close()
        ctx.close()
    _print_report(report, show)
    if rejects is not None:
        _write_rejects(rejects, report.rejected)
        typer.echo(f"all {len(report.rejected):,} rejected rows written to {rejects}")


def _print_report(r: ImportReport, show: int) -> None:
    if r.already_finished:
        typer.echo(f"{r.source} was already imported in full (job {r.job_id}); nothing to do")
    elif r.resumed_after:
        typer.echo(f"resumed job {r.job_id} after row {r.resumed_after:,}")
    lines = [
        ("rows read", f"{r.rows_read:,}"),
        ("imported", f"{r.imported:,}"),
        ("skipped", f"{r.skipped:,} (already imported)"),
        ("rejected", f"{len(r.rejected):,}"),
    ]
    if not r.already_finished:
        lines += [
            ("elapsed", f"{r.elapsed:.1f} s"),
            ("rate", f"{r.rows_per_second:,.0f} rows/s"),
        ]
    for label, value in lines:
        typer.echo(f"  {label:<10} {value}")
    if r.rejected and show:
        typer.echo(f"rejected rows (first {min(show, len(r.rejected))}):")
        for rej in r.rejected[:show]:
            ident = f" [{rej.external_id}]" if rej.external_id else ""
            typer.echo(f"  row {rej.row}{ident}: {rej.reason}")


def _write_rejects(path: Path, rejected: list[Rejection]) -> None:
    """UTF-8 with a BOM, so a spreadsheet shows Chinese reasons and ids correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["row", "reason", "external_id"])
        for rej in rejected:
            out.writerow([rej.row, rej.reason, rej.external_id or ""])

