"""Notifications through the outbox, their delivery, and the deadline job, on a test clock."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from civicpulse.channels.mail import SmtpTransport, SpoolTransport, transport_for
from civicpulse.domain.errors import InvalidTransition
from civicpulse.domain.roles import RESIDENT, SYSTEM
from civicpulse.infra.context import Context
from civicpulse.jobs.runner import run_once
from civicpulse.services import case_change, verdicts
from civicpulse.services import cases as case_service
from civicpulse.services import deadlines as deadline_service
from civicpulse.services import voices as voice_service
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.deadlines import run_deadlines
from civicpulse.services.outbox import deliver_pending
from civicpulse.services.scorecards import department_scorecards
from civicpulse.services.staff import staff_actor
from civicpulse.services.voices import Contact, VoiceInput, submit_voice
from civicpulse.storage.tables import (
    Case,
    CaseEvent,
    OutboxDelivery,
    OutboxMessage,
    StaffUser,
    Voice,
)
from tests.city import City
from tests.conftest import Clock

RESIDENT_MAIL = "resident@example.org"


# ---- helpers --------------------------------------------------------------------------------


def outbox(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.reader() as s:
        return [
            {"id": m.id, "recipient": m.recipient, "subject": m.subject, "body": m.body,
             "case_id": m.case_id, "status": m.status, "attempts": m.attempts,
             "next_attempt_at": m.next_attempt_at, "sent_at": m.sent_at}
            for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def deliveries(ctx: Context, message_id: int) -> list[dict[str, Any]]:
    with ctx.db.reader() as s:
        return [
            {"attempt": d.attempt, "transport": d.transport, "ok": d.ok, "detail": d.detail,
             "at": d.at}
            for d in s.scalars(select(OutboxDelivery).where(OutboxDelivery.message_id ==
                                                            message_id).order_by(OutboxDelivery.id))
        ]


def case_row(ctx: Context, case_id: int) -> dict[str, Any]:
    with ctx.db.reader() as s:
        c = s.get(Case, case_id)
        assert c is not None
        return {"status": c.status, "version": c.version, "level": c.escalation_level,
                "last_escalated_at": c.last_escalated_at, "closed_at": c.closed_at}


def events(ctx: Context, case_id: int, kind: str) -> list[dict[str, Any]]:
    with ctx.db.reader() as s:
        return [
            {"actor": e.actor, "data": e.data, "public": e.public, "at": e.created_at,
             "message": e.message}
            for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.kind == kind))
        ]


def count(ctx: Context, model: Any) -> int:
    with ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def officer(ctx: Context, username: str = "roads1") -> Any:
    with ctx.db.reader() as s:
        return staff_actor(s.scalars(select(StaffUser).where(StaffUser.username == username))
                           .one())


def with_settings(ctx: Context, **changes: Any) -> Context:
    return Context(db=ctx.db, settings=ctx.settings.model_copy(update=changes), clock=ctx.clock)


def submit(ctx: Context, text: str = "Pothole by the bus stop", **kw: Any) -> Any:
    return submit_voice(ctx, RESIDENT, VoiceInput(text=text, **kw))


class BrokenTransport:
    name = "broken"

    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.fail_for = fail_for
        self.sent: list[str] = []

    def send(self, recipient: str, subject: str, body: str) -> str:
        if self.fail_for is None or recipient in self.fail_for:
            raise ConnectionRefusedError(f"mail relay down for {recipient}")
        self.sent.append(recipient)
        return "ok"


# ---- queued in the same transaction ---------------------------------------------------------


def test_voice_with_email_queues_received_mail(city: City) -> None:
    r = city.client.post("/api/v1/voices", json={
        "text": "A fallen branch blocks the path", "contact": {"email": RESIDENT_MAIL}})
    assert r.status_code == 201, r.text
    v = r.json()
    (mail,) = outbox(city.ctx)
    assert mail["recipient"] == RESIDENT_MAIL
    assert mail["case_id"] == v["case_id"]
    assert mail["status"] == "pending" and mail["attempts"] == 0
    assert v["tracking_code"] in mail["subject"]
    assert f"/track/{v['tracking_code']}" in mail["body"]
    assert mail["next_attempt_at"] == city.ctx.now()


def test_chinese_voice_gets_chinese_mail_and_department_is_told(city: City) -> None:
    v = city.client.post("/api/v1/voices", json={
        "text": "学校门口的路面有一个很深的坑", "category": "pothole",
        "contact": {"email": RESIDENT_MAIL}}).json()
    mails = {m["recipient"]: m for m in outbox(city.ctx)}
    assert set(mails) == {RESIDENT_MAIL, "roads@city.test"}
    assert mails[RESIDENT_MAIL]["subject"] == f"您的诉求已受理（{v['tracking_code']}）"
    assert mails["roads@city.test"]["subject"].startswith(f"New case {v['case_id']}")


def test_voice_without_contact_queues_nothing_for_the_resident(city: City) -> None:
    city.client.post("/api/v1/voices", json={"text": "Graffiti on the wall"})
    assert outbox(city.ctx) == []


def test_invalid_transition_queues_nothing(city: City) -> None:
    ctx = city.ctx
    v = submit(ctx, category="pothole", contact=Contact(email=RESIDENT_MAIL))
    before = outbox(ctx)
    r = city.client.post(f"/api/v1/track/{v.tracking_code}/verification",
                         json={"fixed": True, "satisfaction": 5})
    assert r.status_code == 409
    with pytest.raises(InvalidTransition):
        verdicts.contest_rejection(ctx, RESIDENT, v.tracking_code, "please")
    assert outbox(ctx) == before


def test_failure_after_queueing_rolls_the_mail_back(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail is added, then the transaction dies: no mail may survive the rollback."""
    ctx = city.ctx
    v = submit(ctx, category="pothole", contact=Contact(email=RESIDENT_MAIL))
    before_mail, before_case = outbox(ctx), case_row(ctx, v.case_id)

    def audit_down(*_: Any, **__: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(case_change, "append_audit", audit_down)
    with pytest.raises(RuntimeError):
        case_service.resolve_case(ctx, officer(ctx), v.case_id, "Filled the hole")
    monkeypatch.setattr(voice_service, "append_audit", audit_down)
    voices_before = count(ctx, Voice)
    with pytest.raises(RuntimeError):
        submit(ctx, text="another", contact=Contact(email="other@example.org"))
    monkeypatch.undo()

    assert outbox(ctx) == before_mail
    assert case_row(ctx, v.case_id) == before_case
    assert count(ctx, Voice) == voices_before
    assert verify_audit_log(ctx.db)[1] == []


# ---- delivery -------------------------------------------------------------------------------


def test_spool_transport_writes_json_lines_and_records_delivery(city: City) -> None:
    ctx = city.ctx
    v = submit(ctx, text="路灯不亮", contact=Contact(email=RESIDENT_MAIL))
    transport = transport_for(ctx.settings)
    assert isinstance(transport, SpoolTransport)
    assert deliver_pending(ctx, transport) == (1, 0)
    lines = ctx.settings.mail_spool_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    sent = json.loads(lines[0])
    assert sent["to"] == RESIDENT_MAIL
    assert v.tracking_code in sent["subject"] and "受理" in sent["subject"]
    assert v.tracking_code in sent["body"]
    (mail,) = outbox(ctx)
    assert mail["status"] == "sent" and mail["attempts"] == 1 and mail["sent_at"] == ctx.now()
    (d,) = deliveries(ctx, mail["id"])
    assert d["ok"] is True and d["transport"] == "file" and d["attempt"] == 1
    assert str(ctx.settings.mail_spool_path) in d["detail"]
    # a second pass sends nothing twice
    assert deliver_pending(ctx, transport) == (0, 0)
    assert len(ctx.settings.mail_spool_path.read_text(encoding="utf-8").splitlines()) == 1


class Inbox:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], str, bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.mail_from, envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_real_smtp_server_receives_the_mail(city: City, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    ctx = with_settings(city.ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                        mail_from="city@civicpulse.test")
    v = submit(ctx, text="路面塌陷", contact=Contact(email=RESIDENT_MAIL))
    transport = transport_for(ctx.settings)
    assert isinstance(transport, SmtpTransport)
    assert deliver_pending(ctx, transport) == (1, 0)
    (rcpts, sender, raw) = inbox.messages[0]
    assert rcpts == [RESIDENT_MAIL] and sender == "city@civicpulse.test"
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == f"您的诉求已受理（{v.tracking_code}）"
    assert msg["To"] == RESIDENT_MAIL
    assert v.tracking_code in msg.get_body().get_content()  # type: ignore[union-attr]
    (mail,) = outbox(ctx)
    assert mail["status"] == "sent"
    (d,) = deliveries(ctx, mail["id"])
    assert d["ok"] and d["transport"] == "smtp" and f"127.0.0.1:{port}" in d["detail"]


def test_smtp_refusal_is_recorded_and_retried(
    city: City, clock: Clock, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    inbox.refuse = True
    ctx = with_settings(city.ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    submit(ctx, contact=Contact(email=RESIDENT_MAIL))
    transport = transport_for(ctx.settings)
    assert deliver_pending(ctx, transport) == (0, 1)
    (mail,) = outbox(ctx)
    assert mail["status"] == "pending" and mail["attempts"] == 1
    (d,) = deliveries(ctx, mail["id"])
    assert d["ok"] is False and "550" in d["detail"]
    inbox.refuse = False
    clock.advance(seconds=ctx.settings.outbox_backoff_seconds)
    assert deliver_pending(ctx, transport) == (1, 0)
    assert len(inbox.messages) == 1 and outbox(ctx)[0]["status"] == "sent"


def test_unreachable_smtp_server_is_a_recorded_failure(city: City) -> None:
    ctx = with_settings(city.ctx, smtp_host="127.0.0.1", smtp_port=free_port(),
                        smtp_starttls=False)
    submit(ctx, contact=Contact(email=RESIDENT_MAIL))
    assert deliver_pending(ctx, transport_for(ctx.settings)) == (0, 1)
    (mail,) = outbox(ctx)
    assert deliveries(ctx, mail["id"])[0]["ok"] is False


def test_failing_transport_backs_off_then_gives_up(city: City, clock: Clock) -> None:
    ctx = with_settings(city.ctx, outbox_max_attempts=4, outbox_backoff_seconds=30.0)
    submit(ctx, contact=Contact(email=RESIDENT_MAIL))
    transport = BrokenTransport()
    waits = []
    for attempt in range(1, 5):
        assert deliver_pending(ctx, transport) == (0, 1)
        (mail,) = outbox(ctx)
        assert mail["attempts"] == attempt
        if attempt < 4:
            assert mail["status"] == "pending"
            wait = mail["next_attempt_at"] - ctx.now()
            waits.append(wait.total_seconds())
            # not due a moment early...
            clock.advance(seconds=wait.total_seconds() - 1)
            assert deliver_pending(ctx, transport) == (0, 0)
            clock.advance(seconds=1)
        else:
            assert mail["status"] == "failed"
    assert waits == [30.0, 60.0, 120.0]  # doubling
    (mail,) = outbox(ctx)
    history = deliveries(ctx, mail["id"])
    assert [d["attempt"] for d in history] == [1, 2, 3, 4]
    assert all(d["ok"] is False and d["transport"] == "broken" for d in history)
    assert all("ConnectionRefusedError: mail relay down" in d["detail"] for d in history)
    assert len({d["at"] for d in history}) == 4
    clock.advance(days=30)
    assert deliver_pending(ctx, transport) == (0, 0)  # failed is final
    assert len(deliveries(ctx, mail["id"])) == 4


def test_one_bad_address_does_not_hold_back_the_rest(city: City) -> None:
    ctx = city.ctx
    submit(ctx, contact=Contact(email="bad@example.org"))
    submit(ctx, contact=Contact(email="good@example.org"))
    transport = BrokenTransport(fail_for={"bad@example.org"})
    assert deliver_pending(ctx, transport) == (1, 1)
    assert transport.sent == ["good@example.org"]
    status = {m["recipient"]: m["status"] for m in outbox(ctx)}
    assert status == {"bad@example.org": "pending", "good@example.org": "sent"}


def test_job_pass_runs_deadlines_and_delivery(city: City, clock: Clock) -> None:
    ctx = city.ctx
    submit(ctx, category="pothole", contact=Contact(email=RESIDENT_MAIL))
    clock.advance(hours=25)
    report = run_once(ctx, SpoolTransport(ctx.settings.mail_spool_path))
    # received + new-case + overdue mails all go out in the same pass
    assert (report.escalated, report.unverified, report.sent, report.failed) == (1, 0, 3, 0)


# ---- the deadline job -----------------------------------------------------------------------


def overdue_mails(ctx: Context, case_id: int) -> list[dict[str, Any]]:
    return [m for m in outbox(ctx) if m["subject"].startswith(f"OVERDUE case {case_id}")]


def test_overdue_case_is_escalated_and_repeated(city: City, clock: Clock) -> None:
    ctx = city.ctx
    v = submit(ctx, category="pothole")  # first response due in 24 h, resolution in 72 h
    start = ctx.now()
    clock.advance(hours=24)
    assert run_deadlines(ctx).escalated == 0  # due, not yet overdue
    clock.advance(minutes=1)
    assert run_deadlines(ctx).escalated == 1
    row = case_row(ctx, v.case_id)
    assert row["level"] == 1 and row["last_escalated_at"] == ctx.now()
    assert row["status"] == "assigned"  # escalation changes no state
    (e,) = events(ctx, v.case_id, "escalated")
    assert e["data"] == {"broken": "first_response"} and e["public"] is False
    assert e["actor"] == "system:deadlines"
    (mail,) = overdue_mails(ctx, v.case_id)
    assert mail["recipient"] == "roads@city.test"
    assert "first response deadline" in mail["body"]

    clock.advance(minutes=1)
    assert run_deadlines(ctx).escalated == 0
    clock.advance(hours=23, minutes=58)
    assert run_deadlines(ctx).escalated == 0  # 23 h 59 min since the last one
    clock.advance(minutes=1)
    assert run_deadlines(ctx).escalated == 1
    assert case_row(ctx, v.case_id)["level"] == 2
    assert len(events(ctx, v.case_id, "escalated")) == 2
    assert len(overdue_mails(ctx, v.case_id)) == 2

    clock.now = start + timedelta(hours=73, minutes=1)
    assert run_deadlines(ctx).escalated == 1
    assert [e["data"]["broken"] for e in events(ctx, v.case_id, "escalated")] == [
        "first_response", "first_response", "resolution"]
    assert verify_audit_log(ctx.db)[1] == []


def test_answer_stops_first_response_escalation(city: City, clock: Clock) -> None:
    ctx = city.ctx
    v = submit(ctx, category="tree")  # parks: first response 4 h, resolution 48 h
    clock.advance(hours=4, minutes=1)
    assert run_deadlines(ctx).escalated == 1
    case_service.reply_case(ctx, officer(ctx, "parks1"), v.case_id, "Crew on the way", True)
    clock.advance(hours=30)  # past the repeat interval, before the resolution deadline
    assert run_deadlines(ctx).escalated == 0
    clock.advance(hours=14)  # now past 48 h
    assert run_deadlines(ctx).escalated == 1
    assert [e["data"]["broken"] for e in events(ctx, v.case_id, "escalated")] == [
        "first_response", "resolution"]


def test_closed_and_resolved_cases_are_not_escalated(city: City, clock: Clock) -> None:
    ctx = city.ctx
    resolved = submit(ctx, category="pothole")
    rejected = submit(ctx, category="pothole")
    case_service.resolve_case(ctx, officer(ctx), resolved.case_id, "Fixed")
    case_service.reject_case(ctx, officer(ctx), rejected.case_id, "Private road")
    clock.advance(hours=100)
    assert run_deadlines(ctx).escalated == 0


def test_two_workers_escalate_a_case_once(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both workers see the case overdue before either writes: it is escalated once."""
    ctx = city.ctx
    v = submit(ctx, category="pothole")
    clock.advance(hours=25)
    real = deadline_service.mark_escalated
    both_read = threading.Barrier(2, timeout=10)

    def after_both_read(*args: Any, **kw: Any) -> Any:
        both_read.wait()
        return real(*args, **kw)

    monkeypatch.setattr(deadline_service, "mark_escalated", after_both_read)
    reports: list[Any] = []
    workers = [threading.Thread(target=lambda: reports.append(run_deadlines(ctx)))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert len(reports) == 2
    assert case_row(ctx, v.case_id)["level"] == 1
    assert len(events(ctx, v.case_id, "escalated")) == 1
    assert len(overdue_mails(ctx, v.case_id)) == 1
    assert sum(r.escalated for r in reports) == 1


def _resolve_at(ctx: Context, case_id: int) -> datetime:
    case_service.resolve_case(ctx, officer(ctx), case_id, "Filled and rolled")
    return ctx.now()


def test_unanswered_resolution_becomes_unverified(city: City, clock: Clock) -> None:
    ctx = city.ctx
    v = submit(ctx, category="pothole", contact=Contact(email=RESIDENT_MAIL))
    _resolve_at(ctx, v.case_id)
    clock.advance(days=ctx.settings.verification_days)
    assert run_deadlines(ctx).unverified == 0  # the last moment still belongs to the resident
    assert case_row(ctx, v.case_id)["status"] == "resolved"
    clock.advance(minutes=1)
    assert run_deadlines(ctx).unverified == 1
    row = case_row(ctx, v.case_id)
    assert row["status"] == "unverified" and row["closed_at"] == ctx.now()
    (e,) = events(ctx, v.case_id, "expire_verification")
    assert e["actor"] == SYSTEM.label
    assert run_deadlines(ctx).unverified == 0  # only once

    r = city.client.post(f"/api/v1/track/{v.tracking_code}/verification",
                         json={"fixed": True, "satisfaction": 5})
    assert r.status_code == 409
    assert "unverified" in r.json()["detail"]
    assert case_row(ctx, v.case_id)["status"] == "unverified"
    track = city.client.get(f"/api/v1/track/{v.tracking_code}").json()
    assert track["status"] == "unverified" and track["awaiting_verification"] is False


def test_late_verdict_before_the_job_runs_is_refused(city: City, clock: Clock) -> None:
    ctx = city.ctx
    v = submit(ctx, category="pothole")
    _resolve_at(ctx, v.case_id)
    clock.advance(days=ctx.settings.verification_days, seconds=1)
    r = city.client.post(f"/api/v1/track/{v.tracking_code}/verification",
                         json={"fixed": True, "satisfaction": 5})
    assert r.status_code == 422 and "passed" in r.json()["detail"]
    assert case_row(ctx, v.case_id)["status"] == "resolved"
    assert run_deadlines(ctx).unverified == 1


def test_unverified_never_counts_as_confirmed(city: City, clock: Clock) -> None:
    ctx = city.ctx
    confirmed = submit(ctx, category="pothole")
    silent = submit(ctx, category="pothole")
    _resolve_at(ctx, confirmed.case_id)
    _resolve_at(ctx, silent.case_id)
    verdicts.verify_resolution(ctx, RESIDENT, confirmed.tracking_code, True, 5, None)
    clock.advance(days=ctx.settings.verification_days + 1)
    assert run_deadlines(ctx).unverified == 1
    card = {r.department: r for r in department_scorecards(ctx, None, None)}
    roads = card["roads"]
    assert roads.cases_received == 2
    assert roads.resolved_rate == 1.0  # the office said "resolved" twice...
    assert roads.confirmed_resolution_rate == 0.5  # ...residents confirmed once
    assert roads.verified_sample_size == 1
    assert roads.satisfaction_mean == 5.0

    only_silent = submit(ctx, category="tree")
    case_service.resolve_case(ctx, officer(ctx, "parks1"), only_silent.case_id, "Removed")
    clock.advance(days=ctx.settings.verification_days + 1)
    run_deadlines(ctx)
    parks = {r.department: r for r in department_scorecards(ctx, None, None)}["parks"]
    assert parks.resolved_rate == 1.0
    assert parks.confirmed_resolution_rate == 0.0
    assert parks.satisfaction_mean is None
