"""audit replies: the formalism audit of a file of messages and the official replies they got.

Registered in the ``audit`` group (``civicpulse audit verify`` checks the audit log there);
thin over ``services.reply_audit``, which reads and checks the file, and
``services.reply_reasons``, which words the reasons.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import typer

from civicpulse.channels.tabular import open_table
from civicpulse.cli.admin import audit
from civicpulse.cli.common import map_option, refusals_to_exit
from civicpulse.cli.importing import parse_mapping
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.reply_audit import (
    FIELDS,
    REQUIRED,
    SMALL_REFERENCE,
    AuditOptions,
    audit_file,
    load_reference,
)
from civicpulse.services.reply_reasons import AUTO, ReasonWriter
from civicpulse.settings import Settings


def register(app: typer.Typer) -> None:
    audit.command("replies")(replies_command)


@refusals_to_exit
def replies_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, CSV.GZ or XLSX."),
    mapping: list[str] = map_option(FIELDS, REQUIRED),
    fmt: str = typer.Option("jsonl", "--format", help="Output format: jsonl."),
    reference: Path | None = typer.Option(
        None, "--reference",
        help="A reply reference saved before with --save-reference: the city's usual "
        "wording. Default: learnt from this file's replies.",
    ),
    save_reference: Path | None = typer.Option(
        None, "--save-reference",
        help="Write the reference learnt from this file's replies (gzipped JSON of counts) "
        "for later runs over shorter files.",
    ),
    lang: str = typer.Option(
        AUTO, "--lang", help="Language of the reasons: zh, en, or auto (each row's reply's)."
    ),
    timezone: str | None = typer.Option(
        None, help="Time zone of times without one (default: the city's time zone)."
    ),
    encoding: str | None = typer.Option(
        None, help="CSV encoding (default: UTF-8 if it reads as UTF-8, else GB18030)."
    ),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
) -> None:
    """Assess each official reply against the message it answers; nothing is stored.

    One JSON line per row, in file order: {"relevance": 0..1, "boilerplate": 0..1,
    "deflection", "concrete", "flags", "reasons"}. Flags: does_not_answer (relevance below
    0.5), boilerplate (a form: three quarters template text and formulas, or under a
    sentence of its own), deflection, no_concrete_action. Every row is checked before the
    first line is printed; a bad row stops the command with its row number.
    """
    if fmt != "jsonl":
        raise ValidationFailed("--format must be jsonl")
    if reference is not None and save_reference is not None:
        raise ValidationFailed("--save-reference writes what this file teaches; "
                               "it cannot be used with --reference")
    writer = ReasonWriter(lang)
    options = AuditOptions(
        mapping=parse_mapping(mapping),
        timezone=timezone or Settings().timezone,
        reference=load_reference(reference) if reference is not None else None,
        save_reference=save_reference,
    )
    table = open_table(file, encoding=encoding, sheet=sheet)
    try:
        run = audit_file(table, options)
    finally:
        table.close()
    flags: Counter[str] = Counter()
    out = sys.stdout
    for row in run:
        said = row.assessment
        reasons = writer.render(said.findings, writer.language_for(row.reply, row.message))
        out.write(json.dumps(said.as_json(reasons), ensure_ascii=False) + "\n")
        flags.update(said.flags)
    out.flush()
    learnt = "learnt from this file" if run.learnt else f"from {reference}"
    typer.echo(
        f"{len(run):,} replies: {flags['does_not_answer']:,} do not answer, "
        f"{flags['boilerplate']:,} boilerplate, {flags['deflection']:,} deflect, "
        f"{flags['no_concrete_action']:,} without a concrete action "
        f"(reference of {run.reference.replies:,} replies, {learnt})", err=True,
    )
    if run.reference.replies < SMALL_REFERENCE:
        typer.echo(
            f"note: {run.reference.replies} replies say little about the city's usual "
            "wording; pass --reference saved from a longer history (--save-reference)",
            err=True,
        )
