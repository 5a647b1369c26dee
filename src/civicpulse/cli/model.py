"""model train / model predict: build the category classifier from a file and try it on another.

Both work on plain files (CSV, CSV.GZ, XLSX, or JSON / JSON Lines of objects) with a column
mapping, so anyone can check the model on their own data before the city relies on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from civicpulse.channels.tabular import open_table
from civicpulse.cli.common import context, refusals_to_exit
from civicpulse.cli.importing import parse_mapping
from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.catalogue import departments_by_category
from civicpulse.services.classification import train_from_cases
from civicpulse.settings import Settings
from civicpulse.understanding.classifier import (
    CharNgramClassifier,
    TrainingOptions,
    latest_model_path,
    load_model,
    save_model,
)

model = typer.Typer(help="Train and try the category classifier.", no_args_is_help=True)

PREDICT_BATCH = 2_000
FILE_HELP = "CSV, CSV.GZ, XLSX, JSON array or JSON Lines."


def register(app: typer.Typer) -> None:
    app.add_typer(model, name="model")


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def read_records(
    path: Path, *, encoding: str | None = None, sheet: str | None = None
) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """(row number, cells, problem) for each record of a table or a JSON file, in order."""
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        yield from _json_records(path)
        return
    table = open_table(path, encoding=encoding, sheet=sheet)
    try:
        for row in table.rows():
            yield row.number, dict(row.values), row.problem
    finally:
        table.close()


def _json_records(path: Path) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """A JSON array of objects, or one object per line (JSON Lines)."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(f"{path.name} is not valid JSON: {exc}") from exc
        for i, item in enumerate(items, 1):
            if isinstance(item, dict):
                yield i, item, None
            else:
                yield i, {}, "not a JSON object"
        return
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            yield i, {}, "not valid JSON"
            continue
        if isinstance(item, dict):
            yield i, item, None
        else:
            yield i, {}, "not a JSON object"


def _column(mapping: dict[str, str], field: str, allowed: tuple[str, ...]) -> str:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}; map {', '.join(allowed)}")
    if field not in mapping:
        raise ValidationFailed(f"map the {field} column with --map {field}=COLUMN")
    return mapping[field]


def _cell(values: dict[str, Any], column: str) -> str:
    value = values.get(column)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


@model.command("train")
@refusals_to_exit
def train(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=FILE_HELP),
    mapping: list[str] = typer.Option(
        [], "--map", "-m", help="text=COLUMN and category=COLUMN (both required)."
    ),
    out: Path | None = typer.Option(
        None, help="Model file to write (default: the next version in DATA_DIR/models)."
    ),
    encoding: str | None = typer.Option(None, help="CSV encoding (default: guessed)."),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    min_examples: int = typer.Option(
        TrainingOptions.min_examples, min=2, help="Leave out categories with fewer labelled rows."
    ),
) -> None:
    """Train the classifier from labelled rows and save it as a new model version."""
    cols = parse_mapping(mapping)
    text_col = _column(cols, "text", ("text", "category"))
    cat_col = _column(cols, "category", ("text", "category"))
    texts: list[str] = []
    labels: list[str] = []
    for _number, values, problem in read_records(file, encoding=encoding, sheet=sheet):
        if problem:
            continue
        if text_col not in values or cat_col not in values:
            missing = text_col if text_col not in values else cat_col
            raise ValidationFailed(f"{file.name} has no column {missing!r}")
        texts.append(_cell(values, text_col))
        labels.append(_cell(values, cat_col))
    classifier = CharNgramClassifier.train(
        texts, labels, TrainingOptions(min_examples=min_examples)
    )
    classifier.info.source = file.name
    if out is not None:
        path = save_model(classifier, path=out)
    else:
        path = save_model(classifier, directory=models_dir(Settings()))
    info = classifier.info
    typer.echo(f"model v{info.version} written to {path}")
    typer.echo(f"  rows        {info.training_rows:,} (of {len(texts):,} read)")
    typer.echo(f"  categories  {len(info.classes)}")
    if info.dropped_labels:
        shown = ", ".join(f"{k} ({v})" for k, v in list(info.dropped_labels.items())[:10])
        typer.echo(f"  left out    {len(info.dropped_labels)} rare categories: {shown}")
    typer.echo(f"  trained in  {info.training_seconds:.1f} s")


@model.command("train-from-cases")
@refusals_to_exit
def train_from_cases_command(
    min_examples: int = typer.Option(
        TrainingOptions.min_examples, min=2, help="Leave out categories with fewer cases."
    ),
) -> None:
    """Train a new model version from this city's categorised cases.

    Running servers pick the new version up within half a minute; intake never waits.
    """
    path = train_from_cases(context(), min_examples)
    typer.echo(f"model written to {path}")


@model.command("predict")
@refusals_to_exit
def predict(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=FILE_HELP),
    mapping: list[str] = typer.Option([], "--map", "-m", help="text=COLUMN (required)."),
    fmt: str = typer.Option("jsonl", "--format", help="Output format: jsonl."),
    model_path: Path | None = typer.Option(
        None, "--model", help="Model file (default: the newest in DATA_DIR/models)."
    ),
    encoding: str | None = typer.Option(None, help="CSV encoding (default: guessed)."),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
) -> None:
    """Print one JSON line per input row, in order: category, department and confidence.

    The department comes from this installation's catalogue when it has the predicted
    category code; otherwise it is null. Rows that cannot be read get nulls and an error.
    """
    if fmt != "jsonl":
        raise ValidationFailed("--format must be jsonl")
    text_col = _column(parse_mapping(mapping), "text", ("text",))
    settings = Settings()
    path = model_path or latest_model_path(models_dir(settings))
    if path is None:
        raise ValidationFailed(
            f"no model in {models_dir(settings)}: run `civicpulse model train` or pass --model"
        )
    classifier = load_model(path)
    departments = departments_by_category(settings)
    out = sys.stdout
    batch: list[tuple[str | None, str]] = []

    def flush() -> None:
        wanted = [text for problem, text in batch if problem is None and text.strip()]
        predictions = iter(classifier.predict(wanted))
        for problem, text in batch:
            record: dict[str, Any]
            if problem is not None or not text.strip():
                record = {"category": None, "department": None, "confidence": None}
                record["error"] = problem or "empty text"
            else:
                p = next(predictions)
                record = {
                    "category": p.category,
                    "department": departments.get(p.category),
                    "confidence": p.confidence,
                }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        batch.clear()

    checked = False
    for _number, values, problem in read_records(file, encoding=encoding, sheet=sheet):
        if not checked and problem is None:
            if text_col not in values:
                raise ValidationFailed(f"{file.name} has no column {text_col!r}")
            checked = True
        batch.append((problem, _cell(values, text_col)))
        if len(batch) >= PREDICT_BATCH:
            flush()
    flush()
    out.flush()
