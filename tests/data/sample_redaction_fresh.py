"""Draws the fresh Chinese windows of tests/data/redaction_fresh_spans.jsonl (pointers, no text).

    .venv/bin/python tests/data/sample_redaction_fresh.py > /tmp/fresh_windows.jsonl

Why a second held-out sample: the first one (redaction_heldout_spans.jsonl) was read error by
error twice while the rules and the tagger filters were tuned, so it has become a development
set. This one is drawn with another seed from message-board rows in neither earlier file,
labelled before any redactor output was looked at, and scored once, after tuning.

Strata as in sample_redaction_heldout.py (Chinese only: the English rules were not changed in
this round): a tagger PER word 40, a number + 栋/单元/号/室/组/楼 25, a person word 25, random 30.
Rows carry "_text" for the labeller only; the file in the repository holds the rows without it
and with "spans" ([start, end, kind], offsets in the full text).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "sample_redaction_heldout", Path(__file__).with_name("sample_redaction_heldout.py")
)
assert _spec and _spec.loader
heldout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heldout)
bench = heldout.bench

QUOTA = {"zh_tagger": 40, "zh_address": 25, "zh_person": 25, "zh_random": 30}


def main() -> None:
    rng = random.Random(20261201)
    taken: set[tuple[str, str]] = set()
    for path in (bench.REAL_SPANS, bench.HELDOUT_SPANS):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            taken.add((row["file"], row["key"]))
    seen: set[str] = set()
    rows: list[dict] = []
    pool = [(src, k, t) for src in heldout.ZH_SOURCES
            for k, t in bench.load_column(heldout.DATA, *src).items() if t]
    rng.shuffle(pool)

    from civicpulse.understanding.redaction.chinese import ChineseTagger
    tagger = ChineseTagger.shared()

    def lac_people(text: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, t in tagger.tag(text[:600]) if t == "PER"]

    finders = {"zh_tagger": lac_people}
    for stratum, pattern in heldout.ZH_TRIGGERS.items():
        finders[stratum] = lambda t, p=pattern: [m.span() for m in p.finditer(t)]
    for stratum, find in finders.items():
        got = 0
        for src, key, text in pool:
            if got >= QUOTA[stratum]:
                break
            if (src[0], key) in taken:
                continue
            hits = find(text)
            if not hits:
                continue
            at, end = rng.choice(hits)
            lo, hi = heldout.window(text, at, end)
            win = text[lo:hi]
            if win in seen:
                continue
            seen.add(win)
            taken.add((src[0], key))
            rows.append({"file": src[0], "key_column": src[1], "key": key, "column": src[2],
                         "start": lo, "end": hi,
                         "sha1": hashlib.sha1(win.encode()).hexdigest()[:12],
                         "stratum": stratum, "_text": win})
            got += 1
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
