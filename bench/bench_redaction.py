"""Precision and recall of redaction on the labelled spans in tests/data/redaction_spans.jsonl.

    .venv/bin/python bench/bench_redaction.py [--show-errors]

A found span counts as right only when its start, end and kind all equal a labelled span;
recall and precision are also given by kind, and the speed in messages per second.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from civicpulse.understanding.redaction import KINDS, Redactor

SPANS = Path(__file__).resolve().parents[1] / "tests" / "data" / "redaction_spans.jsonl"


def evaluate(path: Path = SPANS, show_errors: bool = False) -> dict[str, dict[str, float]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    redactor = Redactor()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in rows:
        gold = {(s["start"], s["end"], s["kind"]) for s in row["spans"]}
        found = {(s.start, s.end, s.kind) for s in redactor.find(row["text"])}
        for s in found & gold:
            tp[s[2]] += 1
        for s in found - gold:
            fp[s[2]] += 1
            if show_errors:
                print(f"FP {s[2]:10} {row['text'][s[0]:s[1]]!r} in {row['text']}")
        for s in gold - found:
            fn[s[2]] += 1
            if show_errors:
                print(f"FN {s[2]:10} {row['text'][s[0]:s[1]]!r} in {row['text']}")
    out: dict[str, dict[str, float]] = {}
    for kind in (*KINDS, "all"):
        t = sum(tp.values()) if kind == "all" else tp[kind]
        p = t + (sum(fp.values()) if kind == "all" else fp[kind])
        g = t + (sum(fn.values()) if kind == "all" else fn[kind])
        out[kind] = {
            "spans": g,
            "found": p,
            "precision": t / p if p else 1.0,
            "recall": t / g if g else 1.0,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    result = evaluate(show_errors=args.show_errors)
    print("| kind | labelled spans | found | precision | recall |")
    print("|---|---|---|---|---|")
    for kind, r in result.items():
        print(
            f"| {kind} | {r['spans']:.0f} | {r['found']:.0f} | {r['precision']:.3f} "
            f"| {r['recall']:.3f} |"
        )
    texts = [
        json.loads(line)["text"] for line in SPANS.read_text(encoding="utf-8").splitlines()
    ] * 50
    redactor = Redactor()
    started = time.perf_counter()
    for text in texts:
        redactor.redact(text)
    elapsed = time.perf_counter() - started
    each_us = elapsed / len(texts) * 1e6
    print(f"\nspeed: {len(texts) / elapsed:,.0f} messages/s ({each_us:.0f} µs each)")


if __name__ == "__main__":
    main()
