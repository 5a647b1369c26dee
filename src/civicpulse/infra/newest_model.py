"""The newest saved model of a kind, kept loaded and swapped when training writes a newer one.

Training runs in another process (a CLI command); serving processes notice its file within
``CHECK_SECONDS`` and load it, so intake never pauses for it. One mechanism serves every
kind of model (the classifier, the urgency model): only how the newest file is found and
read differs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from civicpulse.domain.errors import ValidationFailed
from civicpulse.understanding.classifier import (
    CharNgramClassifier,
    latest_model_path,
    load_model,
)

CHECK_SECONDS = 30.0
log = logging.getLogger(__name__)

M = TypeVar("M")


class NewestModel(Generic[M]):
    def __init__(
        self,
        directory: Path,
        newest: Callable[[Path], Path | None],
        load: Callable[[Path], M],
    ) -> None:
        self.directory = directory
        self._newest = newest
        self._load = load
        self._model: M | None = None
        self._path: Path | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> M | None:
        with self._lock:
            if time.monotonic() - self._checked >= CHECK_SECONDS:
                self._checked = time.monotonic()
                newest = self._newest(self.directory)
                if newest is not None and newest != self._path:
                    self._path = newest
                    try:
                        self._model = self._load(newest)
                    except ValidationFailed as exc:
                        # an outdated or damaged file must not stop intake: the model already
                        # in use (if any) stays; the file is not retried until a newer appears
                        log.warning("model %s not loaded: %s", newest.name, exc)
            return self._model

    def forget(self) -> None:
        """Look for a newer model on the next call (after training in this process)."""
        with self._lock:
            self._checked = float("-inf")


class ModelHolder(NewestModel[CharNgramClassifier]):
    """Keeps the newest saved classifier of one installation loaded, reloading when it
    changes; a file it cannot read is logged and voices arrive uncategorised meanwhile."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, latest_model_path, load_model)
