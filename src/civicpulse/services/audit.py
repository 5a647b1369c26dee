"""Verifying the hash-chained audit log: anyone can check that no record was altered.

Records are appended by ``storage.audit_log.append_audit`` inside each use case's
transaction; this reads the whole chain back in one snapshot and checks every link.
"""

from __future__ import annotations

from collections.abc import Iterator

from civicpulse.domain.audit_chain import AuditRecord, ChainProblem, verify_chain
from civicpulse.storage.audit_log import read_records
from civicpulse.storage.database import Database
from civicpulse.storage.tables import AuditHead


def verify_audit_log(db: Database) -> tuple[int, list[ChainProblem]]:
    """Check the whole chain; returns how many records were read and every problem found."""
    with db.reader() as session:
        if db.dialect == "postgresql":
            # one snapshot for the head and all records, so appends committed while we read
            # are not taken for records past the head (SQLite's WAL reader has one already)
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        head = session.get(AuditHead, 1)
        count = 0

        def counted() -> Iterator[AuditRecord]:
            nonlocal count
            for rec in read_records(session):
                count += 1
                yield rec

        problems = verify_chain(counted(), head.seq if head else None, head.hash if head else None)
        if head is None:
            problems.append(ChainProblem(0, "altered", "the chain head row is missing"))
        return count, problems
