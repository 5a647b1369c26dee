"""Group commit: many concurrent small writes share one transaction and one disk flush.

A submission is only acknowledged after its transaction commits, so nothing accepted is
lost. What costs most per submission on a real disk is the flush at commit (and, with the
hash-chained audit log, holding the chain's lock until then); a single writer thread that
takes whatever submissions are waiting and commits them together pays that cost once per
batch instead of once per voice. Each item runs in its own savepoint, so one refused item
does not undo the others. Savepoints cost a round trip each on PostgreSQL, so a batch is
first tried without them and only rewritten with them when one of its items fails.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from civicpulse.storage.audit_log import flush_audit_buffer, open_audit_buffer
from civicpulse.storage.database import Database

R = TypeVar("R")
Work = Callable[[Session], Any]
_STOP: Any = object()  # queued by close(): the writer ends after what came before it


class GroupCommitter:
    """Runs units of work in batches on one writer thread; callers block until committed."""

    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, work: Callable[[Session], R]) -> R:
        """Run ``work(session)`` in the next batch; returns its result once committed."""
        return self.submit(work).result()

    def submit(self, work: Callable[[Session], R]) -> Future[R]:
        """Queue ``work(session)`` for the next batch; the future completes after commit."""
        self._ensure_thread()
        done: Future[R] = Future()
        self._queue.put((work, done))
        return done

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="civicpulse-group-commit", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = batch[-1] is _STOP
            if stopping:
                batch.pop()
            if batch:
                self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[tuple[Work, Future[Any]]]) -> None:
        try:
            try:
                outcomes = self._write(batch, isolated=False)
            except _ItemFailed:
                # one item failed part-way: the transaction is gone, so the batch is written
                # again with a savepoint around each item, isolating the failure
                outcomes = self._write(batch, isolated=True)
        except Exception as exc:  # the commit itself failed: nothing in the batch landed
            for _, done in batch:
                done.set_exception(exc)
            return
        for (ok, value), (_, done) in zip(outcomes, batch, strict=True):
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

    def _write(
        self, batch: list[tuple[Work, Future[Any]]], isolated: bool
    ) -> list[tuple[bool, Any]]:
        """One transaction for the batch. Optimistically without savepoints (each costs a
        round trip on PostgreSQL); with them when some item is known to fail."""
        outcomes: list[tuple[bool, Any]] = []
        with self.db.transaction() as session:
            audit = open_audit_buffer(session)
            for work, _ in batch:
                if not isolated:
                    try:
                        outcomes.append((True, work(session)))
                    except Exception as exc:
                        raise _ItemFailed from exc
                    continue
                savepoint = session.begin_nested()
                audited = len(audit)
                try:
                    value = work(session)
                    savepoint.commit()
                    outcomes.append((True, value))
                except Exception as exc:  # the caller gets its own error back
                    savepoint.rollback()
                    del audit[audited:]
                    outcomes.append((False, exc))
            # the whole batch is chained in one go: one head update, one insert
            flush_audit_buffer(session)
        return outcomes


class _ItemFailed(Exception):
    """Raised out of an optimistic batch to roll it back and retry it item by item."""
