"""The classifier in the intake path, and retraining it from the city's own cases.

The newest model in ``DATA_DIR/models`` is used; a process notices a newer version within
``newest_model.CHECK_SECONDS`` and loads it, so retraining (a separate command) never blocks intake.
Without any model, voices simply arrive uncategorised for the dispatcher, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from civicpulse.domain.errors import ValidationFailed
from civicpulse.storage.tables import Case, Category, Voice
from civicpulse.understanding.classifier import (
    CharNgramClassifier,
    TrainingOptions,
    save_model,
)

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


@dataclass(frozen=True)
class Suggestion:
    category: str
    confidence: float
    model_version: int


def suggest(ctx: Context, text: str) -> Suggestion | None:
    """The model's category for a text, with its calibrated confidence; None without a model."""
    model = ctx.models.current()
    if model is None or not text.strip():
        return None
    prediction = model.predict([text])[0]
    return Suggestion(prediction.category, float(prediction.confidence), model.info.version)


def train_from_cases(ctx: Context, min_examples: int = TrainingOptions.min_examples) -> Path:
    """Train a new model version from voices whose case has a category.

    Only the first voice of each case is used: it is what the resident said before anyone
    categorised it, which is what the model will see at intake.
    """
    with ctx.db.reader() as s:
        first_voice = select(Voice.case_id, Voice.text).order_by(Voice.case_id, Voice.id)
        texts: list[str] = []
        labels: list[str] = []
        seen: set[int] = set()
        codes = dict(s.execute(select(Category.id, Category.code)).all())
        categories: dict[int, int] = {
            case_id: category_id
            for case_id, category_id in s.execute(
                select(Case.id, Case.category_id).where(Case.category_id.is_not(None))
            )
            if category_id is not None
        }
        for case_id, text in s.execute(first_voice):
            if case_id in seen or case_id not in categories:
                continue
            seen.add(case_id)
            texts.append(text)
            labels.append(codes[categories[case_id]])
    if not texts:
        raise ValidationFailed("no categorised cases to learn from yet")
    model = CharNgramClassifier.train(texts, labels, TrainingOptions(min_examples=min_examples))
    model.info.source = "cases"
    path = save_model(model, directory=ctx.settings.data_dir / "models")
    ctx.models.forget()
    return path
