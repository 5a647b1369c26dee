"""Appending to and reading the hash-chained audit log: the storage side of the chain.

Appends lock the single head row, so the chain has one order even with many writers; the
append is the last statement of each use case, so the lock is held only until commit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from civicpulse.domain.audit_chain import (
    AuditRecord,
    canonical_json,
    record_hash,
)
from civicpulse.storage.tables import AuditEntry, AuditHead

#: where a batch writer collects records to chain them all at once (see GroupCommitter)
_BUFFER = "civicpulse.audit_buffer"


@dataclass(frozen=True)
class _Pending:
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    at: datetime


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    data: dict[str, Any],
    at: datetime,
) -> None:
    """Add one record to the chain inside the caller's transaction.

    Written at once, unless a batch writer opened a buffer on this session: then it is
    chained with the rest of the batch just before the batch commits.
    """
    record = _Pending(actor, action, subject, data, at)
    buffer: list[_Pending] | None = session.info.get(_BUFFER)
    if buffer is not None:
        buffer.append(record)
    else:
        _write(session, [record])


def open_audit_buffer(session: Session) -> list[_Pending]:
    """Collect this session's audit records instead of writing each one."""
    buffer: list[_Pending] = []
    session.info[_BUFFER] = buffer
    return buffer


def flush_audit_buffer(session: Session) -> None:
    """Chain and write the collected records; the buffer is closed afterwards."""
    buffer: list[_Pending] = session.info.pop(_BUFFER, [])
    if buffer:
        _write(session, buffer)


def _write(session: Session, records: list[_Pending]) -> None:
    """Reserve len(records) places at the head of the chain and write them in order.

    Bumping the head first takes its row lock, so concurrent writers queue in one order;
    it is the last thing a transaction does, so the lock is held only until commit.
    """
    session.flush()  # the caller's changes go first, so the head lock is taken last
    conn = session.connection()
    statements = _statements()
    last_seq, prev = conn.execute(statements.bump, {"n": len(records)}).one()
    seq = int(last_seq) - len(records)
    rows = []
    for r in records:
        seq += 1
        stamp = r.at.isoformat()
        body = canonical_json(r.data)
        # hash what will be read back: the canonical text, parsed again
        digest = record_hash(
            seq=seq,
            at=stamp,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            data=json.loads(body),
            prev=prev,
        )
        rows.append(
            dict(
                seq=seq,
                at=stamp,
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                data=body,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    conn.execute(statements.entry, rows)
    conn.execute(statements.set_hash, {"new_hash": prev})


@dataclass(frozen=True)
class _Statements:
    bump: Any
    entry: Any
    set_hash: Any


@functools.cache
def _statements() -> _Statements:
    """Built once, with parameters bound at execution, so the statement cache always hits."""
    head: Any = AuditHead.__table__
    return _Statements(
        bump=update(head)
        .where(head.c.id == 1)
        .values(seq=head.c.seq + bindparam("n"))
        .returning(head.c.seq, head.c.hash),
        entry=insert(AuditEntry),
        set_hash=update(head).where(head.c.id == 1).values(hash=bindparam("new_hash")),
    )


def read_records(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            try:
                data = json.loads(r.data)
            except ValueError:
                data = {"__unparseable__": r.data}
            yield AuditRecord(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                data=data,
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
        last = rows[-1].seq
