"""Draws the replies of tests/data/reply_labels.csv and shows them to the labeller.

    .venv/bin/python tests/data/sample_reply_labels.py draw          # the sample's row ids
    .venv/bin/python tests/data/sample_reply_labels.py show dev 0 25 # replies to read
    .venv/bin/python tests/data/sample_reply_labels.py check         # the label file's form

The first draw: 320 replies of ``gov_message_board/messages_with_replies.csv``, stratified
by the reply's length (five strata at the quintiles of the 1,983 replies' lengths, 64 from
each, so that short acknowledgements and long answers are both well represented), drawn with
``random.Random(SEED)``; then shuffled with the same generator, and the first 150 are the
rules' development set ("dev"), the other 170 were held out ("held-out-1") and scored once
with the rules frozen. The rules missed the targets there, so held-out-1 joined the
development set and a second draw of 160 (32 a stratum, ``SECOND_SEED``, none of the first
320) was labelled before the improved rules were scored on it, once ("held-out-2"). Recall
was still short there; held-out-2 joined the development set in turn, and a third draw of
160 (``THIRD_SEED``, none of the 480 before) was labelled and scored once with the rules
frozen again ("held-out-3"); bench/README.md, "Replies: boilerplate and deflection".

``show`` prints a reply as the labeller reads it, and nothing the tool says about it: the
labels are written by reading the reply alone, against the definitions in bench/README.md.
A reply over ``LONG`` characters is shown as its head and its tail (a long reply's template
lines and its passing-on are at its ends; its middle is its substance). The label file holds
row ids, labels and a short note in the labeller's own words, never the reply's text:
``check`` refuses a note that copies 8 characters or more of the reply in a row.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "gov_message_board" / "messages_with_replies.csv"
LABELS = Path(__file__).with_name("reply_labels.csv")
SEED = 12
SECOND_SEED = 1212
THIRD_SEED = 121212
STRATA = 5
PER_STRATUM = 64
SECOND_PER_STRATUM = 32
DEV = 150
LONG = 900
COLUMNS = ["留言编号", "split", "boilerplate", "deflection", "note"]
SPLITS = ("dev", "held-out-1", "held-out-2", "held-out-3")


def replies() -> dict[str, str]:
    with DATA.open(encoding="utf-8", newline="") as f:
        return {r["留言编号"]: r["答复意见"] for r in csv.DictReader(f)}


def _stratified(seed: int, per_stratum: int, leave_out: set[str]) -> list[str]:
    texts = replies()
    ids = sorted(texts, key=lambda i: (len(texts[i]), int(i)))
    size = len(ids) / STRATA
    rng = random.Random(seed)
    chosen: list[str] = []
    for k in range(STRATA):
        stratum = [i for i in ids[round(k * size):round((k + 1) * size)] if i not in leave_out]
        chosen += rng.sample(stratum, per_stratum)
    rng.shuffle(chosen)
    return chosen


def draw() -> list[tuple[str, str]]:
    """(row id, split) for the sample, in labelling order: the first draw's 150 "dev" and 170
    "held-out-1", then the second and third draws' 160 each, "held-out-2" and "held-out-3"
    (see the module's docstring)."""
    first = _stratified(SEED, PER_STRATUM, set())
    second = _stratified(SECOND_SEED, SECOND_PER_STRATUM, set(first))
    third = _stratified(THIRD_SEED, SECOND_PER_STRATUM, {*first, *second})
    return ([(i, "dev" if n < DEV else "held-out-1") for n, i in enumerate(first)]
            + [(i, "held-out-2") for i in second] + [(i, "held-out-3") for i in third])


def show(split: str, start: int, count: int) -> None:
    texts = replies()
    drawn = [i for i, s in draw() if s == split][start:start + count]
    for n, row in enumerate(drawn, start):
        text = " ".join(texts[row].split())
        if len(text) > LONG:
            text = f"{text[:650]} [… {len(text) - 900} characters …] {text[-250:]}"
        print(f"## {split} {n} · 留言编号 {row} · {len(texts[row])} characters\n{text}\n")


def check() -> None:
    texts = replies()
    expected = draw()
    with LABELS.open(encoding="utf-8", newline="") as f:
        got = list(csv.DictReader(f))
    expected = expected[: len(got)]
    assert [r["留言编号"] for r in got] == [i for i, _ in expected], "rows differ from the draw"
    for row, (_, split) in zip(got, expected, strict=True):
        assert row["split"] == split, row
        assert row["boilerplate"] in {"0", "1"} and row["deflection"] in {"0", "1"}, row
        reply = "".join(texts[row["留言编号"]].split())
        note = "".join(row["note"].split())
        copied = [note[k:k + 8] for k in range(len(note) - 7) if note[k:k + 8] in reply]
        assert not copied, f"{row['留言编号']}: the note copies the reply: {copied[0]}"
    print(f"{len(got)} rows: " + ", ".join(
        f"{s} {sum(r['split'] == s for r in got)}" for s in SPLITS))


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["draw"]:
            for row, split in draw():
                print(row, split)
        case ["show", split, start, count]:
            show(split, int(start), int(count))
        case ["check"]:
            check()
        case _:
            sys.exit(__doc__)
