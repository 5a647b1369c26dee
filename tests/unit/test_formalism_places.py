"""Repeats after a fix, and problems another department did after a rejection: same-problem
matching between an earlier moment of one case and the cases that came in after it, on a
clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicpulse.insight.formalism_patterns import FlagKind
from civicpulse.insight.formalism_places import (
    Arrival,
    Moment,
    Spots,
    rejection_flags,
    repeat_flags,
    same_problems,
)
from civicpulse.understanding.matching import MatchParams, signature, signature_bytes

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARAMS = MatchParams()
WINDOW_DAYS = 42.0
CATEGORIES = {1: "pothole", 2: "light"}
LAT, LON = 30.05, 120.05
#: about 20 m and about 2 km north of (LAT, LON)
NEAR, FAR = 20 / 111_320, 2000 / 111_320


class Scene:
    """Resolutions and later cases, with their words and places, as the service reads them."""

    def __init__(self) -> None:
        self.sigs: dict[int, bytes] = {}
        self.anchors: list[tuple[int, int, float, float | None, float | None, int | None]] = []
        self.arrivals: list[tuple[int, int, float, float | None, float | None, int | None]] = []
        self.moments: list[Moment] = []
        self.voice = 0

    def _voice(self, text: str) -> int:
        self.voice += 1
        self.sigs[self.voice] = signature_bytes(signature(text))
        return self.voice

    def resolved(self, case_id: int, text: str, *, days: float = 0, lat: float | None = LAT,
                 lon: float | None = LON, category: int | None = 1) -> Scene:
        at = T0 + timedelta(days=days)
        self.anchors.append((case_id, self._voice(text), at.timestamp(), lat, lon, category))
        self.moments.append(Moment(case_id, "roads", "staff:r1", at, event_id=case_id * 10))
        return self

    def came(self, case_id: int, text: str, *, days: float, lat: float | None = LAT,
             lon: float | None = LON, category: int | None = 1) -> Scene:
        at = (T0 + timedelta(days=days)).timestamp()
        self.arrivals.append((case_id, self._voice(text), at, lat, lon, category))
        return self

    def found(self) -> list[tuple[int, int]]:
        matches = same_problems(Spots.of(self.anchors), Spots.of(self.arrivals), self.sigs,
                                PARAMS, WINDOW_DAYS, CATEGORIES)
        return [(self.anchors[m.anchor][0], self.arrivals[m.arrival][0]) for m in matches]

    def flags(self) -> list[object]:
        matches = same_problems(Spots.of(self.anchors), Spots.of(self.arrivals), self.sigs,
                                PARAMS, WINDOW_DAYS, CATEGORIES)
        return list(repeat_flags(
            (self.moments[m.anchor],
             Arrival(self.arrivals[m.arrival][0],
                     datetime.fromtimestamp(self.arrivals[m.arrival][2], UTC)),
             m.judgement)
            for m in matches))


def test_the_same_problem_back_at_the_same_place_weeks_after_the_fix() -> None:
    scene = Scene().resolved(1, "Deep pothole outside the school gate")
    scene.came(2, "The pothole by the school gate is back", days=12, lat=LAT + NEAR)
    assert scene.found() == [(1, 2)]
    (flag,) = scene.flags()
    assert flag.kind is FlagKind.REPEAT_AFTER_FIX and flag.department == "roads"  # type: ignore[attr-defined]
    assert flag.case_ids == (1, 2)  # type: ignore[attr-defined]
    assert "case 2 came in 12 days later" in flag.reasons[0]  # type: ignore[attr-defined]
    assert "20 m apart" in flag.reasons[0]  # type: ignore[attr-defined]
    assert flag.key == "repeat_after_fix:c1:roads"  # type: ignore[attr-defined]


def test_not_a_repeat_too_late_too_far_another_category_or_before_the_fix() -> None:
    scene = Scene().resolved(1, "Deep pothole outside the school gate", days=10)
    scene.came(2, "Deep pothole outside the school gate", days=10 + 50)  # after the window
    scene.came(3, "Deep pothole outside the school gate", days=15, lat=LAT + FAR)
    scene.came(4, "Street light out by the school gate", days=15, category=2)
    scene.came(5, "Deep pothole outside the school gate", days=5)  # before the fix
    assert scene.found() == []


def test_a_street_away_the_words_must_meet_as_at_intake() -> None:
    scene = Scene().resolved(1, "Deep pothole outside the school gate")
    # about 150 m away, same category, nothing in common in the words: two problems
    scene.came(2, "Rubbish bags left on the corner", days=3, lat=LAT + 150 / 111_320)
    assert scene.found() == []


def test_cases_without_a_place_are_matched_by_their_words() -> None:
    scene = Scene().resolved(1, "路灯坏了三天了，晚上很黑，老人出行不便", lat=None, lon=None,
                             category=2)
    scene.came(2, "路灯坏了三天了，晚上很黑，老人出行不便", days=7, lat=None, lon=None,
               category=2)
    scene.came(3, "建议增加公交班次，早上等车时间太长", days=7, lat=None, lon=None, category=2)
    assert scene.found() == [(1, 2)]


def test_each_new_case_counts_once_for_its_best_match() -> None:
    scene = Scene().resolved(1, "Deep pothole outside the school gate", days=0)
    scene.resolved(9, "Deep pothole outside the school gate", days=5)
    scene.came(2, "Deep pothole outside the school gate", days=8)
    assert scene.found() == [(9, 2)]  # as good a match, and the later fix


def test_a_rejected_problem_done_by_another_department_through_a_new_case() -> None:
    scene = Scene().resolved(1, "Fallen tree blocking the path")
    scene.came(2, "Fallen tree blocking the path by the lake", days=4, lat=LAT + NEAR)
    matches = same_problems(Spots.of(scene.anchors), Spots.of(scene.arrivals), scene.sigs,
                            PARAMS, WINDOW_DAYS, CATEGORIES)
    rejected = Moment(1, "roads", "staff:r1", T0, 10, "not ours")
    done = Arrival(2, T0 + timedelta(days=4), "parks", "staff:p1", T0 + timedelta(days=6))
    flags = rejection_flags([(rejected, done, matches[0].judgement)])
    assert [(f.department, f.kind) for f in flags] == [
        ("roads", FlagKind.REJECTED_DONE_ELSEWHERE)]
    assert "was resolved by parks" in flags[0].reasons[1]
    same_dept = Arrival(2, done.at, "roads", "staff:r2", done.done_at)
    not_done = Arrival(2, done.at)
    assert rejection_flags([(rejected, same_dept, matches[0].judgement)]) == []
    assert rejection_flags([(rejected, not_done, matches[0].judgement)]) == []


def test_leaving_pairs_out_before_judging_changes_no_verdict() -> None:
    """On random pairs, near and far, alike and unlike, placed or not: judging only the
    pairs the arrays keep gives what judging every pair gives."""
    import random

    import numpy as np

    from civicpulse.insight.formalism_places import judge_pairs
    from civicpulse.understanding.matching import Probe, judge, signature_from_bytes

    rng = random.Random(5)
    words = ["pothole", "light", "tree", "gate", "school", "road", "lamp", "bin", "water",
             "drain", "corner", "park"]
    scene = Scene()

    def text() -> str:
        return " ".join(rng.sample(words, 4))

    def place() -> tuple[float | None, float | None]:
        if rng.random() < 0.2:
            return None, None
        return LAT + rng.uniform(0, 500) / 111_320, LON + rng.uniform(0, 500) / 96_000

    for i in range(60):
        lat, lon = place()
        scene.resolved(i + 1, text(), days=rng.uniform(0, 30), lat=lat, lon=lon,
                       category=rng.choice([1, 2, None]))
        lat, lon = place()
        scene.came(100 + i, text(), days=rng.uniform(0, 60), lat=lat, lon=lon,
                   category=rng.choice([1, 2, None]))
    anchors, arrivals = Spots.of(scene.anchors), Spots.of(scene.arrivals)
    ia, ib = (a.ravel().astype(np.int64) for a in np.meshgrid(
        np.arange(len(anchors)), np.arange(len(arrivals)), indexing="ij"))
    kept = {(m.anchor, m.arrival) for m in judge_pairs(
        anchors, arrivals, ia, ib, scene.sigs, PARAMS, WINDOW_DAYS, CATEGORIES)}
    rule = MatchParams(window_days=WINDOW_DAYS)

    def probe(row: tuple[int, int, float, float | None, float | None, int | None]) -> Probe:
        return Probe(signature_from_bytes(scene.sigs[row[1]]),
                     datetime.fromtimestamp(row[2], UTC), row[3], row[4],
                     CATEGORIES.get(row[5]) if row[5] is not None else None)

    best: dict[int, tuple[float, float, int]] = {}
    for i, a in enumerate(scene.anchors):
        for j, b in enumerate(scene.arrivals):
            if not 0 < b[2] - a[2] <= WINDOW_DAYS * 86_400:
                continue
            verdict = judge(probe(b), probe(a), rule)
            if verdict.same and (j not in best or (verdict.score, a[2]) > best[j][:2]):
                best[j] = (verdict.score, a[2], i)
    assert kept == {(i, j) for j, (_, _, i) in best.items()}
    assert len(kept) >= 3  # the scene does hold repeats


def test_the_blocks_find_every_pair_near_enough_and_soon_enough() -> None:
    """Place blocks against every pair: all anchors and arrivals within the radius, the
    window after, in categories that do not differ, here and far from the equator."""
    import random

    import numpy as np

    from civicpulse.insight.formalism_places import located_pairs
    from civicpulse.understanding.matching import distance_m

    rng = random.Random(9)
    for lat0 in (30.05, 62.0):
        rows_a, rows_b = [], []
        for i in range(300):
            rows_a.append((i, i, rng.uniform(0, 60) * 86_400, lat0 + rng.uniform(0, 0.02),
                           120 + rng.uniform(0, 0.02), rng.choice([1, 2, None])))
            rows_b.append((1000 + i, 1000 + i, rng.uniform(0, 60) * 86_400,
                           lat0 + rng.uniform(0, 0.02), 120 + rng.uniform(0, 0.02),
                           rng.choice([1, 2, None])))
        anchors, arrivals = Spots.of(rows_a), Spots.of(rows_b)
        ia, ib = located_pairs(anchors, arrivals, PARAMS, WINDOW_DAYS * 86_400)
        found = set(zip(ia.tolist(), ib.tolist(), strict=True))
        expected = {
            (i, j) for i, a in enumerate(rows_a) for j, b in enumerate(rows_b)
            if 0 < b[2] - a[2] <= WINDOW_DAYS * 86_400
            and (a[5] is None or b[5] is None or a[5] == b[5])
            and distance_m(a[3], a[4], b[3], b[4]) <= PARAMS.radius_m
        }
        assert found == expected and len(expected) > 50
        assert len(found) == len(ia)  # no pair twice
        assert np.all(ia >= 0)
