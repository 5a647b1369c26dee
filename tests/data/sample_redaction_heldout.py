"""Draws the held-out windows of tests/data/redaction_heldout_spans.jsonl (pointers, no text).

    .venv/bin/python tests/data/sample_redaction_heldout.py > /tmp/heldout_windows.jsonl

Rows already in redaction_real_spans.jsonl (the rules' development set) are never drawn.
Each window is ±40 characters around a trigger, chosen per stratum so that names and
addresses are frequent enough to measure, and a random stratum shows what plain text holds:

zh_tagger   a person word of the Chinese tagger (LAC PER) -- favours what the tagger finds
zh_address  a number followed by 栋/单元/号/室/组/楼
zh_person   a broad person word (先生, 女士, 师傅, 老师, 书记, 主任, 姓, 叫)
zh_random   any window
en_number   a number followed by a capitalised word (Boston, SF, FixMyStreet)
en_names    two capitalised words inside a sentence, or Mr/Ms/Mrs + a capitalised word
en_random   any window

The output rows carry the window's text under "_text" for the labeller only. We read each
window and wrote its spans; the file in the repository holds the rows without "_text" and
with "spans" ([start, end, kind], offsets in the full text), as bench/README.md describes.

The later samples (sample_redaction_fresh.py, sample_redaction_later.py) draw with the
:class:`Draw` below, so that every set is drawn by the same rules; each seed must keep giving
the windows its file in the repository holds.
"""

# ruff: noqa: E501  (source lists and patterns read better unwrapped)
from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data"
_spec = importlib.util.spec_from_file_location("bench_redaction", ROOT / "bench" / "bench_redaction.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

ZH_SOURCES = [
    ("gov_message_board/labelled_messages.csv", "row_index", "text"),
    ("gov_message_board/messages_with_likes.csv", "留言编号", "留言详情"),
    ("gov_message_board/messages_with_replies.csv", "留言编号", "留言详情"),
    ("gov_message_board/messages_with_replies.csv", "留言编号", "答复意见"),
    ("gov_message_board/unlabelled_messages.csv", "留言编号", "留言详情"),
]
EN_SOURCES = [
    ("boston311/requests_2011_jul_nov.csv.gz", "case_enquiry_id", "closure_reason"),
    ("sf311/encampments_transformed.csv", "request_id", "text"),
    ("sf311/encampments_transformed.csv", "request_id", "resolution_notes"),
    ("fixmystreet_cambridge/fixed.json", "id", "title"),
]
ZH_TRIGGERS = {
    "zh_address": re.compile(r"[0-9０-９]+[\-－]?(?:栋|单元|号|室|组|楼)"),
    "zh_person": re.compile(r"先生|女士|师傅|老师|书记|主任|姓|叫"),
    "zh_random": re.compile(r"[\u4e00-\u9fff]"),
}
EN_TRIGGERS = {
    "en_number": re.compile(r"\b\d{1,5}\s+[A-Z][a-z]+"),
    "en_names": re.compile(
        r"\b(?:Mr|Ms|Mrs|Dr|Officer)\.? [A-Z][a-z]+"
        r"|(?<=[a-z,] )(?!(?:Case|Closed|Resolved|Boston|Public|Works|Department|Street|Division"
        r"|Noted|Scheduled|Invalid|Internal|Duplicate|Existing|Items|The|City)\b)"
        r"[A-Z][a-z]+ [A-Z][a-z]+"
    ),
    "en_random": re.compile(r"[A-Za-z]{3,}"),
}
QUOTA = {"zh_tagger": 60, "zh_address": 40, "zh_person": 35, "zh_random": 40}
# English quotas per source: Boston's 50,000 closure notes would otherwise fill every stratum
# with the same few signatures.
EN_QUOTA = {
    "en_number": (20, 25, 0, 15),
    "en_names": (20, 15, 5, 5),
    "en_random": (10, 20, 5, 10),
}


Source = tuple[str, str, str]  # file, key column, text column
Finder = Callable[[str], list[tuple[int, int]]]  # the trigger spans in a text


def window(text: str, at: int, end: int, width: int = 40) -> tuple[int, int]:
    return max(0, at - width), min(len(text), end + width)


def drawn_before(paths: Iterable[Path]) -> set[tuple[str, str]]:
    """The rows (file, key) of earlier sets: a row is in one set at most."""
    taken: set[tuple[str, str]] = set()
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            taken.add((row["file"], row["key"]))
    return taken


def matches(pattern: re.Pattern[str]) -> Finder:
    return lambda text: [m.span() for m in pattern.finditer(text)]


def tagger_people() -> Finder:
    """The person words the Chinese tagger (LAC PER) finds in a text's first 600 characters."""
    from civicpulse.understanding.redaction.chinese import ChineseTagger
    tagger = ChineseTagger.shared()

    def lac_people(text: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, t in tagger.tag(text[:600]) if t == "PER"]

    return lac_people


class Draw:
    """One sample: its seeded generator, the rows it may not take, and the windows it drew.

    A row gives one window at most, and a window whose text was drawn already is passed over
    (signatures and boilerplate repeat word for word)."""

    def __init__(self, seed: int, taken: set[tuple[str, str]]) -> None:
        self.rng = random.Random(seed)
        self.taken = taken
        self.seen: set[str] = set()
        self.rows: list[dict] = []

    def pool(self, sources: Sequence[Source]) -> list[tuple[Source, str, str]]:
        """Every non-empty text of the sources, shuffled by the sample's generator."""
        pool = [(src, k, t) for src in sources for k, t in bench.load_column(DATA, *src).items() if t]
        self.rng.shuffle(pool)
        return pool

    def take(self, pool: Iterable[tuple[Source, str, str]], stratum: str, find: Finder, quota: int) -> None:
        """Up to ``quota`` windows around a random trigger each, in the pool's order."""
        got = 0
        for src, key, text in pool:
            if got >= quota:
                break
            if (src[0], key) in self.taken:
                continue
            hits = find(text)
            if not hits:
                continue
            at, end = self.rng.choice(hits)
            lo, hi = window(text, at, end)
            win = text[lo:hi]
            if win in self.seen:
                continue
            self.seen.add(win)
            self.taken.add((src[0], key))
            self.rows.append({"file": src[0], "key_column": src[1], "key": key, "column": src[2],
                              "start": lo, "end": hi, "sha1": hashlib.sha1(win.encode()).hexdigest()[:12],
                              "stratum": stratum, "_text": win})
            got += 1

    def draw(self, sources: Sequence[Source], stratum: str, find: Finder, quota: int) -> None:
        """``take`` from the sources' rows shuffled afresh."""
        self.take(self.pool(sources), stratum, find, quota)

    def write(self) -> None:
        for row in self.rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def draw_strata(draw: Draw, zh_quota: Mapping[str, int], en_quota: Mapping[str, Sequence[int]]) -> None:
    """Every stratum, in the order the sets were drawn in: the tagger's, the Chinese
    triggers', then the English triggers' source by source (``en_quota`` per source)."""
    draw.draw(ZH_SOURCES, "zh_tagger", tagger_people(), zh_quota["zh_tagger"])
    for stratum, pattern in ZH_TRIGGERS.items():
        draw.draw(ZH_SOURCES, stratum, matches(pattern), zh_quota[stratum])
    for stratum, pattern in EN_TRIGGERS.items():
        for source, quota in zip(EN_SOURCES, en_quota[stratum], strict=True):
            draw.draw([source], stratum, matches(pattern), quota)


def main() -> None:
    draw = Draw(20261130, drawn_before([bench.REAL_SPANS]))
    draw_strata(draw, QUOTA, EN_QUOTA)
    draw.write()


if __name__ == "__main__":
    main()
