"""One run of an import job: read on from the checkpoint, commit batch after batch, in order.

Each batch's transaction writes its rows, moves the job's checkpoint (``rows_done``) from
exactly where the previous batch left it, and ends by appending one audit record; so a
batch is either wholly in the database, with its checkpoint and its audit record, or not at
all, and a crashed run is resumed after the last committed row.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, cast

from sqlalchemy import CursorResult, update

from civicpulse.domain.errors import Conflict
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.import_batches import (
    ID_TABLES,
    VOICES,
    Batch,
    not_stored,
    plan_rows,
    write_plan,
)
from civicpulse.services.import_options import ImportOptions, Rejection, RowSource
from civicpulse.services.import_rows import RowChecker
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.bulk_insert import (
    analyze,
    id_sequences,
    reserve_from_sequences,
    reserve_in_transaction,
    table_of,
)
from civicpulse.storage.tables import ImportJob

AUDIT_ACTION = "voices.imported"
_JOBS = table_of(ImportJob)


@dataclass(frozen=True)
class ImportProgress:
    """Told to the caller after every committed batch (and while a resume skips ahead)."""

    rows_read: int  # all of the file so far, over every run of the job
    rows_this_run: int  # committed by this run
    imported: int
    skipped: int
    rejected: int
    position: int
    total: int | None


@dataclass(frozen=True)
class JobState:
    """The job as this run found it."""

    id: int
    rows_done: int
    imported: int
    skipped: int
    rejected: list[dict[str, Any]]
    finished_at: datetime | None


class ImportRun:
    """Reads on from the checkpoint while writer threads commit the batches before."""

    def __init__(
        self,
        ctx: Context,
        actor: Actor,
        source: RowSource,
        options: ImportOptions,
        zone: tzinfo,
        job: JobState,
        on_progress: Callable[[ImportProgress], None] | None,
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.source = source
        self.options = options
        self.job_id = job.id
        self.resume_after = job.rows_done
        self.rejected_so_far = list(job.rejected)
        self.rows_this_run = 0
        # what the committed batches add up to, kept for progress reports
        self.lock = threading.Lock()
        self.imported = job.imported
        self.skipped = job.skipped
        self.rejected = len(job.rejected)
        self.committed = 0
        self.grown = 0  # voices added since the last ANALYZE
        self.analyzed_size = 0
        self.analyzing = False
        self.on_progress = on_progress
        self.checker = RowChecker(ctx, options, source.columns, zone)
        postgresql = ctx.db.dialect == "postgresql"
        self.sequences = id_sequences(ctx.db.engine, ID_TABLES) if postgresql else None
        # SQLite has one writer at a time whatever we do; PostgreSQL can take two batches
        self.writers = 2 if postgresql else 1

    # -- reading -------------------------------------------------------------------------

    def execute(self) -> None:
        """Read and check the next batch while writer threads write the previous ones.

        Most of a batch's time is the database's, so on PostgreSQL two batches are written
        at once, each in its own transaction; but each waits for the one before it to commit
        before it moves the checkpoint and appends its audit record, so batches still commit
        in file order and the checkpoint only ever moves over committed rows. Keys repeated
        across the two batches in flight are caught while reading (see ``_batches``), so the
        two never wait on each other inside the database.
        """
        with ThreadPoolExecutor(self.writers, thread_name_prefix="import-writer") as pool:
            in_flight: deque[Future[None]] = deque()
            previous: Future[None] | None = None
            for batch, final in self._batches():
                while len(in_flight) >= self.writers:
                    in_flight.popleft().result()  # re-raises what a writer hit
                previous = pool.submit(self._commit, batch, final, previous)
                in_flight.append(previous)
            for pending in in_flight:
                pending.result()

    def _batches(self) -> Iterator[tuple[Batch, bool]]:
        """Checked rows after the checkpoint, ``batch_size`` at a time, and whether it is the
        last batch (which may be short, or empty)."""
        done = self.resume_after
        seen_before: set[tuple[str, str]] = set()  # keys of the batch that may be in flight
        seen: set[tuple[str, str]] = set()
        batch = Batch(done_before=done)
        skipped_over = 0
        for row in self.source.rows():
            if row.number <= self.resume_after:
                skipped_over += 1
                if skipped_over % self.options.batch_size == 0:
                    self._tell()
                continue
            if not batch.size:
                batch.first_row = row.number
            batch.last_row = row.number
            batch.size += 1
            prepared = self.checker.prepare(row)
            if isinstance(prepared, Rejection):
                batch.rejected.append(prepared)
            elif prepared.voice.external_id is None:
                batch.rows.append(prepared)
            else:
                key = (prepared.voice.channel, prepared.voice.external_id)
                if key in seen or key in seen_before:
                    batch.repeated += 1
                else:
                    seen.add(key)
                    batch.rows.append(prepared)
            if batch.size >= self.options.batch_size:
                yield self._sealed(batch), False
                done = batch.last_row
                seen_before, seen = seen, set()
                batch = Batch(done_before=done)
        yield self._sealed(batch), True

    def _sealed(self, batch: Batch) -> Batch:
        """Note the job's rejection list as of this batch; on PostgreSQL, also reserve ids
        and build every row to write here, off the writer."""
        self.rows_this_run += batch.size
        if batch.rejected:
            self.rejected_so_far += [r.as_json() for r in batch.rejected]
            batch.rejected_so_far = list(self.rejected_so_far)
        if self.sequences is not None and batch.rows:
            case_ids, voice_ids = reserve_from_sequences(
                self.ctx.db.engine, self.sequences, len(batch.rows)
            )
            batch.plan = plan_rows(self.actor, batch.rows, self.ctx.now(), case_ids, voice_ids)
        return batch

    def _tell(self) -> None:
        if self.on_progress is None:
            return
        position, total = self.source.progress()
        with self.lock:
            progress = ImportProgress(
                rows_read=self.imported + self.skipped + self.rejected,
                rows_this_run=self.committed,
                imported=self.imported,
                skipped=self.skipped,
                rejected=self.rejected,
                position=position,
                total=total,
            )
        self.on_progress(progress)

    # -- writing -------------------------------------------------------------------------

    def _commit(self, batch: Batch, final: bool, previous: Future[None] | None) -> None:
        """Write one batch, its checkpoint and its audit record in one transaction.

        The rows go in first, possibly while the previous batch is still being written;
        then, once the previous batch has committed, the checkpoint moves from exactly where
        that batch left it (else someone else is running this import: refused) and the audit
        record is appended as the transaction's last statement.
        """
        with self.ctx.db.transaction() as session:
            fresh = not_stored(session, batch.rows)
            if batch.plan is not None:
                plan = batch.plan if len(fresh) == len(batch.rows) else batch.plan.keep(fresh)
            else:  # SQLite: ids can only be handed out under the write lock, that is, here
                kept = [batch.rows[i] for i in fresh]
                case_ids, voice_ids = reserve_in_transaction(session, ID_TABLES, len(kept))
                plan = plan_rows(self.actor, kept, self.ctx.now(), case_ids, voice_ids)
            write_plan(session, plan)
            if previous is not None:
                previous.result()  # its failure is ours too: this transaction rolls back
            now = self.ctx.now()
            imported = len(plan.cases)
            skipped = len(batch.rows) - imported + batch.repeated
            values: dict[str, Any] = {
                "rows_done": max(batch.done_before, batch.last_row),
                "imported": _JOBS.c.imported + imported,
                "skipped": _JOBS.c.skipped + skipped,
            }
            if batch.rejected_so_far is not None:
                values["rejected"] = batch.rejected_so_far
            if final:
                values["finished_at"] = now
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(_JOBS)
                    .where(_JOBS.c.id == self.job_id, _JOBS.c.rows_done == batch.done_before)
                    .values(**values)
                ),
            )
            if claimed.rowcount != 1:
                raise Conflict(
                    "another run of this import moved its checkpoint; only one may run at a time"
                )
            if batch.size:
                append_audit(
                    session,
                    actor=self.actor.label,
                    action=AUDIT_ACTION,
                    subject=f"import:{self.job_id}",
                    data={
                        "job": self.job_id,
                        "source": self.source.name,
                        "first_row": batch.first_row,
                        "last_row": batch.last_row,
                        "count": imported,
                        "skipped": skipped,
                        "rejected": len(batch.rejected),
                        "digest": plan.digest(),
                    },
                    at=now,
                )
        with self.lock:
            self.imported += imported
            self.skipped += skipped
            self.rejected += len(batch.rejected)
            self.committed += batch.size
        self._keep_statistics_fresh(imported)
        self._tell()

    def _keep_statistics_fresh(self, added: int) -> None:
        """ANALYZE voices on PostgreSQL each time this run has doubled it.

        The duplicate check looks ``(channel, external_id)`` up in the unique index, but a
        table that grew from nothing within minutes has no statistics yet, and the planner
        then filters every stored row against the batch's ids instead, which got slower
        with every batch (seconds per batch at 30,000 rows). Doing it at each doubling costs
        a few ANALYZEs per run, each on a sample.
        """
        if self.ctx.db.dialect != "postgresql":
            return
        with self.lock:
            self.grown += added
            if self.analyzing or self.grown < max(5000, self.analyzed_size):
                return
            self.analyzing = True
        try:
            with self.ctx.db.transaction() as session:
                size = analyze(session, VOICES)
            with self.lock:
                self.analyzed_size, self.grown = size, 0
        finally:
            self.analyzing = False
