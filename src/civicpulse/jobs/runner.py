"""One pass of every background job, and a loop that repeats it.

The same pass runs in a thread inside ``civicpulse serve`` on the embedded default and in
``civicpulse worker`` processes in production; each step is safe to run concurrently.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from civicpulse.infra.context import Context
from civicpulse.services.deadlines import run_deadlines
from civicpulse.services.outbox import Transport, deliver_pending
from civicpulse.services.resuggest import refresh_waiting_suggestions
from civicpulse.services.topics import update_topics

log = logging.getLogger("civicpulse.jobs")


@dataclass
class PassReport:
    sent: int
    failed: int
    escalated: int
    unverified: int
    resuggested: int = 0
    topics_placed: int = 0


def run_once(ctx: Context, transport: Transport, *, topics: bool = False) -> PassReport:
    """Every job once; ``topics`` also places the voices that arrived since the last topic
    run (it reads a window of recent voices, so callers run it less often than the rest)."""
    deadlines = run_deadlines(ctx)
    sent, failed = deliver_pending(ctx, transport)
    resuggested = refresh_waiting_suggestions(ctx)
    placed = update_topics(ctx).placed if topics else 0
    return PassReport(
        sent, failed, deadlines.escalated, deadlines.unverified, resuggested, placed
    )


class Every:
    """Says "due" at most once per ``seconds``, and never when ``seconds`` is 0 or less."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        if self.seconds <= 0:
            return False
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True


class JobLoop:
    """Runs ``run_once`` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, ctx: Context, transport: Transport, interval: float) -> None:
        self.ctx = ctx
        self.transport = transport
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="civicpulse-jobs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        topics = Every(self.ctx.settings.topics_refresh_seconds)
        while not self._stop.is_set():
            try:
                run_once(self.ctx, self.transport, topics=topics.due())
            except Exception:  # a failing pass must not kill the loop; it is logged and retried
                log.exception("background job pass failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
