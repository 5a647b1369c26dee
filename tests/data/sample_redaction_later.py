"""Draws later held-out windows (pointers, no text): the third and fourth sets.

    .venv/bin/python tests/data/sample_redaction_later.py third > /tmp/third_windows.jsonl
    .venv/bin/python tests/data/sample_redaction_later.py fourth > /tmp/fourth_windows.jsonl

Why more held-out samples: each earlier one, once scored, had its errors read while the rules
were tuned again, and so joined the development sets. Each round is drawn with its own seed
from rows in none of the earlier files, labelled before any redactor output on it was looked
at, and scored once, after tuning.

Strata and triggers as in sample_redaction_heldout.py, both languages (the English address
rules changed in these rounds). Third (seed 20261202): Chinese — a tagger PER word 40, a
number + 栋/单元/号/室/组/楼 30, a person word 30, random 20; English — a number + capitalised
word 30, a title or capitalised pair 20, random 15, spread over the four English sources.
Fourth (seed 20261203): the same strata, larger (Chinese 60/45/45/40, English 40/25/20),
drawn from rows in none of the files up to the third.
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

_spec = importlib.util.spec_from_file_location(
    "sample_redaction_heldout", Path(__file__).with_name("sample_redaction_heldout.py")
)
assert _spec and _spec.loader
heldout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heldout)
bench = heldout.bench

ROUNDS = {
    "third": {
        "seed": 20261202,
        "before": ("REAL_SPANS", "HELDOUT_SPANS", "FRESH_SPANS"),
        "zh": {"zh_tagger": 40, "zh_address": 30, "zh_person": 30, "zh_random": 20},
        "en": {"en_number": (10, 10, 0, 10), "en_names": (8, 8, 2, 2),
               "en_random": (4, 5, 2, 4)},
    },
    "fourth": {
        "seed": 20261203,
        "before": ("REAL_SPANS", "HELDOUT_SPANS", "FRESH_SPANS", "THIRD_SPANS"),
        "zh": {"zh_tagger": 60, "zh_address": 45, "zh_person": 45, "zh_random": 40},
        "en": {"en_number": (14, 14, 0, 12), "en_names": (8, 9, 4, 4),
               "en_random": (5, 7, 3, 5)},
    },
}


def main() -> None:
    spec = ROUNDS[sys.argv[1] if len(sys.argv) > 1 else "third"]
    zh_quota = spec["zh"]
    en_quota = spec["en"]
    rng = random.Random(spec["seed"])
    taken: set[tuple[str, str]] = set()
    for path in (getattr(bench, name) for name in spec["before"]):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            taken.add((row["file"], row["key"]))
    seen: set[str] = set()
    rows: list[dict] = []

    def draw(sources, stratum, find, quota):  # type: ignore[no-untyped-def]
        pool = [(src, k, t) for src in sources
                for k, t in bench.load_column(heldout.DATA, *src).items() if t]
        rng.shuffle(pool)
        got = 0
        for src, key, text in pool:
            if got >= quota:
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

    from civicpulse.understanding.redaction.chinese import ChineseTagger
    tagger = ChineseTagger.shared()

    def lac_people(text: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, t in tagger.tag(text[:600]) if t == "PER"]

    draw(heldout.ZH_SOURCES, "zh_tagger", lac_people, zh_quota["zh_tagger"])
    for stratum, pattern in heldout.ZH_TRIGGERS.items():
        draw(heldout.ZH_SOURCES, stratum, lambda t, p=pattern: [m.span() for m in p.finditer(t)],
             zh_quota[stratum])
    for stratum, pattern in heldout.EN_TRIGGERS.items():
        for source, quota in zip(heldout.EN_SOURCES, en_quota[stratum], strict=True):
            draw([source], stratum, lambda t, p=pattern: [m.span() for m in p.finditer(t)],
                 quota)
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
