"""Seed a working demo city through the same services every channel uses.

Nothing here writes a row directly: the catalogue goes through ``import_catalogue``, staff
through ``add_user``, voices through ``submit_voice`` and every later step through the case
actions, so the demo's audit log, timelines and scorecards are exactly what real use would
produce. A clock the seeder moves stamps each step at its simulated moment over the past
weeks, in time order across all cases.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from civicpulse.demo.life import CaseOutline, Profile, Step, department_profiles, plan_case
from civicpulse.demo.life import plan_merge as plan_merge_steps
from civicpulse.demo.sources import DemoVoice, real_voices, sample_voices
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.roles import RESIDENT, Actor, Role
from civicpulse.infra.context import Context
from civicpulse.services.case_change import ActionResult
from civicpulse.services.cases import (
    assign_case,
    merge_case,
    reject_case,
    reply_case,
    resolve_case,
    start_case,
    transfer_case,
)
from civicpulse.services.catalogue import get_department_id, import_catalogue, load_catalogue_text
from civicpulse.services.classification import train_from_cases
from civicpulse.services.deadlines import run_deadlines
from civicpulse.services.staff import add_api_key, add_user
from civicpulse.services.verdicts import verify_resolution
from civicpulse.services.voices import Contact, VoiceInput, submit_voice
from civicpulse.settings import Settings
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.database import Database
from civicpulse.storage.tables import Area, AuditEntry, Case, Category, Department, StaffUser, Voice

SEEDER = Actor(kind="system", name="demo-seed")
SEEDED = "demo.seeded"
DEFAULT_SEED = 2026
P_TRIAGE = 0.06  # voices the hotline leaves uncategorised for the dispatcher
P_MERGE = 0.04
P_UNCATEGORISED_ASSIGNED = 0.5  # of voices nobody could categorise...
UNCATEGORISED_DEPARTMENT = "service-centre"  # ...the dispatcher hands to this office
MERGE_WINDOW = timedelta(days=10)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    department: str | None
    password: str


@dataclass
class SeedReport:
    """What seeding did; secrets are in here once and are never stored in clear."""

    seeded: bool
    source: str
    summary: dict[str, Any]
    accounts: list[Account] = field(default_factory=list)
    api_key: str | None = None
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


class SeedClock:
    """A clock the seeder sets to each simulated moment (always timezone-aware UTC)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def demo_catalogue() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("civicpulse.demo").joinpath("catalogue.yaml").read_text("utf-8")
    return load_catalogue_text(text, "yaml")


def city_summary(ctx: Context) -> dict[str, Any]:
    """Counts that show whether a city is there and what it holds."""
    with ctx.db.reader() as s:
        count: dict[str, Any] = {
            name: s.scalar(select(func.count()).select_from(model)) or 0
            for name, model in (
                ("departments", Department),
                ("categories", Category),
                ("areas", Area),
                ("staff", StaffUser),
                ("cases", Case),
                ("voices", Voice),
            )
        }
        count["cases_by_status"] = {
            status: n
            for status, n in s.execute(select(Case.status, func.count()).group_by(Case.status))
        }
    return count


def _mark_complete(ctx: Context) -> None:
    """The last step of seeding, so a later run can tell a finished demo from a broken one."""
    with ctx.db.transaction() as session:
        append_audit(
            session, actor=SEEDER.label, action=SEEDED, subject="demo", data={}, at=ctx.now()
        )


def _interrupted(ctx: Context) -> bool:
    """The demo seeder started on this database (it wrote the catalogue) but never finished."""
    with ctx.db.reader() as session:
        started = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == SEEDER.label)
        )
        finished = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == SEEDED)
        )
    return bool(started) and not finished


def has_city(summary: dict[str, Any]) -> bool:
    return bool(summary["departments"] or summary["staff"] or summary["cases"])


def reset_sqlite(settings: Settings) -> Path:
    """Delete the embedded SQLite file (with its WAL files); refuse any other database."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValidationFailed(
            "--reset only deletes the embedded SQLite file; drop other databases with their "
            "own tools"
        )
    path = Path(url.database)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def seed_demo(
    ctx: Context,
    *,
    voices: int = 300,
    data_dir: Path | None = None,
    days: int = 60,
    seed: int = DEFAULT_SEED,
) -> SeedReport:
    """Seed the demo city unless the database already holds one (then change nothing)."""
    started = time.monotonic()
    summary = city_summary(ctx)
    if has_city(summary):
        if _interrupted(ctx):
            raise ValidationFailed(
                "an earlier demo seeding stopped half-way; start again with "
                "`civicpulse demo --reset`"
            )
        return SeedReport(seeded=False, source="existing database", summary=summary)
    rng = random.Random(seed)
    now = ctx.now()
    clock = SeedClock(now - timedelta(days=days + 1))
    sctx = Context(db=_seeding_database(ctx.db.url), settings=ctx.settings, clock=clock)
    try:
        catalogue = demo_catalogue()
        import_catalogue(sctx, SEEDER, catalogue)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # password hashing is slow on purpose and leaves the interpreter free, so the
            # accounts are made while the source files are read
            staff = pool.submit(_staff, sctx, [d["code"] for d in catalogue["departments"]])
            picked, names = real_voices(data_dir, voices, rng) if data_dir else ([], [])
            accounts, actors = staff.result()
        api_key = add_api_key(sctx, SEEDER, "demo-hotline-app")
        source = f"real data ({', '.join(names)})" if picked else "packaged sample"
        if not picked:
            picked = sample_voices()[: max(voices, 0)]
        seeder = _Seeder(sctx, clock, rng, catalogue, actors, now)
        seeder.run(picked, days)
        # the deadline job's pass at the present moment: overdue cases are escalated and
        # verification windows that ran out close, as a running city would show them
        clock.now = now
        run_deadlines(sctx, limit=max(1000, len(picked) * 2))
        # a first model from the demo's own history, so new reports get a category
        with contextlib.suppress(ValidationFailed):
            train_from_cases(sctx)
        _mark_complete(sctx)
    finally:
        sctx.close()
    return SeedReport(
        seeded=True,
        source=source,
        summary=city_summary(ctx),
        accounts=accounts,
        api_key=api_key,
        skipped=seeder.skipped,
        seconds=time.monotonic() - started,
    )


def _seeding_database(url: str) -> Database:
    """The same database, with commits that do not wait for the disk.

    Seeding is some thousand small transactions, each an fsync by default. A crash halfway
    leaves a half-made demo that ``--reset`` removes anyway, so waiting buys nothing here;
    SQLite stays safe from corruption in WAL mode and PostgreSQL only ever loses the last
    commits. Live use keeps the full setting: this engine lives for the seeding only.
    """
    db = Database(url)

    @event.listens_for(db.engine, "connect")
    def _relax(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if db.dialect == "sqlite":
            cur.execute("PRAGMA synchronous=NORMAL")
        else:
            cur.execute("SET synchronous_commit TO off")
            dbapi_conn.commit()
        cur.close()

    return db


def _staff(ctx: Context, departments: list[str]) -> tuple[list[Account], dict[str, Actor]]:
    """One admin, dispatcher, auditor and leader (who reads the board and the brief), one
    officer per department; random passwords."""
    wanted: list[tuple[str, Role, str | None]] = [
        ("admin", Role.ADMIN, None),
        ("dispatcher", Role.DISPATCHER, None),
        ("auditor", Role.AUDITOR, None),
        ("leader", Role.LEADER, None),
        *((f"{code}-officer", Role.OFFICER, code) for code in departments),
    ]
    accounts: list[Account] = []
    actors: dict[str, Actor] = {}  # officers by department code, the others by username
    for username, role, dept in wanted:
        password = secrets.token_urlsafe(12)
        user = add_user(ctx, SEEDER, username, role.value, password, dept)
        accounts.append(Account(username, role.value, dept, password))
        dept_ids = frozenset({get_department_id(ctx, dept)}) if dept else frozenset()
        actor = Actor(
            kind="staff", name=username, user_id=user.id, role=role, department_ids=dept_ids
        )
        actors[dept or username] = actor
    return accounts, actors


@dataclass
class _Live:
    """Where a seeded case stands while its plan is carried out."""

    case_id: int | None = None
    tracking_code: str | None = None
    department: str | None = None
    status: str | None = None
    dead: bool = False


class _Seeder:
    """Submits the voices and carries out every case's plan in global time order."""

    def __init__(
        self,
        ctx: Context,
        clock: SeedClock,
        rng: random.Random,
        catalogue: dict[str, list[dict[str, Any]]],
        actors: dict[str, Actor],
        now: datetime,
    ) -> None:
        self.ctx, self.clock, self.rng, self.actors, self.now = ctx, clock, rng, actors, now
        self.categories = {c["code"]: c for c in catalogue["categories"]}
        self.profiles: dict[str, Profile] = department_profiles(
            [d["code"] for d in catalogue["departments"]], rng
        )
        self.verification_hours = ctx.settings.verification_days * 24.0
        self.skipped: list[str] = []
        self.lives: list[_Live] = []
        self.submit_actors = {
            "hotline": actors["dispatcher"],
            "api": Actor(kind="integration", name="demo-hotline-app"),
            "open311": Actor(kind="integration", name="demo-open311-app"),
        }

    def run(self, voices: list[DemoVoice], days: int) -> None:
        voices = list(voices)
        self.rng.shuffle(voices)
        span = days * 86400.0
        received = sorted(self.now - timedelta(seconds=self.rng.uniform(600, span)) for _ in voices)
        merges, targets = self._merges(voices, received)
        self.lives = [_Live() for _ in voices]
        queue: list[tuple[datetime, int, int, Step]] = []
        order = 0
        for i, at in enumerate(received):
            queue.append((at, order, i, Step(at, "submit")))
            order += 1
        heapq.heapify(queue)
        while queue:
            at, _, i, step = heapq.heappop(queue)
            live = self.lives[i]
            if live.dead:
                continue
            self.clock.now = at
            try:
                if step.kind == "submit":
                    plan = self._submit(voices[i], live, merges.get(i), i in targets, at)
                    for s in plan:
                        heapq.heappush(queue, (s.at, order, i, s))
                        order += 1
                else:
                    self._act(live, step)
            except DomainError as exc:
                live.dead = True
                self.skipped.append(f"{voices[i].external_id}: {step.kind}: {exc.message}")

    def _merges(
        self, voices: list[DemoVoice], received: list[datetime]
    ) -> tuple[dict[int, int], set[int]]:
        """Pick a few later voices to fold into an earlier open case of the same category."""
        merges: dict[int, int] = {}
        for i, voice in enumerate(voices):
            if voice.category is None or self.rng.random() >= P_MERGE:
                continue
            for j in range(i - 1, -1, -1):
                if received[i] - received[j] > MERGE_WINDOW:
                    break
                if voices[j].category == voice.category and j not in merges:
                    merges[i] = j
                    break
        return merges, set(merges.values())

    def _submit(
        self,
        voice: DemoVoice,
        live: _Live,
        merge_into: int | None,
        is_target: bool,
        at: datetime,
    ) -> list[Step]:
        triage = voice.category is None or self.rng.random() < P_TRIAGE
        result = submit_voice(
            self.ctx,
            self.submit_actors.get(voice.channel, RESIDENT),
            VoiceInput(
                text=voice.text,
                title=voice.title,
                category=None if triage else voice.category,
                language=voice.language,
                channel=voice.channel,
                lat=voice.lat,
                lon=voice.lon,
                address=voice.address,
                contact=Contact(email=voice.email),
                external_id=voice.external_id,
            ),
        )
        live.case_id, live.tracking_code = result.case_id, result.tracking_code
        live.department, live.status = result.department, result.case_status
        if merge_into is not None:
            return plan_merge_steps(at, merge_into, self.rng, self.now)
        category = self.categories.get(voice.category or "")
        triage_to: str | None = None  # None: still waiting in the dispatcher's queue
        if category is not None:
            triage_to = category["department"]
        elif self.rng.random() < P_UNCATEGORISED_ASSIGNED:
            triage_to = UNCATEGORISED_DEPARTMENT
        outline = CaseOutline(
            received_at=at,
            language=voice.language,
            category=voice.category,
            department=result.department,
            first_response_hours=category["first_response_hours"] if category else None,
            resolution_hours=category["resolution_hours"] if category else None,
            real_reply=voice.real_reply,
            handling_hours=voice.handling_hours,
            still_open=voice.still_open,
        )
        return plan_case(
            outline,
            self.rng,
            self.profiles,
            triage_to=triage_to,
            verification_hours=self.verification_hours,
            now=self.now,
            allow_reject=not is_target,
        )

    def _act(self, live: _Live, step: Step) -> None:
        assert live.case_id is not None and live.tracking_code is not None
        ctx, case_id = self.ctx, live.case_id
        officer = self.actors.get(live.department or "", self.actors["dispatcher"])
        result: ActionResult
        if step.kind == "assign":
            assert step.department is not None
            result = assign_case(ctx, self.actors["dispatcher"], case_id, step.department)
        elif step.kind == "transfer":
            assert step.department is not None and step.message is not None
            if step.department == live.department:
                return
            result = transfer_case(ctx, officer, case_id, step.department, step.message)
        elif step.kind == "reply":
            assert step.message is not None
            result = reply_case(ctx, officer, case_id, step.message, public=True)
        elif step.kind == "start":
            result = start_case(ctx, officer, case_id)
        elif step.kind == "resolve":
            assert step.message is not None
            result = resolve_case(ctx, officer, case_id, step.message)
        elif step.kind == "reject":
            assert step.message is not None
            result = reject_case(ctx, officer, case_id, step.message)
        elif step.kind == "merge":
            assert step.into is not None
            target = self.lives[step.into]
            if target.case_id is None or target.status in ("merged", "rejected"):
                return
            result = merge_case(ctx, self.actors["dispatcher"], case_id, target.case_id)
        elif step.kind == "verify":
            assert step.fixed is not None and step.satisfaction is not None
            result = verify_resolution(
                ctx, RESIDENT, live.tracking_code, step.fixed, step.satisfaction, step.message
            )
        else:
            raise ValueError(f"unknown demo step {step.kind!r}")
        live.department, live.status = result.department, result.status
