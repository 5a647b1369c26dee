"""The group-commit writer: a failing item never takes its batch-mates down with it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpulse.infra.context import Context
from civicpulse.services.audit import verify_audit_log
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Department


def _department(
    code: str, at: datetime, fail_after_write: bool = False
) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        session.add(Department(code=code, name_en=code, name_zh="", created_at=at))
        session.flush()
        append_audit(session, actor="test", action="dept.added", subject=code, data={}, at=at)
        if fail_after_write:
            raise RuntimeError(f"{code} failed after writing")
        return code

    return work


def test_failed_item_is_isolated_and_the_rest_commit(ctx: Context) -> None:
    gate = threading.Event()

    def blocker(session: Session) -> str:
        gate.wait(10)  # holds the writer so the next items queue up as one batch
        return "first"

    writer = ctx.writer
    first = writer.submit(blocker)
    batch: list[Future[str]] = [
        writer.submit(_department("a", ctx.now())),
        writer.submit(_department("b", ctx.now(), fail_after_write=True)),
        writer.submit(_department("c", ctx.now())),
    ]
    gate.set()
    assert first.result(10) == "first"
    assert batch[0].result(10) == "a" and batch[2].result(10) == "c"
    with pytest.raises(RuntimeError, match="b failed"):
        batch[1].result(10)
    with ctx.db.reader() as s:
        codes = sorted(s.scalars(select(Department.code)))
    assert codes == ["a", "c"]
    count, problems = verify_audit_log(ctx.db)
    assert problems == [] and count == 2  # b's audit record went with its savepoint


def test_close_finishes_queued_work(ctx: Context) -> None:
    futures = [ctx.writer.submit(_department(f"d{i}", ctx.now())) for i in range(20)]
    ctx.writer.close()
    assert all(f.done() and f.result() for f in futures)
