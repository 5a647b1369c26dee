"""Precision and recall of redaction on labelled spans: synthetic sentences and real messages.

    .venv/bin/python bench/bench_redaction.py [--show-errors] [--deep]
        [--set synthetic|real|heldout|fresh|third|fourth|both|all]
    .venv/bin/python bench/bench_redaction.py --speed

synthetic  tests/data/redaction_spans.jsonl: invented sentences (text and spans in the file).
real       tests/data/redaction_real_spans.jsonl: windows of real message-board texts in
           ../shared/data/gov_message_board, the rules' development set. The file holds only
           where each window is (file, row key, column, character offsets, a SHA-1 prefix of
           the window's text) and the spans inside it; the text is read from ../shared/data at
           run time, never copied. It was not labelled for addresses: those are not judged.
heldout    tests/data/redaction_heldout_spans.jsonl: other rows of the message boards and of
           Boston 311, SF 311 and FixMyStreet Cambridge, in the same form plus the sampling
           stratum (tests/data/sample_redaction_heldout.py). Read error by error while the
           rules and tagger filters were tuned: now a second development set.
fresh      tests/data/redaction_fresh_spans.jsonl: 120 Chinese message-board windows from rows
           in neither file above (tests/data/sample_redaction_fresh.py), labelled before any
           redactor output was seen and scored once after tuning; its errors were then read in
           the next round, so it is a development set too.
third      tests/data/redaction_third_spans.jsonl: 171 windows, Chinese and English, from rows
           in none of the files above (tests/data/sample_redaction_later.py third), labelled
           before any redactor output was seen and scored once; tuned on since.
fourth     tests/data/redaction_fourth_spans.jsonl: 254 windows, Chinese and English, from rows
           in none of the files above (tests/data/sample_redaction_later.py fourth), labelled
           before any redactor output was seen and scored once after tuning: the held-out
           figure.

A found span counts as right only when its start, end and kind all equal a labelled span,
except an address, which is right when it overlaps a labelled one and hides all its digits. In
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
import gzip
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
HELDOUT_SPANS = ROOT / "tests" / "data" / "redaction_heldout_spans.jsonl"
FRESH_SPANS = ROOT / "tests" / "data" / "redaction_fresh_spans.jsonl"
THIRD_SPANS = ROOT / "tests" / "data" / "redaction_third_spans.jsonl"
FOURTH_SPANS = ROOT / "tests" / "data" / "redaction_fourth_spans.jsonl"
DATA = ROOT / ".." / "shared" / "data"
_MASKED = re.compile(r"0{4}-0{8}|0{4}-0{4}|[*＊×]{3,}")

Scores = dict[str, dict[str, float]]
Span3 = tuple[int, int, str]


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


def evaluate(path: Path = SPANS, show_errors: bool = False, deep: bool = False) -> Scores:
    """Scores on the synthetic file, whose rows carry their own text."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    redactor = Redactor(deep=deep)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in rows:
        gold = {(s["start"], s["end"], s["kind"]) for s in row["spans"]}
        found = {(s.start, s.end, s.kind) for s in redactor.find(row["text"])}
        right, missed = _match(found, gold, row["text"])
        for s in right:
            tp[s[2]] += 1
        for s in found - right:
            fp[s[2]] += 1
            if show_errors:
                print(f"FP {s[2]:10} {row['text'][s[0]:s[1]]!r} in {row['text']}")
        for s in missed:
            fn[s[2]] += 1
            if show_errors:
                print(f"FN {s[2]:10} {row['text'][s[0]:s[1]]!r} in {row['text']}")
    return _table(tp, fp, fn)


def load_column(data: Path, file: str, key_column: str, column: str) -> dict[str, str]:
    """One text column of a source file by row key: CSV, gzipped CSV, or a JSON file whose
    records are under "reports" (FixMyStreet's export)."""
    path = data / file
    if path.suffix == ".json":
        records = json.loads(path.read_text(encoding="utf-8"))["reports"]
        return {str(r[key_column]): str(r.get(column) or "") for r in records}
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return {r[key_column]: r[column] or "" for r in csv.DictReader(f)}


def real_texts(path: Path = REAL_SPANS, data: Path = DATA) -> Iterator[tuple[dict, str]]:
    """Each labelled window with the full text it lies in, checked against its SHA-1 prefix."""
    tables: dict[tuple[str, str, str], dict[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        row = json.loads(line)
        source = (row["file"], row["key_column"], row["column"])
        if source not in tables:
            tables[source] = load_column(data, *source)
        text = tables[source][row["key"]]
        window = text[row["start"] : row["end"]]
        if hashlib.sha1(window.encode()).hexdigest()[:12] != row["sha1"]:
            raise ValueError(f"{row['file']} row {row['key']} changed since it was labelled")
        yield row, text


def _match(found: set[Span3], gold: set[Span3], text: str) -> tuple[set[Span3], set[Span3]]:
    """(right found spans, missed gold spans). Kinds other than addresses must match exactly;
    an address is right when it overlaps a labelled address and hides every digit of it
    (the numbers are what identify a household; where the compound's name starts is a
    matter of taste)."""
    right = found & gold
    missed = gold - found
    for g in [g for g in missed if g[2] == "address"]:
        digits = [p for p in range(g[0], g[1]) if text[p].isdigit()]
        for f in found:
            if f[2] == "address" and f[0] < g[1] and g[0] < f[1] and all(
                f[0] <= p < f[1] for p in digits
            ):
                right.add(f)
                missed.discard(g)
                break
    return right, missed


def evaluate_real(
    path: Path = REAL_SPANS,
    data: Path = DATA,
    show_errors: bool = False,
    deep: bool = False,
    by_stratum: dict[str, Counter[str]] | None = None,
    unlabelled_kinds: frozenset[str] = frozenset(),
) -> tuple[Scores, dict[str, int]]:
    """Scores on the real windows, and counts of negatives (labelled / wrongly hidden) and of
    names that no cue word introduces (labelled / found). ``by_stratum``, when given, gets
    true positives, false positives and misses per sampling stratum of the held-out set.
    Found spans of ``unlabelled_kinds`` (kinds the set was not labelled for) are not judged."""
    redactor = Redactor(deep=deep)
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
            (s.start, s.end, s.kind) for s in redactor.find(text)
            if lo <= s.start and s.end <= hi and s.kind not in unlabelled_kinds
        }
        right, missed = _match(found, gold, text)
        stratum = by_stratum.setdefault(row.get("stratum", "-"), Counter()) if (
            by_stratum is not None) else Counter()
        for s in right:
            tp[s[2]] += 1
            stratum["tp"] += 1
        for s in found - right:
            if any(s[0] < me and ms < s[1] for ms, me in masked):
                continue
            fp[s[2]] += 1
            stratum["fp"] += 1
            if show_errors:
                print(f"FP {s[2]:10} {text[s[0]:s[1]]!r} in {text[lo:hi]!r}")
        for s in missed:
            fn[s[2]] += 1
            stratum["fn"] += 1
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


def speed(deep: bool, n: int = 200) -> float:
    """Texts per second for 200-character pieces of real messages, on the calling thread."""
    texts = [
        t[:200] for t in load_column(DATA, "gov_message_board/unlabelled_messages.csv",
                                     "留言编号", "留言详情").values() if len(t) >= 200
    ][:n]
    redactor = Redactor(deep=deep)
    redactor.find(texts[0])  # loads the tagger once
    started = time.perf_counter()
    for text in texts:
        redactor.redact(text)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-errors", action="store_true")
    sets = ["synthetic", "real", "heldout", "fresh", "third", "fourth", "both", "all"]
    parser.add_argument("--set", choices=sets, default="all")
    parser.add_argument("--deep", action="store_true", help="add the Chinese name tagger")
    parser.add_argument("--speed", action="store_true", help="texts/s, rules and deep")
    args = parser.parse_args()
    depth = "rules + tagger" if args.deep else "rules only"
    if args.speed:
        for deep in (False, True):
            print(f"speed, {'rules + tagger' if deep else 'rules only'}: "
                  f"{speed(deep):,.0f} texts of 200 characters/s")
        return
    if args.set in ("synthetic", "both", "all"):
        _print(f"synthetic (tests/data/redaction_spans.jsonl), {depth}",
               evaluate(show_errors=args.show_errors, deep=args.deep))
    if not (DATA / "gov_message_board").is_dir():
        print(f"\nreal sets skipped: {DATA / 'gov_message_board'} is not present")
        return
    if args.set in ("real", "both", "all"):
        result, negatives = evaluate_real(show_errors=args.show_errors, deep=args.deep,
                                          unlabelled_kinds=frozenset({"address"}))
        _print(f"development set (tests/data/redaction_real_spans.jsonl), {depth}", result)
        print(f"\nnegatives (numbers and words that are not personal data): "
              f"{negatives['labelled']} labelled, {negatives['hidden']} wrongly hidden")
        named = result["name"]["spans"] - negatives["no_cue_names"]
        found = result["name"]["recall"] * result["name"]["spans"] - negatives["no_cue_found"]
        print(f"names after a cue word (a role, title or 'my name is'): {found:.0f} of "
              f"{named:.0f} found (recall {found / named:.3f}); names with no cue word: "
              f"{negatives['no_cue_found']} of {negatives['no_cue_names']}")
    for name, path, title in (
        ("heldout", HELDOUT_SPANS, "first held-out set, now tuned on"),
        ("fresh", FRESH_SPANS, "fresh held-out set, tuned on since"),
        ("third", THIRD_SPANS, "third held-out set, tuned on since"),
        ("fourth", FOURTH_SPANS, "fourth held-out set"),
    ):
        if args.set not in (name, "all"):
            continue
        strata: dict[str, Counter[str]] = {}
        result, _ = evaluate_real(path, show_errors=args.show_errors, deep=args.deep,
                                  by_stratum=strata)
        _print(f"{title} ({path.relative_to(ROOT)}), {depth}", result)
        print("\n| stratum | right | false alarms | missed |\n|---|---|---|---|")
        for stratum, c in strata.items():
            print(f"| {stratum} | {c['tp']} | {c['fp']} | {c['fn']} |")


if __name__ == "__main__":
    main()
