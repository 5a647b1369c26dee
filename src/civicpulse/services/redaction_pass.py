"""The background redaction pass: stores the public form of every text not checked yet.

What it fills in and why it exists is in ``services/public_text.py`` (the gate). How it runs:

* **Incremental.** It reads only rows whose public form is NULL, found through two partial
  indexes (``ix_cases_public_title_pending``, ``ix_case_events_public_message_pending``), so
  a pass with nothing to do costs two index probes; that is what lets the in-process job
  loop run it every couple of seconds, and a resident rarely sees the placeholder.
* **Idempotent and safe beside other passes.** The slow part (the tagger) runs outside any
  transaction; the write sets a column only where it is still NULL, so two workers that
  checked the same row write it once, and a row is never checked twice by one pass.
* **Bounded.** Each call stops after ``budget_seconds`` (a backlog after the migration, a
  bulk import of Chinese records), so the other jobs of the loop are not starved; the next
  call goes on where this one stopped.
* **Never moves versions.** It updates with plain SQL, not through the ORM, so a case's
  ``version`` (staff's guard against lost updates) and ``updated_at`` stay as they were.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Update, bindparam, select, update

from civicpulse.services.public_text import public_form
from civicpulse.storage.bulk_insert import table_of
from civicpulse.storage.tables import Case, CaseEvent

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

_CASES = table_of(Case)
_EVENTS = table_of(CaseEvent)

_SET_TITLE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("row_id"), _CASES.c.public_title.is_(None))
    .values(public_title=bindparam("public_form"))
)
_SET_MESSAGE = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("row_id"), _EVENTS.c.public_message.is_(None))
    .values(public_message=bindparam("public_form"))
)
_OVERWRITE_TITLE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("row_id"))
    .values(public_title=bindparam("public_form"))
)
_OVERWRITE_MESSAGE = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("row_id"))
    .values(public_message=bindparam("public_form"))
)


@dataclass(frozen=True)
class RedactionRun:
    titles: int
    messages: int
    #: True when the budget ran out with rows still waiting
    more: bool = False


def redact_pending(
    ctx: Context, *, batch_size: int = 100, budget_seconds: float = 5.0
) -> RedactionRun:
    """Check titles and public messages not checked yet, oldest first, within the budget."""
    deadline = time.monotonic() + budget_seconds
    titles = messages = 0
    while True:
        with ctx.db.reader() as s:
            title_rows = s.execute(
                select(Case.id, Case.title)
                .where(Case.public_title.is_(None))
                .order_by(Case.id)
                .limit(batch_size)
            ).all()
            # ``CaseEvent.public`` alone is rendered as the partial index's predicate is
            # written, so SQLite finds the pending entries through it
            message_rows = s.execute(
                select(CaseEvent.id, CaseEvent.message)
                .where(
                    CaseEvent.public,
                    CaseEvent.message.is_not(None),
                    CaseEvent.public_message.is_(None),
                )
                .order_by(CaseEvent.id)
                .limit(batch_size)
            ).all()
        if not title_rows and not message_rows:
            return RedactionRun(titles, messages)
        _store(ctx, _SET_TITLE, title_rows)
        _store(ctx, _SET_MESSAGE, message_rows)
        titles += len(title_rows)
        messages += len(message_rows)
        if time.monotonic() >= deadline:
            return RedactionRun(titles, messages, more=True)


def recheck_everything(ctx: Context, *, batch_size: int = 500) -> RedactionRun:
    """Compute every public form again, after the redaction rules or the tagger changed.

    Rows keep their old public form until their new one is written, so nothing is shown
    unchecked meanwhile. Returns how many were rewritten."""
    titles = messages = 0
    for table, column, statement in (
        (_CASES, _CASES.c.title, _OVERWRITE_TITLE),
        (_EVENTS, _EVENTS.c.message, _OVERWRITE_MESSAGE),
    ):
        last_id = 0
        while True:
            q = select(table.c.id, column).where(table.c.id > last_id, column.is_not(None))
            if table is _EVENTS:
                q = q.where(_EVENTS.c.public)
            with ctx.db.reader() as s:
                rows = s.execute(q.order_by(table.c.id).limit(batch_size)).all()
            if not rows:
                break
            _store(ctx, statement, rows)
            last_id = rows[-1][0]
            if table is _CASES:
                titles += len(rows)
            else:
                messages += len(rows)
    return RedactionRun(titles, messages)


def _store(ctx: Context, statement: Update, rows: Sequence[Sequence[Any]]) -> None:
    """Redact outside the transaction (the slow part), then write the batch at once."""
    if not rows:
        return
    values = [{"row_id": row[0], "public_form": public_form(row[1] or "")} for row in rows]
    with ctx.db.transaction() as session:
        session.execute(statement, values)
