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
"""

# ruff: noqa: E501  (source lists and patterns read better unwrapped)
from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import sys
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


def window(text: str, at: int, end: int, width: int = 40) -> tuple[int, int]:
    return max(0, at - width), min(len(text), end + width)


def main() -> None:
    rng = random.Random(20261130)
    used = {(r["file"], r["key"]) for r in map(json.loads, bench.REAL_SPANS.read_text("utf-8").splitlines())}
    rows: list[dict] = []
    taken: set[tuple[str, str]] = set(used)

    def add(source: tuple[str, str, str], key: str, text: str, lo: int, hi: int, stratum: str) -> None:
        taken.add((source[0], key))
        win = text[lo:hi]
        rows.append({"file": source[0], "key_column": source[1], "key": key, "column": source[2],
                     "start": lo, "end": hi, "sha1": hashlib.sha1(win.encode()).hexdigest()[:12],
                     "stratum": stratum, "_text": win})

    seen: set[str] = set()

    def draw(sources: list[tuple[str, str, str]], stratum: str, find, quota: int) -> None:  # type: ignore[no-untyped-def]
        pool = [(src, k, t) for src in sources for k, t in bench.load_column(DATA, *src).items() if t]
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
            lo, hi = window(text, at, end)
            if text[lo:hi] in seen:  # signatures and boilerplate repeat word for word
                continue
            seen.add(text[lo:hi])
            add(src, key, text, lo, hi, stratum)
            got += 1

    from civicpulse.understanding.redaction.chinese import ChineseTagger
    tagger = ChineseTagger.shared()

    def lac_people(text: str) -> list[tuple[int, int]]:
        return [(s, e) for s, e, t in tagger.tag(text[:600]) if t == "PER"]

    draw(ZH_SOURCES, "zh_tagger", lac_people, QUOTA["zh_tagger"])
    for stratum, pattern in ZH_TRIGGERS.items():
        draw(ZH_SOURCES, stratum, lambda t, p=pattern: [m.span() for m in p.finditer(t)],
             QUOTA[stratum])
    for stratum, pattern in EN_TRIGGERS.items():
        for source, quota in zip(EN_SOURCES, EN_QUOTA[stratum], strict=True):
            draw([source], stratum, lambda t, p=pattern: [m.span() for m in p.finditer(t)], quota)
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
