"""Topic discovery: deterministic, incremental, readable labels shared by several voices."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from civicpulse.understanding.matching import MatchParams, Probe, signature
from civicpulse.understanding.topics import (
    Item,
    TopicBuilder,
    document_frequencies,
    label_phrases,
    phrases_of,
    topic_key_for,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)
VOICES = [
    "丽发新城小区旁边新建搅拌站，噪音和粉尘严重扰民",
    "Please run the number 12 bus more often in the morning",
    "投诉丽发新城小区附近搅拌站噪音扰民，粉尘很大",
    "The number 12 bus in the morning is always full, run it more often",
    "丽发新城小区附近的搅拌站每天噪音扰民，粉尘污染",
    "公园里的长椅坏了，希望修理",
]


def _items() -> list[Item]:
    return [
        Item(i + 1, Probe(signature(text), T0 + timedelta(hours=i)), text)
        for i, text in enumerate(VOICES)
    ]


def _build(items: list[Item]) -> TopicBuilder:
    builder = TopicBuilder(MatchParams(), 0.25)
    for item in items:
        builder.add(item)
    return builder


def test_similar_voices_share_a_topic_named_after_its_first_voice() -> None:
    builder = _build(_items())
    assert builder.voice_topic[1] == builder.voice_topic[3] == builder.voice_topic[5] == "t1"
    assert builder.voice_topic[2] == builder.voice_topic[4] == "t2"
    assert builder.voice_topic[6] == topic_key_for(6)


def test_the_same_input_gives_the_same_topics() -> None:
    assert _build(_items()).voice_topic == _build(_items()).voice_topic


def test_new_voices_never_move_old_ones() -> None:
    items = _items()
    builder = _build(items[:3])
    before = dict(builder.voice_topic)
    for item in items[3:]:
        builder.add(item)
    assert all(builder.voice_topic[v] == k for v, k in before.items())
    assert builder.voice_topic == _build(items).voice_topic


def test_labels_are_typical_phrases_used_by_several_voices() -> None:
    df, n = document_frequencies(VOICES)
    members = [VOICES[0], VOICES[2], VOICES[4]]
    label = label_phrases(members, df, n)
    assert any("搅拌站" in p for p in label) and any("丽发新城" in p for p in label)
    assert label_phrases(members[:2], df, n) == []  # fewer than 3 voices: nothing shown


def test_phrases_skip_function_characters_at_their_edges() -> None:
    phrases = phrases_of("小区的路灯坏了")
    assert "路灯" in phrases and "的路" not in phrases and "灯坏" in phrases
    assert "bus" in phrases_of("The bus is late") and "the" not in phrases_of("The bus")


def test_document_frequencies_count_each_voice_once() -> None:
    df, n = document_frequencies(["路灯路灯", "路灯"])
    assert n == 2 and df == Counter(df) and df["路灯"] == 2
