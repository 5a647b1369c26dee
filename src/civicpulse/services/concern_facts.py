"""The facts of one concern, computed from its voices: who stands behind it and how.

This is where "one resident counts once" is decided: every contact key that named the sender
of one voice (an e-mail, a phone, an imported author) is joined into one resident, and a
"me too" from someone who also wrote in is not counted again. The facts are what the ranking
(``insight/concern_ranking.py``) scores and what is stored with each concern, so a change
of weights or of day rescores without reading a voice. Kept apart from the refresh's
reading and planning (``concern_refresh.py``) because this part is a pure rule over rows
already read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicpulse.domain.workflow import CLOSED_STATES, CaseStatus
from civicpulse.insight.concern_ranking import ConcernFacts, Weights, day_number
from civicpulse.services.concern_parts import Built, Target, VoiceRow

#: a root in one of these states is still owed work, so the concern ages
OPEN_STATES = frozenset(s.value for s in CaseStatus) - {s.value for s in CLOSED_STATES} - {
    CaseStatus.RESOLVED.value
}


@dataclass
class Evidence:
    """What one slice of a refresh read about the cases of its concerns.

    ``case_rows`` are (id, status, department id, area id, resolved at, public title,
    created at, lat, lon) by case; ``supports`` the "me too" rows (case, supporter key,
    device key, network key, created at) by case, oldest first; ``members`` every case of a
    root (itself and what was merged into it)."""

    weights: Weights
    case_rows: dict[int, Any]
    by_case: dict[int, list[VoiceRow]]
    supports: dict[int, list[Any]]
    not_fixed: Counter[int]
    departments: dict[int, str]
    areas: dict[int, str]
    members: dict[int, list[int]]


def build_concern(t: Target, ev: Evidence) -> Built | None:
    """The concern ``t`` as its voices make it now, or ``None`` when it has no voice."""
    member_cases = [c for r in t.roots for c in ev.members.get(r, [r])]
    case_rows = ev.case_rows
    voices = [v for c in member_cases for v in ev.by_case.get(c, [])]
    if not voices:
        return None
    # residents: every key that named the sender of one voice is the same person
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for v in voices:
        head = find(v.keys[0])
        for other in v.keys[1:]:
            parent[find(other)] = head
    resident_of = {v.id: find(v.keys[0]) for v in voices}
    first_seen: dict[str, datetime] = {}
    per_resident: Counter[str] = Counter()
    urgent: set[str] = set()
    for v in voices:
        who = resident_of[v.id]
        per_resident[who] += 1
        if who not in first_seen or v.at < first_seen[who]:
            first_seen[who] = v.at
        if v.urgent:
            urgent.add(who)
    resident_keys = {k for v in voices for k in v.keys}
    supporters: dict[str, Any] = {}
    for c in member_cases:
        for _case, key, device, network, created in ev.supports.get(c, []):
            if key in resident_keys or key in supporters:
                continue  # a resident counts once: writing in and "me too" are one
            supporters[key] = (device, network, created)
    devices = Counter(d for d, _, _ in supporters.values() if d)
    networks = Counter(n for _, n, _ in supporters.values() if n)
    joined: Counter[int] = Counter(day_number(at) for at in first_seen.values())
    joined.update(day_number(created) for _, _, created in supporters.values())
    last_at = max(v.at for v in voices)
    horizon = day_number(last_at) - ev.weights.windows.recent_days - \
        ev.weights.windows.baseline_days
    roots = [case_rows[r] for r in t.roots if r in case_rows]
    open_roots = [r[0] for r in roots if r[1] in OPEN_STATES]
    open_since = None
    if open_roots:
        open_cases = {c for r in open_roots for c in ev.members.get(r, [r])}
        open_since = min(v.at for v in voices if v.case_id in open_cases)
    resolved = [case_rows[c][4] for c in member_cases
                if c in case_rows and case_rows[c][4] is not None]
    after = set()
    if resolved:
        first_fix = min(resolved)
        after = {resident_of[v.id] for v in voices if v.at > first_fix}
    imported = sum(v.imported for v in voices)
    facts = ConcernFacts(
        residents=len(first_seen),
        supporters=len(supporters),
        imported_supports=imported,
        device_groups=tuple(sorted(n for n in devices.values() if n > 1)),
        network_groups=tuple(sorted(n for n in networks.values() if n > 1)),
        most_voices_one_resident=max(per_resident.values()),
        joined={d: n for d, n in sorted(joined.items()) if d > horizon},
        open_since=open_since,
        urgent_share=round(len(urgent) / len(first_seen), 3),
        repeats=sum(ev.not_fixed[c] for c in member_cases) + len(after),
    )
    located = [(v.lat, v.lon) for v in voices if v.lat is not None and v.lon is not None]
    area_codes = Counter(ev.areas[r[3]] for r in roots if r[3] in ev.areas)
    dept_codes = Counter(ev.departments[r[2]] for r in roots if r[2] in ev.departments)
    return Built(
        target=t,
        facts=facts,
        voices=len(voices),
        supports=len(supporters) + imported,
        first_at=min(v.at for v in voices),
        last_at=last_at,
        lat=sum(p[0] for p in located) / len(located) if located else None,
        lon=sum(p[1] for p in located) / len(located) if located else None,
        area=area_codes.most_common(1)[0][0] if area_codes else None,
        departments=[code for code, _ in dept_codes.most_common()],
        cases=sorted(member_cases),
        people=len(first_seen) + len(supporters) + imported,
    )
