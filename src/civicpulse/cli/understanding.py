"""understand rerun / redact / train-urgency / match, and topics: the background side of
understanding.

Intake matches and assesses each voice as it arrives; these commands do it for voices that
came in another way (bulk import), redo it after a model or the rules changed, replay
matching over a city's own history in a file, and place voices in topics (incrementally:
run it as often as you like).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from civicpulse.channels.tabular import open_table
from civicpulse.cli.common import context, map_option, refusals_to_exit
from civicpulse.cli.importing import parse_mapping
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.match_file import FIELDS, REQUIRED, MatchOptions, match_file
from civicpulse.services.match_index import params_from
from civicpulse.services.redaction_pass import recheck_everything, redact_pending
from civicpulse.services.same_problem import rerun
from civicpulse.services.topics import list_topics, update_topics
from civicpulse.services.urgency import train_urgency
from civicpulse.settings import Settings

understand = typer.Typer(
    help="Same-problem index and urgency for stored voices; the urgency model.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(understand, name="understand")
    app.command("topics")(topics)


@understand.command("rerun")
@refusals_to_exit
def rerun_command(
    everything: bool = typer.Option(
        False, "--all", help="Recompute every voice, not only those never assessed."
    ),
) -> None:
    """Index voices for same-problem matching and assess their urgency (no merging)."""
    done = rerun(context(), everything=everything,
                 progress=lambda n: typer.echo(f"  {n:,} voices", err=True))
    typer.echo(f"{done:,} voices indexed and assessed")


@understand.command("redact")
@refusals_to_exit
def redact_command(
    everything: bool = typer.Option(
        False, "--all", help="Check every public text again, not only those never checked."
    ),
) -> None:
    """Write the public (redacted) form of case titles and public messages; with --all, after
    the redaction rules or the name tagger changed. The worker does the unchecked ones on its
    own; old public forms stay shown until their new one is written."""
    ctx = context()
    if everything:
        run = recheck_everything(ctx)
    else:
        run = redact_pending(ctx, budget_seconds=float("inf"))
    typer.echo(f"{run.titles:,} titles and {run.messages:,} messages checked")


@understand.command("train-urgency")
@refusals_to_exit
def train_urgency_command() -> None:
    """Learn a new urgency model from the cases staff marked urgent or not urgent."""
    path = train_urgency(context())
    typer.echo(f"urgency model written to {path}; run `civicpulse understand rerun --all` "
               "to reassess stored voices with it")


@understand.command("match")
@refusals_to_exit
def match_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, CSV.GZ or XLSX."),
    mapping: list[str] = map_option(FIELDS, REQUIRED),
    fmt: str = typer.Option("jsonl", "--format", help="Output format: jsonl."),
    timezone: str | None = typer.Option(
        None, help="Time zone of times without one (default: the city's time zone)."
    ),
    encoding: str | None = typer.Option(
        None, help="CSV encoding (default: UTF-8 if it reads as UTF-8, else GB18030)."
    ),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
) -> None:
    """Replay same-problem matching over a file, as intake would have run it; nothing is stored.

    Rows are taken in time order (ties in file order) and each is compared with the rows
    before it by this installation's matching rule and settings; with closed_at mapped, only
    with rows whose case was still open. One JSON line per row, in that order:
    {"external_id", "same_as" (the earlier row's external id, or null), "score", "reasons"}.
    Every row is checked before the first line is printed; a bad row stops the command with
    its row number.
    """
    if fmt != "jsonl":
        raise ValidationFailed("--format must be jsonl")
    settings = Settings()
    options = MatchOptions(
        mapping=parse_mapping(mapping),
        timezone=timezone or settings.timezone,
        merge=settings.match_auto_merge,
    )
    table = open_table(file, encoding=encoding, sheet=sheet)
    rows = same = 0
    out = sys.stdout
    try:
        for answer in match_file(table, options, params_from(settings)):
            out.write(json.dumps(answer.as_json(), ensure_ascii=False) + "\n")
            rows += 1
            same += answer.same_as is not None
    finally:
        table.close()
    out.flush()
    typer.echo(f"{rows:,} rows, {same:,} the same problem as an earlier row", err=True)


@refusals_to_exit
def topics(
    limit: int = typer.Option(20, min=1, help="How many of the largest topics to print."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array instead of a table."),
) -> None:
    """Place new voices in topics (incrementally), then print the largest topics."""
    ctx = context()
    run = update_topics(ctx)
    listed = list_topics(ctx, limit=limit)
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in listed], ensure_ascii=False))
        return
    typer.echo(f"{run.placed:,} voices placed, {run.new_topics:,} new topics, "
               f"{run.touched_topics:,} topics grew ({run.indexed:,} voices indexed first)")
    for t in listed:
        typer.echo(f"{t.rank:>3}  {t.size:>6}  {t.key:<12} {t.label}")
