"""The formalism summary as published: computed by the job runner, kept in a file, read by
the league table, ``GET /api/v1/formalism`` and ``audit formalism --public``.

The public figures cover the last ``formalism_period_days`` of the city's history: about
12 s of reading on a city of a million cases (``bench/README.md``), far too long for a
page request. So the job runner computes them on its slower "topics" beat, at most every
``formalism_publish_minutes``, and keeps them as JSON in ``data_dir``; a page reads the
kept copy. The file is written to a temporary name and renamed, so a reader never sees half
of one, and every process (``serve``, ``worker``) shares it. Each process parses it again
only when the file changes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from civicpulse.services.formalism_views import FormalismSummary

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

PUBLISHED_FILE = "formalism_published.json"

_lock = threading.Lock()
_cache: dict[Path, tuple[float, FormalismSummary]] = {}


def published_path(ctx: Context) -> Path:
    return Path(ctx.settings.data_dir) / PUBLISHED_FILE


def kept_age(ctx: Context) -> float | None:
    """Seconds since the kept summary was written (the file's own clock), None if none."""
    try:
        return time.time() - published_path(ctx).stat().st_mtime
    except FileNotFoundError:
        return None


def keep_summary(ctx: Context, summary: FormalismSummary, computed_at: datetime) -> None:
    """Write the summary for every process to read, atomically."""
    path = published_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    body = {"computed_at": computed_at.isoformat(), "summary": summary.model_dump(mode="json")}
    partial.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def kept_summary(ctx: Context) -> FormalismSummary | None:
    """The kept summary, or None when none has been kept yet (or it cannot be read: a
    file from an older version is computed again rather than shown wrong)."""
    path = published_path(ctx)
    try:
        changed = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == changed:
            return cached[1]
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        summary = FormalismSummary.model_validate(body["summary"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with _lock:
        _cache[path] = (changed, summary)
    return summary
