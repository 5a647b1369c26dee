"""The default classifier: learns from whatever rows it is given, in Chinese and English,
keeps versioned files, refuses a tampered file, and the CLI predicts one line per row."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.domain.errors import ValidationFailed
from civicpulse.understanding.classifier import (
    CharNgramClassifier,
    TextClassifier,
    TrainingOptions,
    calibrated_proba,
    latest_model_path,
    load_model,
    save_model,
)
from tests.conftest import shared_data

# Small invented examples (written for this test) in both languages.
PHRASES = {
    "streetlight": [
        "路灯不亮", "小区门口路灯坏了", "街灯晚上不亮", "路灯一直闪", "street light out",
        "streetlight flickering at night", "lamp post dark on Elm St", "路灯损坏需要维修",
    ],
    "garbage": [
        "垃圾没人清运", "垃圾桶满了没人收", "楼下垃圾堆积发臭", "垃圾站臭味很大",
        "trash not picked up", "missed garbage collection", "overflowing trash can",
        "bulk item pickup missed",
    ],
    "noise": [
        "工地晚上施工噪音", "楼上装修噪音太大", "广场舞音响太吵", "夜里施工扰民",
        "loud music at night", "construction noise early morning", "barking dog noise",
        "neighbours party noise",
    ],
}


def dataset(copies: int = 4, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for label, phrases in PHRASES.items():
        for phrase in phrases:
            for i in range(copies):
                texts.append(f"{phrase} {rng.choice(['请处理', 'please fix', '', '谢谢'])} {i}")
                labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def trained() -> CharNgramClassifier:
    texts, labels = dataset()
    return CharNgramClassifier.train(texts, labels)


def test_learns_both_languages(trained: CharNgramClassifier) -> None:
    classifier: TextClassifier = trained
    got = classifier.predict(["我家门口的路灯不亮了", "the trash was not picked up", "半夜噪音"])
    assert [p.category for p in got] == ["streetlight", "garbage", "noise"]
    assert all(0.0 < p.confidence <= 1.0 for p in got)
    assert classifier.classes == ["garbage", "noise", "streetlight"]


def test_confidence_is_a_probability_that_prefers_clear_texts(
    trained: CharNgramClassifier,
) -> None:
    clear, vague = trained.predict(["路灯不亮 street light out", "你好"])
    assert clear.confidence > vague.confidence
    assert trained.predict(["你好"]) == [vague]  # alone too, with no word it knows
    assert trained.predict([]) == []


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_fast_calibration_equals_scikit_learn(method: str) -> None:
    texts, labels = dataset()
    model = CharNgramClassifier.train(texts, labels, TrainingOptions(calibration=method))
    probe = ["路灯不亮", "trash", "噪音", "你好", "street light out please fix"]
    features = model._pipeline[:-1].transform(probe)
    calibrated = model._pipeline[-1].calibrated_classifiers_[0]
    ours = calibrated_proba(calibrated, calibrated.estimator.decision_function(features))
    assert ours == pytest.approx(model._pipeline[-1].predict_proba(features), abs=1e-9)


def test_rare_labels_are_left_out_and_listed() -> None:
    texts, labels = dataset()
    texts += ["只出现一次的东西", "又一个"]
    labels += ["rare", "rare"]
    model = CharNgramClassifier.train(texts, labels, TrainingOptions(min_examples=3))
    assert "rare" not in model.classes
    assert model.info.dropped_labels == {"rare": 2}


def test_refuses_what_it_cannot_learn_from() -> None:
    with pytest.raises(ValidationFailed):
        CharNgramClassifier.train(["a", "b", "c"], ["x", "x", "x"])
    with pytest.raises(ValidationFailed):
        CharNgramClassifier.train(["a"], ["x", "y"])


def test_versions_saved_side_by_side_and_checked(
    trained: CharNgramClassifier, tmp_path: Path
) -> None:
    first = save_model(trained, directory=tmp_path)
    second = save_model(trained, directory=tmp_path)
    assert (first.name, second.name) == ("classifier-v1.pkl", "classifier-v2.pkl")
    assert latest_model_path(tmp_path) == second
    meta = json.loads(second.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["version"] == 2 and meta["classes"] == trained.classes
    loaded = load_model(second)
    assert loaded.predict(["路灯不亮"]) == trained.predict(["路灯不亮"])
    second.write_bytes(second.read_bytes() + b"x")
    with pytest.raises(ValidationFailed, match="checksum"):
        load_model(second)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


CATALOGUE = """
departments:
  - {code: lighting, name_en: Street Lighting}
categories:
  - {code: streetlight, name_en: Street light out, department: lighting}
"""


def test_cli_train_and_predict_in_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CIVICPULSE_DATABASE_URL", raising=False)
    texts, labels = dataset()
    train_file = tmp_path / "train.csv"
    _write_csv(train_file, [{"内容": t, "类别": c} for t, c in zip(texts, labels, strict=True)])
    runner = CliRunner()
    result = runner.invoke(
        app, ["model", "train", str(train_file), "--map", "text=内容", "--map", "category=类别"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "models" / "classifier-v1.pkl").exists()

    # the catalogue knows "streetlight", so its department is given; the others get null
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    assert runner.invoke(app, ["categories", "import", str(catalogue)]).exit_code == 0

    rows = [
        {"id": "1", "msg": "路灯坏了不亮"},
        {"id": "2", "msg": ""},
        {"id": "3", "msg": "trash not picked up"},
    ]
    predict_file = tmp_path / "new.csv"
    _write_csv(predict_file, rows)
    result = runner.invoke(
        app, ["model", "predict", str(predict_file), "--map", "text=msg", "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["category"] == "streetlight" and lines[0]["department"] == "lighting"
    assert lines[1]["category"] is None and lines[1]["error"] == "empty text"
    assert lines[2]["category"] == "garbage" and lines[2]["department"] is None
    assert isinstance(lines[2]["confidence"], float)


def test_cli_reads_json_and_refuses_bad_mappings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CIVICPULSE_DATABASE_URL", raising=False)
    texts, labels = dataset()
    json_file = tmp_path / "train.json"
    json_file.write_text(
        json.dumps([{"input": t, "output": c} for t, c in zip(texts, labels, strict=True)]),
        encoding="utf-8",
    )
    out = tmp_path / "m" / "model.pkl"
    runner = CliRunner()
    args = ["model", "train", str(json_file), "--map", "text=input", "--map", "category=output"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and out.with_suffix(".json").exists()

    jsonl = tmp_path / "new.jsonl"
    jsonl.write_text('{"input": "垃圾没人收"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(
        app, ["model", "predict", str(jsonl), "--map", "text=input", "--model", str(out)]
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["category"] == "garbage" and first["department"] is None
    assert second["category"] is None and second["error"] == "not valid JSON"

    missing = runner.invoke(app, ["model", "train", str(json_file), "--map", "text=input"])
    assert missing.exit_code == 2 and "category" in missing.output
    wrong = runner.invoke(
        app, ["model", "train", str(json_file), "--map", "text=nope", "--map", "category=output"]
    )
    assert wrong.exit_code == 2 and "nope" in wrong.output


def test_message_board_sample_is_learnt() -> None:
    """A quick check on real data; the full 5-fold figures are in bench/bench_classify.py."""
    path = shared_data("gov_message_board", "labelled_messages.csv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(5)
    rng.shuffle(rows)
    train, test = rows[:800], rows[800:1000]
    model = CharNgramClassifier.train([r["text"] for r in train], [r["一级标签"] for r in train])
    predicted = model.predict([r["text"] for r in test])
    accuracy = sum(p.category == r["一级标签"] for p, r in zip(predicted, test, strict=True)) / 200
    assert accuracy > 0.7


def test_hashed_features_equal_scikit_learns_char_wb_on_unspaced_text() -> None:
    """Same n-grams, tf, idf and norms as TfidfVectorizer(analyzer="char_wb"); only the
    column order differs (hash order), so rows are compared as sorted values."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from civicpulse.understanding.char_ngrams import HashedCharTfidf

    texts = [t.replace(" ", "") for t, _ in zip(*dataset(copies=1), strict=True)]
    ours = HashedCharTfidf(1, 3, min_df=2).fit(texts)
    theirs = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2, dtype=np.float32
    ).fit(texts)
    assert ours.n_features == len(theirs.vocabulary_)
    a, b = ours.transform(texts), theirs.transform(texts)
    for i in range(len(texts)):
        assert np.sort(a[i].data) == pytest.approx(np.sort(b[i].data), abs=1e-6)
    unseen = ours.transform(["完全没见过的字眼", ""])
    assert unseen.shape == (2, ours.n_features) and unseen[1].nnz == 0


def test_max_chars_reads_only_the_start() -> None:
    from civicpulse.understanding.char_ngrams import HashedCharTfidf

    texts, _ = dataset(copies=1)
    vec = HashedCharTfidf(1, 3, min_df=1, max_chars=4).fit(texts)
    same = vec.transform(["路灯不亮 后面的字不算", "路灯不亮 完全不同的结尾"])
    assert (same[0] != same[1]).nnz == 0


def test_an_older_model_format_is_refused_with_a_way_out(
    trained: CharNgramClassifier, tmp_path: Path
) -> None:
    from civicpulse.infra.newest_model import ModelHolder
    from civicpulse.understanding.classifier import OutdatedModel

    path = save_model(trained, directory=tmp_path)
    meta_file = path.with_suffix(".json")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["format_version"] = 1
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(OutdatedModel, match="retrain"):
        load_model(path)
    # the server keeps taking voices, uncategorised, instead of failing on every request
    assert ModelHolder(tmp_path).current() is None


def test_a_damaged_newer_file_keeps_the_model_in_use(
    trained: CharNgramClassifier, tmp_path: Path
) -> None:
    from civicpulse.infra.newest_model import ModelHolder

    save_model(trained, directory=tmp_path)
    holder = ModelHolder(tmp_path)
    in_use = holder.current()
    assert in_use is not None
    newer = save_model(trained, directory=tmp_path)
    newer.write_bytes(b"not a model")
    holder.forget()
    assert holder.current() is in_use


def test_two_categories_work_and_match_scikit_learn() -> None:
    texts, labels = dataset()
    pairs = [(t, c) for t, c in zip(texts, labels, strict=True) if c != "noise"]
    model = CharNgramClassifier.train([t for t, _ in pairs], [c for _, c in pairs])
    probe = ["路灯不亮", "trash not picked up", "你好"]
    got = model.predict(probe)
    assert [p.category for p in got[:2]] == ["streetlight", "garbage"]
    features = model._pipeline.steps[0][1].transform(probe)
    # the category is the SVM's choice and the confidence is scikit-learn's calibrated
    # probability of that category (for "你好", which shares next to nothing with the
    # training texts, the two can disagree)
    proba = model._pipeline[-1].predict_proba(features)
    expected = [proba[i, model.classes.index(p.category)] for i, p in enumerate(got)]
    assert [p.confidence for p in got] == pytest.approx(expected, abs=1e-4)


def test_a_format_2_model_of_character_ngrams_alone_still_loads(tmp_path: Path) -> None:
    """Models trained before the word features keep working after an upgrade."""
    texts, labels = dataset()
    old = CharNgramClassifier.train(texts, labels, TrainingOptions(chinese_words=False))
    path = save_model(old, directory=tmp_path)
    meta_file = path.with_suffix(".json")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["format_version"] = 2
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    loaded = load_model(path)
    probe = ["我家门口的路灯不亮了", "the trash was not picked up"]
    assert loaded.predict(probe) == old.predict(probe)


def test_chinese_words_are_jieba_words_and_english_is_not_segmented() -> None:
    from civicpulse.understanding.chinese_words import ChineseWordTfidf, words

    assert "门口" in words("我家门口的路灯不亮了")
    assert words("street light out") == []
    assert " " not in words("路灯  不亮 light")
    vec = ChineseWordTfidf(min_df=1).fit(["门口路灯不亮", "垃圾没人收", "trash"])
    rows = vec.transform(["门口路灯不亮", "trash not picked up", "门口 门口"])
    assert rows.shape == (3, vec.n_features)
    assert rows[1].nnz == 0  # no Chinese, no word columns
    assert (rows[0].multiply(rows[0])).sum() == pytest.approx(1.0, abs=1e-6)
    # the same word gives the same column wherever it occurs, whatever else is in the batch
    alone = vec.transform(["门口 门口"])
    assert (alone != rows[2]).nnz == 0
    # only words never seen: an empty row, not an error
    assert vec.transform(["你好"]).nnz == 0


def test_word_and_character_blocks_are_joined_as_scipy_would() -> None:
    import numpy as np
    from scipy.sparse import hstack
    from scipy.sparse import random as sparse_random

    from civicpulse.understanding.char_ngrams import join_columns

    a = sparse_random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=1)
    empty = sparse_random(40, 0, density=0.2, format="csr", dtype=np.float32)
    b = sparse_random(40, 7, density=0.3, format="csr", dtype=np.float32, random_state=2)
    joined = join_columns([a, empty, b])
    assert joined.shape == (40, 37)
    assert (joined != hstack([a, empty, b]).tocsr()).nnz == 0


def test_word_features_leave_english_models_as_they_were() -> None:
    """English texts are never segmented: with no Chinese to learn from, the model is the
    character n-gram model it was before, and predicts the same."""
    from civicpulse.understanding.char_ngrams import HashedCharTfidf

    texts, labels = dataset()
    english = [(t, c) for t, c in zip(texts, labels, strict=True) if t.isascii()]
    x, y = [t for t, _ in english], [c for _, c in english]
    with_words = CharNgramClassifier.train(x, y)
    without = CharNgramClassifier.train(x, y, TrainingOptions(chinese_words=False))
    probe = ["street light out", "trash not picked up", "loud music"]
    # same categories; confidences to the third decimal (BLAS may sum in another order)
    got, want = with_words.predict(probe), without.predict(probe)
    assert [p.category for p in got] == [p.category for p in want]
    assert all(abs(a.confidence - b.confidence) < 1e-3 for a, b in zip(got, want, strict=True))
    assert type(with_words._pipeline.steps[0][1]) is HashedCharTfidf
    assert with_words._pipeline.steps[0][1].n_features == without._pipeline.steps[0][1].n_features


def test_training_is_deterministic() -> None:
    texts, labels = dataset()
    first = CharNgramClassifier.train(texts, labels)
    second = CharNgramClassifier.train(texts, labels)
    assert first._pipeline.steps[0][1].blocks[1][1].n_features > 0  # Chinese words learnt
    probe = ["我家门口的路灯不亮了", "垃圾", "噪音 noise", "你好"]
    assert first.predict(probe) == second.predict(probe)


def test_word_keys_are_the_polynomial_hash_computed_one_word_at_a_time() -> None:
    """The vectorised hashing equals the plain definition, word by word."""
    from civicpulse.understanding import chinese_words as cw

    texts = ["小区门口路灯不亮 light  out", "", "street light", "垃圾 垃圾站臭味很大", "门口"]
    rows, keys = cw._word_hashes(texts, None)
    expected_rows: list[int] = []
    expected_keys: list[int] = []
    for i, text in enumerate(texts):
        for word in cw.words(text):
            h = sum((ord(ch) + 1) * pow(cw._PRIME, j, 2**64) for j, ch in enumerate(word))
            expected_rows.append(i)
            expected_keys.append((h + len(word) + int(cw._WORD_KEY)) * int(cw._MIX) % 2**64)
    assert rows.tolist() == expected_rows
    assert [int(k) for k in keys] == expected_keys
