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

import importlib.util
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
    before = heldout.drawn_before(getattr(bench, name) for name in spec["before"])
    draw = heldout.Draw(spec["seed"], before)
    heldout.draw_strata(draw, spec["zh"], spec["en"])
    draw.write()


if __name__ == "__main__":
    main()
