"""Category classifier: character n-gram and Chinese word TF-IDF, calibrated NB-weighted
linear SVMs.

Character n-grams (1–3, counted with numpy in :mod:`.char_ngrams`) need no tokenizer, so the
same model reads Chinese (where words are not separated by spaces) and English, trains in
seconds on a laptop-class CPU and needs no model download. Beside them, texts that contain
Chinese are segmented into words by jieba (:mod:`.chinese_words`); English words are already
marked by the spaces the n-grams see. Everything it knows comes from the labelled rows it is
given: there are no keyword lists or thresholds in this file. A heavier model (sentence
embeddings, say) can replace it by implementing :class:`TextClassifier`.

Confidence is calibrated on cross-validated decision scores (isotonic regression, or Platt's
sigmoid on small training sets), so a threshold such as "below 0.6 goes to the dispatcher"
means roughly what it says; the category itself is the linear model's choice.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from civicpulse.domain.errors import ValidationFailed

MODEL_KIND = "char-ngram-tfidf-linear-svc"
FORMAT_VERSION = 3
"""Bumped when the pickled layout changes; a file this version cannot read is refused, not
misread. Version 2: features from :mod:`civicpulse.understanding.char_ngrams` (hashed n-grams
computed with numpy) instead of scikit-learn's TfidfVectorizer; version 1 files must be
retrained. Version 3: character n-grams and Chinese words side by side
(:class:`~civicpulse.understanding.char_ngrams.FeatureBlocks`)."""
READABLE_FORMATS = (2, 3)
"""Format 2 files (character n-grams alone) still load and predict as they did when trained:
their pipeline is the same kind of object with one feature block instead of two."""


class OutdatedModel(ValidationFailed):
    """A model file written by an older version of CivicPulse: retrain to replace it."""

_MODEL_FILE = re.compile(r"^classifier-v(\d+)\.pkl$")


class Prediction(NamedTuple):
    category: str
    confidence: float


class TextClassifier(Protocol):
    """What intake and the CLI need from any classifier, light or heavy."""

    @property
    def classes(self) -> list[str]: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per text, in order."""
        ...


@dataclass(frozen=True)
class TrainingOptions:
    """How the default model is built; the defaults are what bench/bench_classify.py measured."""

    ngram_min: int = 1
    ngram_max: int = 3
    min_df: int = 2
    max_features: int | None = 400_000
    max_chars: int | None = None
    """Read only the first N characters of each text (None: all). Measured on the message
    board: 300 characters cost 0.25 points of macro-F1 and speed is met without it, so the
    default reads everything."""
    chinese_words: bool = True
    """Add jieba's words of texts that contain Chinese as a second block of TF-IDF features
    (:mod:`.chinese_words`). Measured on the message board, same 5 folds: macro-F1 0.902 →
    0.905, at about half the long-text throughput (bench/README.md); English texts are not
    segmented, and a model trained without Chinese is the n-gram model it was before."""
    c: float = 1.0
    linear_model: str = "nb-svm"
    """"nb-svm": SVMs on naive-Bayes-weighted n-grams (:mod:`.nb_svm`); "svm": a plain
    linear SVM. NB-SVM scored higher on the message board and as well elsewhere (bench)."""
    calibration_folds: int = 3
    calibration: str = "auto"
    """"sigmoid", "isotonic", or "auto": isotonic from ``isotonic_from`` rows on (it fits any
    monotone shape but overfits small samples, where Platt's two-parameter sigmoid is safer)."""
    isotonic_from: int = 1000
    min_examples: int = 3
    """Labels seen fewer times than this are left out (and listed in the metadata): they
    cannot be calibrated, and a dispatcher routes such rare cases better than a guess."""


@dataclass
class ModelInfo:
    """The JSON written beside each saved model: what it is, what it learnt from, when."""

    kind: str
    format_version: int
    version: int
    created_at: str
    training_rows: int
    classes: list[str]
    class_counts: dict[str, int]
    dropped_labels: dict[str, int]
    training_seconds: float
    options: dict[str, Any]
    sklearn_version: str
    sha256: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _normalise(text: str) -> str:
    """Collapse whitespace (message boards strip it, hotlines keep it) before n-grams."""
    return " ".join(text.split())


class CharNgramClassifier:
    """The default classifier; build it with :meth:`train`, keep it with :func:`save_model`."""

    def __init__(self, pipeline: Any, info: ModelInfo) -> None:
        self._pipeline = pipeline
        self.info = info

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        options: TrainingOptions | None = None,
    ) -> CharNgramClassifier:
        """Fit on labelled texts; refuses data it cannot learn a choice from."""
        import sklearn
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.pipeline import Pipeline
        from sklearn.svm import LinearSVC

        from civicpulse.understanding.char_ngrams import FeatureBlocks, HashedCharTfidf
        from civicpulse.understanding.chinese_words import ChineseWordTfidf

        opts = options or TrainingOptions()
        if len(texts) != len(labels):
            raise ValidationFailed("texts and labels differ in length")
        pairs = [
            (_normalise(t), lab.strip())
            for t, lab in zip(texts, labels, strict=True)
            if t and t.strip() and lab and lab.strip()
        ]
        counts = Counter(lab for _, lab in pairs)
        dropped = {lab: n for lab, n in counts.items() if n < opts.min_examples}
        kept = [(t, lab) for t, lab in pairs if lab not in dropped]
        kept_counts = Counter(lab for _, lab in kept)
        if len(kept_counts) < 2:
            raise ValidationFailed(
                f"training needs at least two categories with {opts.min_examples} or more "
                f"labelled texts each; found {len(kept_counts)}"
            )
        folds = max(2, min(opts.calibration_folds, min(kept_counts.values())))
        texts_in, labels_in, weights = _weighted_rows(kept, folds)
        min_df = opts.min_df if len(kept) >= 50 else 1
        chars = HashedCharTfidf(
            ngram_min=opts.ngram_min,
            ngram_max=opts.ngram_max,
            min_df=min_df,
            max_features=opts.max_features,
            max_chars=opts.max_chars,
        )
        vectorizer: Any = chars
        if opts.chinese_words:
            vectorizer = FeatureBlocks(
                [
                    ("chars", chars),
                    ("words", ChineseWordTfidf(min_df=min_df, max_chars=opts.max_chars)),
                ]
            )
        method = opts.calibration
        if method == "auto":
            method = "isotonic" if len(kept) >= opts.isotonic_from else "sigmoid"
        if opts.linear_model == "nb-svm":
            from civicpulse.understanding.nb_svm import NBLinearSVC

            linear: Any = NBLinearSVC(c=opts.c)
        elif opts.linear_model == "svm":
            linear = LinearSVC(C=opts.c, max_iter=2000)
        else:
            raise ValidationFailed(f"unknown linear model {opts.linear_model!r}")
        model = CalibratedClassifierCV(linear, method=method, cv=folds, ensemble=False)
        pipeline = Pipeline([("tfidf", vectorizer), ("model", model)])
        started = time.perf_counter()
        with warnings.catch_warnings():
            # heavily repeated texts with mixed labels stop liblinear short of its tolerance;
            # the fit is still the best it found and the benchmark measures the result
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipeline.fit(texts_in, labels_in, model__sample_weight=weights)
        if vectorizer is not chars and vectorizer.blocks[1][1].n_features == 0:
            # no Chinese in the training texts: the empty word block adds nothing but the
            # cost of looking for Chinese in every voice, so the model keeps the n-grams alone
            pipeline.steps[0] = ("tfidf", chars)
        elapsed = time.perf_counter() - started
        info = ModelInfo(
            kind=MODEL_KIND,
            format_version=FORMAT_VERSION,
            version=0,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            training_rows=len(kept),
            classes=[str(c) for c in pipeline.classes_],
            class_counts=dict(sorted(kept_counts.items())),
            dropped_labels=dict(sorted(dropped.items())),
            training_seconds=round(elapsed, 3),
            options={**asdict(opts), "calibration": method},
            sklearn_version=sklearn.__version__,
        )
        return cls(pipeline, info)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        features = self._pipeline.steps[0][1].transform([t or "" for t in texts])
        calibrated = self._pipeline[-1].calibrated_classifiers_[0]
        # The choice is the linear model's own; calibration only says how sure it is
        # (per-class sigmoids can reorder close calls and cost several points of accuracy).
        scores = calibrated.estimator.decision_function(features)
        best = scores.argmax(axis=1) if scores.ndim == 2 else (scores > 0).astype(int)
        proba = calibrated_proba(calibrated, scores)
        classes = self.info.classes
        return [
            Prediction(classes[int(i)], round(float(proba[row, i]), 4))
            for row, i in enumerate(best)
        ]


def calibrated_proba(calibrated: Any, scores: Any) -> Any:
    """scikit-learn's one-vs-rest calibrated probabilities, computed in one pass.

    Same arithmetic as ``_CalibratedClassifier.predict_proba``, without its per-class
    input checks, which cost ~0.15 ms per class and call: 19 ms for one voice with 122
    categories, most of the submission budget. Checked against scikit-learn in the tests.
    """
    import numpy as np
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    columns = scores.reshape(-1, 1) if scores.ndim == 1 else scores
    n_classes = len(calibrated.classes)
    proba = np.zeros((columns.shape[0], n_classes))
    for i, calibrator in enumerate(calibrated.calibrators):
        column = columns[:, i]
        target = i + 1 if n_classes == 2 else i
        if isinstance(calibrator, IsotonicRegression):
            proba[:, target] = np.interp(
                column, calibrator.X_thresholds_, calibrator.y_thresholds_
            )
        elif isinstance(calibrator, _SigmoidCalibration):
            proba[:, target] = 1.0 / (1.0 + np.exp(calibrator.a_ * column + calibrator.b_))
        else:  # a calibrator this code does not know: let scikit-learn do it
            proba[:, target] = calibrator.predict(column)
    if n_classes == 2:
        proba[:, 0] = 1.0 - proba[:, 1]
    else:
        total = proba.sum(axis=1, keepdims=True)
        uniform = np.full_like(proba, 1.0 / n_classes)
        proba = np.divide(proba, total, out=uniform, where=total != 0)
    return np.clip(proba, 0.0, 1.0)


def _weighted_rows(
    pairs: list[tuple[str, str]], folds: int
) -> tuple[list[str], list[str], list[float]]:
    """Identical (text, label) rows collapsed into weighted rows.

    Hotline records repeat themselves (Boston's 50,000 titles hold about 1,000 distinct
    ones); the linear solver then crawls through the copies. A pair seen n times becomes
    min(n, folds) rows sharing weight n, so every label can still be cross-validated for
    calibration even when all its rows carry the same text.
    """
    counts = Counter(pairs)
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    for (text, label), n in counts.items():
        copies = min(n, folds)
        for _ in range(copies):
            texts.append(text)
            labels.append(label)
            weights.append(n / copies)
    # mean weight 1, so that C means the same as on unrepeated data
    scale = len(weights) / sum(weights)
    return texts, labels, [w * scale for w in weights]


# ---- storage: versioned files, a JSON description beside each pickle -------------------


def next_version(directory: Path) -> int:
    latest = latest_model_path(directory)
    match = _MODEL_FILE.match(latest.name) if latest else None
    return int(match.group(1)) + 1 if match else 1


def latest_model_path(directory: Path) -> Path | None:
    """The newest ``classifier-vN.pkl`` in a models folder, or None."""
    found = [
        (int(m.group(1)), p)
        for p in directory.glob("classifier-v*.pkl")
        if (m := _MODEL_FILE.match(p.name))
    ]
    return max(found)[1] if found else None


def info_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def save_model(
    model: CharNgramClassifier, *, directory: Path | None = None, path: Path | None = None
) -> Path:
    """Write the model as a new version in ``directory`` (or to an exact ``path``).

    Versions are never overwritten, so a model in use is not replaced under a running
    process; the pickle's SHA-256 in the JSON lets loading notice a damaged or swapped file.
    """
    if (directory is None) == (path is None):
        raise ValueError("give exactly one of directory or path")
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        model.info.version = next_version(directory)
        path = directory / f"classifier-v{model.info.version}.pkl"
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.info.version == 0:
        model.info.version = 1
    data = pickle.dumps(
        {"format_version": FORMAT_VERSION, "pipeline": model._pipeline},
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    model.info.sha256 = hashlib.sha256(data).hexdigest()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    info_path(path).write_text(
        json.dumps(asdict(model.info), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return path


def load_model(path: Path) -> CharNgramClassifier:
    """Load a saved model after checking it against the JSON written beside it.

    Only load models this installation trained: a pickle can run code when loaded, which is
    why the checksum must match the description written at training time.
    """
    meta_file = info_path(path)
    if not path.is_file() or not meta_file.is_file():
        raise ValidationFailed(f"no model at {path} (it needs {meta_file.name} beside it)")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("kind") != MODEL_KIND:
        raise ValidationFailed(f"{path.name} is not a model this version of CivicPulse reads")
    if meta.get("format_version") not in READABLE_FORMATS:
        readable = " and ".join(str(v) for v in READABLE_FORMATS)
        raise OutdatedModel(
            f"{path.name} was written in model format {meta.get('format_version')}, this "
            f"version reads formats {readable}: retrain with `civicpulse model "
            "train-from-cases` (or `civicpulse model train`)"
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise ValidationFailed(f"{path.name} does not match the checksum in {meta_file.name}")
    stored = pickle.loads(data)  # integrity checked above; our own file
    info = ModelInfo(**{k: v for k, v in meta.items() if k in ModelInfo.__dataclass_fields__})
    return CharNgramClassifier(stored["pipeline"], info)
