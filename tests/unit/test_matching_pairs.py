"""Same-problem matching against our labelled pairs (texts read from ../shared/data)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from civicpulse.understanding.matching import MatchParams
from tests.conftest import shared_data

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "data" / "same_problem_pairs.csv"


def test_the_annotation_holds_ids_labels_and_reasons_only() -> None:
    with PAIRS.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 200
    assert set(rows[0]) == {"source", "a", "b", "same", "reason"}
    assert {r["same"] for r in rows} == {"0", "1"}
    assert all(len(r["reason"]) < 120 for r in rows)  # a short reason, never the data's text


@pytest.mark.slow
def test_labelled_pairs_reach_f1_085() -> None:
    shared_data("sf311", "encampments_raw_api.json")
    data = shared_data("gov_message_board", "messages_with_likes.csv").parents[1]
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_matching import evaluate, load_pairs
    finally:
        sys.path.pop(0)
    result = evaluate(load_pairs(data), MatchParams())
    assert result["pairs"] >= 200
    assert result["f1"] >= 0.85, result
