"""The public home page's figures, counted in the database, on both backends."""

from __future__ import annotations

from civicpulse.domain.roles import SYSTEM, Actor, Role
from civicpulse.services.cases import resolve_case
from civicpulse.services.public_views import public_overview
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import City
from tests.conftest import Clock


def test_weekly_open_and_closed_counts(city: City, clock: Clock) -> None:
    ctx = city.ctx
    officer = Actor(kind="staff", name="boss", role=Role.ADMIN)
    clock.advance(weeks=-3)  # three weeks ago: two cases, one of them resolved
    first = submit_voice(ctx, SYSTEM, VoiceInput(text="old pothole", category="pothole"))
    submit_voice(ctx, SYSTEM, VoiceInput(text="old tree", category="tree"))
    resolve_case(ctx, officer, first.case_id, "Filled.")
    clock.advance(weeks=3)  # this week: one open case
    submit_voice(ctx, SYSTEM, VoiceInput(text="new pothole", category="pothole"))
    overview = public_overview(ctx, weeks=12)
    assert overview.total == 3
    assert dict(overview.by_category) == {"pothole": 2, "tree": 1}
    assert overview.weekly_by_status["open"][-1] == 1
    assert overview.weekly_by_status["closed"][-1] == 0
    assert overview.weekly_by_status["open"][-4] == 1
    assert overview.weekly_by_status["closed"][-4] == 1
    assert sum(overview.weekly_by_status["open"]) + sum(overview.weekly_by_status["closed"]) == 3
