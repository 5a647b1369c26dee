"""The concern ranking without a database: reasons that add up, diminishing support, the
guards' discounts shown as reasons, growth against the concern's own baseline, the weights
file; and whole-word labels."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.insight.concern_ranking import (
    ConcernFacts,
    Ranked,
    day_number,
    load_weights,
    rank,
)
from civicpulse.understanding import concern_labels

AS_OF = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEIGHTS = load_weights()


def adds_up(ranked: Ranked) -> bool:
    """The reasons, as a reader adds the printed numbers, make exactly the score."""
    written = sum((Decimal(repr(r.contribution)) for r in ranked.reasons), Decimal(0))
    return written == Decimal(repr(ranked.score))


@settings(max_examples=300, deadline=None)
@given(
    residents=st.integers(0, 100_000),
    supporters=st.integers(0, 5_000),
    imported=st.integers(0, 10**7),
    devices=st.lists(st.integers(2, 200), max_size=4),
    networks=st.lists(st.integers(2, 500), max_size=4),
    most=st.integers(0, 50),
    joined=st.dictionaries(st.integers(-90, 0), st.integers(1, 300), max_size=20),
    weeks_open=st.one_of(st.none(), st.floats(0, 600)),
    urgent=st.floats(0, 1),
    repeats=st.integers(0, 1000),
)
def test_the_reasons_add_up_exactly_to_the_score(
    residents: int, supporters: int, imported: int, devices: list[int], networks: list[int],
    most: int, joined: dict[int, int], weeks_open: float | None, urgent: float, repeats: int,
) -> None:
    facts = ConcernFacts(
        residents=residents, supporters=supporters, imported_supports=imported,
        device_groups=tuple(devices), network_groups=tuple(networks),
        most_voices_one_resident=most,
        joined={day_number(AS_OF) + d: n for d, n in joined.items()},
        open_since=AS_OF - timedelta(weeks=weeks_open) if weeks_open is not None else None,
        urgent_share=round(urgent, 3), repeats=repeats,
    )
    ranked = rank(facts, WEIGHTS, AS_OF)
    assert adds_up(ranked)
    assert [r.name for r in ranked.reasons][:2] == ["residents", "support"]
    # stored and read back, the facts give the same score
    assert rank(ConcernFacts.from_json(facts.as_json()), WEIGHTS, AS_OF) == ranked


def test_sixty_residents_outweigh_two_thousand_likes_on_one_post() -> None:
    sixty = rank(ConcernFacts(residents=60), WEIGHTS, AS_OF)
    liked = rank(ConcernFacts(residents=1, imported_supports=2000), WEIGHTS, AS_OF)
    assert sixty.score > liked.score
    support = next(r for r in liked.reasons if r.name == "support")
    assert support.value == 2000 and support.contribution == round(3 * math.log2(2001), 3)
    # but a post many support still ranks above a single unsupported voice
    assert liked.score > rank(ConcernFacts(residents=1), WEIGHTS, AS_OF).score


def test_a_flood_from_one_device_is_discounted_as_its_own_reason() -> None:
    honest = rank(ConcernFacts(residents=1, supporters=3), WEIGHTS, AS_OF)
    flood = rank(ConcernFacts(residents=1, supporters=30, device_groups=(30,)), WEIGHTS, AS_OF)
    lines = {r.name: r for r in flood.reasons}
    assert lines["support"].value == 30
    assert lines["flood_device"].value == 27 and lines["flood_device"].contribution < 0
    # what is left counts as the three a device may give
    assert flood.score == honest.score and adds_up(flood)
    network = rank(ConcernFacts(residents=1, supporters=50, network_groups=(50,)), WEIGHTS,
                   AS_OF)
    assert {r.name for r in network.reasons} >= {"flood_network"}
    assert "flood_device" not in {r.name for r in network.reasons}


def test_one_residents_many_voices_are_flagged_not_counted() -> None:
    ranked = rank(ConcernFacts(residents=1, most_voices_one_resident=10), WEIGHTS, AS_OF)
    flag = next(r for r in ranked.reasons if r.name == "flood_contact")
    assert flag.value == 9 and flag.contribution == 0.0
    assert next(r for r in ranked.reasons if r.name == "residents").value == 1


def test_growth_is_measured_against_the_concerns_own_baseline() -> None:
    today = day_number(AS_OF)
    steady = {today - d: 2 for d in range(0, 63, 7)}  # two a week, every week
    rising = {**steady, today: 12}
    assert rank(ConcernFacts(residents=18, joined=steady), WEIGHTS, AS_OF).reasons[2].value == 0
    grown = next(r for r in rank(ConcernFacts(residents=30, joined=rising), WEIGHTS,
                                 AS_OF).reasons if r.name == "growth")
    # 12 joined this week where the eight weeks before predict 2
    assert grown.value == 10 and grown.contribution > 0


def test_age_counts_weeks_unresolved_only() -> None:
    open_year = ConcernFacts(residents=2, open_since=AS_OF - timedelta(weeks=52))
    age = next(r for r in rank(open_year, WEIGHTS, AS_OF).reasons if r.name == "age")
    assert age.value == 52 and age.contribution == round(math.log2(53), 3)
    solved = next(r for r in rank(ConcernFacts(residents=2), WEIGHTS, AS_OF).reasons
                  if r.name == "age")
    assert solved.value == 0 and solved.contribution == 0


def test_a_city_changes_weights_in_its_own_file(tmp_path: Path) -> None:
    city = tmp_path / "weights.yaml"
    city.write_text("components:\n  support: {weight: 1.5}\nguards:\n  supporters_per_device: 1\n",
                    encoding="utf-8")
    mine = load_weights(city)
    assert mine.components["support"].weight == 1.5
    assert mine.components["support"].scale == "log2"  # left out: the built-in value
    assert mine.components["residents"] == WEIGHTS.components["residents"]
    assert mine.guards.supporters_per_device == 1 and mine.digest != WEIGHTS.digest
    city.write_text("components:\n  loudness: {weight: 9}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="loudness"):
        load_weights(city)
    city.write_text("components:\n  support: {weight: 1, scale: cubic}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="scale"):
        load_weights(city)


# ---- labels --------------------------------------------------------------------------------

TEXTS = [
    ("投诉光明小区垃圾站臭气熏天", "光明小区门口的垃圾站每天臭气熏天，蚊虫很多，影响居民生活。"),
    ("光明小区垃圾站臭味太大", "B3区光明小区的垃圾站臭味太大，夏天根本不能开窗。"),
    ("请搬走光明小区垃圾站", "光明小区垃圾站离住宅楼太近，臭气熏天，请有关部门处理。"),
    ("光明小区垃圾站问题", "反映光明小区垃圾站臭气熏天的问题，已经很久了。"),
]


def _label(texts: list[tuple[str, str]]) -> list[str]:
    readings = [concern_labels.read(body, title) for title, body in texts]
    everyday = [concern_labels.read("道路破损需要维修", None)] * 50
    frequency: dict[str, int] = {}
    for r in [*readings, *everyday]:
        for w in r.words:
            frequency[w] = frequency.get(w, 0) + 1
    return concern_labels.label_phrases(readings, lambda w: frequency.get(w, 0),
                                        len(readings) + 50)


def test_labels_are_whole_words_several_residents_used() -> None:
    label = _label(TEXTS)
    assert label and label[0] in ("光明小区垃圾站", "光明小区")
    assert any("垃圾站" in p for p in label) and any("臭" in p for p in label)
    for phrase in label:  # never a piece cut inside a word
        assert not phrase.startswith(("区", "明", "站")) and not phrase.endswith(("光", "垃"))
    # a phrase one resident wrote (however often) is not shown: "蚊虫" is only in one text
    assert all("蚊虫" not in p for p in label)


def test_codes_are_cut_out_before_segmenting() -> None:
    reading = concern_labels.read("A7县星沙凉塘路什么时候改造", None)
    assert "星沙凉塘路" in reading.words  # not "县星" + "沙凉塘"
    assert not any(p.startswith("县") for p in reading.phrases)


def test_every_reason_has_its_words_in_chinese_and_english() -> None:
    """Pages show a reason by ``_("reason." + name)``: both catalogues must have every one."""
    from babel.messages.pofile import read_po

    from civicpulse.infra.catalogues import LOCALE_DIR
    from civicpulse.insight.concern_ranking import COMPONENTS, GUARD_REASONS

    for lang in ("zh", "en"):
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=lang)
        translated = {m.id: m.string for m in catalog if m.id and m.string}
        for name in (*COMPONENTS, *GUARD_REASONS):
            assert translated.get(f"reason.{name}"), (lang, name)


def test_a_topic_naming_different_places_is_split_by_name() -> None:
    from civicpulse.services.concern_parts import split_by_names

    rare: dict[str, int] = {"光明苑": 3, "青石园": 2, "东路": 500, "甲公司": 1, "乙公司": 1}
    # two estates with the same complaint: each its own concern; nameless voices stay apart
    estates = [(1, ["光明苑"]), (2, ["光明苑", "东路"]), (3, ["青石园"]), (4, ["青石园"]),
               (5, ["光明苑"]), (6, []), (7, ["东路"]), (8, [])]
    assert split_by_names(estates, rare, 10_000) == [[1, 2, 5], [3, 4], [6, 7, 8]]
    # one estate most voices name: the nameless ones are about it too
    mostly = [(1, ["光明苑"]), (2, []), (3, ["光明苑"]), (4, ["光明苑"]), (5, ["甲公司"])]
    assert split_by_names(mostly, rare, 10_000) == [[1, 2, 3, 4, 5]]
    # companies each named once: each alone
    firms = [(1, ["甲公司"]), (2, ["乙公司"]), (3, ["青石园"]), (4, ["青石园"]), (5, ["光明苑"]),
             (6, ["光明苑"]), (7, [])]
    assert split_by_names(firms, rare, 10_000) == [[3, 4], [5, 6], [1], [2], [7]]
    # nothing shared: no evidence to split on
    assert split_by_names([(1, ["甲公司"]), (2, [])], rare, 10_000) == [[1, 2]]
