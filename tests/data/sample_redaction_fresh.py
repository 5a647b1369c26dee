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

import importlib.util
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
    draw = heldout.Draw(20261201, heldout.drawn_before((bench.REAL_SPANS, bench.HELDOUT_SPANS)))
    # one shuffle for all strata (the held-out sample shuffles again for each)
    pool = draw.pool(heldout.ZH_SOURCES)
    draw.take(pool, "zh_tagger", heldout.tagger_people(), QUOTA["zh_tagger"])
    for stratum, pattern in heldout.ZH_TRIGGERS.items():
        draw.take(pool, stratum, heldout.matches(pattern), QUOTA[stratum])
    draw.write()


if __name__ == "__main__":
    main()
