"""Bursts in the product: a rise of voices in one category against its own eight weeks is
found, shown by the API and the CLI, and raised to staff once however often the worker runs;
an ordinary week raises nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.bursts import city_bursts, raise_bursts
from civicpulse.services.voices import VoiceInput, submit_voice
from civicpulse.storage.tables import OutboxMessage
from tests.city import City

# the test clock stands at 2026-03-02 09:00 UTC (Asia/Shanghai: 17:00, a Monday)
TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEKDAY_LOAD = (3, 3, 3, 3, 3, 1, 1)  # Monday first: quieter weekends


def _voice(city: City, at: datetime, category: str, n: int) -> None:
    submit_voice(city.ctx, SYSTEM, VoiceInput(
        text=f"{category} report number {n} from {at.date()}", category=category,
        occurred_at=at))


def _history(city: City, days: int = 63) -> None:
    n = 0
    for back in range(days, 0, -1):
        at = TODAY - timedelta(days=back)
        for _ in range(WEEKDAY_LOAD[at.weekday()]):
            _voice(city, at, "pothole", n)
            n += 1
        if back % 2 == 0:
            _voice(city, at, "tree", n)
            n += 1


def test_a_tripled_category_is_a_burst_raised_once(city: City) -> None:
    _history(city)
    # the last three days: pothole triples
    for back in (2, 1, 0):
        at = TODAY - timedelta(days=back, hours=1)
        for i in range(10):
            _voice(city, at, "pothole", 1000 + back * 10 + i)
    found = city_bursts(city.ctx)
    series = [b.series for b in found.bursts]
    assert "category:pothole" in series, series
    assert "category:tree" not in series
    burst = found.bursts[series.index("category:pothole")]
    assert burst.ratio >= 2 and burst.q_value <= found.fdr and burst.p_value < 0.01
    assert burst.kind == "category" and burst.code == "pothole"

    r = city.client.get("/api/v1/bursts")
    assert r.status_code == 200 and "category:pothole" in r.text
    assert "report number" not in r.text  # counts, never text

    city.ctx.settings.burst_recipients = "dispatch@city.test"
    first = raise_bursts(city.ctx)
    assert first.new >= 1 and first.mails >= 2
    with city.ctx.db.reader() as s:
        mails = s.execute(select(OutboxMessage.recipient, OutboxMessage.subject)).all()
    to = {m.recipient for m in mails if "Burst" in m.subject}
    # the dispatchers, and the department of the category (roads; the pothole routing rule
    # of the North area does not apply to a voice without a place)
    assert to == {"dispatch@city.test", "roads@city.test"}
    assert any("路面坑洼" in m.subject for m in mails)

    # the next pass, and the next day while it lasts: no second alert
    again = raise_bursts(city.ctx)
    assert again.new == 0 and again.continuing >= 1
    city.ctx.clock.advance(days=1)  # type: ignore[attr-defined]
    for i in range(10):
        _voice(city, TODAY + timedelta(days=1), "pothole", 2000 + i)
    later = raise_bursts(city.ctx)
    assert later.new == 0
    with city.ctx.db.reader() as s:
        count = len(s.execute(select(OutboxMessage.id)
                              .where(OutboxMessage.subject.like("%Burst%"))).all())
    assert count == len(to)


def test_an_ordinary_week_raises_nothing(city: City) -> None:
    _history(city)
    assert city_bursts(city.ctx).bursts == []
    assert raise_bursts(city.ctx).new == 0


def test_the_cli_lists_the_same_bursts_and_refuses_a_future_day(city: City) -> None:
    _history(city, days=35)
    for i in range(12):
        _voice(city, TODAY - timedelta(hours=2), "pothole", 3000 + i)
    from civicpulse.cli.app import app

    env = {"CIVICPULSE_DATABASE_URL": city.ctx.settings.resolved_database_url(),
           "CIVICPULSE_DATA_DIR": str(city.ctx.settings.data_dir)}
    day = TODAY.date().isoformat()
    out = CliRunner().invoke(app, ["bursts", "--day", day, "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    assert listed["day"] == day
    assert [b["series"] for b in listed["bursts"]] == [
        b.series for b in city_bursts(city.ctx, TODAY.date()).bursts]
    assert city.client.get("/api/v1/bursts", params={"day": "2999-01-01"}).status_code == 422
