"""Two people acting on the same case at the same moment: exactly one wins, nothing is torn."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from civicpulse.domain.errors import Conflict, InvalidTransition
from civicpulse.domain.roles import RESIDENT, Actor
from civicpulse.infra.context import Context
from civicpulse.services import cases as svc
from civicpulse.services import verdicts
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.staff import staff_actor
from civicpulse.services.voices import Contact, VoiceInput, submit_voice
from civicpulse.storage.tables import (
    AuditEntry,
    Case,
    CaseEvent,
    OutboxMessage,
    StaffUser,
    Verification,
)
from tests.city import City

ROUNDS = 10
LOSING = (Conflict, InvalidTransition)



def actor(ctx: Context, username: str) -> Actor:
    with ctx.db.reader() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return staff_actor(user)


def new_case(ctx: Context, **kw: Any) -> tuple[int, str]:
    r = submit_voice(ctx, RESIDENT, VoiceInput(
        text="Pothole by the bus stop", category="pothole",
        contact=Contact(email="resident@example.org"), **kw))
    assert r.department == "roads"
    return r.case_id, r.tracking_code


def race(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls at the same instant in threads; (ok|err, result|exception) each."""
    barrier = threading.Barrier(len(calls))
    out: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = ("ok", call())
        except Exception as exc:
            out[i] = ("err", exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(not t.is_alive() for t in threads), "a racer hung"
    return out


def one_winner(results: list[tuple[str, Any]]) -> tuple[int, Any]:
    winners = [i for i, (kind, _) in enumerate(results) if kind == "ok"]
    losers = [r for kind, r in results if kind != "ok"]
    assert len(winners) == 1, results
    for exc in losers:
        assert isinstance(exc, LOSING), f"loser got {type(exc).__name__}: {exc!r}"
        assert exc.message  # a sentence for the person who lost
    return winners[0], results[winners[0]][1]


@dataclass
class Snapshot:
    status: str
    version: int
    resolution_count: int
    events: list[dict[str, Any]]


def case_state(ctx: Context, case_id: int) -> Snapshot:
    """The case and its timeline as plain values, read after the race is over."""
    with ctx.db.reader() as s:
        case = s.get(Case, case_id)
        assert case is not None
        events = [
            {"kind": e.kind, "message": e.message, "actor": e.actor, "data": e.data}
            for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                               .order_by(CaseEvent.id))
        ]
        return Snapshot(case.status, case.version, case.resolution_count, events)


def count(ctx: Context, model: Any, *where: Any) -> int:
    with ctx.db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_two_officers_resolve_at_once(city: City) -> None:
    ctx = city.ctx
    a, b = actor(ctx, "roads1"), actor(ctx, "roads2")
    outcomes: set[str] = set()
    for n in range(ROUNDS):
        case_id, _ = new_case(ctx)
        messages = (f"round {n}: filled by roads1", f"round {n}: filled by roads2")
        results = race(
            lambda cid=case_id, m=messages[0]: svc.resolve_case(ctx, a, cid, m),
            lambda cid=case_id, m=messages[1]: svc.resolve_case(ctx, b, cid, m),
        )
        winner, result = one_winner(results)
        outcomes.update(type(r).__name__ for k, r in results if k == "err")
        case = case_state(ctx, case_id)
        assert case.status == "resolved" and result.status == "resolved"
        assert case.version == result.version == 2  # created at 1, one change
        assert case.resolution_count == 1
        resolves = [e for e in case.events if e["kind"] == "resolve"]
        assert len(resolves) == 1
        assert resolves[0]["message"] == messages[winner]
        assert resolves[0]["actor"] == ("staff:roads1", "staff:roads2")[winner]
        assert count(ctx, AuditEntry, AuditEntry.action == "case.resolve",
                     AuditEntry.subject == f"case:{case_id}") == 1
        assert count(ctx, OutboxMessage, OutboxMessage.case_id == case_id,
                     OutboxMessage.recipient == "resident@example.org",
                     OutboxMessage.subject.like("Was it really fixed%")) == 1
    assert outcomes <= {"Conflict", "InvalidTransition"}
    _, problems = verify_audit_log(ctx.db)
    assert problems == []


def test_resolve_and_reject_race(city: City) -> None:
    ctx = city.ctx
    a, b = actor(ctx, "roads1"), actor(ctx, "roads2")
    for _ in range(ROUNDS):
        case_id, _ = new_case(ctx)
        results = race(
            lambda cid=case_id: svc.resolve_case(ctx, a, cid, "done"),
            lambda cid=case_id: svc.reject_case(ctx, b, cid, "not ours"),
        )
        winner, result = one_winner(results)
        case = case_state(ctx, case_id)
        assert case.status == ("resolved", "rejected")[winner] == result.status
        assert case.version == 2
        acted = [e["kind"] for e in case.events if e["kind"] in ("resolve", "reject")]
        assert acted == [("resolve", "reject")[winner]]
    assert verify_audit_log(ctx.db)[1] == []


def test_two_dispatchers_transfer_with_the_same_version(city: City) -> None:
    ctx = city.ctx
    d1 = Actor(kind="staff", name="dispatch-a", role=actor(ctx, "dispatch").role)
    d2 = Actor(kind="staff", name="dispatch-b", role=d1.role)
    for _ in range(ROUNDS):
        case_id, _ = new_case(ctx)
        results = race(
            lambda cid=case_id: svc.transfer_case(ctx, d1, cid, "parks", "trees", 1),
            lambda cid=case_id: svc.transfer_case(ctx, d2, cid, "north-roads", "north", 1),
        )
        winner, result = one_winner(results)
        loser = results[1 - winner][1]
        assert isinstance(loser, Conflict), repr(loser)  # same version: never a 2nd arrow
        case = case_state(ctx, case_id)
        target = ("parks", "north-roads")[winner]
        assert result.department == target
        assert case.version == 2
        transfers = [e for e in case.events if e["kind"] == "transfer"]
        assert len(transfers) == 1
        assert transfers[0]["data"] == {"department": target}
    assert verify_audit_log(ctx.db)[1] == []


def test_resident_double_submits_a_verdict(city: City) -> None:
    """Two verdicts on one resolution at once (a double tap): one counts, no crash."""
    ctx = city.ctx
    officer = actor(ctx, "roads1")
    for n in range(ROUNDS):
        case_id, code = new_case(ctx)
        svc.resolve_case(ctx, officer, case_id, "fixed")
        results = race(
            lambda c=code: verdicts.verify_resolution(ctx, RESIDENT, c, True, 5, None),
            lambda c=code, n=n: verdicts.verify_resolution(ctx, RESIDENT, c, False, 1, f"no {n}"),
        )
        winner, result = one_winner(results)
        case = case_state(ctx, case_id)
        assert case.status == ("confirmed", "reopened")[winner] == result.status
        assert count(ctx, Verification, Verification.case_id == case_id) == 1
    assert verify_audit_log(ctx.db)[1] == []


def test_concurrent_http_requests_on_one_case(city: City) -> None:
    c = city.client
    h1, h2 = city.token("roads1"), city.token("roads2")
    for _ in range(5):
        case_id, _ = new_case(city.ctx)
        results = race(
            lambda cid=case_id: c.post(f"/api/v1/cases/{cid}/resolve",
                                       json={"message": "one"}, headers=h1),
            lambda cid=case_id: c.post(f"/api/v1/cases/{cid}/resolve",
                                       json={"message": "two"}, headers=h2),
        )
        codes = sorted(r.status_code for _, r in results)
        assert codes == [200, 409], [r.text for _, r in results]
        loser = next(r for _, r in results if r.status_code == 409)
        assert loser.json()["detail"]
        case = case_state(city.ctx, case_id)
        assert case.version == 2
        assert [e["kind"] for e in case.events].count("resolve") == 1


def test_stale_version_is_refused_with_409(city: City) -> None:
    c = city.client
    officer = city.token("roads1")
    case_id, _ = new_case(city.ctx)
    r = c.post(f"/api/v1/cases/{case_id}/start", json={"version": 1}, headers=officer)
    assert r.status_code == 200 and r.json()["version"] == 2
    before = case_state(city.ctx, case_id)
    audit_before = count(city.ctx, AuditEntry)

    stale = c.post(f"/api/v1/cases/{case_id}/resolve",
                   json={"message": "done", "version": 1}, headers=officer)
    assert stale.status_code == 409
    detail = stale.json()["detail"]
    assert "version 2" in detail and "reload" in detail

    future = c.post(f"/api/v1/cases/{case_id}/reply",
                    json={"message": "hello", "version": 7}, headers=officer)
    assert future.status_code == 409

    assert case_state(city.ctx, case_id) == before
    assert count(city.ctx, AuditEntry) == audit_before

    ok = c.post(f"/api/v1/cases/{case_id}/resolve",
                json={"message": "done", "version": 2}, headers=officer)
    assert ok.status_code == 200 and ok.json() == {
        "case_id": case_id, "status": "resolved", "version": 3, "department": "roads"}
