"""One pass of every background job, and a loop that repeats it.

The same pass runs in a thread inside ``civicpulse serve`` on the embedded default and in
``civicpulse worker`` processes in production; each step is safe to run concurrently.

The redaction pass (``services/redaction_pass.py``) also runs on its own short tick between
full passes in the in-process loop: a new Chinese title is shown in public only once the
name tagger has checked it, and a resident who opens their tracking page right after
sending should rarely see "being checked". With nothing pending the tick costs two index
probes, so a tick of a couple of seconds is cheap; each tick is bounded in time so a
backlog never holds up the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from civicpulse.infra.context import Context
from civicpulse.reports.brief_mail import mail_weekly_brief
from civicpulse.services.bursts import raise_bursts
from civicpulse.services.concerns import refresh_concerns
from civicpulse.services.deadlines import run_deadlines
from civicpulse.services.formalism import publish_formalism
from civicpulse.services.outbox import Transport, deliver_pending
from civicpulse.services.redaction_pass import redact_pending
from civicpulse.services.reply_checks import rebuild_reference
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
    redacted: int = 0
    concerns_recomputed: int = 0
    briefs_queued: int = 0
    bursts_raised: int = 0
    formalism_published: bool = False


#: seconds between redaction ticks in the in-process loop (at most the loop's interval)
REDACTION_TICK_SECONDS = 2.0
#: the most one tick spends redacting before it lets the loop go on
REDACTION_TICK_BUDGET_SECONDS = 1.0


def run_once(ctx: Context, transport: Transport, *, topics: bool = False) -> PassReport:
    """Every job once, the weekly brief's mail included (``reports/brief_mail.py``);
    ``topics`` also places the voices that arrived since the last topic run (it reads a
    window of recent voices, so callers run it less often than the rest) and then brings
    the concerns up to date with everything that changed since their last refresh (they
    group cases by topic, so they follow the topics), raises new bursts once, and keeps the
    public formalism figures fresh (every ``formalism_publish_minutes`` at most: they read
    the period's history, which no page request should wait for)."""
    deadlines = run_deadlines(ctx)
    sent, failed = deliver_pending(ctx, transport)
    resuggested = refresh_waiting_suggestions(ctx)
    placed = update_topics(ctx).placed if topics else 0
    redaction = redact_pending(ctx)
    recomputed = refresh_concerns(ctx, place_topics=False).recomputed if topics else 0
    # bursts read eight weeks of daily counts, topics included: on the topics beat too
    bursts = raise_bursts(ctx).new if topics else 0
    if topics:  # what the city's replies share, for the reply check; once a day at most
        rebuild_reference(ctx)
    # the public formalism figures: a read of the period's history, kept for the pages
    published = topics and publish_formalism(ctx) is not None
    # last: on Monday it makes the week's brief as PDF (seconds, once a week), and the rest
    # of the pass must not wait for it; its mail goes out with the next pass's delivery
    briefs = mail_weekly_brief(ctx)
    return PassReport(
        sent, failed, deadlines.escalated, deadlines.unverified, resuggested, placed,
        redaction.titles + redaction.messages, recomputed, briefs_queued=briefs,
        bursts_raised=bursts, formalism_published=published,
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
        tick = min(self.interval, REDACTION_TICK_SECONDS)
        while not self._stop.is_set():
            try:
                run_once(self.ctx, self.transport, topics=topics.due())
            except Exception:  # a failing pass must not kill the loop; it is logged and retried
                log.exception("background job pass failed")
            next_pass = time.monotonic() + self.interval
            while not self._stop.wait(min(tick, max(0.0, next_pass - time.monotonic()))):
                if time.monotonic() >= next_pass:
                    break
                try:
                    redact_pending(self.ctx, budget_seconds=REDACTION_TICK_BUDGET_SECONDS)
                except Exception:
                    log.exception("redaction tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
