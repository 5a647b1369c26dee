"""The hash chain behind the audit log, as pure functions.

Each record's hash covers its own fields and the previous record's hash, so changing,
removing or inserting any record breaks the chain at a point we can name. The head (last
sequence number and hash) is kept apart as well, so cutting records off the end is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str  # ISO-8601, UTC
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """One spelling for equal data, so the hash does not depend on key order or spacing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    *, seq: int, at: str, actor: str, action: str, subject: str, data: dict[str, Any], prev: str
) -> str:
    body = canonical_json(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": data}
    )
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # altered | removed | inserted | truncated
    detail: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.kind} — {self.detail}"


def verify_chain(
    records: Iterable[AuditRecord], head_seq: int | None, head_hash: str | None
) -> list[ChainProblem]:
    """Walk the chain in order and name every record that does not fit.

    * altered: the stored hash does not match the record's own content;
    * removed: a sequence number is missing;
    * inserted: a record's link to its predecessor is wrong although its content hashes
      correctly (someone forged a record and hashed it);
    * truncated: the chain ends before the head that was recorded with the last change;
      records past the head are ``inserted``, however well they link.
    """
    problems: list[ChainProblem] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_seq = 0
    for rec in records:
        if rec.seq > expected_seq:
            missing = (
                str(expected_seq)
                if rec.seq == expected_seq + 1
                else f"{expected_seq}–{rec.seq - 1}"
            )
            problems.append(ChainProblem(expected_seq, "removed", f"record(s) {missing} missing"))
        elif rec.seq < expected_seq:
            problems.append(ChainProblem(rec.seq, "inserted", "duplicate sequence number"))
        own = record_hash(
            seq=rec.seq,
            at=rec.at,
            actor=rec.actor,
            action=rec.action,
            subject=rec.subject,
            data=rec.data,
            prev=rec.prev_hash,
        )
        if own != rec.hash:
            problems.append(ChainProblem(rec.seq, "altered", "content does not match its hash"))
        elif rec.prev_hash != prev_hash and rec.seq == expected_seq:
            problems.append(
                ChainProblem(rec.seq, "inserted", "link to the previous record is broken")
            )
        prev_hash = rec.hash
        expected_seq = rec.seq + 1
        last_seq = rec.seq
    if head_seq is not None and head_seq > last_seq:
        problems.append(
            ChainProblem(last_seq + 1, "truncated", f"chain ends at {last_seq}, head is {head_seq}")
        )
    elif head_hash is not None and last_seq == head_seq and prev_hash != head_hash:
        problems.append(ChainProblem(last_seq, "altered", "last record differs from the head"))
    elif head_seq is not None and last_seq > head_seq:
        # records no append ever announced: forged, however well they link
        first = head_seq + 1
        if not any(p.seq == first and p.kind == "inserted" for p in problems):
            problems.append(
                ChainProblem(first, "inserted", f"record(s) after the head ({head_seq})")
            )
    return problems
