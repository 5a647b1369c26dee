"""Redaction on real message-board text: spans labelled by hand in
tests/data/redaction_real_spans.jsonl (positions only; the text is read from ../shared/data).

Skips when ../shared/data is absent, except on CI (CI=true), where a missing folder fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_SPANS = ROOT / "tests" / "data" / "redaction_real_spans.jsonl"
BENCH = ROOT / "bench" / "bench_redaction.py"
DATA = ROOT / ".." / "shared" / "data"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_redaction", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data() -> Path:
    if not (DATA / "gov_message_board").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data missing on CI: {DATA / 'gov_message_board'}")
        pytest.skip(f"real data not present: {DATA / 'gov_message_board'}")
    return DATA


def test_the_sample_is_large_and_holds_positions_not_text() -> None:
    rows = [json.loads(line) for line in REAL_SPANS.read_text(encoding="utf-8").splitlines()]
    spans = [s for r in rows for s in r["spans"]]
    assert sum(s[2] != "not_personal" for s in spans) >= 200
    assert sum(s[2] == "not_personal" for s in spans) >= 100
    assert all(
        set(r) == {"file", "key_column", "key", "column", "start", "end", "sha1", "spans"}
        for r in rows
    )


def test_real_spans_meet_the_target(data: Path) -> None:
    """Recall ≥ 0.95 at precision ≥ 0.9 for phones and plates; names, which the target is not
    met for (bench/README.md), are held to the level measured so that a regression fails."""
    result, counts = _bench().evaluate_real(REAL_SPANS, data)
    for kind in ("phone", "plate"):
        assert result[kind]["recall"] >= 0.95, (kind, result[kind])
        assert result[kind]["precision"] >= 0.9, (kind, result[kind])
    assert result["name"]["precision"] >= 0.9, result["name"]
    assert result["name"]["recall"] >= 0.65, result["name"]
    found_names = round(result["name"]["recall"] * result["name"]["spans"])
    cue_names = result["name"]["spans"] - counts["no_cue_names"]
    assert (found_names - counts["no_cue_found"]) / cue_names >= 0.8
    assert result["all"]["precision"] >= 0.9, result["all"]
    assert counts["hidden"] <= 0.02 * counts["labelled"]


def test_a_changed_source_is_noticed(data: Path, tmp_path: Path) -> None:
    row = json.loads(REAL_SPANS.read_text(encoding="utf-8").splitlines()[0])
    row["sha1"] = "0" * 12
    bad = tmp_path / "spans.jsonl"
    bad.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="changed"):
        _bench().evaluate_real(bad, data)


@pytest.mark.parametrize(
    "name", ["redaction_heldout_spans", "redaction_fresh_spans", "redaction_third_spans",
             "redaction_fourth_spans"],
)
def test_held_out_sets_still_point_at_their_texts(data: Path, name: str) -> None:
    """Each labelled window still reads the text it was labelled on (SHA-1 prefix), and every
    span lies inside its window: a moved or edited source would silently change the figures
    in bench/README.md."""
    path = ROOT / "tests" / "data" / f"{name}.jsonl"
    rows = list(_bench().real_texts(path, data))
    assert len(rows) >= 100
    for row, _text in rows:
        assert "_text" not in row
        for start, end, _kind, *_ in row["spans"]:
            assert row["start"] <= start < end <= row["end"], (row["key"], start, end)
