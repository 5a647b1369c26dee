"""import_voices: bring a table of historical records (hotline logs, message boards) in as voices.

Each accepted row becomes a voice and a case exactly as ``submit_voice`` makes them: the same
validation (``validate_voice``), the same routing (a ``RouteTable``), the same rows
(``case_rows.new_case_rows``: status, deadlines, timeline), counted from the time of the
import. What differs is the cost. A city's archive runs to millions of rows, so rows are
written in batches, one transaction per batch, with bulk writes (see ``storage.bulk_insert``
for why these are COPY and executemany rather than INSERT ... RETURNING), while the next
batch is being read and checked. The rows themselves are built by ``case_rows``, as
intake's are.

The work is split by what it answers: ``import_options`` (how the table is read: the
mapping, dates, the job's fingerprint), ``import_rows`` (what a row becomes, or why it is
rejected), ``import_batches`` (a batch's rows planned and written) and ``import_run`` (the
loop that commits batches in order with the checkpoint); this module opens the job and
reports on it.

Exactly once, even after a crash. Each batch's transaction also moves the import job's
checkpoint (``rows_done``: the last row number written) from where the previous batch left
it, and ends by appending one audit record; so a batch is either wholly in the database, with
its checkpoint and its audit record, or not at all. Running the same command again finds the
job by its fingerprint (file bytes, mapping, channel) and resumes after the checkpoint. On top
of that, a row whose ``(channel, external_id)`` is already stored, or came earlier in the
file, is skipped, so importing an overlapping export does not duplicate anything either.

No notifications. These are records of the past, often years old: telling residents today
that a complaint from 2011 was "received", with a tracking code, would be noise at best and a
privacy surprise at worst, and a department's inbox flooded with thousands of "new case"
mails would bury the cases that are really new. Imported cases appear in the department's
queue like any other; nobody is mailed about them.

Bad rows never stop an import: each one is rejected with its row number and the reason, and
the job keeps the full list so the report can be printed again after a resume.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicpulse.domain.errors import Conflict, ValidationFailed
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.import_options import (
    ImportOptions,
    Rejection,
    RowSource,
    check_options,
    import_fingerprint,
)
from civicpulse.services.import_run import ImportProgress, ImportRun, JobState
from civicpulse.storage.tables import ImportJob


@dataclass
class ImportReport:
    """Totals for the whole file (over every run of the job) and the speed of this run."""

    job_id: int
    source: str
    imported: int
    skipped: int
    rejected: list[Rejection]
    resumed_after: int = 0
    already_finished: bool = False
    rows_this_run: int = 0
    elapsed: float = 0.0

    @property
    def rows_read(self) -> int:
        return self.imported + self.skipped + len(self.rejected)

    @property
    def rows_per_second(self) -> float:
        return self.rows_this_run / self.elapsed if self.elapsed > 0 else 0.0


def import_voices(
    ctx: Context,
    actor: Actor,
    source: RowSource,
    file_sha256: str,
    options: ImportOptions,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Import every row of ``source`` once; resumes a job that an earlier run left unfinished."""
    zone = check_options(options, source.columns)
    if ctx.db.dialect not in ("postgresql", "sqlite"):
        raise ValidationFailed("bulk import needs SQLite or PostgreSQL")
    started = time.monotonic()
    job = _open_job(ctx, import_fingerprint(file_sha256, options), source.name)
    if job.finished_at is not None:
        return ImportReport(
            job_id=job.id,
            source=source.name,
            imported=job.imported,
            skipped=job.skipped,
            rejected=[Rejection.from_json(r) for r in job.rejected],
            resumed_after=job.rows_done,
            already_finished=True,
        )
    run = ImportRun(ctx, actor, source, options, zone, job, on_progress)
    run.execute()
    with ctx.db.reader() as s:
        imported, skipped, rejected = s.execute(
            select(ImportJob.imported, ImportJob.skipped, ImportJob.rejected).where(
                ImportJob.id == job.id
            )
        ).one()
    return ImportReport(
        job_id=job.id,
        source=source.name,
        imported=imported,
        skipped=skipped,
        rejected=[Rejection.from_json(r) for r in rejected],
        resumed_after=job.rows_done,
        rows_this_run=run.rows_this_run,
        elapsed=time.monotonic() - started,
    )


def _open_job(ctx: Context, fingerprint: str, source_name: str) -> JobState:
    """The job for this fingerprint, created on the first run."""
    for _ in range(2):
        try:
            with ctx.db.transaction() as s:
                job = s.scalars(
                    select(ImportJob).where(ImportJob.fingerprint == fingerprint)
                ).first()
                if job is None:
                    job = ImportJob(
                        fingerprint=fingerprint,
                        source_name=source_name[:500],
                        rows_done=0,
                        imported=0,
                        skipped=0,
                        rejected=[],
                        started_at=ctx.now(),
                    )
                    s.add(job)
                    s.flush()
                return JobState(
                    job.id,
                    job.rows_done,
                    job.imported,
                    job.skipped,
                    list(job.rejected or []),
                    job.finished_at,
                )
        except IntegrityError:
            continue  # another run created it at the same moment: read theirs
    raise Conflict("could not open the import job; try again")
