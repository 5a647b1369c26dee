"""`civicpulse demo`: a seeded city, on SQLite and PostgreSQL, then the real command.

The seeding tests point the demo at an empty folder to use the packaged sample, and at
../shared/data (skipping when it is absent) for the real records.
"""

from __future__ import annotations

import random
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from civicpulse.bootstrap import build_context
from civicpulse.demo.life import CaseOutline, Step, department_profiles, plan_case
from civicpulse.demo.seed import SeedReport, city_summary, reset_sqlite, seed_demo
from civicpulse.demo.sources import sample_voices
from civicpulse.domain.errors import ValidationFailed
from civicpulse.infra.context import Context
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.scorecards import department_scorecards
from civicpulse.services.staff import actor_for_api_key, login
from civicpulse.settings import Settings
from civicpulse.storage.tables import Case, CaseEvent, StaffUser, Voice
from tests.conftest import SHARED_DATA, shared_data
from tests.live import BIN, cli_env, free_port, run_cli, wait_until_serving


def _check_city(ctx: Context, report: SeedReport, voices: int) -> None:
    """What every seeded demo city must satisfy, whatever its source."""
    assert report.seeded and report.skipped == []
    s = report.summary
    assert (s["departments"], s["categories"], s["areas"]) == (11, 21, 4)
    assert s["voices"] == s["cases"] == voices
    roles = sorted(a.role for a in report.accounts)
    assert roles.count("officer") == 11
    assert {"admin", "dispatcher", "auditor", "leader"} <= set(roles)
    for account in report.accounts:
        assert login(ctx, account.username, account.password)
    assert report.api_key and actor_for_api_key(ctx, report.api_key).kind == "integration"
    with ctx.db.reader() as db:
        hashes = list(db.scalars(select(StaffUser.password_hash)))
        created = list(db.scalars(select(Case.created_at)))
        kinds = set(db.scalars(select(CaseEvent.kind)))
    assert not {a.password for a in report.accounts} & set(hashes)
    now = ctx.now()
    assert all(c.tzinfo is not None and now - timedelta(days=61) < c <= now for c in created)
    assert max(created) - min(created) > timedelta(days=20), "voices spread over past weeks"
    assert {"submitted", "assigned", "start", "resolve", "confirm"} <= kinds
    rows = department_scorecards(ctx, None, None)
    assert sum(r.verified_sample_size for r in rows) > 0
    assert any(r.satisfaction_mean is not None for r in rows)
    count, problems = verify_audit_log(ctx.db)
    assert count > voices and problems == []


def test_sample_city_is_seeded_once(ctx: Context, tmp_path: Path) -> None:
    report = seed_demo(ctx, data_dir=tmp_path / "no-data-here")
    assert report.source == "packaged sample"
    _check_city(ctx, report, voices=len(sample_voices()))
    with ctx.db.reader() as db:
        languages = {lang: n for lang, n in db.execute(
            select(Voice.language, func.count()).group_by(Voice.language))}
    assert languages == {"zh": 20, "en": 20}

    again = seed_demo(ctx, data_dir=tmp_path / "no-data-here")
    assert not again.seeded and again.accounts == [] and again.api_key is None
    assert city_summary(ctx) == report.summary


def test_real_data_city(ctx: Context) -> None:
    shared_data("boston311", "requests_2011_jul_nov.csv.gz")
    shared_data("gov_message_board", "messages_with_replies.csv")
    shared_data("gov_message_board", "labelled_messages.csv")
    report = seed_demo(ctx, voices=200, data_dir=SHARED_DATA)
    assert report.source.startswith("real data")
    _check_city(ctx, report, voices=200)
    statuses = report.summary["cases_by_status"]
    assert {"confirmed", "rejected", "merged", "in_progress"} <= set(statuses)
    with ctx.db.reader() as db:
        languages = {lang: n for lang, n in db.execute(
            select(Voice.language, func.count()).group_by(Voice.language))}
        located = db.scalar(select(func.count()).where(Case.area_id.is_not(None)))
        transfers = db.scalar(select(func.count()).where(CaseEvent.kind == "transfer"))
        replies = list(db.scalars(select(CaseEvent.message).where(CaseEvent.kind == "resolve")))
    assert languages == {"zh": 100, "en": 100}
    assert located and located > 50, "Boston voices with a location fall in a district"
    assert transfers and transfers > 0
    # the message board's real replies are used as the public answers
    assert any(m and "答复" in m for m in replies)


def test_plans_are_reproducible_and_never_in_the_future() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    outline = CaseOutline(received_at=now - timedelta(days=20), language="en",
                          category="pothole", department="public-works",
                          first_response_hours=24, resolution_hours=120)

    def plans(seed: int) -> list[list[Step]]:
        rng = random.Random(seed)
        profiles = department_profiles(["public-works", "transport"], rng)
        return [plan_case(outline, rng, profiles, triage_to=None, verification_hours=336,
                          now=now) for _ in range(200)]

    first = plans(7)
    assert first == plans(7)
    for steps in first:
        times = [s.at for s in steps]
        assert times == sorted(times) and all(t <= now for t in times)


def test_reset_deletes_only_an_embedded_sqlite_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    ctx = build_context(settings, migrate=True)
    ctx.db.dispose()
    db_file = tmp_path / "civicpulse.db"
    assert db_file.exists()
    assert reset_sqlite(settings) == db_file.resolve() and not db_file.exists()
    pg = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u@h/db",
                  _env_file=None)
    with pytest.raises(ValidationFailed):
        reset_sqlite(pg)


# ---- the real command ----------------------------------------------------------------------

ACCOUNT_LINE = re.compile(r"^\s+(\S+)\s+(admin|dispatcher|officer|auditor|leader)\s+(\S+)\s+(\S+)$")


def _demo_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty").mkdir(exist_ok=True)
    data = tmp_path / "data"
    return cli_env(f"sqlite:///{data / 'civicpulse.db'}", data,
                   CIVICPULSE_SHARED_DATA_DIR=str(tmp_path / "empty"),
                   CIVICPULSE_JOB_INTERVAL_SECONDS="0.5")


def test_demo_command_seeds_prints_secrets_once_and_resets(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    first = run_cli(env, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    accounts = [m.groups() for line in first.stdout.splitlines()
                if (m := ACCOUNT_LINE.match(line))]
    assert len(accounts) == 15  # admin, dispatcher, auditor, leader, 11 officers
    key = re.search(r"API key \(shown once\): (cpk_\S+)", first.stdout)
    assert key is not None
    ctx = build_context(Settings(data_dir=tmp_path / "data", _env_file=None), migrate=False)
    try:
        for username, _role, _dept, password in accounts:
            assert login(ctx, username, password)
        assert actor_for_api_key(ctx, key.group(1))
    finally:
        ctx.db.dispose()

    second = run_cli(env, "demo", "--no-serve")
    assert second.returncode == 0 and "already holds a city" in second.stdout
    assert not ACCOUNT_LINE.search(second.stdout) and "cpk_" not in second.stdout

    third = run_cli(env, "demo", "--no-serve", "--reset")
    assert third.returncode == 0 and "seeded 11 departments" in third.stdout
    new_passwords = {m.group(4) for line in third.stdout.splitlines()
                     if (m := ACCOUNT_LINE.match(line))}
    assert new_passwords and not new_passwords & {a[3] for a in accounts}

    refused = run_cli({**env, "CIVICPULSE_DATABASE_URL": "postgresql+psycopg://u@h/db"},
                      "demo", "--no-serve", "--reset")
    assert refused.returncode == 2 and "only deletes the embedded SQLite" in refused.stderr


def test_demo_command_serves_the_city_over_http(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    port = free_port()
    proc = subprocess.Popen([str(BIN), "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, seconds=120)
        card = httpx.get(f"{base}/api/v1/departments/scorecard", timeout=10)
        assert card.status_code == 200
        rows = {row["department"]: row for row in card.json()}
        assert len(rows) == 11 and sum(r["cases_received"] for r in rows.values()) > 0
        assert sum(r["verified_sample_size"] for r in rows.values()) > 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_interrupted_seeding_is_refused_not_served(ctx: Context) -> None:
    """A demo whose seeding died half-way is not mistaken for a finished city."""
    from civicpulse.demo.seed import SEEDER, demo_catalogue
    from civicpulse.services.catalogue import import_catalogue

    import_catalogue(ctx, SEEDER, demo_catalogue())  # the first step, then "the crash"
    with pytest.raises(ValidationFailed, match="--reset"):
        seed_demo(ctx, voices=5, data_dir=None)
