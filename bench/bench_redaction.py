"""Precision and recall of redaction on labelled spans: synthetic sentences and real messages.

    .venv/bin/python bench/bench_redaction.py [--show-errors] [--set synthetic|real|both]

synthetic  tests/data/redaction_spans.jsonl: invented sentences (text and spans in the file).
real       tests/data/redaction_real_spans.jsonl: windows of real message-board texts in
           ../shared/data/gov_message_board. The file holds only where each window is (file,
           row key, column, character offsets, a SHA-1 prefix of the window's text) and the
           spans inside it; the text is read from ../shared/data at run time, never copied.

A found span counts as right only when its start, end and kind all equal a labelled span. In
the real set, only found spans lying wholly inside a labelled window are judged, and spans of
kind ``not_personal`` (dates, amounts, certificate and standard numbers, non-name words after
a cue) are negatives: they count as a false alarm when any found span overlaps one. A name
span with a fourth field ``no_cue`` stands in the text with no word introducing a person
(no role, title, "我叫"…): rules cannot be expected to find those, and they are counted
apart. Numbers the publisher already masked ("0000-00000000", runs of "*") are neither
personal data nor a false alarm: a found span touching one is not judged.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from civicpulse.understanding.redaction import KINDS, Redactor

ROOT = Path(__file__).resolve().parents[1]
SPANS = ROOT / "tests" / "data" / "redaction_spans.jsonl"
REAL_SPANS = ROOT / "tests" / "data" / "redaction_real_spans.jsonl"
DATA = ROOT / ".." / "shared" / "data"
_MASKED = re.compile(r"0{4}-0{8}|0{4}-0{4}|[*＊×]{3,}")

Scores = dict[str, dict[str, float]]


def _table(tp: Counter[str], fp: Counter[str], fn: Counter[str]) -> Scores:
    out: Scores = {}
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


def evaluate(path: Path = SPANS, show_errors: bool = False) -> Scores:
    """Scores on the synthetic file, whose rows carry their own text."""
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
    return _table(tp, fp, fn)


def real_texts(path: Path = REAL_SPANS, data: Path = DATA) -> Iterator[tuple[dict, str]]:
    """Each labelled window with the full text it lies in, checked against its SHA-1 prefix."""
    tables: dict[tuple[str, str, str], dict[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        row = json.loads(line)
        source = (row["file"], row["key_column"], row["column"])
        if source not in tables:
            with (data / row["file"]).open(encoding="utf-8", newline="") as f:
                tables[source] = {r[row["key_column"]]: r[row["column"]] for r in csv.DictReader(f)}
        text = tables[source][row["key"]]
        window = text[row["start"] : row["end"]]
        if hashlib.sha1(window.encode()).hexdigest()[:12] != row["sha1"]:
            raise ValueError(f"{row['file']} row {row['key']} changed since it was labelled")
        yield row, text


def evaluate_real(
    path: Path = REAL_SPANS, data: Path = DATA, show_errors: bool = False
) -> tuple[Scores, dict[str, int]]:
    """Scores on the real windows, and counts of negatives (labelled / wrongly hidden) and of
    names that no cue word introduces (labelled / found)."""
    redactor = Redactor()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    negatives = {"labelled": 0, "hidden": 0, "no_cue_names": 0, "no_cue_found": 0}
    for row, text in real_texts(path, data):
        lo, hi = row["start"], row["end"]
        gold = {(s[0], s[1], s[2]) for s in row["spans"] if s[2] != "not_personal"}
        no_cue = {(s[0], s[1], s[2]) for s in row["spans"] if s[3:] == ["no_cue"]}
        negative = [(s[0], s[1]) for s in row["spans"] if s[2] == "not_personal"]
        masked = [m.span() for m in _MASKED.finditer(text, lo, hi)]
        found = {
            (s.start, s.end, s.kind) for s in redactor.find(text) if lo <= s.start and s.end <= hi
        }
        for s in found & gold:
            tp[s[2]] += 1
        for s in found - gold:
            if any(s[0] < me and ms < s[1] for ms, me in masked):
                continue
            fp[s[2]] += 1
            if show_errors:
                print(f"FP {s[2]:10} {text[s[0]:s[1]]!r} in {text[lo:hi]!r}")
        for s in gold - found:
            fn[s[2]] += 1
            if show_errors:
                print(f"FN {s[2]:10} {text[s[0]:s[1]]!r} in {text[lo:hi]!r}")
        negatives["no_cue_names"] += len(no_cue)
        negatives["no_cue_found"] += len(no_cue & found)
        for ns, ne in negative:
            negatives["labelled"] += 1
            negatives["hidden"] += any(s < ne and ns < e for s, e, _ in found)
    return _table(tp, fp, fn), negatives


def _print(title: str, result: Scores) -> None:
    print(f"\n{title}\n\n| kind | labelled spans | found | precision | recall |")
    print("|---|---|---|---|---|")
    for kind, r in result.items():
        if r["spans"] or r["found"]:
            print(f"| {kind} | {r['spans']:.0f} | {r['found']:.0f} | {r['precision']:.3f} "
                  f"| {r['recall']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--set", choices=["synthetic", "real", "both"], default="both")
    args = parser.parse_args()
    if args.set in ("synthetic", "both"):
        _print("synthetic (tests/data/redaction_spans.jsonl)",
               evaluate(show_errors=args.show_errors))
        texts = [
            json.loads(line)["text"] for line in SPANS.read_text(encoding="utf-8").splitlines()
        ] * 50
        redactor = Redactor()
        started = time.perf_counter()
        for text in texts:
            redactor.redact(text)
        elapsed = time.perf_counter() - started
        print(f"\nspeed: {len(texts) / elapsed:,.0f} messages/s "
              f"({elapsed / len(texts) * 1e6:.0f} µs each)")
    if args.set in ("real", "both"):
        if not (DATA / "gov_message_board").is_dir():
            print(f"\nreal set skipped: {DATA / 'gov_message_board'} is not present")
            return
        result, negatives = evaluate_real(show_errors=args.show_errors)
        _print("real message-board windows (tests/data/redaction_real_spans.jsonl)", result)
        print(f"\nnegatives (numbers and words that are not personal data): "
              f"{negatives['labelled']} labelled, {negatives['hidden']} wrongly hidden")
        named = result["name"]["spans"] - negatives["no_cue_names"]
        found = result["name"]["recall"] * result["name"]["spans"] - negatives["no_cue_found"]
        print(f"names after a cue word (a role, title or 'my name is'): {found:.0f} of "
              f"{named:.0f} found (recall {found / named:.3f}); names with no cue word: "
              f"{negatives['no_cue_found']} of {negatives['no_cue_names']}")


if __name__ == "__main__":
    main()
