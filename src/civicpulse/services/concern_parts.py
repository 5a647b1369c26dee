"""The pieces a concerns refresh is made of: reading rows by long lists of ids, the shapes
of its work, the two pure rules that place a case in a group (its place, the names in its
title) and the walk of the merge tree (a case's root, a root's members). Kept apart from the
run (``concern_refresh``) so each reads on its own."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from civicpulse.domain.workflow import CaseStatus
from civicpulse.insight.concern_ranking import ConcernFacts
from civicpulse.storage.tables import Case

# ---- reading in chunks ---------------------------------------------------------------------


class Reader:
    """Reads rows by long id lists: one array parameter per 10,000 ids on PostgreSQL (a
    short statement, hashed by the executor), chunks under SQLite's 999 parameters."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.step = 10_000 if self.postgresql else 900

    def where_in(self, column: Any, ids: Sequence[Any]) -> Iterator[Any]:
        """Conditions ``column IN ids``, one per chunk."""
        ids = sorted(set(ids))
        for i in range(0, len(ids), self.step):
            chunk = ids[i : i + self.step]
            if self.postgresql:
                kind = String() if isinstance(chunk[0], str) else BigInteger()
                yield column == any_(bindparam(f"ids_{i}", chunk, type_=ARRAY(kind)))
            else:
                yield column.in_(chunk)

    def rows(self, build: Callable[[Any], Any], column: Any, ids: Iterable[Any]) -> list[Any]:
        out: list[Any] = []
        for condition in self.where_in(column, list(ids)):
            out.extend(self.s.execute(build(condition)).all())
        return out


# ---- the shape of the work -----------------------------------------------------------------


@dataclass
class Root:
    """A case nothing was merged into: the unit concerns are made of."""

    case_id: int
    anchor_voice: int = 0
    at: datetime | None = None
    topic_id: int | None = None
    place: str = ""
    #: the words of its title that may name a place or an organisation
    names: tuple[str, ...] = ()


@dataclass
class Target:
    """A concern as this run would have it: its key and its roots, oldest first."""

    key: str
    kind: str
    roots: list[int]
    topic_id: int | None = None
    place: str = ""


@dataclass
class VoiceRow:
    id: int
    case_id: int
    at: datetime
    external_id: str | None
    lat: float | None
    lon: float | None
    urgent: bool
    keys: list[str]
    imported: int


@dataclass
class Built:
    """A recomputed concern, ready to write (or to drop when too few people stand behind it)."""

    target: Target
    facts: ConcernFacts
    voices: int
    supports: int
    first_at: datetime
    last_at: datetime
    lat: float | None
    lon: float | None
    area: str | None
    departments: list[str]
    cases: list[int] = field(default_factory=list)
    label: str = ""
    label_pending: bool = False
    people: int = 0


def place_of(lat: float | None, lon: float | None, area_id: int | None, km: float) -> str:
    """The place a case is grouped by: a grid square of ``km`` when located (about ``km``
    on a side at any latitude), else its area, else "" (anywhere)."""
    if lat is not None and lon is not None:
        step = km / 111.32
        row = math.floor(lat / step)
        width = step / max(0.05, math.cos(math.radians((row + 0.5) * step)))
        return f"g{row}_{math.floor(lon / width)}"
    if area_id is not None:
        return f"a{area_id}"
    return ""


def split_by_names(
    roots: Sequence[tuple[int, Sequence[str]]], frequency: dict[str, int], texts: int
) -> list[list[int]]:
    """One topic episode cut where its voices name different places or organisations.

    A topic gathers voices by their words, so "fumes from the restaurants under estate A"
    and "... under estate B", or complaints about five different companies written alike,
    fall in one topic. The names in titles (``concern_labels.title_names``) tell them apart:
    roots are linked when they share a name that is rare in the city (in at most 1 % of its
    texts) or mostly used in this episode. Then

    * no shared name at all: nothing to go by, the episode stays whole;
    * one group holds at least half the roots (the episode's subject): every root without a
      shared name joins it, the other groups stand apart;
    * otherwise each group stands apart, a root naming something nobody else named stands
      alone, and the roots that name nothing rare stay together.

    ``roots`` are (case id, names) in time order; the parts keep that order."""
    ids = [r for r, _ in roots]
    count = Counter(n for _, names in roots for n in set(names))

    def rare(name: str) -> bool:
        return frequency.get(name, 0) <= 0.01 * texts

    def shared(name: str) -> bool:
        return count[name] >= 2 and (
            rare(name) or count[name] >= 0.5 * max(frequency.get(name, 0), 1))

    parent = {r: r for r in ids}

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    first: dict[str, int] = {}
    linked: set[int] = set()
    for r, names in roots:
        for name in names:
            if shared(name):
                linked.add(r)
                if name in first:
                    parent[find(r)] = find(first[name])
                else:
                    first[name] = r
    if not linked:
        return [ids]
    groups: dict[int, list[int]] = defaultdict(list)
    for r in ids:
        if r in linked:
            groups[find(r)].append(r)
    parts = sorted(groups.values(), key=lambda g: ids.index(g[0]))
    loose = [(r, names) for r, names in roots if r not in linked]
    biggest = max(parts, key=len)
    if 2 * len(biggest) >= len(ids):
        biggest.extend(r for r, _ in loose)
        biggest.sort(key=ids.index)
        return parts
    alone = [[r] for r, names in loose if any(rare(n) for n in names)]
    together = [r for r, names in loose if not any(rare(n) for n in names)]
    return parts + alone + ([together] if together else [])


# ---- the merge tree ------------------------------------------------------------------------


def roots_of(reader: Reader, case_ids: set[int]) -> dict[int, int]:
    """Each case's root: itself, or (transitively) the case it was merged into."""
    parent: dict[int, int | None] = {}
    todo = set(case_ids)
    while todo:
        rows = reader.rows(
            lambda c: select(Case.id, Case.status, Case.merged_into_id).where(c),
            Case.id, todo,
        )
        todo = set()
        for case_id, status, into in rows:
            merged = status == CaseStatus.MERGED.value and into is not None
            parent[case_id] = into if merged else None
            if merged and into not in parent:
                todo.add(into)
    out = {}
    for case_id in case_ids:
        if case_id not in parent:
            continue  # no such case (never: voices and events point at cases)
        seen, current = {case_id}, case_id
        while (up := parent.get(current)) is not None and up not in seen:
            seen.add(up)
            current = up
        out[case_id] = current
    return out


def members_of(reader: Reader, roots: set[int]) -> dict[int, list[int]]:
    """Every case of each root: itself and the cases merged into it, at any depth."""
    out = {r: [r] for r in roots}
    owner = {r: r for r in roots}
    frontier = set(roots)
    while frontier:
        rows = reader.rows(
            lambda c: select(Case.id, Case.merged_into_id)
            .where(c, Case.status == CaseStatus.MERGED.value),
            Case.merged_into_id, frontier,
        )
        frontier = set()
        for case_id, into in rows:
            if case_id in owner:
                continue
            owner[case_id] = owner[into]
            out[owner[into]].append(case_id)
            frontier.add(case_id)
    return out
