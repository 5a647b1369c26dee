"""Same-problem matching: precision and recall on labelled pairs, and lookups at 1,000,000.

    nice .venv/bin/python bench/bench_matching.py quality
    nice .venv/bin/python bench/bench_matching.py lookups --voices 1000000 --queries 5000
    nice .venv/bin/python bench/bench_matching.py intake --voices 10000 --submissions 2000

``quality`` judges every pair of ``tests/data/same_problem_pairs.csv`` (our own annotation:
ids, label, reason) with the product's default parameters, reading the texts from
``../shared/data`` at run time. ``lookups`` builds a SQLite index the way the product stores
it (``match_keys`` + ``voice_insights``) from real texts placed at random points of a
30 km square over two years, then times the product's own candidate lookup and verdict.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
PAIRS = ROOT / "tests" / "data" / "same_problem_pairs.csv"


@dataclass(frozen=True)
class Record:
    text: str
    title: str | None
    at: datetime
    lat: float | None = None
    lon: float | None = None


def _sf311(data: Path) -> dict[str, Record]:
    raw = json.loads((data / "sf311" / "encampments_raw_api.json").read_text(encoding="utf-8"))
    body = raw["body"]
    items = json.loads(body) if isinstance(body, str) else body
    return {
        r["service_request_id"]: Record(
            text=r.get("description") or "",
            title=None,
            at=datetime.fromisoformat(r["requested_datetime"].replace("Z", "+00:00")),
            lat=float(r["lat"]),
            lon=float(r["long"]),
        )
        for r in items
    }


def _board(data: Path) -> dict[str, Record]:
    path = data / "gov_message_board" / "messages_with_likes.csv"
    out: dict[str, Record] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            when = row["留言时间"].strip().replace("/", "-")
            if not when:
                continue
            out[row["留言编号"]] = Record(
                text=row["留言详情"],
                title=row["留言主题"],
                at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            )
    return out


def load_pairs(data: Path = DATA) -> list[tuple[Record, Record, bool, str]]:
    """The labelled pairs with their texts, read from the shared data folder."""
    sources = {"sf311": _sf311(data), "gov_message_board": _board(data)}
    out = []
    with PAIRS.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            records = sources[row["source"]]
            out.append((records[row["a"]], records[row["b"]], row["same"] == "1", row["reason"]))
    return out


def probe_of(rec: Record) -> object:
    from civicpulse.understanding.matching import Probe, signature

    return Probe(signature(rec.text, rec.title), rec.at, rec.lat, rec.lon)


def evaluate(pairs: list[tuple[Record, Record, bool, str]], params: object) -> dict[str, float]:
    """Precision, recall and F1 of the product's matching over the labelled pairs.

    As at intake: the later voice looks the earlier one up through the blocks (a pair that
    shares no block is never compared), then ``judge`` decides."""
    from civicpulse.understanding.matching import MatchParams, index_keys, judge, query_keys

    assert isinstance(params, MatchParams)
    tp = fp = fn = tn = 0
    for a, b, same, _reason in pairs:
        old, new = (a, b) if a.at <= b.at else (b, a)
        p_old, p_new = probe_of(old), probe_of(new)
        found = bool(set(index_keys(p_old, params)) & set(query_keys(p_new, params)))  # type: ignore[arg-type]
        verdict = judge(p_new, p_old, params)  # type: ignore[arg-type]
        if found and verdict.same and same:
            tp += 1
        elif found and verdict.same:
            fp += 1
        elif same:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(pairs), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1}


def quality(args: argparse.Namespace) -> None:
    from civicpulse.understanding.matching import MatchParams

    pairs = load_pairs()
    params = MatchParams(threshold=args.threshold) if args.threshold else MatchParams()
    print(f"threshold {params.threshold}")
    for source in ("sf311", "gov_message_board", None):
        chosen = [p for p in pairs if source is None or _source_of(p) == source]
        r = evaluate(chosen, params)
        print(f"{source or 'all':18} pairs {r['pairs']:4}  P {r['precision']:.3f}  "
              f"R {r['recall']:.3f}  F1 {r['f1']:.3f}  (tp {r['tp']} fp {r['fp']} "
              f"fn {r['fn']} tn {r['tn']})")


def _source_of(pair: tuple[Record, Record, bool, str]) -> str:
    return "sf311" if pair[0].lat is not None else "gov_message_board"


def _texts(data: Path) -> list[tuple[str, str | None]]:
    """Message-board texts (with their titles where the file has them): voices that come
    without a place, as web-board and hotline messages do."""
    board = data / "gov_message_board"
    texts: list[tuple[str, str | None]] = [(r.text, r.title) for r in _board(data).values()]
    for name, text_col in (("labelled_messages.csv", "text"),
                           ("unlabelled_messages.csv", "留言详情"),
                           ("messages_with_replies.csv", "留言详情")):
        with (board / name).open(encoding="utf-8", newline="") as f:
            texts += [(row[text_col], row.get("留言主题") or None)
                      for row in csv.DictReader(f) if row[text_col]]
    return texts


def _located_texts(data: Path) -> list[tuple[str, str | None]]:
    """Short English reports that come with a place: SF 311, Boston 311 titles,
    FixMyStreet titles."""
    import gzip

    texts: list[tuple[str, str | None]] = [(r.text, None) for r in _sf311(data).values() if r.text]
    with gzip.open(data / "boston311" / "requests_2011_jul_nov.csv.gz", "rt",
                   encoding="utf-8", newline="") as f:
        texts += [(row["case_title"], None) for row in csv.DictReader(f) if row["case_title"]]
    fixed = json.loads((data / "fixmystreet_cambridge" / "fixed.json").read_text("utf-8"))
    texts += [(r["title"], None) for r in fixed["reports"] if r.get("title")]
    return texts


def _build_index(engine: Any, path: Path, voices: int, params: Any, rng: random.Random,
                 sigs: list[Any], located_sigs: list[Any], start: datetime,
                 box: tuple[float, float, float]) -> None:
    """Fill ``voice_insights`` and ``match_keys`` as intake would, in big batches."""
    from sqlalchemy import insert

    from civicpulse.storage.tables import Base, MatchKey, VoiceInsight
    from civicpulse.understanding.matching import Probe, index_keys, signature_bytes

    lat0, lon0, span = box
    path.unlink(missing_ok=True)
    Base.metadata.create_all(engine, tables=[VoiceInsight.__table__, MatchKey.__table__])
    t0 = time.perf_counter()
    batch_i: list[dict[str, object]] = []
    batch_k: list[dict[str, object]] = []
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.exec_driver_sql("PRAGMA journal_mode=OFF")
        for vid in range(1, voices + 1):
            located = rng.random() < 0.5
            pool = located_sigs if located else sigs
            probe = Probe(
                pool[rng.randrange(len(pool))],
                start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                lat0 + rng.random() * span if located else None,
                lon0 + rng.random() * span if located else None,
            )
            batch_i.append(dict(
                voice_id=vid, case_id=vid, signature=signature_bytes(probe.signature),
                at=probe.at, lat=probe.lat, lon=probe.lon, category=None, urgency_reasons=[],
                match_reasons=[], computed_at=probe.at,
            ))
            batch_k.extend({"key": k, "voice_id": vid} for k in index_keys(probe, params))
            if len(batch_i) >= 20_000:
                conn.execute(insert(VoiceInsight), batch_i)
                conn.execute(insert(MatchKey), batch_k)
                batch_i.clear()
                batch_k.clear()
                print(f"  {vid:,} voices indexed", flush=True)
        if batch_i:
            conn.execute(insert(VoiceInsight), batch_i)
            conn.execute(insert(MatchKey), batch_k)
    print(f"index built in {time.perf_counter() - t0:.0f} s; "
          f"{path.stat().st_size / 1e9:.2f} GB", flush=True)


def lookups(args: argparse.Namespace) -> None:
    """Build an index of ``--voices`` voices, then time ``--queries`` lookups."""
    import numpy as np
    from sqlalchemy import create_engine

    from civicpulse.services.match_index import find_candidates, score_candidates
    from civicpulse.understanding.matching import (
        MatchParams,
        Probe,
        query_keys,
        signature,
    )

    params = MatchParams()
    rng = random.Random(5)
    texts = _texts(DATA)
    located_texts = _located_texts(DATA)
    print(f"{len(texts):,} message-board texts (no place), {len(located_texts):,} located "
          "reports; signing them ...", flush=True)
    t0 = time.perf_counter()
    sigs = [signature(t, title) for t, title in texts]
    print(f"  {len(texts) / (time.perf_counter() - t0):,.0f} signatures/s", flush=True)
    located_sigs = [signature(t, title) for t, title in located_texts]
    path = Path(args.db)
    engine = create_engine(f"sqlite:///{path}")
    if args.mmap_mb:
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _mmap(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA mmap_size={args.mmap_mb * 1_000_000}")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lat0, lon0 = 30.0, 120.0
    span = 30_000 / 111_320  # about 30 km
    if args.reuse and path.exists():
        print(f"reusing the index in {path}", flush=True)
    else:
        _build_index(engine, path, args.voices, params, rng, sigs, located_sigs, start,
                     (lat0, lon0, span))
    from sqlalchemy.orm import Session

    qrng = random.Random(7)  # queries are new voices, not replays of indexed ones
    queries = []
    for _ in range(args.queries):
        located = qrng.random() < 0.5
        pool = located_sigs if located else sigs
        queries.append(Probe(
            pool[qrng.randrange(len(pool))],
            start + timedelta(minutes=qrng.randrange(2 * 365 * 24 * 60)),
            lat0 + qrng.random() * span if located else None,
            lon0 + qrng.random() * span if located else None,
        ))
    latencies = []
    found = matched = 0
    t0 = time.perf_counter()
    keys = [query_keys(p, params) for p in queries]  # intake does this before the writer
    key_seconds = time.perf_counter() - t0
    with Session(engine) as session:
        for probe, k in zip(queries[:200], keys[:200], strict=True):  # warm the page cache
            find_candidates(session, probe, params, k)
        t0 = time.perf_counter()
        for probe, k in zip(queries, keys, strict=True):
            q0 = time.perf_counter()
            candidates = find_candidates(session, probe, params, k)
            matched += bool(score_candidates(probe, candidates, params))
            found += len(candidates)
            latencies.append(time.perf_counter() - q0)
        total = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    print(f"{args.queries:,} lookups against {args.voices:,} voices: "
          f"{args.queries / total:,.0f} lookups/s (query, verdict); p50 "
          f"{np.percentile(lat, 50):.2f} ms, p95 {np.percentile(lat, 95):.2f} ms, "
          f"p99 {np.percentile(lat, 99):.2f} ms; with the block keys computed too: "
          f"{args.queries / (total + key_seconds):,.0f} lookups/s; "
          f"{found / args.queries:.1f} candidates scored per lookup, "
          f"{matched / args.queries:.0%} of lookups found a same-problem voice")

def intake(args: argparse.Namespace) -> None:
    """What matching and urgency add to one submission on SQLite, end to end.

    Seeds ``--voices`` real voices (half with a location in a 3 km square, all within the
    matching window) through ``submit_voice`` with automatic merging on, then submits
    ``--submissions`` more, alternating with and without understanding (the reading of the
    text and the matching in the writer replaced by no-ops), and compares the latencies."""
    import tempfile

    import numpy as np

    import civicpulse.services.voices as voices
    from civicpulse.bootstrap import build_context
    from civicpulse.domain.roles import SYSTEM
    from civicpulse.services.catalogue import import_catalogue
    from civicpulse.services.text_reading import MatchingKeys, TextReading
    from civicpulse.settings import Settings
    from civicpulse.understanding.language import detect_language
    from civicpulse.understanding.matching import Probe, signature
    from civicpulse.understanding.urgency import Verdict

    texts = _texts(DATA)
    rng = random.Random(9)
    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-intake-"))
    settings = Settings(data_dir=tmp, match_auto_merge=True,
                        _env_file=None)  # type: ignore[call-arg]
    ctx = build_context(settings, migrate=True)
    import_catalogue(ctx, SYSTEM, {"departments": [{"code": "d", "name_en": "D"}],
                                   "categories": [{"code": "c", "name_en": "C",
                                                   "department": "d"}]})
    span = 3_000 / 111_320

    def voice() -> object:
        text, title = texts[rng.randrange(len(texts))]
        located = rng.random() < 0.5
        return voices.VoiceInput(
            text=text[:8000] or "?", title=(title or None) and title[:300],
            lat=30.0 + rng.random() * span if located else None,
            lon=120.0 + rng.random() * span if located else None,
        )

    t0 = time.perf_counter()
    for i in range(args.voices):
        voices.submit_voice(ctx, SYSTEM, voice())  # type: ignore[arg-type]
        if (i + 1) % 5000 == 0:
            print(f"  {i + 1:,} voices seeded", flush=True)
    print(f"seeded {args.voices:,} voices in {time.perf_counter() - t0:.0f} s", flush=True)
    real_read, real_apply = voices.read_voice, voices.apply_to_submission
    unread = MatchingKeys(Probe(signature(""), datetime.now(UTC), None, None), [], [])

    def language_only(_ctx: object, v: Any) -> TextReading:
        """What intake needed of the text before understanding: its language."""
        return TextReading(v.text, detect_language(v.text), None, Verdict("normal", 0.0), unread)

    timings: dict[bool, list[float]] = {True: [], False: []}
    merged = 0
    kept_apart: list[float] = []
    for i in range(args.submissions):
        on = i % 2 == 0
        if on:
            voices.read_voice, voices.apply_to_submission = real_read, real_apply
        else:
            voices.read_voice = language_only  # type: ignore[assignment]
            voices.apply_to_submission = lambda s, c, r, p, **k: r  # type: ignore[assignment]
        v = voice()
        q0 = time.perf_counter()
        result = voices.submit_voice(ctx, SYSTEM, v)  # type: ignore[arg-type]
        timings[on].append(time.perf_counter() - q0)
        merged += on and result.case_status == "merged"
        if on and result.case_status != "merged":
            kept_apart.append(timings[on][-1])
    voices.read_voice, voices.apply_to_submission = real_read, real_apply
    ctx.close()
    for on in (False, True):
        ms = np.array(timings[on]) * 1000
        print(f"{'with' if on else 'without'} understanding: p50 {np.percentile(ms, 50):.2f} ms, "
              f"p95 {np.percentile(ms, 95):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms "
              f"({len(ms)} submissions)")
    added = np.array(timings[True]) * 1000
    base = np.array(timings[False]) * 1000
    print(f"added: p50 {np.percentile(added, 50) - np.percentile(base, 50):.2f} ms, "
          f"p95 {np.percentile(added, 95) - np.percentile(base, 95):.2f} ms; "
          f"{merged} of {len(added)} merged into an open case")
    if kept_apart:
        alone = np.array(kept_apart) * 1000
        print(f"with understanding, not merged: p50 {np.percentile(alone, 50):.2f} ms, "
              f"p95 {np.percentile(alone, 95):.2f} ms ({len(alone)} submissions)")


def main() -> None:
    if not DATA.exists():
        sys.exit(f"real data not present: {DATA}")
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    qual = sub.add_parser("quality")
    qual.add_argument("--threshold", type=float, default=None)
    look = sub.add_parser("lookups")
    look.add_argument("--voices", type=int, default=1_000_000)
    look.add_argument("--queries", type=int, default=5_000)
    look.add_argument("--db", default="/tmp/civicpulse-bench-matching.db")
    look.add_argument("--mmap-mb", type=int, default=0,
                      help="SQLite memory-mapped I/O for the lookups (0: off, as shipped).")
    look.add_argument("--reuse", action="store_true",
                      help="Use the index already in --db (built by an earlier run).")
    into = sub.add_parser("intake")
    into.add_argument("--voices", type=int, default=10_000)
    into.add_argument("--submissions", type=int, default=2_000)
    args = parser.parse_args()
    {"quality": quality, "lookups": lookups, "intake": intake}[args.what](args)


if __name__ == "__main__":
    main()
