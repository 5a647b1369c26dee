"""The pull never loses records silently: a remote page cap, the updates feed's own pages,
and a window it cannot read whole; pulled requests keep their time and their closure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicpulse.channels.open311.client import source_key
from civicpulse.infra.context import Context
from civicpulse.services.open311_pull import load_checkpoint
from civicpulse.services.scorecards import department_scorecards
from civicpulse.storage.tables import Case, CaseEvent, Verification, Voice
from civicpulse.web.app import create_app
from tests.city import seed_city
from tests.integration.test_open311_pull import Endpoint, open311_voices, serve
from tests.live import cli_env, run_cli

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def record(n: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "service_request_id": f"R{n}",
        "service_code": "pothole",
        "status": "open",
        "description": f"Hole number {n}",
        "requested_datetime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lat": f"{31 + (n % 50) * 0.05:.2f}",
        "long": "121.0",
        **extra,
    }


@pytest.mark.parametrize("pages", [True, False], ids=["paging", "no-paging"])
def test_a_remote_page_cap_below_the_asked_size_loses_nothing(
    ctx: Context, db_url: str, tmp_path: Path, pages: bool
) -> None:
    """150 requests from a server that answers 100 at most while 1,000 were asked for."""
    seed_city(ctx)
    records = [record(n, T0 + timedelta(minutes=n)) for n in range(150)]
    endpoint = Endpoint(records, updates=None, limit=100, pages=pages)
    env = cli_env(db_url, tmp_path / "data")
    with serve(endpoint) as url:
        done = run_cli(env, "open311", "pull", url, "--since", "2026-01-01", "--until",
                       "2026-02-01")
    assert done.returncode == 0, done.stderr
    assert "fetched 150 requests: 150 added" in done.stdout
    assert open311_voices(ctx) == 150
    if pages:
        assert all(c[1]["page_size"] == "1000" for c in endpoint.calls)


def test_the_updates_feed_is_read_past_its_first_page(
    ctx: Context, db_url: str, tmp_path: Path
) -> None:
    seed_city(ctx)
    records = [record(n, T0 + timedelta(minutes=n)) for n in range(3)]
    updates = [
        {
            "update_id": f"u{i}",
            "service_request_id": f"R{i % 3}",
            "status": "IN_PROGRESS",
            "description": f"step {i}",
            "updated_datetime": (T0 + timedelta(hours=1, minutes=i)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
        for i in range(250)
    ]
    endpoint = Endpoint(records, updates, limit=100, pages=True)
    env = cli_env(db_url, tmp_path / "data")
    with serve(endpoint) as url:
        done = run_cli(env, "open311", "pull", url, "--since", "2026-01-01", "--until",
                       "2026-02-01", "--updates-as", "dispatch")
    assert done.returncode == 0, done.stderr
    assert "updates: 250 fetched, 250 recorded, 0 skipped" in done.stdout
    key = source_key(url, None)
    assert load_checkpoint(ctx, key)["updates_until"].startswith("2026-02-01")


def test_the_checkpoint_stays_before_a_window_that_could_not_be_read(
    ctx: Context, db_url: str, tmp_path: Path
) -> None:
    """A server that answers two requests at most and cannot page: three in January are
    found by splitting (which shows it cuts at two), but three in one second in June cannot
    be; the pull stores what it could, says what it missed, exits 1, and keeps the
    checkpoint before June."""
    seed_city(ctx)
    late = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    early = [record(n, T0 + timedelta(days=n)) for n in range(3)]
    records = early + [record(n, late) for n in (3, 4, 5)]
    endpoint = Endpoint(records, updates=None, limit=2, pages=False)
    env = cli_env(db_url, tmp_path / "data")
    with serve(endpoint) as url:
        done = run_cli(env, "open311", "pull", url, "--since", "2026-01-01T00:00:00Z",
                       "--until", "2026-07-01T00:00:00Z")
        key = source_key(url, None)
    assert done.returncode == 1
    assert "incomplete: requests from 2026-04-01T00:00:00Z on not read" in done.stderr
    assert "3 added" in done.stdout and open311_voices(ctx) == 3
    reached = datetime.fromisoformat(load_checkpoint(ctx, key)["requests_until"])
    assert reached == datetime(2026, 4, 1, tzinfo=UTC) < late  # the next run starts there


def test_pulled_requests_keep_their_time_and_their_remote_closure(
    ctx: Context, db_url: str, tmp_path: Path
) -> None:
    seed_city(ctx)
    records = [
        record(1, T0),
        record(2, T0 + timedelta(hours=2), status="closed", status_notes="Case Resolved."),
    ]
    endpoint = Endpoint(records, updates=None)
    env = cli_env(db_url, tmp_path / "data")
    with serve(endpoint) as url:
        args = ["open311", "pull", url, "--since", "2026-01-01", "--until", "2026-02-01"]
        done = run_cli(env, *args)
        assert done.returncode == 0, done.stderr
        assert "closed here as the endpoint closed them: 1" in done.stdout
        again = run_cli(env, *args)
        assert again.returncode == 0 and "closed here" not in again.stdout
    with ctx.db.reader() as s:
        ids = {
            v.external_id.rsplit(":", 1)[1]: v.case_id
            for v in s.scalars(select(Voice).where(Voice.channel == "open311"))
            if v.external_id
        }
        closed = s.get(Case, ids["R2"])
        assert closed is not None and closed.status == "unverified"
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == closed.id))]
        assert kinds.count("closed_elsewhere") == 1 and "resolve" not in kinds
        assert s.scalar(select(func.count()).select_from(Verification)) == 0
    with TestClient(create_app(ctx)) as client:
        [open_one] = client.get(f"/open311/v2/requests/{ids['R1']}.json").json()
        [closed_one] = client.get(f"/open311/v2/requests/{ids['R2']}.json").json()
        # found where the source put it in time, not where the pull happened
        window = client.get(
            "/open311/v2/requests.json",
            params={"start_date": "2026-01-05T00:00:00Z", "end_date": "2026-01-06T00:00:00Z"},
        ).json()
    assert datetime.fromisoformat(open_one["requested_datetime"]) == T0
    assert open_one["status"] == "open" and closed_one["status"] == "closed"
    assert {r["service_request_id"] for r in window} == {str(ids["R1"]), str(ids["R2"])}
    rows = department_scorecards(ctx, None, None)
    assert all(not r.confirmed_resolution_rate for r in rows)
