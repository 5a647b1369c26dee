"""The public league table is cached for a while; the live scorecard is not."""

from __future__ import annotations

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.scorecards import published_scorecards
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import seed_city


def _received(rows: list) -> int:  # type: ignore[type-arg]
    return sum(r.cases_received for r in rows)


def test_cached_for_the_configured_time(ctx: Context) -> None:
    seed_city(ctx)
    ctx.settings.public_aggregate_cache_seconds = 3600
    before = published_scorecards(ctx, None, None)
    submit_voice(ctx, SYSTEM, VoiceInput(text="pothole", category="pothole"))
    assert _received(published_scorecards(ctx, None, None)) == _received(before) == 0
    ctx.aggregates.clear()
    assert _received(published_scorecards(ctx, None, None)) == 1


def test_zero_means_every_request(ctx: Context) -> None:
    seed_city(ctx)
    assert ctx.settings.public_aggregate_cache_seconds == 0
    published_scorecards(ctx, None, None)
    submit_voice(ctx, SYSTEM, VoiceInput(text="pothole", category="pothole"))
    assert _received(published_scorecards(ctx, None, None)) == 1
