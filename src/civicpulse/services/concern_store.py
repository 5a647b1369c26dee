"""What a concerns refresh writes, and the rescoring of stored concerns from their facts.

A refresh reads and plans in ``concern_refresh.py``; everything it changes goes through here:
the recomputed concerns and the placement of their cases (one transaction per slice), then
the concerns left empty, the pending labels, the words' frequencies and the watermarks (one
closing transaction). Kept apart so the writes of concerns have one path, whatever reads
led to them.

**Staff marks follow the problem.** A concern's key names how it is grouped (``c12`` for a
case, ``t5-c12`` once its topic gathers more cases), so a key can change while the problem
stays. When a refresh removes a concern, the concern that now holds most of its cases
inherits its lead department (where it has none; audited as ``concern.lead_carried``) and its
followers, so a dispatcher's decision and an officer's follow are not lost to regrouping.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civicpulse.domain.roles import SYSTEM
from civicpulse.insight.concern_ranking import ConcernFacts, Weights, day_number, load_weights, rank
from civicpulse.services.concern_parts import Built, Reader, Root
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.bulk_insert import insert_rows, reserve_in_transaction
from civicpulse.storage.tables import Concern, ConcernCase, ConcernFollow, ConcernState, ConcernWord

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

#: the one row of ``concern_state``
STATE_ID = 1


@dataclass
class Written:
    """What the slices of one run wrote: the concerns, and where the cases of concerns that
    were regrouped went (old concern id -> new concern id -> cases)."""

    concerns: set[int] = field(default_factory=set)
    successors: dict[int, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))


def _upsert(session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str],
            update_columns: list[str]) -> None:
    if not rows:
        return
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = make(model.__table__)  # the table, not the class: no ORM bookkeeping per row
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: getattr(stmt.excluded, c) for c in update_columns},
    )
    for i in range(0, len(rows), 5000):
        session.execute(stmt, rows[i : i + 5000])


def write_batch(
    ctx: Context,
    built: list[Built],
    as_of: datetime,
    weights: Weights,
    touched_cases: Mapping[int, int],
    roots: Mapping[int, Root],
    held_before: Mapping[int, int | None],
    written: Written,
) -> None:
    """One slice of recomputed concerns and the placement of every case they hold: new
    concerns by one bulk insert (ids reserved first), changed ones by one executemany.
    ``touched_cases`` maps each case placed to its root; ``held_before`` a case to the
    concern that held it before this run."""
    settings = ctx.settings
    now = ctx.now()
    table = cast(Table, Concern.__table__)
    with ctx.db.transaction() as s:
        rows: list[dict[str, Any]] = []
        for b in built:
            if b.people < settings.concern_min_people:
                continue
            ranked = rank(b.facts, weights, as_of)
            rows.append(dict(
                key=b.target.key, kind=b.target.kind, topic_id=b.target.topic_id,
                place=b.target.place, label=b.label[:2000], label_pending=b.label_pending,
                score=ranked.score, reasons=[r.as_json() for r in ranked.reasons],
                facts=b.facts.as_json(), voices=b.voices, residents=b.facts.residents,
                supports=b.supports, roots=len(b.target.roots), first_at=b.first_at,
                last_at=b.last_at, lat=b.lat, lon=b.lon, area=b.area,
                departments=b.departments, updated_at=now,
            ))
        found = dict(Reader(s).rows(lambda c: select(Concern.key, Concern.id).where(c),
                                    Concern.key, [r["key"] for r in rows]))
        fresh = [r for r in rows if r["key"] not in found]
        (ids,) = reserve_in_transaction(s, [table], len(fresh))
        for row, concern_id in zip(fresh, ids, strict=True):
            row["id"] = concern_id
            found[row["key"]] = concern_id
        insert_rows(s, table, fresh)
        changed = [{**r, "cid": found[r["key"]]} for r in rows if "id" not in r]
        if changed:
            columns = [c for c in changed[0] if c not in ("cid", "key")]
            s.execute(
                table.update().where(table.c.id == bindparam("cid"))
                .values({c: bindparam(c) for c in columns}),
                changed,
            )
        concern_of_case: dict[int, int | None] = {}
        for b in built:
            held = found.get(b.target.key) if b.people >= settings.concern_min_people else None
            if held is not None:
                written.concerns.add(held)
                for case_id in b.cases:
                    before = held_before.get(case_id)
                    if before is not None and before != held:
                        written.successors[before][held] += 1
            for case_id in b.cases:
                concern_of_case[case_id] = held
        placements = []
        for case_id, root in sorted(touched_cases.items()):
            anchor = roots.get(case_id) if case_id == root else None
            placements.append({
                "case_id": case_id, "root_case_id": root,
                "concern_id": concern_of_case.get(case_id),
                "topic_id": anchor.topic_id if anchor else None,
                "place": anchor.place if anchor else None,
                "at": anchor.at if anchor else None,
                "names": list(anchor.names) if anchor else None,
            })
        _upsert(s, ConcernCase, placements, ["case_id"],
                ["root_case_id", "concern_id", "topic_id", "place", "at", "names"])


def finish(
    ctx: Context,
    stale: set[int],
    written: Written,
    watermarks: tuple[int, int, int],
    as_of: datetime | None,
    texts: int,
    words: Counter[str],
    pending: dict[int, str],
) -> int:
    """Concerns left empty go (their staff marks passed on first), pending labels are filled,
    the word frequencies and the watermarks move on; returns how many concerns went."""
    now = ctx.now()
    removed = 0
    with ctx.db.transaction() as s:
        gone = sorted(stale - written.concerns)
        if gone:
            _carry_marks(s, gone, written, now)
            for condition in Reader(s).where_in(ConcernCase.concern_id, gone):
                s.execute(update(ConcernCase).where(condition).values(concern_id=None))
            table = Concern.__table__
            for condition in Reader(s).where_in(table.c.id, gone):
                removed += s.execute(
                    table.delete().where(condition)  # type: ignore[attr-defined]
                ).rowcount
        for concern_id, title in pending.items():
            s.execute(update(Concern).where(Concern.id == concern_id)
                      .values(label=title, label_pending=False))
        if words:
            _add_words(s, words)
        state = s.get(ConcernState, STATE_ID)
        if state is None:
            state = ConcernState(id=STATE_ID, voice_id=0, event_id=0, support_id=0,
                                 scored_day=0, weights_digest="", texts=0, updated_at=now)
            s.add(state)
        state.voice_id, state.event_id, state.support_id = watermarks
        state.as_of = as_of
        state.texts = texts
        state.updated_at = now
    return removed


def _carry_marks(s: Session, gone: list[int], written: Written, now: datetime) -> None:
    """Pass each removed concern's lead department and followers to the concern that took
    most of its cases (ties go to the lower id, so a rerun decides the same way)."""
    heirs = {
        old: min(counts, key=lambda cid: (-counts[cid], cid))
        for old in gone if (counts := written.successors.get(old))
    }
    if not heirs:
        return
    ids = set(heirs) | set(heirs.values())
    concerns = {c.id: c for c in s.scalars(select(Concern).where(Concern.id.in_(ids)))}
    followers: dict[int, set[str]] = defaultdict(set)
    for concern_id, username in s.execute(
        select(ConcernFollow.concern_id, ConcernFollow.username)
        .where(ConcernFollow.concern_id.in_(ids))
    ):
        followers[concern_id].add(username)
    for old, new in sorted(heirs.items()):
        was, heir = concerns.get(old), concerns.get(new)
        if was is None or heir is None:
            continue
        if was.lead_department_id is not None and heir.lead_department_id is None:
            heir.lead_department_id = was.lead_department_id
            append_audit(
                s, actor=SYSTEM.label, action="concern.lead_carried",
                subject=f"concern:{heir.key}",
                data={"key": heir.key, "from_key": was.key,
                      "department_id": was.lead_department_id},
                at=now,
            )
        for username in sorted(followers[old] - followers[new]):
            s.add(ConcernFollow(concern_id=new, username=username, created_at=now))
            followers[new].add(username)
    s.flush()


def _add_words(session: Session, counts: Counter[str]) -> None:
    rows = [{"word": w, "texts": n} for w, n in sorted(counts.items())]
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, ConcernWord.__table__)
    stmt = make(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["word"], set_={"texts": table.c.texts + stmt.excluded.texts}
    )
    for i in range(0, len(rows), 5000):
        session.execute(stmt, rows[i : i + 5000])


def rescore(ctx: Context, weights: Weights | None = None, *, force: bool = False) -> int:
    """Score every concern again from its stored facts when the day of ``as_of`` or the
    weights changed since the last full rescore (growth and age move with time); returns
    how many were rescored."""
    weights = weights or load_weights(ctx.settings.concern_weights_file)
    with ctx.db.reader() as s:
        state = s.get(ConcernState, STATE_ID)
        if state is None or state.as_of is None:
            return 0
        as_of, day = state.as_of, day_number(state.as_of)
        if not force and state.scored_day == day and state.weights_digest == weights.digest:
            return 0
        rows = s.execute(select(Concern.id, Concern.facts)).all()
    updates = []
    for concern_id, facts in rows:
        ranked = rank(ConcernFacts.from_json(facts), weights, as_of)
        updates.append({"cid": concern_id, "score": ranked.score,
                        "reasons": [r.as_json() for r in ranked.reasons]})
    with ctx.db.transaction() as s:
        table = Concern.__table__
        stmt = (
            table.update()  # type: ignore[attr-defined]
            .where(table.c.id == bindparam("cid"))
            .values(score=bindparam("score"), reasons=bindparam("reasons"))
        )
        for i in range(0, len(updates), 5000):
            s.execute(stmt, updates[i : i + 5000])
        s.execute(update(ConcernState).where(ConcernState.id == STATE_ID)
                  .values(scored_day=day, weights_digest=weights.digest))
    return len(updates)


def analyse(ctx: Context) -> None:
    """Fresh PostgreSQL statistics for the concern tables after a first, large refresh."""
    if ctx.db.dialect != "postgresql":
        return
    with ctx.db.transaction() as s:
        for name in ("concerns", "concern_cases", "concern_words"):
            s.execute(text(f'ANALYZE "{name}"'))
