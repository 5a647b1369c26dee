"""Concerns kept up to date, incrementally: what changed since the last run, and nothing else.

A concern is what many residents raise about one problem:

* **a case** with the cases merged into it (staff, or intake's same-problem matching, said
  they are one problem), keyed ``c<case id>``;
* or **a topic in one place and period**: the cases whose first voice fell in one topic
  (``services/topics.py``), in one place (the same square of ``CIVICPULSE_CONCERN_PLACE_KM``
  when located, else the same area, else anywhere), each raised within
  ``CIVICPULSE_CONCERN_GAP_DAYS`` of the one before, keyed ``<topic key>-c<first case>``.

Every voice reaches a concern through its case's *root* (the case it was merged into, or
itself), and every root belongs to at most one concern, so no voice counts twice. A case or
topic becomes a concern once ``CIVICPULSE_CONCERN_MIN_PEOPLE`` people stand behind it.

**Incremental.** A run reads three change feeds past its watermarks: new voices, new timeline
entries (every status change, merge, unmerge, verdict and urgency mark writes one) and new
"me too"s. The cases they name, with their roots before and after, are *dirty*; so are the
topic groups those roots fall in. Only the concerns of dirty cases and groups are recomputed
from their voices; an unchanged episode of a dirty group is recognised and left alone. The
facts each score is computed from are stored with it, so the passing of time (growth and age
move daily) and a change of weights rescore every concern from those facts, without reading
a voice. Watermarks only pass rows older than a minute: a row committed late (PostgreSQL
hands out ids before commit) is read on the next run, and reading a row twice is harmless.

**Groups.** Within a topic, a place and a period, cases whose titles name different places
or organisations are different problems (``concern_parts.split_by_names``): a topic
gathers voices by their wording, and "fumes from the restaurants under estate A" reads like
"... under estate B".

**Cost.** A run reads its change feeds by primary key, each dirty root's cases through the
``merged_into_id`` index and its voices through ``case_id``; a dirty topic group is one read
of ``concern_cases``, where each root keeps the topic, place, time and title names of its
first voice. So a run costs what changed, not the size of the city: 1,000 new voices in a
city of 1,000,000 took 3.7–5.4 s on PostgreSQL (``bench/bench_concerns.py``,
``bench/README.md``).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from civicpulse.domain.resident_keys import contact_keys
from civicpulse.insight.concern_ranking import Weights, load_weights
from civicpulse.services.concern_facts import Evidence, build_concern
from civicpulse.services.concern_labelling import label_concerns
from civicpulse.services.concern_parts import (
    Built,
    Reader,
    Root,
    Target,
    VoiceRow,
    members_of,
    place_of,
    roots_of,
    split_by_names,
)
from civicpulse.services.concern_store import (
    STATE_ID,
    Written,
    analyse,
    finish,
    rescore,
    write_batch,
)
from civicpulse.services.resident_identity import identity_secret
from civicpulse.services.topics import update_topics
from civicpulse.storage.tables import (
    Area,
    Case,
    CaseEvent,
    CaseSupport,
    Concern,
    ConcernCase,
    ConcernState,
    ConcernWord,
    Department,
    ResidentContact,
    Topic,
    Verification,
    Voice,
    VoiceInsight,
    VoiceOrigin,
    VoiceTopic,
)
from civicpulse.understanding import concern_labels

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

#: rows younger than this are read again by the next run (a late commit is not missed)
SETTLE = timedelta(seconds=60)
#: at most this many new texts a run feeds into the words' frequencies (an even sample)
WORDS_SAMPLE = 20_000
#: concerns recomputed per read-and-write slice
BATCH = 20_000


@dataclass(frozen=True)
class ConcernRun:
    """What one refresh did."""

    new_voices: int
    dirty_cases: int
    recomputed: int
    removed: int
    rescored: int
    seconds: float


# ---- the run -------------------------------------------------------------------------------


def refresh_concerns(ctx: Context, *, place_topics: bool = True) -> ConcernRun:
    """Bring concerns up to date with what changed since the last run, then rescore them
    all if the day or the weights changed. ``place_topics``: place new voices in topics
    first (the job runner, which has just done it, says False)."""
    started = time.monotonic()
    if place_topics:
        update_topics(ctx)
    with _one_at_a_time(ctx) as mine:
        if not mine:  # another worker is refreshing: it takes in these changes too
            return ConcernRun(0, 0, 0, 0, 0, time.monotonic() - started)
        return _refresh(ctx, started)


#: the PostgreSQL advisory lock that lets one worker refresh concerns at a time
_LOCK = 0x636F6E63  # "conc"


@contextmanager
def _one_at_a_time(ctx: Context) -> Iterator[bool]:
    """On PostgreSQL, several workers run the job: the first takes a session lock and the
    others skip the run instead of writing the same concerns at the same time. SQLite has
    one server process, which runs its jobs one after the other."""
    if ctx.db.dialect != "postgresql":
        yield True
        return
    with ctx.db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK})
                conn.commit()


def _refresh(ctx: Context, started: float) -> ConcernRun:
    weights = load_weights(ctx.settings.concern_weights_file)
    secret = identity_secret(ctx)
    now = ctx.now()
    with ctx.db.reader() as s:
        work = _Work(ctx, s, secret, weights, now)
        feed = work.read_feeds(now - SETTLE)
        # the new voices' words first: how rare a word is decides names and labels
        words = work.word_counts(feed.new_case_ids)
        if feed.dirty:
            work.plan(feed.dirty)
        pending = work.pending_labels()
    recomputed = 0
    # a first run over a whole history is written in slices, so memory stays bounded
    for i in range(0, len(work.targets), BATCH):
        with ctx.db.reader() as s:
            work.use(s)
            built = work.build(work.targets[i : i + BATCH])
        write_batch(ctx, built, feed.as_of or now, weights, work.touched_cases, work.roots,
                    work.held_before, work.written)
        recomputed += len(built)
    removed = finish(ctx, work.stale, work.written, feed.watermarks, feed.as_of, work.texts,
                     words, pending)
    rescored = rescore(ctx, weights)
    if recomputed > 50_000:
        analyse(ctx)
    return ConcernRun(
        new_voices=len(feed.new_case_ids),
        dirty_cases=len(feed.dirty),
        recomputed=recomputed,
        removed=removed,
        rescored=rescored,
        seconds=time.monotonic() - started,
    )


@dataclass
class Feed:
    dirty: set[int]
    new_case_ids: list[int]
    watermarks: tuple[int, int, int]
    as_of: datetime | None


class _Work:
    """One run's reads and decisions, kept apart from its single write transaction."""

    def __init__(
        self, ctx: Context, session: Session, secret: bytes, weights: Weights, now: datetime
    ) -> None:
        self.ctx = ctx
        self.s = session
        self.r = Reader(session)
        self.secret = secret
        self.weights = weights
        self.now = now
        self.gap = timedelta(days=ctx.settings.concern_gap_days)
        self.km = ctx.settings.concern_place_km
        state = session.get(ConcernState, STATE_ID)
        self.state = state
        self.as_of: datetime | None = state.as_of if state else None
        self.texts = state.texts if state else 0
        self.old_root: dict[int, int] = {}
        self.old_concern: dict[int, int | None] = {}
        self.roots: dict[int, Root] = {}
        self.root_of: dict[int, int] = {}  # the dirty cases' roots now
        self.current: dict[int, int | None] = {}  # a root's concern as stored
        self.members: dict[int, list[int]] = {}
        self.new_words: Counter[str] = Counter()  # this run's texts, not stored yet
        self.targets: list[Target] = []
        self.dirty_roots: set[int] = set()
        self.touched_cases: dict[int, int] = {}  # case -> root, for every case placed
        self.stale: set[int] = set()  # concern ids that may have to go
        self.written = Written()  # the concerns written so far, and where roots went
        self.held_before: dict[int, int | None] = {}  # a case's concern before this run

    def use(self, session: Session) -> None:
        self.s = session
        self.r = Reader(session)

    # -- 1. what changed -----------------------------------------------------------------

    def read_feeds(self, cutoff: datetime) -> Feed:
        st = self.state
        marks = (st.voice_id, st.event_id, st.support_id) if st else (0, 0, 0)
        s = self.s
        voices = s.execute(
            select(Voice.id, Voice.case_id, Voice.received_at,
                   func.coalesce(VoiceInsight.at, Voice.occurred_at, Voice.received_at))
            .outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id)
            .where(Voice.id > marks[0])
        ).all()
        events = s.execute(
            select(CaseEvent.id, CaseEvent.case_id, CaseEvent.created_at)
            .where(CaseEvent.id > marks[1])
        ).all()
        supports = s.execute(
            select(CaseSupport.id, CaseSupport.case_id, CaseSupport.created_at)
            .where(CaseSupport.id > marks[2])
        ).all()
        dirty = {r[1] for r in voices} | {r[1] for r in events} | {r[1] for r in supports}
        known = {
            row[0]
            for row in self.r.rows(lambda c: select(ConcernCase.case_id).where(c),
                                   ConcernCase.case_id, {r[1] for r in voices})
        }
        new_cases = sorted({r[1] for r in voices} - known)
        latest = max((r[3] for r in voices), default=None)
        if latest is not None:
            latest = min(latest, self.now)
            self.as_of = max(self.as_of, latest) if self.as_of else latest

        def mark(rows: Sequence[Any], old: int) -> int:
            settled = [r[0] for r in rows if r[2] < cutoff]
            return max([old, *settled])

        return Feed(
            dirty=dirty,
            new_case_ids=new_cases,
            watermarks=(mark(voices, marks[0]), mark(events, marks[1]),
                        mark(supports, marks[2])),
            as_of=self.as_of,
        )

    # -- 2. which concerns that touches ----------------------------------------------------

    def plan(self, dirty: set[int]) -> None:
        placed = self.r.rows(
            lambda c: select(ConcernCase.case_id, ConcernCase.root_case_id,
                             ConcernCase.concern_id).where(c),
            ConcernCase.case_id, dirty,
        )
        for case_id, root, concern in placed:
            self.old_root[case_id] = root
            self.old_concern[case_id] = concern
        roots = roots_of(self.r, dirty | set(self.old_root.values()))
        self.root_of = roots
        self.dirty_roots = set(roots.values())
        self._load_roots(self.dirty_roots)
        # concerns the dirty roots were in before, and the topic groups of those
        for case_id, concern in self.r.rows(
            lambda c: select(ConcernCase.case_id, ConcernCase.concern_id).where(c),
            ConcernCase.root_case_id, self.dirty_roots,
        ):
            self.old_concern.setdefault(case_id, concern)
        before = {c for c in self.old_concern.values() if c is not None}
        self.stale |= before
        groups = {(r.topic_id, r.place) for r in self.roots.values() if r.topic_id is not None}
        for topic_id, place, kind in self.r.rows(
            lambda c: select(Concern.topic_id, Concern.place, Concern.kind).where(c),
            Concern.id, before,
        ):
            if kind == "topic" and topic_id is not None:
                groups.add((topic_id, place))
        grouped = self._group_roots(groups)
        in_episode: set[int] = set()
        keys = dict(self.r.rows(lambda c: select(Topic.id, Topic.key).where(c), Topic.id,
                                {g[0] for g in groups}))
        frequency = self._frequencies({n for r in self.roots.values() for n in r.names})
        for (topic_id, place), roots_here in grouped.items():
            for episode in self._episodes(roots_here):
                named = [(r, self.roots[r].names) for r in episode]
                for part in split_by_names(named, frequency, max(self.texts, 1)):
                    if len(part) < 2:
                        continue
                    in_episode.update(part)
                    self.targets.append(Target(
                        key=f"{keys[topic_id]}-c{part[0]}", kind="topic", roots=part,
                        topic_id=topic_id, place=place,
                    ))
        for root in sorted(set(self.roots) - in_episode):
            self.targets.append(Target(key=f"c{root}", kind="case", roots=[root]))
        self._drop_unchanged()

    def _load_roots(self, roots: set[int]) -> None:
        """Anchor voice, time, topic and place of roots not loaded yet: read from their
        voices, since these are the roots something happened to."""
        fresh = roots - set(self.roots)
        if not fresh:
            return
        anchors = dict(self.r.rows(
            lambda c: select(Voice.case_id, func.min(Voice.id)).where(c).group_by(Voice.case_id),
            Voice.case_id, fresh,
        ))
        places: dict[int, str] = {}
        names: dict[int, tuple[str, ...]] = {}
        for case_id, lat, lon, area, title in self.r.rows(
            lambda c: select(Case.id, Case.lat, Case.lon, Case.area_id, Case.title).where(c),
            Case.id, fresh,
        ):
            places[case_id] = place_of(lat, lon, area, self.km)
            names[case_id] = tuple(concern_labels.title_names(title or ""))
        times = dict(self._times(anchors.values()))
        topics = dict(self.r.rows(
            lambda c: select(VoiceTopic.voice_id, VoiceTopic.topic_id).where(c),
            VoiceTopic.voice_id, anchors.values(),
        ))
        for root in fresh:
            voice = anchors.get(root)
            if voice is None:
                continue  # a case without voices cannot be part of a concern
            self.roots[root] = Root(root, voice, times.get(voice), topics.get(voice),
                                    places.get(root, ""), names.get(root, ()))

    def _load_members(self, roots: set[int]) -> None:
        fresh = roots - set(self.members)
        if fresh:
            self.members.update(members_of(self.r, fresh))

    def _times(self, voice_ids: Iterable[int]) -> list[tuple[int, datetime]]:
        return self.r.rows(
            lambda c: select(Voice.id, func.coalesce(
                VoiceInsight.at, Voice.occurred_at, Voice.received_at))
            .outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id).where(c),
            Voice.id, voice_ids,
        )

    def _group_roots(
        self, groups: set[tuple[int, str]]
    ) -> dict[tuple[int, str], list[Root]]:
        """Every root whose first voice is in one of ``groups``' topics and place: the roots
        this run loaded, and the others as the placements remember them."""
        if not groups:
            return {}
        for case_id, topic_id, place, at, names, concern_id in self.r.rows(
            lambda c: select(ConcernCase.case_id, ConcernCase.topic_id, ConcernCase.place,
                             ConcernCase.at, ConcernCase.names, ConcernCase.concern_id)
            .where(c, ConcernCase.case_id == ConcernCase.root_case_id),
            ConcernCase.topic_id, {g[0] for g in groups},
        ):
            self.current[case_id] = concern_id
            if case_id not in self.roots and self.root_of.get(case_id, case_id) == case_id:
                self.roots[case_id] = Root(case_id, 0, at, topic_id, place or "",
                                           tuple(names or ()))
        out: dict[tuple[int, str], list[Root]] = defaultdict(list)
        for root in self.roots.values():
            key = (root.topic_id, root.place)
            if root.topic_id is not None and key in groups and root.at is not None:
                out[(root.topic_id, root.place)].append(root)
        return out

    def _frequencies(self, words: set[str]) -> dict[str, int]:
        """In how many texts of the city each word occurs, this run's new ones included."""
        stored = dict(self.r.rows(
            lambda c: select(ConcernWord.word, ConcernWord.texts).where(c),
            ConcernWord.word, [w for w in words if len(w) <= 64],
        ))
        return {w: stored.get(w, 0) + self.new_words.get(w, 0) for w in words}

    def _episodes(self, roots: list[Root]) -> list[list[int]]:
        """Roots in time order, cut wherever one comes more than the gap after the last."""
        ordered = sorted(roots, key=lambda r: (r.at, r.case_id))
        episodes: list[list[int]] = []
        last: datetime | None = None
        for root in ordered:
            assert root.at is not None
            if last is None or root.at - last > self.gap:
                episodes.append([])
            episodes[-1].append(root.case_id)
            last = root.at
        return episodes

    def _drop_unchanged(self) -> None:
        """Leave alone the targets whose roots are all clean and already form exactly the
        concern of that key (or were in none, and still are)."""
        all_roots = {r for t in self.targets for r in t.roots}
        current = dict(self.current)
        current.update(self.r.rows(
            lambda c: select(ConcernCase.case_id, ConcernCase.concern_id).where(c),
            ConcernCase.case_id, all_roots - set(current),
        ))
        maybe = []
        for t in self.targets:
            now = {current.get(r) for r in t.roots}
            if now == {None} and not set(t.roots) & self.dirty_roots:
                continue  # was not a concern, and nothing about it changed
            maybe.append((t, now))
        existing = {
            cid: (key, roots)
            for cid, key, roots in self.r.rows(
                lambda c: select(Concern.id, Concern.key, Concern.roots).where(c),
                Concern.id, {c for _, now in maybe for c in now if c is not None},
            )
        }
        # where every case stood before, for the staff marks of concerns that go
        self.held_before = {**current, **self.old_concern}
        kept = []
        for t, now in maybe:
            clean = not (set(t.roots) & self.dirty_roots)
            held = next(iter(now)) if len(now) == 1 else None
            if clean and held is not None and existing.get(held) == (t.key, len(t.roots)):
                self.stale.discard(held)
                continue
            # whatever held these roots before may be left empty
            self.stale |= {c for c in now if c is not None}
            kept.append(t)
        self.targets = kept
        self._load_members({r for t in kept for r in t.roots})

    # -- 3. the recomputed concerns --------------------------------------------------------

    def build(self, targets: list[Target]) -> list[Built]:
        """The concerns of ``targets`` recomputed from their voices; every case they hold
        is noted in ``touched_cases`` (to be placed, in a concern or in none)."""
        self.touched_cases = {
            case_id: root
            for t in targets for root in t.roots for case_id in self.members.get(root, [root])
        }
        if not targets:
            return []
        cases = set(self.touched_cases)
        case_rows = {
            row[0]: row for row in self.r.rows(
                lambda c: select(Case.id, Case.status, Case.department_id, Case.area_id,
                                 Case.resolved_at, Case.public_title, Case.created_at,
                                 Case.lat, Case.lon).where(c),
                Case.id, cases,
            )
        }
        voices = self._voices(cases)
        by_case: dict[int, list[VoiceRow]] = defaultdict(list)
        for v in voices:
            by_case[v.case_id].append(v)
        supports: dict[int, list[Any]] = defaultdict(list)
        for row in self.r.rows(
            lambda c: select(CaseSupport.case_id, CaseSupport.supporter_key,
                             CaseSupport.device_key, CaseSupport.network_key,
                             CaseSupport.created_at).where(c).order_by(CaseSupport.id),
            CaseSupport.case_id, cases,
        ):
            supports[row[0]].append(row)
        not_fixed = Counter(
            case_id for (case_id,) in self.r.rows(
                lambda c: select(Verification.case_id).where(c, Verification.fixed.is_(False)),
                Verification.case_id, cases,
            )
        )
        departments = dict(self.s.execute(select(Department.id, Department.code)).all())
        areas = dict(self.s.execute(select(Area.id, Area.code)).all())
        evidence = Evidence(self.weights, case_rows, by_case, supports, not_fixed,
                            departments, areas, self.members)
        built = [b for t in targets if (b := build_concern(t, evidence)) is not None]
        label_concerns(
            self.r, built, case_rows, min_people=self.ctx.settings.concern_min_people,
            secret=self.secret, frequencies=self._frequencies, texts=self.texts,
        )
        return built

    def _voices(self, cases: set[int]) -> list[VoiceRow]:
        rows = self.r.rows(
            lambda c: select(
                Voice.id, Voice.case_id,
                func.coalesce(VoiceInsight.at, Voice.occurred_at, Voice.received_at),
                Voice.external_id, func.coalesce(VoiceInsight.lat, Voice.lat),
                func.coalesce(VoiceInsight.lon, Voice.lon), VoiceInsight.urgency,
                ResidentContact.email, ResidentContact.phone,
                VoiceOrigin.supports, VoiceOrigin.author_key,
            )
            .outerjoin(VoiceInsight, VoiceInsight.voice_id == Voice.id)
            .outerjoin(ResidentContact, ResidentContact.voice_id == Voice.id)
            .outerjoin(VoiceOrigin, VoiceOrigin.voice_id == Voice.id)
            .where(c),
            Voice.case_id, cases,
        )
        out = []
        for (vid, case_id, at, external_id, lat, lon, urgency, email, phone, imported,
             author) in rows:
            keys = contact_keys(self.secret, email, phone, author) or [f"v{vid}"]
            out.append(VoiceRow(vid, case_id, at, external_id, lat, lon, urgency == "urgent",
                                keys, int(imported or 0)))
        return out

    # -- 5. words' frequencies and pending labels ------------------------------------------

    def word_counts(self, new_cases: list[int]) -> Counter[str]:
        """How many of the new voices use each word (an even sample when there are many,
        scaled up), to keep the city's word frequencies current."""
        if not new_cases:
            return Counter()
        step = max(1, math.ceil(len(new_cases) / WORDS_SAMPLE))
        sampled = new_cases[::step]
        counts: Counter[str] = Counter()
        for title, body in self.r.rows(
            lambda c: select(Voice.title, Voice.text).where(c), Voice.case_id, sampled
        ):
            counts.update(w for w in concern_labels.words(f"{title or ''}\n{body}")
                          if len(w) <= 64)
        if step > 1:
            counts = Counter({w: n * step for w, n in counts.items()})
        self.texts += len(new_cases)
        self.new_words = counts
        return counts

    def pending_labels(self) -> dict[int, str]:
        """Concerns labelled by a case title that was still being checked: its public form,
        where it is known now."""
        rows = self.s.execute(
            select(Concern.id, Concern.key).where(Concern.label_pending.is_(True))
        ).all()
        out = {}
        for concern_id, key in rows:
            root = int(key.rsplit("c", 1)[1])
            title = self.s.scalar(select(Case.public_title).where(Case.id == root))
            if title is not None:
                out[concern_id] = title
        return out


