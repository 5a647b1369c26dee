"""understand rerun / redact / train-urgency, and topics: the background side of understanding.

Intake matches and assesses each voice as it arrives; these commands do it for voices that
came in another way (bulk import), redo it after a model or the rules changed, and place
voices in topics (incrementally: run it as often as you like).
"""

from __future__ import annotations

import json

import typer

from civicpulse.cli.common import context, refusals_to_exit
from civicpulse.services.redaction_pass import recheck_everything, redact_pending
from civicpulse.services.same_problem import rerun
from civicpulse.services.topics import list_topics, update_topics
from civicpulse.services.urgency import train_urgency

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
