"""Reply assessment on real message–reply pairs: relevance against plain character overlap,
the flags against replies labelled by hand, and the speed of ``audit replies``.

    .venv/bin/python bench/bench_reply_relevance.py --seeds 0 1 2     # AUC, then speed
    .venv/bin/python bench/bench_reply_relevance.py --fit             # refit the weights (half 1)
    .venv/bin/python bench/bench_reply_relevance.py selffit           # fitting per file, tried
    .venv/bin/python bench/bench_reply_relevance.py labels            # boilerplate, deflection
    .venv/bin/python bench/bench_reply_relevance.py labels --split dev --errors
    .venv/bin/python bench/bench_reply_relevance.py speed --repeat 5  # audit replies, one core

Data: ../shared/data/gov_message_board/messages_with_replies.csv (1,983 messages, each with
the government's reply). Each message is paired with its real reply (positive) and with the
reply to another message of the same category (negative). The file has no category column,
so the category is the project's own classifier's (``CharNgramClassifier``, trained here on
labelled_messages.csv, whose messages are not in this file; 7 level-1 categories); the other
message is drawn at random within the category with a fixed seed.

Split: messages ordered by 留言编号; the first half was used to fit the relevance weights
(``--fit``) and to look at errors, the second half was not. The reference corpus (word
rarity, template phrases, the spread of the ``stands_out`` evidence) is built from the
replies the run is allowed to see: all of them for "all", the first half's for "second half";
and for "second half as audited", from the replies of the second half's own pairs, as
``audit replies`` learns it from the file it reads (no labels are used).

Baselines: plain character overlap, as the Jaccard index of the two texts' character sets and
as the cosine of their character-bigram counts (the stronger of the two).

Labels: tests/data/reply_labels.csv, replies labelled by hand for boilerplate and deflection
(how, in bench/README.md and tests/data/sample_reply_labels.py); the tool runs as ``audit
replies`` does, with the reference learnt from the whole file. ``--errors`` prints the
disagreements with the replies' text: only for the splits used to develop the rules.

Speed: ``civicpulse audit replies`` over the whole file (message, title and reply mapped), as
a child process pinned to one core (``taskset -c 1``, ``OMP_NUM_THREADS=1``), CPU time;
start-up measured on a file of one row and taken off for the second figure.

Nothing here is copied into the product: the weights are printed by ``--fit`` and written into
``understanding/replies/relevance.py`` by hand, rounded.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from civicpulse.understanding.replies import ANSWERS_AT, ReplyReference
from civicpulse.understanding.replies.relevance import (
    EVIDENCE_NAMES,
    relevance,
    score,
    weigh,
    weights_for,
)
from civicpulse.understanding.replies.views import read_message, read_reply

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gov_message_board"
BIN = Path(sys.executable).parent / "civicpulse"


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"real data not present: {path}")
    return path


def load_rows() -> list[dict[str, str]]:
    with _need(DATA / "messages_with_replies.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted(rows, key=lambda r: int(r["留言编号"]))


def categories(rows: list[dict[str, str]]) -> list[str]:
    """Each message's level-1 category by the project's classifier, trained on the labelled
    messages (none of which is in the replies file)."""
    from civicpulse.understanding.classifier import CharNgramClassifier

    with _need(DATA / "labelled_messages.csv").open(encoding="utf-8", newline="") as f:
        labelled = list(csv.DictReader(f))
    assert not {r["留言编号"] for r in labelled} & {r["留言编号"] for r in rows}
    model = CharNgramClassifier.train(
        [f"{r['留言主题']} {r['text']}".strip() for r in labelled],
        [r["一级标签"] for r in labelled],
    )
    return [p.category for p in model.predict([f"{r['留言主题']} {r['留言详情']}" for r in rows])]


def pairs_for(cats: list[str], seed: int) -> list[tuple[int, int, int]]:
    """(message, reply, 1 if the reply is the message's own) for every message, twice."""
    rng = random.Random(seed)
    members: dict[str, list[int]] = {}
    for i, c in enumerate(cats):
        members.setdefault(c, []).append(i)
    out = []
    for i, c in enumerate(cats):
        j = rng.choice([k for k in members[c] if k != i])
        out += [(i, i, 1), (i, j, 0)]
    return out


def auc(labels: list[int], scores: list[float]) -> float:
    """ROC AUC by ranks (ties count half)."""
    order = sorted(range(len(scores)), key=lambda k: scores[k])
    ranks = [0.0] * len(scores)
    k = 0
    while k < len(order):
        m = k
        while m + 1 < len(order) and scores[order[m + 1]] == scores[order[k]]:
            m += 1
        for n in range(k, m + 1):
            ranks[order[n]] = (k + m) / 2 + 1
        k = m + 1
    pos = sum(labels)
    neg = len(labels) - pos
    return (sum(r for r, y in zip(ranks, labels, strict=True) if y) - pos * (pos + 1) / 2) / (
        pos * neg)


def char_jaccard(a: str, b: str) -> float:
    x, y = set("".join(a.split())), set("".join(b.split()))
    return len(x & y) / len(x | y) if x | y else 0.0


def bigram_cosine(a: str, b: str) -> float:
    x = Counter(a[k : k + 2] for k in range(len(a) - 1))
    y = Counter(b[k : k + 2] for k in range(len(b) - 1))
    dot = sum(v * y[t] for t, v in x.items() if t in y)
    norm = math.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))
    return dot / norm if norm else 0.0


def said_at(row: dict[str, str]) -> datetime | None:
    try:
        return datetime.fromisoformat(row["留言时间"].strip())
    except ValueError:
        return None


def evidence_rows(rows, pairs, reference, author: bool, title: bool):  # type: ignore[no-untyped-def]
    messages = [read_message(r["留言详情"], title=r["留言主题"] if title else None,
                             author=r["留言用户"] if author else None,
                             said_at=said_at(r) if author else None) for r in rows]
    replies = [read_reply(r["答复意见"]) for r in rows]
    return [(weigh(messages[i], replies[j], reference), weights_for(messages[i], reference))
            for i, j, _ in pairs]


def relevances(rows, pairs, reference):  # type: ignore[no-untyped-def]
    """The full relevance (score, takes_up) of each pair, all columns known."""
    messages = [read_message(r["留言详情"], title=r["留言主题"], author=r["留言用户"],
                             said_at=said_at(r)) for r in rows]
    replies = [read_reply(r["答复意见"]) for r in rows]
    return [relevance(messages[i], replies[j], reference) for i, j, _ in pairs]


def evaluate(rows: list[dict[str, str]], cats: list[str], seed: int, args: argparse.Namespace
             ) -> None:
    pairs = pairs_for(cats, seed)
    half = len(rows) // 2
    first = [p for p in pairs if p[0] < half]
    second = [p for p in pairs if p[0] >= half]
    whole = ReplyReference.build(r["答复意见"] for r in rows)
    early = ReplyReference.build(r["答复意见"] for r in rows[:half])
    texts = [f"{r['留言主题']}\n{r['留言详情']}" for r in rows]
    print(f"\nseed {seed}: {len(pairs):,} pairs ({len(first):,} in the first half, "
          f"{len(second):,} in the second)")
    print("| pairs | reference | relevance | relevance, no author or date | relevance, no "
          "author, date or title | character Jaccard | bigram cosine |\n"
          "|---|---|---|---|---|---|---|")
    rates: list[tuple[str, float, float, float]] = []
    audited = ReplyReference.build(rows[j]["答复意见"] for _, j, _ in second)
    for name, chosen, reference in (("all", pairs, whole), ("first half", first, early),
                                    ("second half (held out)", second, early),
                                    ("second half as audited", second, audited)):
        labels = [y for _, _, y in chosen]
        found = []
        for author, title in ((True, True), (False, True), (False, False)):
            ev = evidence_rows(rows, chosen, reference, author, title)
            found.append(auc(labels, [score(e, w) for e, w in ev]))
        jac = auc(labels, [char_jaccard(texts[i], rows[j]["答复意见"]) for i, j, _ in chosen])
        cos = auc(labels, [bigram_cosine(texts[i], rows[j]["答复意见"]) for i, j, _ in chosen])
        ref = {id(whole): "all replies", id(early): "first half's replies",
               id(audited): "its own pairs' replies"}[id(reference)]
        flagged = [not a.takes_up or a.score < ANSWERS_AT
                   for a in relevances(rows, chosen, reference)]
        long_real = [f for f, (_, j, y) in zip(flagged, chosen, strict=True)
                     if y and len(rows[j]["答复意见"]) >= 150]
        rates.append((name, *(sum(f for f, y in zip(flagged, labels, strict=True) if y == k)
                              / labels.count(k) for k in (1, 0)),
                      sum(long_real) / len(long_real)))
        print(f"| {name} | {ref} | **{found[0]:.4f}** | {found[1]:.4f} | {found[2]:.4f} "
              f"| {jac:.4f} | {cos:.4f} |")
    print("\nflagged does_not_answer (relevance < 0.5 or nothing taken up; all columns):")
    for name, real, borrowed, long_real in rates:
        print(f"  {name}: {real:.1%} of real replies ({long_real:.1%} of those of 150 "
              f"characters or more), {borrowed:.1%} of borrowed ones")
    if args.fit:
        fit(rows, first, second, early)


def fit(rows, first, second, early) -> None:  # type: ignore[no-untyped-def]
    """Logistic regression on the first half's evidence, with the author and date known and
    without; printed, not written anywhere."""
    from sklearn.linear_model import LogisticRegression

    for known in (True, False):
        x = [e.vector() for e, _ in evidence_rows(rows, first, early, known, True)]
        model = LogisticRegression(C=1.0, max_iter=5000).fit(x, [y for _, _, y in first])
        print(f"\nfitted on the first half, author and date {'known' if known else 'unknown'}"
              f" (intercept {model.intercept_[0]:+.2f}, replaced by no_evidence):")
        print("    " + ", ".join(f"{name}={w:.2f}" for name, w in zip(
            EVIDENCE_NAMES, model.coef_[0], strict=True)))
        held = evidence_rows(rows, second, early, known, True)
        got = model.decision_function([e.vector() for e, _ in held])
        print(f"unrounded, on the second half: AUC {auc([y for *_, y in second], list(got)):.4f}")


def speed(repeat: int) -> None:
    """``audit replies`` over the whole file, ``repeat`` times, as a child process on one core.

    Times are CPU times of the child (user and system), which other work on a shared machine
    disturbs less than wall time, not at all: the ranges are printed. Start-up (Python, the
    CLI's imports, jieba's dictionary) is measured on a file of the file's first row."""
    import resource

    source = _need(DATA / "messages_with_replies.csv")
    mapping = {"message": "留言详情", "title": "留言主题", "reply": "答复意见"}
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, first = reader.fieldnames or [], next(reader)
        n = 1 + sum(1 for _ in reader)
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one_row.csv"
        with one.open("w", encoding="utf-8", newline="") as f:
            out = csv.DictWriter(f, fieldnames=header)
            out.writeheader()
            out.writerow(first)
        cpu: dict[Path, list[float]] = {one: [], source: []}
        for _ in range(repeat):
            for path in (one, source):
                command = [*pin, str(BIN), "audit", "replies", str(path), "--format", "jsonl",
                           *[a for f, c in mapping.items() for a in ("--map", f"{f}={c}")]]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                done = subprocess.run(command, capture_output=True, text=True, check=True,
                                      env=env)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[path].append(after.ru_utime - before.ru_utime
                                 + after.ru_stime - before.ru_stime)
                assert done.stdout.count("\n") == (n if path is source else 1)
    whole, start = cpu[source], cpu[one]
    net = [w - min(start) for w in whole]
    print(f"\naudit replies over {n:,} rows on one core, {repeat} runs "
          f"(load average {os.getloadavg()[0]:.1f}):")
    print(f"  CPU s: {', '.join(f'{w:.2f}' for w in whole)}; start-up alone: "
          f"{', '.join(f'{s:.2f}' for s in start)}")
    print(f"  pairs/s with start-up: {n / max(whole):,.0f}–{n / min(whole):,.0f}; "
          f"without it: {n / max(net):,.0f}–{n / min(net):,.0f}")


def labels(split: str, errors: bool) -> None:
    """Precision and recall of the flags ``boilerplate`` and ``deflection`` against the
    labels, per split, with the counts."""
    from civicpulse.understanding.replies import assess_views

    chosen = [r for r in _labels() if split in ("all", r["split"])]
    if errors and any(r["split"] == LAST_HELD_OUT for r in chosen):
        sys.exit(f"--errors shows the replies: not for {LAST_HELD_OUT}, the last held out")
    with _need(DATA / "messages_with_replies.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    replies = [read_reply(r["答复意见"]) for r in rows]
    reference = ReplyReference.build_from_views(replies)
    at = {r["留言编号"]: k for k, r in enumerate(rows)}
    said = {}
    for label in chosen:
        k = at[label["留言编号"]]
        said[label["留言编号"]] = assess_views(
            read_message(rows[k]["留言详情"], title=rows[k]["留言主题"]), replies[k], reference)
    print("| split | replies | flag | labelled | flagged | right | precision | recall |\n"
          "|---|---|---|---|---|---|---|---|")
    for name in (*SPLITS, "all") if split == "all" else (split,):
        these = [r for r in chosen if name in ("all", r["split"])]
        for flag in ("boilerplate", "deflection"):
            truth = [r[flag] == "1" for r in these]
            got = [flag in said[r["留言编号"]].flags for r in these]
            right = sum(t and g for t, g in zip(truth, got, strict=True))
            print(f"| {name} | {len(these)} | {flag} | {sum(truth)} | {sum(got)} | {right} | "
                  f"{right / sum(got) if sum(got) else float('nan'):.3f} | "
                  f"{right / sum(truth) if sum(truth) else float('nan'):.3f} |")
    if errors:
        for label in chosen:
            for flag in ("boilerplate", "deflection"):
                verdict = said[label["留言编号"]]
                if (label[flag] == "1") != (flag in verdict.flags):
                    text = " ".join(rows[at[label["留言编号"]]]["答复意见"].split())
                    print(f"\n{label['留言编号']} {flag}: labelled {label[flag]} "
                          f"({label['note']}), share {verdict.boilerplate:.2f}\n  {text[:300]}")


LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "reply_labels.csv"
SPLITS = ("dev", "held-out-1", "held-out-2", "held-out-3")
LAST_HELD_OUT = "held-out-3"


def _labels() -> list[dict[str, str]]:
    with LABELS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def selffit(rows: list[dict[str, str]], cats: list[str], seeds: list[int]) -> None:
    """Weights fitted on the audited file itself, without its labels, against the shipped
    ones: positives are the file's rows, negatives each row's message with the reply of a
    random other row. On the second half's pairs (half of whose replies are borrowed), and
    on the second half's real pairs alone (a city's clean history), scored on the second
    half's labelled pairs."""
    from sklearn.linear_model import LogisticRegression

    from civicpulse.understanding.replies.relevance import EVIDENCE_NAMES

    half = len(rows) // 2
    names = [n for n in EVIDENCE_NAMES if n not in ("author", "other_addressee", "date")]

    def vectors(chosen, reference):  # type: ignore[no-untyped-def]
        found = evidence_rows(rows, chosen, reference, False, True)
        return [[getattr(e, n) for n in names] for e, _ in found]

    print("\n| seed | file | shipped weights | fitted on the file itself |\n|---|---|---|---|")
    for seed in seeds:
        second = [p for p in pairs_for(cats, seed) if p[0] >= half]
        labels_ = [y for *_, y in second]
        rng = random.Random(100 + seed)
        for name, file_pairs in (("second half's pairs (half borrowed)", second),
                                 ("second half's real pairs", [(i, i, 1) for i in
                                                               range(half, len(rows))])):
            reference = ReplyReference.build(rows[j]["答复意见"] for _, j, _ in file_pairs)
            negatives = [(i, file_pairs[rng.choice([k for k in range(len(file_pairs))
                                                    if k != n])][1], 0)
                         for n, (i, _, _) in enumerate(file_pairs)]
            model = LogisticRegression(C=1.0, max_iter=5000).fit(
                vectors(file_pairs, reference) + vectors(negatives, reference),
                [1] * len(file_pairs) + [0] * len(negatives))
            scored = evidence_rows(rows, second, reference, False, True)
            shipped = auc(labels_, [score(e, w) for e, w in scored])
            fitted = auc(labels_, list(model.decision_function(vectors(second, reference))))
            print(f"| {seed} | {name} | {shipped:.4f} | {fitted:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="relevance",
                        choices=("relevance", "selffit", "labels", "speed"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--fit", action="store_true", help="print weights fitted on half 1")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="speed: runs of the command")
    parser.add_argument("--split", default="all", choices=("all", *SPLITS))
    parser.add_argument("--errors", action="store_true", help="labels: print disagreements")
    args = parser.parse_args()
    if args.mode == "labels":
        labels(args.split, args.errors)
        return
    if args.mode == "speed":
        speed(args.repeat)
        return
    rows = load_rows()
    started = time.perf_counter()
    cats = categories(rows)
    print(f"{len(rows):,} messages; categories by the classifier in "
          f"{time.perf_counter() - started:.0f} s: " + ", ".join(
              f"{c} {n}" for c, n in Counter(cats).most_common()))
    if args.mode == "selffit":
        selffit(rows, cats, args.seeds)
        return
    for seed in args.seeds:
        evaluate(rows, cats, seed, args)
    if not args.no_speed:
        speed(args.repeat)


if __name__ == "__main__":
    main()
