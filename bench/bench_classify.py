"""Accuracy, calibration and speed of the default classifier on real data in ../shared/data.

    .venv/bin/python bench/bench_classify.py                 # everything
    .venv/bin/python bench/bench_classify.py --task gov      # or boston, cfpb, speed, lang
    .venv/bin/python bench/bench_classify.py --task gov --no-chinese-words   # n-grams alone

gov     gov_message_board/labelled_messages.csv, 7 level-1 categories, stratified 5-fold CV:
        macro-F1 per fold, per-class precision/recall/F1 over all folds' predictions.
boston  boston311 requests: department and type from case_title alone, trained on
        July–October 2011 and tested on November; accuracy, and how accuracy and coverage
        change when voices under a confidence threshold go to the dispatcher instead.
cfpb    cfpb/complaints_train.json, 5 products, stratified 5-fold CV macro-F1.
speed   training time on the 49,914 Boston titles (type, the hardest label set), and
        classification throughput on one core, in batches and one voice at a time.
lang    understanding/language.py on texts whose language is known from their source
        (message board: zh; Boston, SF, FixMyStreet, CFPB, four Pol.is talks: en; vTaiwan: zh;
        Austria's climate talks: German, so "other"); agreement and µs per text.

Nothing here is copied into the product: the classifier learns from the rows it is given.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from civicpulse.understanding.classifier import CharNgramClassifier, TrainingOptions

OPTIONS = TrainingOptions()
"""What every task trains with; --linear-model, --max-chars and --no-chinese-words change it."""

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"real data not present: {path}")
    return path


def _one_core() -> None:
    """Measure on one core: BLAS threads would otherwise flatter the numbers."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def cross_validate(
    name: str, texts: Sequence[str], labels: Sequence[str], folds: int = 5
) -> dict[str, object]:
    from sklearn.metrics import classification_report, f1_score
    from sklearn.model_selection import StratifiedKFold

    predicted: list[str] = [""] * len(texts)
    fold_f1: list[float] = []
    train_s: list[float] = []
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(
        texts, labels
    ):
        model = CharNgramClassifier.train(
            [texts[i] for i in train_idx], [labels[i] for i in train_idx], OPTIONS
        )
        train_s.append(model.info.training_seconds)
        got = model.predict([texts[i] for i in test_idx])
        for i, p in zip(test_idx, got, strict=True):
            predicted[i] = p.category
        fold_f1.append(
            float(
                f1_score(
                    [labels[i] for i in test_idx], [p.category for p in got], average="macro"
                )
            )
        )
        print(f"  {name} fold {len(fold_f1)}: macro-F1 {fold_f1[-1]:.4f}", flush=True)
    report = classification_report(labels, predicted, digits=3, output_dict=True)
    print(f"\n{name}: macro-F1 {statistics.mean(fold_f1):.4f} ± {statistics.stdev(fold_f1):.4f}"
          f" (folds {', '.join(f'{f:.3f}' for f in fold_f1)}), "
          f"training {statistics.mean(train_s):.1f} s per fold")
    print("\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|")
    for label in sorted(set(labels)):
        r = report[label]  # type: ignore[index]
        print(f"| {label} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1-score']:.3f} "
              f"| {r['support']:.0f} |")
    return {"macro_f1": statistics.mean(fold_f1), "folds": fold_f1}


def task_gov() -> None:
    path = _need(DATA / "gov_message_board" / "labelled_messages.csv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [f"{r['留言主题']} {r['text']}".strip() for r in rows]
    labels = [r["一级标签"] for r in rows]
    print(f"gov_message_board: {len(rows):,} messages, {len(set(labels))} categories")
    cross_validate("gov", texts, labels)


def _boston_rows() -> list[dict[str, str]]:
    path = _need(DATA / "boston311" / "requests_2011_jul_nov.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["case_title"].strip()]


def _reliability(confidences: list[float], right: list[bool]) -> None:
    print("\n| confidence ≥ | coverage | accuracy of those |\n|---|---|---|")
    for threshold in (0.0, 0.5, 0.7, 0.8, 0.9, 0.95):
        kept = [ok for c, ok in zip(confidences, right, strict=True) if c >= threshold]
        if kept:
            print(f"| {threshold:.2f} | {len(kept) / len(right):.3f} "
                  f"| {sum(kept) / len(kept):.4f} |")
    bins: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in zip(confidences, right, strict=True):
        bins.setdefault(min(int(c * 10), 9), []).append((c, ok))
    ece = 0.0
    for b in bins.values():
        gap = statistics.mean(c for c, _ in b) - statistics.mean(ok for _, ok in b)
        ece += len(b) / len(right) * abs(gap)
    print(f"expected calibration error (10 bins): {ece:.4f}")


def task_boston() -> None:
    rows = _boston_rows()
    train = [r for r in rows if r["open_dt"][5:7] in ("07", "08", "09", "10")]
    test = [r for r in rows if r["open_dt"][5:7] == "11"]
    print(f"boston311: {len(train):,} train (Jul–Oct), {len(test):,} test (Nov)")
    for label in ("department", "type"):
        model = CharNgramClassifier.train(
            [r["case_title"] for r in train], [r[label] for r in train], OPTIONS
        )
        got = model.predict([r["case_title"] for r in test])
        right = [p.category == r[label] for p, r in zip(got, test, strict=True)]
        print(f"\n{label}: accuracy {sum(right) / len(right):.4f} on {len(test):,} "
              f"({len(model.classes)} classes, trained in {model.info.training_seconds:.1f} s, "
              f"{len(model.info.dropped_labels)} rare labels left out)")
        _reliability([p.confidence for p in got], right)


def task_cfpb() -> None:
    path = _need(DATA / "cfpb" / "complaints_train.json")
    items = json.loads(path.read_text(encoding="utf-8"))
    texts = [str(i["input"]) for i in items]
    labels = [str(i["output"]) for i in items]
    print(f"cfpb: {len(items)} narratives, {len(set(labels))} products")
    cross_validate("cfpb", texts, labels)


def task_speed() -> None:
    _one_core()
    rows = _boston_rows()
    titles = [r["case_title"] for r in rows]
    started = time.perf_counter()
    model = CharNgramClassifier.train(titles, [r["type"] for r in rows], OPTIONS)
    print(f"training on {len(titles):,} Boston titles (type, {len(model.classes)} classes): "
          f"{time.perf_counter() - started:.1f} s wall")

    path = _need(DATA / "gov_message_board" / "labelled_messages.csv")
    with path.open(encoding="utf-8") as f:
        gov = list(csv.DictReader(f))
    gov_texts = [r["text"] for r in gov]
    started = time.perf_counter()
    gov_model = CharNgramClassifier.train(gov_texts, [r["一级标签"] for r in gov], OPTIONS)
    print(f"training on {len(gov):,} message-board messages: "
          f"{time.perf_counter() - started:.1f} s wall")
    mean_chars = statistics.mean(len(t) for t in gov_texts)

    for name, m, texts in (
        ("Boston titles", model, titles[:20_000]),
        (f"message-board messages (mean {mean_chars:.0f} chars)", gov_model, gov_texts),
    ):
        started = time.perf_counter()
        for i in range(0, len(texts), 1000):
            m.predict(texts[i : i + 1000])
        elapsed = time.perf_counter() - started
        single: list[float] = []
        for text in texts[:500]:
            t0 = time.perf_counter()
            m.predict([text])
            single.append((time.perf_counter() - t0) * 1000)
        single.sort()
        p50, p95 = single[len(single) // 2], single[int(len(single) * 0.95)]
        print(f"{name}: {len(texts) / elapsed:,.0f} voices/s in batches of 1,000; one at a time "
              f"p50 {p50:.2f} ms, p95 {p95:.2f} ms")


def _polis_comments(name: str) -> list[str]:
    folder = _need(DATA / "polis" / "opendata")
    texts: list[str] = []
    for path in sorted(folder.glob(f"{name}/comments.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            texts += [r["comment-body"] for r in csv.DictReader(f) if r["comment-body"].strip()]
    return texts


def task_lang() -> None:
    from collections import Counter

    from civicpulse.understanding.language import detect_language

    with _need(DATA / "gov_message_board" / "labelled_messages.csv").open(encoding="utf-8") as f:
        gov = [r["text"] for r in csv.DictReader(f)]
    with _need(DATA / "sf311" / "encampments_transformed.csv").open(encoding="utf-8") as f:
        sf = [r["text"] for r in csv.DictReader(f) if r["text"].strip()]
    fms = json.loads(_need(DATA / "fixmystreet_cambridge" / "fixed.json").read_text("utf-8"))
    cfpb = json.loads(_need(DATA / "cfpb" / "complaints_train.json").read_text("utf-8"))
    english_talks = ("15-per-hour-seattle", "brexit-consensus", "canadian-electoral-reform",
                     "london.youth.policing")
    sources: list[tuple[str, str, list[str]]] = [
        ("message board", "zh", gov),
        ("Boston titles", "en", [r["case_title"] for r in _boston_rows()]),
        ("SF 311 descriptions", "en", sf),
        ("FixMyStreet titles", "en", [r["title"] for r in fms["reports"]]),
        ("CFPB narratives", "en", [str(i["input"]) for i in cfpb]),
        ("Pol.is, 4 English talks", "en", [t for n in english_talks for t in _polis_comments(n)]),
        ("Pol.is vTaiwan (Chinese)", "zh", _polis_comments("vtaiwan.uberx")),
        ("Pol.is Austria climate (German)", "other", _polis_comments("austria-climate*")),
    ]
    print("| source | texts | expected | zh | en | other | agreement | µs per text |")
    print("|---|---|---|---|---|---|---|---|")
    for name, expected, texts in sources:
        started = time.perf_counter()
        got = Counter(detect_language(t) for t in texts)
        each_us = (time.perf_counter() - started) / len(texts) * 1e6
        print(f"| {name} | {len(texts):,} | {expected} | {got['zh']:,} | {got['en']:,} "
              f"| {got['other']:,} | {got[expected] / len(texts):.4f} | {each_us:.1f} |")


TASKS = {
    "gov": task_gov,
    "boston": task_boston,
    "cfpb": task_cfpb,
    "speed": task_speed,
    "lang": task_lang,
}


def main() -> None:
    global OPTIONS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    parser.add_argument("--linear-model", choices=["nb-svm", "svm"], default=OPTIONS.linear_model)
    parser.add_argument("--max-chars", type=int, default=None)
    parser.add_argument(
        "--chinese-words",
        action=argparse.BooleanOptionalAction,
        default=OPTIONS.chinese_words,
        help="jieba words of Chinese texts beside the character n-grams (default: on)",
    )
    args = parser.parse_args()
    OPTIONS = replace(
        OPTIONS,
        linear_model=args.linear_model,
        max_chars=args.max_chars,
        chinese_words=args.chinese_words,
    )
    print(f"options: {OPTIONS}")
    for name, task in TASKS.items():
        if args.task in (name, "all"):
            print(f"\n=== {name} ===", flush=True)
            task()


if __name__ == "__main__":
    main()
