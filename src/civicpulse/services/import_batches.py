"""One batch of an import: its rows planned as cases (the same rows intake writes), then written.

A batch's rows are built by ``case_rows.new_case_rows``, like a submitted voice's, with ids
reserved beforehand (``storage.bulk_insert``); so on PostgreSQL a whole batch is planned
while the previous one is still being written, and the writer only has to drop the rows
found to be stored already and COPY the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from civicpulse.domain.roles import Actor
from civicpulse.domain.tracking import new_tracking_codes
from civicpulse.services.case_rows import CaseRows, Opening, new_case_rows, opening_for
from civicpulse.services.import_options import Rejection
from civicpulse.services.import_rows import Prepared
from civicpulse.services.routing import Route
from civicpulse.storage.bulk_insert import insert_rows, stored_external_ids, table_of
from civicpulse.storage.tables import Case, CaseEvent, ResidentContact, Voice, VoiceOrigin

CASES = table_of(Case)
VOICES = table_of(Voice)
#: the tables whose ids a batch reserves before writing, in the order ``plan_rows`` takes them
ID_TABLES = (CASES, VOICES)
_EVENTS = table_of(CaseEvent)
_CONTACTS = table_of(ResidentContact)
_ORIGINS = table_of(VoiceOrigin)


@dataclass
class Plan:
    """Every row one batch writes, per imported row, with the ids already in place."""

    cases: list[CaseRows]
    #: per case, what its source system said of the voice (supports, author), if anything
    origins: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def voice_ids(self) -> list[int]:
        return [rows.voice["id"] for rows in self.cases]

    def keep(self, indices: list[int]) -> Plan:
        """The plan without the rows found to be stored already (their ids stay unused)."""
        return Plan([self.cases[i] for i in indices], [self.origins[i] for i in indices])

    def digest(self) -> str:
        """SHA-256 over the imported voices' ids and texts, for the batch's audit record."""
        h = hashlib.sha256()
        for rows in self.cases:
            h.update(f"{rows.voice['id']}\x1f{rows.voice['text']}\x1e".encode())
        return h.hexdigest()


@dataclass
class Batch:
    """Consecutive rows of the file, committed (with the checkpoint) all or not at all."""

    rows: list[Prepared] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    first_row: int = 0
    last_row: int = 0
    size: int = 0
    repeated: int = 0  # rows whose external id came earlier in this run
    done_before: int = 0  # the checkpoint this batch continues from
    rejected_so_far: list[dict[str, Any]] | None = None  # the job's list, if this adds to it
    plan: Plan | None = None  # built ahead of the writer where ids can be reserved early


def plan_rows(
    actor: Actor, rows: list[Prepared], now: datetime, case_ids: list[int], voice_ids: list[int]
) -> Plan:
    """The cases, voices, opening events and contacts of ``rows``, as ``submit_voice`` makes
    them, counted from ``now`` (the import's time, not the record's)."""
    openings: dict[Route, Opening] = {}
    cases = []
    origins: list[dict[str, Any] | None] = []
    codes = new_tracking_codes(len(rows))
    for p, code, case_id, voice_id in zip(rows, codes, case_ids, voice_ids, strict=True):
        opening = openings.get(p.route)
        if opening is None:
            opening = openings[p.route] = opening_for(p.route, now)
        cases.append(
            new_case_rows(
                p.voice,
                route=p.route,
                case_id=case_id,
                voice_id=voice_id,
                tracking_code=code,
                actor=actor.label,
                now=now,
                language=p.language,
                opening=opening,
            )
        )
        origins.append(
            {"voice_id": voice_id, "supports": p.supports, "author_key": p.author_key}
            if p.supports or p.author_key else None
        )
    return Plan(cases, origins)


def not_stored(session: Session, rows: list[Prepared]) -> list[int]:
    """Indices of the rows whose (channel, external_id) is neither stored nor earlier in the
    batch; rows without an external id always count as new."""
    wanted: dict[str, set[str]] = {}
    for p in rows:
        if p.voice.external_id is not None:
            wanted.setdefault(p.voice.channel, set()).add(p.voice.external_id)
    stored = {
        (channel, e)
        for channel, ids in wanted.items()
        for e in stored_external_ids(session, channel, ids)
    }
    fresh: list[int] = []
    for i, p in enumerate(rows):
        if p.voice.external_id is not None:
            key = (p.voice.channel, p.voice.external_id)
            if key in stored:
                continue
            stored.add(key)
        fresh.append(i)
    return fresh


def write_plan(session: Session, plan: Plan) -> None:
    rows = plan.cases
    insert_rows(session, CASES, [r.case for r in rows])
    insert_rows(session, VOICES, [r.voice for r in rows])
    insert_rows(session, _EVENTS, [event for r in rows for event in r.events])
    insert_rows(session, _CONTACTS, [r.contact for r in rows if r.contact is not None])
    insert_rows(session, _ORIGINS, [o for o in plan.origins if o is not None])
