"""Open-data downloads: the public case export and the league table as files anyone may take.

A full export reads every case; done per download, a few curious visitors could keep the
database busy. So each file is written at most every ``open_data_refresh_seconds`` into
DATA_DIR/open-data and then served as a plain file. It is written to a temporary name and
renamed into place, so a download never sees half a file, even with several processes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from civicpulse.domain.errors import NotFound
from civicpulse.infra.context import Context
from civicpulse.insight.scorecard import ScorecardRow
from civicpulse.services.export import export_cases
from civicpulse.services.scorecards import published_scorecards

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Dataset:
    name: str
    media_type: str
    write: Callable[[Context, TextIO], int]


@dataclass(frozen=True)
class DatasetFile:
    """A dataset ready to serve, with what the download page says about it."""

    name: str
    media_type: str
    path: Path
    size: int
    written_at: datetime


def _scorecard_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(ScorecardRow)]


def _scorecards_csv(ctx: Context, out: TextIO) -> int:
    rows = published_scorecards(ctx, None, None)
    writer = csv.DictWriter(out, fieldnames=_scorecard_fields(), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in vars(row).items()})
    return len(rows)


def _scorecards_json(ctx: Context, out: TextIO) -> int:
    rows = published_scorecards(ctx, None, None)
    json.dump([vars(row) for row in rows], out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(rows)


def datasets() -> dict[str, Dataset]:
    """What the open-data page offers, by file name."""
    return {
        d.name: d
        for d in (
            Dataset("cases.csv", "text/csv", lambda ctx, out: export_cases(ctx, "csv", out)),
            Dataset(
                "cases.json", "application/json", lambda ctx, out: export_cases(ctx, "json", out)
            ),
            Dataset("departments.csv", "text/csv", _scorecards_csv),
            Dataset("departments.json", "application/json", _scorecards_json),
        )
    }


def open_data_file(ctx: Context, name: str) -> DatasetFile:
    """The file for dataset ``name``, rewritten first if it is older than the refresh age."""
    dataset = datasets().get(name)
    if dataset is None:
        raise NotFound(f"no open dataset called {name!r}")
    folder = ctx.settings.data_dir / "open-data"
    path = folder / name
    max_age = ctx.settings.open_data_refresh_seconds
    if not _fresh(path, max_age):
        with _LOCK:  # one writer per process; others wait and then find it fresh
            if not _fresh(path, max_age):
                _write(ctx, dataset, folder, path)
    stat = path.stat()
    return DatasetFile(
        name=name,
        media_type=dataset.media_type,
        path=path,
        size=stat.st_size,
        written_at=datetime.fromtimestamp(stat.st_mtime).astimezone(),
    )


def _fresh(path: Path, max_age: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < max_age
    except FileNotFoundError:
        return False


def _write(ctx: Context, dataset: Dataset, folder: Path, path: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{dataset.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            dataset.write(ctx, out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
