"""Same-problem matching: shingles, signatures, blocks and the verdict (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from civicpulse.understanding.matching import (
    MatchParams,
    Probe,
    best_match,
    distance_m,
    headline,
    index_keys,
    judge,
    query_keys,
    shingles,
    signature,
    signature_bytes,
    signature_from_bytes,
    similarity,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
P = MatchParams()


def probe(text: str, title: str | None = None, *, days: float = 0, lat: float | None = None,
          lon: float | None = None, category: str | None = None) -> Probe:
    return Probe(signature(text, title), T0 + timedelta(days=days), lat, lon, category)


def test_shingles_cover_chinese_bigrams_and_english_word_grams() -> None:
    assert {"路灯", "灯坏"} <= shingles("路灯坏了")
    eng = shingles("The tents are back")
    assert " ten" in eng and "tent" in eng
    assert not any("the" in s for s in eng)  # a stop word adds nothing


def test_signatures_are_stable_and_round_trip() -> None:
    a = signature("路灯坏了，晚上很黑", "路灯不亮")
    b = signature("路灯坏了，晚上很黑", "路灯不亮")
    assert np.array_equal(a, b)
    assert np.array_equal(signature_from_bytes(signature_bytes(a)), a)


def test_similar_texts_score_higher_than_unrelated_ones() -> None:
    a = signature("小区门口的路灯坏了一个星期，晚上很黑，老人出行不便")
    b = signature("小区门口路灯坏了快一周了，晚上太黑，老人走路不方便")
    c = signature("建议增加公交班次，早上等车时间太长")
    assert similarity(a, b) > similarity(a, c)
    assert similarity(a, a) == 1.0


def test_texts_without_any_shingle_never_match_each_other() -> None:
    assert similarity(signature("!!!"), signature("???")) == 0.0


def test_headline_is_the_title_or_the_first_sentence() -> None:
    assert headline("Body text.", "Broken light") == "Broken light"
    first = headline("Broken light on Main St. It has been out for days.")
    assert first == "Broken light on Main St"
    assert headline("路灯坏了。已经三天") == "路灯坏了"


def test_same_spot_and_window_is_the_same_problem_even_worded_apart() -> None:
    a = probe("Tent blocking the sidewalk", lat=37.7776, lon=-122.4178)
    b = probe("Person sleeping with belongings here", days=2, lat=37.77761, lon=-122.41781)
    verdict = judge(b, a, P)
    assert verdict.same
    assert any("m apart" in r for r in verdict.reasons)


def test_a_street_apart_in_one_category_the_words_must_meet() -> None:
    # about 100 m apart: near enough for one problem, far enough for two lights
    a = probe("Street light out on the corner", lat=37.7776, lon=-122.4178, category="light")
    other = probe("Pothole filled with water", lat=37.7785, lon=-122.4178, category="light")
    same = probe("Street light out at the corner", lat=37.7785, lon=-122.4178, category="light")
    refused = judge(other, a, P)
    assert not refused.same and "different words" in refused.reasons
    assert refused.score >= P.threshold  # place and category alone would have merged them
    assert judge(same, a, P).same


def test_far_apart_places_are_different_problems_however_alike_the_text() -> None:
    a = probe("Tent blocking the sidewalk", lat=37.7776, lon=-122.4178)
    b = probe("Tent blocking the sidewalk", lat=37.7876, lon=-122.4178)  # about 1.1 km north
    verdict = judge(b, a, P)
    assert not verdict.same
    assert verdict.distance_m is not None and verdict.distance_m > 1000


def test_outside_the_time_window_is_not_the_same_problem() -> None:
    a = probe("路灯坏了", "路灯不亮")
    b = probe("路灯坏了", "路灯不亮", days=P.window_days + 1)
    assert not judge(b, a, P).same


def test_different_categories_are_never_merged() -> None:
    a = probe("Broken light", category="streetlight", lat=30.0, lon=120.0)
    b = probe("Broken light", category="pothole", lat=30.0, lon=120.0)
    verdict = judge(b, a, P)
    assert not verdict.same and any("different categories" in r for r in verdict.reasons)


def test_without_place_the_text_must_carry_the_match() -> None:
    a = probe("伊景园滨河苑捆绑销售车位，强制职工购买车位", "投诉伊景园滨河苑捆绑销售车位")
    b = probe(
        "伊景园滨河苑开发商捆绑销售车位，不买车位不签合同", "伊景园滨河苑捆绑车位销售", days=3
    )
    c = probe("建议增加公交班次，早上等车时间太长", "公交班次太少", days=3)
    assert judge(b, a, P).same
    assert not judge(c, a, P).same


def test_candidates_share_keys_across_neighbouring_cells_and_buckets() -> None:
    # two points 40 m apart on either side of a cell edge, a day apart across a bucket edge
    a = probe("tent", lat=30.0, lon=120.0)
    b = probe("something else entirely", days=1, lat=30.00036, lon=120.0)
    assert set(index_keys(a, P)) & set(query_keys(b, P))


def test_unrelated_unlocated_texts_share_no_keys() -> None:
    a = probe("小区门口的路灯坏了一个星期，晚上很黑", "路灯坏了")
    b = probe("Request a new bus stop shelter on Elm Street", "Bus shelter")
    assert not set(index_keys(a, P)) & set(query_keys(b, P))


def test_best_match_prefers_the_highest_score_then_the_oldest() -> None:
    new = probe("Tent blocking the sidewalk", lat=30.0, lon=120.0)
    near = probe("Tent blocking the sidewalk", lat=30.0, lon=120.0)
    farther = probe("Tent blocking the sidewalk", lat=30.001, lon=120.0)
    found = best_match(new, [(7, farther), (9, near), (3, near)], P)
    assert found is not None and found[0] == 3


def test_distance_is_in_metres() -> None:
    assert 110_000 < distance_m(30.0, 120.0, 31.0, 120.0) < 112_000
