"""Topics in the product: place new voices incrementally, label the topics, list them.

``civicpulse topics`` (or the job) calls :func:`update_topics`: voices not yet indexed are
indexed first (:func:`civicpulse.services.same_problem.rerun`), then every voice without a
topic is placed, oldest first, next to the already placed voices of the same time blocks.
Old voices never move, so topic keys stay valid. The public list carries keys, labels,
sizes and dates only: no text, no names, and labels are phrases several residents used.

Labels are public, so they pass the privacy gate when they are made (in this background
job, where the name tagger's cost is affordable): ``redaction.public_phrases`` drops a
phrase in which redaction finds anything, and also a phrase that is a *piece* of a name
found in the topic's own texts ("张三 · 三丰" from "张三丰"), which no redactor can see in
the piece alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from civicpulse.services.match_index import params_from
from civicpulse.services.read_models import TopicView
from civicpulse.services.same_problem import rerun
from civicpulse.storage.tables import Topic, Voice, VoiceInsight, VoiceTopic
from civicpulse.understanding.matching import Probe, signature_from_bytes
from civicpulse.understanding.redaction import Redactor, public_phrases
from civicpulse.understanding.topics import (
    MIN_PHRASE_VOICES,
    Item,
    TopicBuilder,
    document_frequencies,
    label_phrases,
)

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


@dataclass(frozen=True)
class TopicRun:
    indexed: int
    placed: int
    new_topics: int
    touched_topics: int


def _item(row: Any) -> Item:
    """An item from a (voice_id, signature, at, lat, lon, title, text, ...) row."""
    voice_id, sig, at, lat, lon, title, text = tuple(row)[:7]
    probe = Probe(signature_from_bytes(sig), at, lat, lon)
    return Item(int(voice_id), probe, f"{title}\n{text}" if title else str(text))


def update_topics(ctx: Context) -> TopicRun:
    """Place every voice that has no topic yet; relabel the topics that grew."""
    indexed = rerun(ctx)
    params = params_from(ctx.settings)
    builder = TopicBuilder(params, ctx.settings.topic_min_similarity)
    columns = (VoiceInsight.voice_id, VoiceInsight.signature, VoiceInsight.at,
               VoiceInsight.lat, VoiceInsight.lon, Voice.title, Voice.text)
    with ctx.db.reader() as s:
        placed_q = (
            select(*columns)
            .join(Voice, Voice.id == VoiceInsight.voice_id)
            .where(~select(VoiceTopic.voice_id).where(VoiceTopic.voice_id == Voice.id).exists())
            .order_by(VoiceInsight.at, VoiceInsight.voice_id)
        )
        new_rows = s.execute(placed_q).all()
        if not new_rows:
            return TopicRun(indexed, 0, 0, 0)
        # only voices within reach of the new ones' time blocks can be their neighbours
        since = new_rows[0][2] - timedelta(days=2 * params.window_days)
        keys = dict(s.execute(select(Topic.id, Topic.key)).all())
        old_rows = s.execute(
            select(*columns, VoiceTopic.topic_id)
            .join(Voice, Voice.id == VoiceInsight.voice_id)
            .join(VoiceTopic, VoiceTopic.voice_id == VoiceInsight.voice_id)
            .where(VoiceInsight.at >= since)
            .order_by(VoiceInsight.at, VoiceInsight.voice_id)
        ).all()
    texts: dict[int, str] = {}
    at_of: dict[int, datetime] = {}
    for row in old_rows:
        item = _item(row)
        builder.place(item, keys[row[-1]])
        texts[item.voice_id], at_of[item.voice_id] = item.text, item.probe.at
    placed: dict[int, str] = {}
    for new_row in new_rows:
        item = _item(new_row)
        texts[item.voice_id], at_of[item.voice_id] = item.text, item.probe.at
        placed[item.voice_id] = builder.add(item)
    touched = sorted(set(placed.values()))
    df, total = document_frequencies(texts.values())
    now = ctx.now()
    new_topics = 0
    redactor = Redactor(deep=True)
    labels: dict[str, list[str]] = {}
    for key in touched:  # the tagger runs here, before the write transaction
        member_texts = [texts[m] for m in builder.topics[key].members if m in texts]
        labels[key] = public_phrases(
            label_phrases(member_texts, df, total), member_texts, redactor
        )
    with ctx.db.transaction() as session:
        ids = {key: tid for tid, key in session.execute(select(Topic.id, Topic.key))}
        for key in touched:
            members = builder.topics[key].members
            phrases = labels[key]
            new_members = [m for m in members if m in placed]
            times = [at_of[m] for m in new_members]
            if key not in ids:
                topic = Topic(key=key, label=" · ".join(phrases), phrases=phrases, size=0,
                              first_at=min(times), last_at=max(times), updated_at=now)
                session.add(topic)
                session.flush()
                ids[key] = topic.id
                new_topics += 1
            else:
                found = session.get(Topic, ids[key])
                assert found is not None
                topic = found
                topic.first_at = min(topic.first_at, *times)
                topic.last_at = max(topic.last_at, *times)
                if phrases:
                    topic.label, topic.phrases = " · ".join(phrases), phrases
                topic.updated_at = now
            topic.size += len(new_members)
            session.execute(
                insert(VoiceTopic),
                [{"voice_id": m, "topic_id": ids[key]} for m in new_members],
            )
    return TopicRun(indexed, len(placed), new_topics, len(touched))


def list_topics(
    ctx: Context, limit: int = 20, min_size: int = MIN_PHRASE_VOICES
) -> list[TopicView]:
    """The largest topics, public fields only (no text, no ids of voices or residents)."""
    with ctx.db.reader() as s:
        rows = s.scalars(
            select(Topic)
            .where(Topic.size >= min_size)
            .order_by(Topic.size.desc(), Topic.key)
            .limit(limit)
        ).all()
        return [
            TopicView(
                key=t.key,
                label=t.label,
                phrases=list(t.phrases),
                size=t.size,
                first_at=t.first_at,
                last_at=t.last_at,
                rank=i,
            )
            for i, t in enumerate(rows, 1)
        ]


def topic_labels(ctx: Context, keys: Iterable[str]) -> dict[str, str]:
    """The labels of the topics ``keys`` (those that exist): what a burst in a topic is
    shown by, read by key instead of listing every topic of a large city."""
    wanted = sorted({k for k in keys if len(k) <= 64})
    if not wanted:
        return {}
    with ctx.db.reader() as s:
        return dict(s.execute(select(Topic.key, Topic.label).where(Topic.key.in_(wanted))).all())

