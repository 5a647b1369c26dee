"""audit formalism: per department the formalism rates and the flagged cases with reasons.

The same report as the staff page ``/staff/formalism`` (the same service call); the operator
acts as the system, so every department's flags and people are listed.
"""

from __future__ import annotations

import typer

from civicpulse.cli.admin import audit
from civicpulse.cli.common import CLI_ACTOR, context, moment, refusals_to_exit
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.formalism import formalism_report, published_formalism
from civicpulse.services.formalism_views import (
    RATE_FIELDS,
    DepartmentRates,
    FormalismReport,
    FormalismSummary,
)

FORMATS = ("table", "json")
_HEADINGS = ("ping-pong", "reopened", "repeat", "deadline", "rej.elsewhere", "unconfirmed",
             "hollow")


def register(app: typer.Typer) -> None:
    """Attach ``formalism`` to the ``audit`` group (``cli/admin.py``)."""
    audit.command("formalism")(formalism)


@refusals_to_exit
def formalism(
    since: str | None = typer.Option(
        None, help="Start of the period (ISO date or date-time; without a zone, the city's "
        "time zone). Default: CIVICPULSE_FORMALISM_PERIOD_DAYS before --until."
    ),
    until: str | None = typer.Option(None, help="End of the period (excluded). Default: now."),
    department: str | None = typer.Option(
        None, "--department", help="Only this department's flags and people (code)."
    ),
    fmt: str = typer.Option("table", "--format", help=f"One of: {', '.join(FORMATS)}."),
    public: bool = typer.Option(
        False, "--public", help="Only the public figures, as the league table and "
        "GET /api/v1/formalism publish them: the summary the job runner keeps (computed "
        "here only when none is kept yet, or for a --since/--until period); no case, no "
        "person."),
) -> None:
    """Formalism flags per department: cases passed back and forth, resolved then not
    fixed, repeats at the same place after a fix, resolutions on the deadline's edge,
    closures in bulk at a month's end, rejections another department then did, and
    unconfirmed closures far above the city's share, resolutions answered with a hollow
    reply; each with its reasons and evidence.

    JSON: {since, until, min_sample, thresholds, city, departments: [{department,
    cases_received, cases_resolved, closures, cases_rejected, replies_assessed,
    ping_pong_rate, reopened_rate, repeat_after_fix_rate, deadline_edge_rate,
    rejected_done_elsewhere_rate, unconfirmed_closure_rate, hollow_reply_rate,
    bulk_closure_windows, flags, sample_too_small}], officers,
    flags: [{key, kind, department, at, case_ids, reasons, facts, evidence, officers,
    explanations}]}.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"--format must be one of {', '.join(FORMATS)}")
    ctx = context()
    try:
        zone = ctx.settings.timezone
        start, end = moment("since", since, zone), moment("until", until, zone)
        if public:
            summary = published_formalism(ctx, start, end)
        else:
            report = formalism_report(ctx, CLI_ACTOR, since=start, until=end,
                                      department=department)
    finally:
        ctx.close()
    if public:
        if fmt == "json":
            typer.echo(summary.model_dump_json(indent=1))
        else:
            _rates(summary, department)
        return
    if fmt == "json":
        typer.echo(report.model_dump_json(indent=1))
        return
    _table(report, department)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _row(r: DepartmentRates) -> str:
    rates = "".join(f"{_rate(getattr(r, name)):>14}" for name in RATE_FIELDS)
    return (f"{r.department:<16}{r.cases_received:>9}{r.cases_resolved:>9}{rates}"
            f"{r.bulk_closure_windows:>6}")


def _rates(report: FormalismSummary, department: str | None) -> None:
    until = report.until.isoformat() if report.until else "now"
    typer.echo(f"formalism audit {report.since.isoformat()} – {until}; rates withheld (—) "
               f"below {report.min_sample} cases")
    heads = "".join(f"{h:>14}" for h in _HEADINGS)
    typer.echo(f"{'department':<16}{'received':>9}{'resolved':>9}{heads}{'bulk':>6}")
    for r in report.departments:
        if department is None or r.department == department:
            typer.echo(_row(r))
    typer.echo(_row(report.city))


def _table(report: FormalismReport, department: str | None) -> None:
    _rates(report, department)
    typer.echo(f"\n{len(report.flags)} flags")
    for f in report.flags:
        cases = ", ".join(str(c) for c in f.case_ids[:8])
        more = f" (+{len(f.case_ids) - 8})" if len(f.case_ids) > 8 else ""
        typer.echo(f"  {f.department:<14} {f.kind:<24} {f.at:%Y-%m-%d %H:%M}  cases {cases}"
                   f"{more}  [{f.key}]")
        for reason in f.reasons:
            typer.echo(f"      {reason}")
        for e in f.explanations:
            typer.echo(f"      explained by {e.author} {e.at:%Y-%m-%d}: {e.text}")
