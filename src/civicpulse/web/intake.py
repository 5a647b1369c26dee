"""Hearing a voice from an async route: the one way the API, the pages and Open311 do it.

Reading the text (classifier, urgency, same-problem keys, redaction) is CPU work, so it runs
on a worker thread rather than on the event loop; the write is then handed to the
group-commit writer, and waiting for its commit costs no thread. Every channel that runs in
the web server goes through here, so none of them does the reading on the event loop.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.voices import SubmitResult, VoiceInput, read_voice, start_submission


async def hear(
    ctx: Context, actor: Actor, voice: VoiceInput, idempotency_key: str | None = None
) -> SubmitResult:
    """Read, then store; returns once the voice is committed (or raises why it was not)."""
    if voice.reading is None:
        voice.reading = await run_in_threadpool(read_voice, ctx, voice)
    pending = start_submission(ctx, actor, voice, idempotency_key=idempotency_key)
    return await asyncio.wrap_future(pending)
