"""The leader's brief on a real database: its figures for a seeded week, the Chinese PDF with
its charts, the CLI, the staff page and its PDF, and the weekly mail queued once.

The week is 2026-W10 (Monday 2 March to Sunday 8 March 2026, the city on UTC): the test
clock starts that Monday at 09:00 and the brief is read the next Monday, when it is the
last complete week.
"""

from __future__ import annotations

import email
import html as html_text
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicpulse.channels.mail import SpoolTransport
from civicpulse.cli import app
from civicpulse.domain.errors import PermissionDenied
from civicpulse.domain.roles import RESIDENT, SYSTEM, Actor
from civicpulse.domain.weeks import IsoWeek
from civicpulse.infra.context import Context
from civicpulse.jobs.runner import run_once
from civicpulse.reports.brief_document import BriefRenderer
from civicpulse.reports.brief_mail import mail_weekly_brief
from civicpulse.services import brief as brief_service
from civicpulse.services.brief import Brief, leader_brief
from civicpulse.services.cases import resolve_case
from civicpulse.services.concerns import refresh_concerns
from civicpulse.services.outbox import deliver_pending
from civicpulse.services.queries import CaseFilter, list_cases
from civicpulse.services.read_models import ConcernView
from civicpulse.services.redaction_pass import redact_pending
from civicpulse.services.staff import add_user, staff_actor
from civicpulse.services.supports import Supporter, support_case
from civicpulse.services.verdicts import verify_resolution
from civicpulse.services.voices import VoiceInput, submit_voice
from civicpulse.storage.tables import BriefMailing, OutboxAttachment, OutboxMessage, StaffUser
from tests.city import PASSWORD, City
from tests.conftest import Clock

WEEK = IsoWeek(2026, 10)
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
#: a problem many residents raise: its words make the concern's label
HOLE = "学校门口的路面有一个很深的坑"
SQLITE_ONLY = pytest.mark.parametrize("database_template", ["sqlite"], indirect=True)


def officer(ctx: Context, username: str) -> Actor:
    with ctx.db.reader() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return staff_actor(user)


def say(ctx: Context, text: str, category: str, **kw: Any) -> Any:
    return submit_voice(ctx, RESIDENT, VoiceInput(text=text, category=category, **kw))


def seed_week(ctx: Context, clock: Clock) -> dict[str, Any]:
    """Three voices the week before (told by their time), then in the week: four potholes
    on Monday (roads) and two fallen trees on Thursday (parks); one pothole resolved and
    judged not fixed, one resolved and confirmed; a second resident backs the first one."""
    clock.now = datetime(2026, 2, 25, 10, 0, tzinfo=UTC)
    say(ctx, "路灯不亮", "other", occurred_at=datetime(2026, 2, 24, 20, 0, tzinfo=UTC))
    say(ctx, "路灯不亮了", "other")
    say(ctx, "路灯还是不亮", "other")
    clock.now = MONDAY
    potholes = [say(ctx, f"{HOLE}，第{i}处", "pothole") for i in range(4)]
    clock.now = MONDAY + timedelta(days=3)
    trees = [say(ctx, f"公园里一棵大树倒在路上 {i}", "tree") for i in range(2)]
    roads = officer(ctx, "roads1")
    clock.now = MONDAY + timedelta(days=1)
    resolve_case(ctx, roads, potholes[0].case_id, "已经修补")
    resolve_case(ctx, roads, potholes[1].case_id, "已经修补")
    clock.now = MONDAY + timedelta(days=2)
    verify_resolution(ctx, RESIDENT, potholes[0].tracking_code, False, 1, "坑还在，一点没修")
    verify_resolution(ctx, RESIDENT, potholes[1].tracking_code, True, 5, None)
    support_case(ctx, potholes[0].case_id, Supporter(email="neighbour@example.org"))
    redact_pending(ctx)  # the background pass: Chinese titles become public
    refresh_concerns(ctx)
    clock.now = NEXT_MONDAY
    return {"potholes": potholes, "trees": trees}


# ---- the figures --------------------------------------------------------------------------


def test_the_brief_of_a_seeded_week_has_its_figures(city: City, clock: Clock) -> None:
    ctx = city.ctx
    seeded = seed_week(ctx, clock)
    brief = leader_brief(ctx, SYSTEM)  # the default: the last complete week
    assert brief.week == WEEK and brief.start == datetime(2026, 3, 2, tzinfo=UTC)
    assert brief.end == datetime(2026, 3, 9, tzinfo=UTC)

    h = brief.headline
    assert (h.voices, h.voices_week_before) == (6, 3)
    assert h.change == pytest.approx(1.0)
    assert (h.new_cases, h.resolved, h.confirmed, h.not_fixed) == (6, 2, 1, 1)
    # the inbox's overdue rule at the week's end: the three open potholes (the one reopened
    # included) and both trees; the confirmed one is closed
    assert h.overdue == 5
    admin = officer(ctx, "admin")
    clock.now = brief.end
    assert list_cases(ctx, admin, CaseFilter(overdue=True)).total == h.overdue
    clock.now = NEXT_MONDAY

    by_day = {d.day: d.voices for d in brief.days}
    assert len(brief.days) == 63 and brief.days[-1].day == date(2026, 3, 8)
    assert by_day[date(2026, 3, 2)] == 4 and by_day[date(2026, 3, 5)] == 2
    assert by_day[date(2026, 2, 25)] == 2 and by_day[date(2026, 2, 24)] == 1
    assert [w.voices for w in brief.weeks][-2:] == [3, 6] and len(brief.weeks) == 9
    assert all(d.in_week == (d.day >= WEEK.monday) for d in brief.days)

    backed = seeded["potholes"][0].case_id
    (concern,) = [c for c in brief.concerns if backed in c.case_ids]
    assert concern.previous_rank is None and concern.movement is None
    assert (concern.voices_week, concern.voices_week_before) == (concern.voices, 0)
    assert concern.residents + concern.supports >= 2 and "roads" in concern.departments
    assert HOLE[:4] in concern.label

    departments = {r.department: r for r in brief.departments}
    assert set(departments) == {"roads", "parks"}
    assert departments["roads"].cases_received == 4
    assert departments["roads"].resolved_rate == 0.5
    assert departments["roads"].confirmed_resolution_rate == 0.25
    assert departments["parks"].confirmed_resolution_rate == 0.0

    assert {c.case_id for c in brief.overdue} == {
        *(v.case_id for v in seeded["potholes"] if v.case_id != seeded["potholes"][1].case_id),
        *(v.case_id for v in seeded["trees"]),
    }
    assert dict(brief.overdue_by_department) == {"roads": 3, "parks": 2}
    first = brief.overdue[0]  # due first: Monday's potholes (72 hours) before Thursday's trees
    assert first.department == "roads" and first.days_overdue == 3
    (not_fixed,) = brief.not_fixed
    assert not_fixed.case_id == backed and not_fixed.satisfaction == 1
    assert not_fixed.department == "roads" and not_fixed.comment == "坑还在，一点没修"
    assert brief.name("departments", "roads", "zh") == "道路"
    assert brief.name("departments", "roads", "en") == "Roads"


def test_the_brief_shows_only_public_text(city: City, clock: Clock) -> None:
    ctx = city.ctx
    clock.now = MONDAY
    voice = say(ctx, "Pothole outside my house, call me on 13912345678 or pat@example.org",
                "pothole", title="Pothole, call Pat on 13912345678")
    clock.now = NEXT_MONDAY
    brief = leader_brief(ctx, SYSTEM)
    html = BriefRenderer().html(brief, "en")
    (listed,) = [c for c in brief.overdue if c.case_id == voice.case_id]
    assert listed.title and "13912345678" not in listed.title
    assert "13912345678" not in html and "pat@example.org" not in html
    assert voice.tracking_code not in html


def test_rank_movement_is_against_the_week_before(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The movement compares this week's list with the week before's (the seam to the
    concerns service is faked: two weeks of real concerns need two weeks of history)."""

    def concern(rank: int, key: str) -> ConcernView:
        return ConcernView(
            rank=rank, key=key, label=key, score=10.0 - rank, reasons=[], voices=3,
            residents=2, supports=1, first_at=MONDAY, last_at=MONDAY, case_ids=[],
            voice_ids=None, external_ids=None, departments=["roads"], place=None,
        )

    lists = {
        WEEK.shifted(-1).monday: [concern(1, "a"), concern(2, "b"), concern(3, "c")],
        WEEK.monday: [concern(1, "c"), concern(2, "a"), concern(3, "new")],
    }

    def fake(ctx: Context, actor: Any, *, top: int, since: datetime, until: datetime) -> Any:
        assert actor is None  # the public view: labels through the privacy gate, no ids
        return lists[since.date()][:top]

    monkeypatch.setattr(brief_service, "top_concerns", fake)
    clock.now = NEXT_MONDAY
    lines = leader_brief(city.ctx, SYSTEM).concerns
    assert [(c.key, c.movement) for c in lines] == [("c", 2), ("a", -1), ("new", None)]


def test_who_may_read_the_brief(city: City) -> None:
    ctx = city.ctx
    add_user(ctx, SYSTEM, "mayor", "leader", PASSWORD)
    leader_brief(ctx, officer(ctx, "mayor"))
    leader_brief(ctx, officer(ctx, "admin"))
    for name in ("dispatch", "roads1", "audit"):
        with pytest.raises(PermissionDenied):
            leader_brief(ctx, officer(ctx, name))
    with pytest.raises(PermissionDenied):
        leader_brief(ctx, RESIDENT)


def test_a_week_in_the_city_calendar(ctx: Context, clock: Clock) -> None:
    """On Asia/Shanghai the week starts at 16:00 UTC on Sunday."""
    city_ctx = Context(db=ctx.db, clock=clock,
                       settings=ctx.settings.model_copy(update={"timezone": "Asia/Shanghai"}))
    start, end = brief_service.week_bounds(WEEK, ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    clock.now = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)  # Monday 01:00 in Shanghai
    assert brief_service.default_week(city_ctx) == WEEK


# ---- the documents ------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def drawn_rectangles(pdf: bytes) -> int:
    """Rectangles in the pages' drawing (``re`` operators): SVG bars turned into paths."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    count = 0
    for page in reader.pages:
        content = page.get_contents()
        data = content.get_data() if content is not None else b""
        count += len(re.findall(rb"(?<![A-Za-z])re\n", data))
        for xobject in (page.get("/Resources") or {}).get("/XObject", {}).values():
            stream = xobject.get_object()
            count += len(re.findall(rb"(?<![A-Za-z])re\n", stream.get_data()))
    return count


@pytest.fixture
def seeded_brief(city: City, clock: Clock) -> Brief:
    seed_week(city.ctx, clock)
    return leader_brief(city.ctx, SYSTEM, WEEK)


@pytest.mark.slow
@SQLITE_ONLY
def test_the_chinese_pdf_has_chinese_text_and_its_charts(seeded_brief: Brief) -> None:
    renderer = BriefRenderer()
    pdf = renderer.pdf(seeded_brief, "zh")
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for heading in ("领导周报", "本周数据", "诉求量与趋势", "居民最关心的问题", "未解决问题的热点",
                    "超期案件", "居民表示未解决"):
        assert heading in text, heading
    assert "道路" in text and "园林" in text  # department names in Chinese
    assert HOLE[:6] in re.sub(r"\s", "", text)  # the concern's label and the case titles
    assert "坑还在" in text  # what the resident said
    # the charts: their titles and axis labels are text, their bars vector rectangles
    assert "每日诉求量" in text and "每周诉求量" in text and "各周周一（月-日）" in text
    assert "03-02" in text and "2026-W10" in text and "2026-W02" in text
    bars = len(seeded_brief.weeks) + sum(1 for d in seeded_brief.days if d.voices)
    assert drawn_rectangles(pdf) >= bars
    # no English words besides codes and the statistic's name
    words = set(re.findall(r"[A-Za-z]{2,}", text)) - {"UTC", "Getis", "Ord", "Gi", "PDF"}
    assert words == set(), words


@SQLITE_ONLY
def test_the_chinese_html_has_no_english_words(seeded_brief: Brief) -> None:
    html = BriefRenderer().html(seeded_brief, "zh")
    body = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", body)
    words = set(re.findall(r"[A-Za-z]{2,}", visible)) - {"UTC", "Getis", "Ord", "Gi"}
    assert words == set(), words
    english = html_text.unescape(BriefRenderer().html(seeded_brief, "en"))
    assert "Leader's brief" in english and "Roads" in english and "道路" not in english


@pytest.mark.slow
@SQLITE_ONLY
def test_the_cli_writes_html_and_pdf(
    seeded_brief: Brief, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(tmp_path / "data"))
    html, pdf = tmp_path / "brief.html", tmp_path / "brief.pdf"
    r = CliRunner().invoke(app, ["brief", "--week", "2026-W10", "--lang", "zh", "--format",
                                 "html", "-o", str(html), "--no-refresh"])
    assert r.exit_code == 0, r.output
    assert "领导周报 · 2026-W10" in html.read_text(encoding="utf-8")
    r = CliRunner().invoke(app, ["brief", "--week", "2026-W10", "--lang", "en", "-o", str(pdf)])
    assert r.exit_code == 0, r.output
    assert "Leader's brief" in pdf_text(pdf.read_bytes())
    bad = CliRunner().invoke(app, ["brief", "--week", "2026-W60", "-o", str(html)])
    assert bad.exit_code == 2 and "no ISO week 60" in bad.output


# ---- the staff page -----------------------------------------------------------------------


def login(city: City, username: str) -> None:
    city.client.cookies.clear()
    city.client.cookies.set("cp_csrf", "brief-csrf-token-0123456789")
    r = city.client.post("/staff/login", data={
        "csrf_token": "brief-csrf-token-0123456789", "username": username,
        "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_the_staff_page_is_for_leaders_and_admins(city: City, clock: Clock) -> None:
    add_user(city.ctx, SYSTEM, "mayor", "leader", PASSWORD)
    client = city.client
    client.cookies.clear()
    r = client.get("/staff/brief", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/staff/login")
    assert client.get("/staff/brief.pdf", follow_redirects=False).status_code == 303
    for name in ("dispatch", "roads1", "audit"):
        login(city, name)
        assert client.get("/staff/brief").status_code == 403
        assert client.get("/staff/brief.pdf").status_code == 403
        assert "/staff/brief" not in client.get("/staff").text  # not offered either
    clock.now = NEXT_MONDAY
    login(city, "mayor")
    page = client.get("/staff/brief?lang=zh")
    assert page.status_code == 200 and "领导周报 · 2026-W10" in page.text
    assert 'href="/staff/brief?week=2026-W09"' in page.text
    assert 'href="/staff/brief?week=2026-W11"' in page.text  # the week under way
    assert "/staff/brief.pdf?week=2026-W10&amp;lang=zh" in page.text
    assert client.get("/staff/brief?week=2026-W05").text.count("2026-W05") >= 2
    assert client.get("/staff/brief?week=soon").status_code == 422
    login(city, "admin")
    assert client.get("/staff/brief?week=2026-W10&lang=en").status_code == 200
    assert 'href="/staff/brief"' in client.get("/staff").text


@pytest.mark.slow
@SQLITE_ONLY
def test_the_staff_pdf_is_a_pdf(city: City, clock: Clock) -> None:
    clock.now = NEXT_MONDAY
    login(city, "admin")
    r = city.client.get("/staff/brief.pdf?week=2026-W10&lang=zh")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "civicpulse-brief-2026-W10-zh.pdf" in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "private, no-store"
    assert "领导周报" in pdf_text(r.content)


# ---- the weekly mail ----------------------------------------------------------------------


def mailing(ctx: Context, **settings: Any) -> Context:
    return Context(db=ctx.db, clock=ctx.clock, settings=ctx.settings.model_copy(update={
        "brief_recipients": "mayor@city.test, deputy@city.test", **settings}))


def count(ctx: Context, model: Any) -> int:
    with ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


class NoPdf(BriefRenderer):
    """The same mail without WeasyPrint's seconds: the PDF's bytes are not the point here."""

    def pdf(self, brief: Brief, lang: str) -> bytes:
        return f"%PDF-1.7 {brief.week} {lang}".encode()


def test_the_weekly_step_queues_the_brief_once(city: City, clock: Clock) -> None:
    ctx = mailing(city.ctx, brief_send_hour=7)
    clock.now = datetime(2026, 3, 9, 6, 59, tzinfo=UTC)  # Monday, before the send hour
    assert mail_weekly_brief(ctx, NoPdf()) == 0
    clock.now = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert mail_weekly_brief(ctx, NoPdf()) == 2
    assert mail_weekly_brief(ctx, NoPdf()) == 0  # run twice: nothing more
    clock.advance(days=3)
    assert mail_weekly_brief(ctx, NoPdf()) == 0  # later in the week: still the same week
    with ctx.db.reader() as s:
        rows = s.execute(select(BriefMailing.week, BriefMailing.recipient)).all()
        messages = s.execute(select(OutboxMessage.subject, OutboxMessage.body)).all()
        attachments = s.scalars(select(OutboxAttachment.filename)).all()
    assert sorted(rows) == [("2026-W10", "deputy@city.test"), ("2026-W10", "mayor@city.test")]
    assert {subject for subject, _ in messages} == {"领导周报 2026-W10"}
    body = messages[0].body  # both languages, Chinese first
    assert body.index("领导周报") < body.index("The leader's brief of 2026-W10")
    assert "/staff/brief?week=2026-W10" in body
    assert sorted(attachments) == sorted(
        f"civicpulse-brief-2026-W10-{lang}.pdf" for lang in ("zh", "en") for _ in range(2))
    # a recipient added later gets the week's brief once; nobody else gets it again
    more = Context(db=ctx.db, clock=ctx.clock, settings=ctx.settings.model_copy(update={
        "brief_recipients": "mayor@city.test, deputy@city.test, new@city.test"}))
    assert mail_weekly_brief(more, NoPdf()) == 1
    assert mail_weekly_brief(more, NoPdf()) == 0
    # the next Monday brings the next week's
    clock.now = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert mail_weekly_brief(more, NoPdf()) == 3
    assert count(ctx, OutboxMessage) == 6


def test_two_workers_racing_queue_it_once(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both saw nobody served yet; the key lets only the first one's mail through."""
    from civicpulse.reports import brief_mail

    ctx = mailing(city.ctx)
    clock.now = NEXT_MONDAY
    seen = brief_mail.briefs_due(ctx, WEEK, ctx.settings.brief_recipient_list)
    monkeypatch.setattr(brief_mail, "briefs_due", lambda *_: list(seen))
    assert mail_weekly_brief(ctx, NoPdf()) == 2
    assert mail_weekly_brief(ctx, NoPdf()) == 0  # the loser: both inserts refused
    assert count(ctx, OutboxMessage) == 2 and count(ctx, OutboxAttachment) == 4


@pytest.mark.slow
@SQLITE_ONLY
def test_no_recipients_no_mail_and_the_job_pass_runs_it(city: City, clock: Clock) -> None:
    clock.now = NEXT_MONDAY
    assert mail_weekly_brief(city.ctx) == 0  # the setting is empty by default
    ctx = mailing(city.ctx, brief_languages="en")
    transport = SpoolTransport(ctx.settings.mail_spool_path)
    report = run_once(ctx, transport)
    assert report.briefs_queued == 2
    assert run_once(ctx, transport).briefs_queued == 0
    assert count(ctx, OutboxAttachment) == 2


def test_the_spool_writes_the_whole_message_with_its_attachment(
    city: City, clock: Clock
) -> None:
    ctx = mailing(city.ctx, brief_recipients="mayor@city.test", brief_languages="zh")
    clock.now = NEXT_MONDAY
    assert mail_weekly_brief(ctx, NoPdf()) == 1
    transport = SpoolTransport(ctx.settings.mail_spool_path, ctx.settings.mail_from)
    assert deliver_pending(ctx, transport) == (1, 0)
    assert deliver_pending(ctx, transport) == (0, 0)  # a retried pass sends nothing again
    (line,) = ctx.settings.mail_spool_path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["to"] == "mayor@city.test" and entry["subject"] == "领导周报 2026-W10"
    assert entry["attachments"] == ["civicpulse-brief-2026-W10-zh.pdf"]
    message = email.message_from_bytes(Path(entry["eml"]).read_bytes(), policy=policy.default)
    assert message["To"] == "mayor@city.test" and message["Subject"] == "领导周报 2026-W10"
    assert message.is_multipart()
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "civicpulse-brief-2026-W10-zh.pdf"
    assert part.get_content() == b"%PDF-1.7 2026-W10 zh"
    assert "附件为 2026-W10" in message.get_body(("plain",)).get_content()



def test_a_burst_that_started_in_the_week_is_listed_once(city: City, clock: Clock) -> None:
    """Two fallen trees a day for nine weeks, then twenty on the Wednesday of the week: one
    burst of the category, however many days its windows keep finding it."""
    ctx = city.ctx
    first = WEEK.monday - timedelta(days=63)
    for i in range(63):
        day = datetime.combine(first + timedelta(days=i), datetime.min.time(), UTC)
        for hour in (9, 15):
            say(ctx, f"树倒了 {i} {hour}", "tree", occurred_at=day + timedelta(hours=hour),
                historical=True)
    wednesday = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    for i in range(20):
        say(ctx, f"大风吹倒很多树 {i}", "tree", occurred_at=wednesday + timedelta(minutes=i),
            historical=True)
    clock.now = NEXT_MONDAY
    brief = leader_brief(ctx, SYSTEM)
    trees = [b for b in brief.bursts if (b.kind, b.code) == ("category", "tree")]
    assert len(trees) == 1, brief.bursts
    (burst,) = trees
    assert burst.start == date(2026, 3, 4) and burst.observed >= 20
    assert burst.ratio > 3 and burst.q_value <= 0.01
    assert brief.name("categories", "tree", "zh") == "树木倒伏"
    assert (brief.headline.voices, brief.headline.voices_week_before) == (20, 14)


def test_smtp_sends_the_pdf_as_a_mime_part(city: City, clock: Clock) -> None:
    """The real SMTP transport, against a local SMTP server, carries the attachment."""
    from aiosmtpd.controller import Controller

    from civicpulse.channels.mail import SmtpTransport
    from tests.integration.test_outbox_jobs import Inbox, free_port

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ctx = mailing(city.ctx, brief_recipients="mayor@city.test", brief_languages="en",
                      smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
        clock.now = NEXT_MONDAY
        assert mail_weekly_brief(ctx, NoPdf()) == 1
        assert deliver_pending(ctx, SmtpTransport(ctx.settings)) == (1, 0)
        assert deliver_pending(ctx, SmtpTransport(ctx.settings)) == (0, 0)
    finally:
        controller.stop()
    ((rcpts, _, raw),) = inbox.messages
    assert rcpts == ["mayor@city.test"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "Leader's brief 2026-W10" and message.is_multipart()
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "civicpulse-brief-2026-W10-en.pdf"
    assert part.get_content() == b"%PDF-1.7 2026-W10 en"
