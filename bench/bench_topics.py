"""Topics on the message board: the 20 largest topics, their sizes and labels, and stability.

    nice .venv/bin/python bench/bench_topics.py [--min-similarity 0.25] [--top 20]

Runs the product's topic builder (``civicpulse.understanding.topics``) over
``messages_with_likes.csv`` (title + text, in time order), prints the largest topics with
their labels, then runs it again from scratch and checks that every voice gets the same
topic key, and once more incrementally (the first half, then the second) to show that
arriving voices do not move old ones.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / ".." / "shared" / "data" / "gov_message_board" / "messages_with_likes.csv"


def load() -> list[tuple[int, str, str, datetime]]:
    rows = []
    with BOARD.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            when = row["留言时间"].strip().replace("/", "-")
            if not when:
                continue
            at = datetime.fromisoformat(when).replace(tzinfo=UTC)
            rows.append((int(row["留言编号"]), row["留言主题"], row["留言详情"], at))
    rows.sort(key=lambda r: (r[3], r[0]))
    return rows


def build(rows: list[tuple[int, str, str, datetime]], min_similarity: float) -> object:
    from civicpulse.understanding.matching import MatchParams, Probe, signature
    from civicpulse.understanding.topics import Item, TopicBuilder

    builder = TopicBuilder(MatchParams(), min_similarity)
    for vid, title, text, at in rows:
        builder.add(Item(vid, Probe(signature(text, title), at), f"{title}\n{text}"))
    return builder


def main() -> None:
    if not BOARD.exists():
        sys.exit(f"real data not present: {BOARD}")
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-similarity", type=float, default=0.25)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--urgency", action="store_true",
                        help="Instead: what the default urgency rules flag on these messages.")
    args = parser.parse_args()
    if args.urgency:
        urgency_report()
        return
    from civicpulse.understanding.topics import TopicBuilder, document_frequencies, label_phrases

    rows = load()
    t0 = time.perf_counter()
    builder = build(rows, args.min_similarity)
    assert isinstance(builder, TopicBuilder)
    seconds = time.perf_counter() - t0
    texts = {vid: f"{title}\n{text}" for vid, title, text, _ in rows}
    df, n = document_frequencies(texts.values())
    topics = sorted(builder.topics.values(), key=lambda t: (-len(t.members), t.key))
    multi = [t for t in topics if len(t.members) >= 2]
    print(f"{len(rows):,} messages -> {len(topics):,} topics ({len(multi):,} with 2+ voices) "
          f"in {seconds:.1f} s ({len(rows) / seconds:,.0f} voices/s)")
    print("| # | key | size | label |")
    print("|---|---|---|---|")
    for i, topic in enumerate(topics[: args.top], 1):
        label = " · ".join(label_phrases([texts[m] for m in topic.members], df, n))
        print(f"| {i} | {topic.key} | {len(topic.members)} | {label or '(no shared phrase)'} |")
    again = build(rows, args.min_similarity)
    assert isinstance(again, TopicBuilder)
    same = again.voice_topic == builder.voice_topic
    half = len(rows) // 2
    from civicpulse.understanding.matching import MatchParams, Probe, signature
    from civicpulse.understanding.topics import Item

    incremental = TopicBuilder(MatchParams(), args.min_similarity)
    for vid, title, text, at in rows[:half]:
        incremental.add(Item(vid, Probe(signature(text, title), at), texts[vid]))
    first_half = dict(incremental.voice_topic)
    for vid, title, text, at in rows[half:]:
        incremental.add(Item(vid, Probe(signature(text, title), at), texts[vid]))
    kept = all(incremental.voice_topic[v] == k for v, k in first_half.items())
    print(f"rerun from scratch gives identical topics: {same}; "
          f"incremental run leaves the first half in place: {kept}; "
          f"incremental equals one run: {incremental.voice_topic == builder.voice_topic}")


def urgency_report() -> None:
    """How many messages each default rule flags, how many end up urgent, and the time."""
    from collections import Counter

    from civicpulse.understanding.urgency import URGENT, RuleSet, assess

    rules = RuleSet()
    rows = load()
    t0 = time.perf_counter()
    verdicts = [assess(f"{title}\n{text}", rules) for _, title, text, _ in rows]
    seconds = time.perf_counter() - t0
    by_rule = Counter(r["rule"] for v in verdicts for r in v.reasons)
    urgent = [(row, v) for row, v in zip(rows, verdicts, strict=True) if v.level == URGENT]
    print(f"{len(rows):,} messages, {len(urgent):,} urgent ({len(urgent) / len(rows):.1%}); "
          f"{seconds / len(rows) * 1e6:.0f} µs per message")
    for rule, count in by_rule.most_common():
        print(f"  {rule:18} {count:5}")
    for (vid, title, _text, _at), v in urgent[:: max(1, len(urgent) // 12)][:12]:
        why = "; ".join(f"{r['rule']}: {r['matched']}" for r in v.reasons)
        print(f"  {vid} {title[:30]} — {why}")


if __name__ == "__main__":
    main()
