"""The formalism audit on a real database (SQLite and PostgreSQL): cases worked through the
API on a clock the test moves, then the flags and rates the service finds, the public API,
a case's flags for staff, the department's explanation (audited, refused to others), the
staff page and the league table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civicpulse.domain.errors import NotFound, PermissionDenied, ValidationFailed
from civicpulse.domain.roles import SYSTEM
from civicpulse.services.audit import verify_audit_log
from civicpulse.services.formalism import (
    explain_flag,
    formalism_report,
    formalism_summary,
    published_formalism,
)
from civicpulse.services.staff import actor_for_token, login
from civicpulse.storage.tables import AuditEntry, CaseEvent, FormalismExplanation
from tests.api_schema import OpenAPIContract
from tests.city import PASSWORD, City
from tests.conftest import Clock

LOCATED = {"lat": 30.05, "lon": 120.05}  # inside the north area: pothole → north-roads


@dataclass
class Made:
    """The cases of the scenario, by what happened to them."""

    ping_pong: int
    one_transfer: int
    reopened: int
    made_good: int
    deadline: int
    rejected: int
    fixed: int
    repeat: int


class Desk:
    """Staff and residents working cases through the API."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.codes: dict[int, str] = {}

    def voice(self, text: str, category: str, location: dict[str, float] | None = None) -> int:
        body: dict[str, Any] = {"text": text, "category": category}
        if location:
            body["location"] = location
        r = self.city.client.post("/api/v1/voices", json=body)
        assert r.status_code == 201, r.text
        self.codes[r.json()["case_id"]] = r.json()["tracking_code"]
        return int(r.json()["case_id"])

    def act(self, who: str, case_id: int, action: str, **body: Any) -> None:
        r = self.city.client.post(f"/api/v1/cases/{case_id}/{action}", json=body,
                                  headers=self.city.token(who))  # tokens expire meanwhile
        assert r.status_code == 200, r.text

    def verdict(self, case_id: int, fixed: bool) -> None:
        r = self.city.client.post(f"/api/v1/track/{self.codes[case_id]}/verification",
                                  json={"fixed": fixed, "satisfaction": 4 if fixed else 1})
        assert r.status_code == 200, r.text

    def contest(self, case_id: int) -> None:
        r = self.city.client.post(f"/api/v1/track/{self.codes[case_id]}/contest",
                                  json={"reason": "it is a city matter"})
        assert r.status_code == 200, r.text


def scenario(city: City, clock: Clock) -> Made:
    d = Desk(city)
    ping = d.voice("Fallen tree across the cycle path", "tree")
    d.act("parks1", ping, "transfer", department="roads", reason="it blocks a road")
    clock.advance(hours=2)
    d.act("roads1", ping, "transfer", department="parks", reason="trees are parks'")

    once = d.voice("Fallen branch on the lawn", "tree")
    d.act("parks1", once, "transfer", department="roads", reason="on the road verge")

    reopened = d.voice("Pothole on Station Road", "pothole")
    d.act("roads1", reopened, "resolve", message="filled")
    clock.advance(hours=1)
    d.verdict(reopened, fixed=False)

    good = d.voice("Pothole on Mill Lane", "pothole")
    d.act("roads1", good, "resolve", message="filled")
    d.verdict(good, fixed=False)
    d.act("roads2", good, "resolve", message="filled again, properly")
    d.verdict(good, fixed=True)

    edge = d.voice("Pothole on Bridge Street", "pothole")  # 72 h to resolve
    clock.advance(hours=71, minutes=45)
    d.act("roads2", edge, "resolve", message="done")
    clock.advance(hours=3)
    d.verdict(edge, fixed=False)

    rejected = d.voice("Tree roots lifting the pavement", "tree")
    d.act("parks1", rejected, "reject", reason="outside our remit: pavements")
    d.contest(rejected)
    d.act("dispatch", rejected, "assign", department="roads")
    d.act("roads1", rejected, "resolve", message="pavement relaid")

    fixed = d.voice("Deep pothole outside the school gate", "pothole", LOCATED)
    d.act("admin", fixed, "resolve", message="filled")
    d.verdict(fixed, fixed=True)
    clock.advance(days=10)
    repeat = d.voice("Deep pothole outside the school gate again", "pothole", LOCATED)
    clock.advance(hours=1)
    return Made(ping, once, reopened, good, edge, rejected, fixed, repeat)


def _keys(flags: list[Any]) -> set[str]:
    """The case patterns' flags (the scenario's terse resolutions are hollow replies too,
    which ``test_hollow_replies_*`` check on replies they set themselves)."""
    return {f.key for f in flags if f.kind != "hollow_reply"}


def test_each_pattern_is_found_with_its_evidence_and_none_that_must_not_fire(
    city: City, clock: Clock
) -> None:
    made = scenario(city, clock)
    report = formalism_report(city.ctx, SYSTEM)
    assert _keys(report.flags) == {
        f"ping_pong:c{made.ping_pong}:parks", f"ping_pong:c{made.ping_pong}:roads",
        f"reopened:c{made.reopened}:roads",
        f"reopened:c{made.deadline}:roads", f"deadline_edge:c{made.deadline}:roads",
        f"rejected_done_elsewhere:c{made.rejected}:parks",
        f"repeat_after_fix:c{made.fixed}:north-roads",
    }
    named = {c for f in report.flags if f.kind != "hollow_reply" for c in f.case_ids}
    assert made.one_transfer not in named and made.made_good not in named
    edge = next(f for f in report.flags if f.kind == "deadline_edge")
    assert edge.facts["minutes_before"] == 15.0
    assert [e.what for e in edge.evidence] == ["resolve", "dispute"]
    assert edge.officers == ("staff:roads2",)
    repeat = next(f for f in report.flags if f.kind == "repeat_after_fix")
    assert repeat.case_ids == (made.fixed, made.repeat)
    assert "came in 10 days later" in repeat.reasons[0]
    ping = next(f for f in report.flags if f.key.endswith(":roads") and f.kind == "ping_pong")
    assert ping.facts["chain"] == ["parks", "roads", "parks"]
    assert ping.evidence[1].note == "trees are parks'"
    rates = {r.department: r for r in report.departments}
    assert rates["roads"].cases_resolved == 4
    assert rates["roads"].reopened_rate == 0.5
    assert rates["roads"].deadline_edge_rate == 0.25
    assert rates["parks"].rejected_done_elsewhere_rate == 1.0
    assert rates["north-roads"].repeat_after_fix_rate == 1.0
    assert rates["parks"].ping_pong_rate == round(1 / 3, 4)  # of 3 cases it received
    people = {(o.department, o.officer): o for o in report.officers}
    assert {k: n for k, n in people[("roads", "staff:roads2")].flags.items()
            if k != "hollow_reply"} == {"deadline_edge": 1, "reopened": 1}
    assert people[("parks", "staff:parks1")].rejections == 1


def test_the_period_and_the_department_narrow_the_report(city: City, clock: Clock) -> None:
    made = scenario(city, clock)
    later = formalism_report(city.ctx, SYSTEM, since=clock.now - timedelta(hours=2))
    assert _keys(later.flags) == set()  # the repeat's resolution was before this period
    parks = formalism_report(city.ctx, SYSTEM, department="parks")
    assert _keys(parks.flags) == {f"ping_pong:c{made.ping_pong}:parks",
                                  f"rejected_done_elsewhere:c{made.rejected}:parks"}
    assert {o.department for o in parks.officers} == {"parks"}
    with pytest.raises(NotFound):
        formalism_report(city.ctx, SYSTEM, department="nowhere")
    with pytest.raises(ValidationFailed):
        formalism_report(city.ctx, SYSTEM, since=clock.now, until=clock.now)


def test_officers_read_their_own_departments_flags(city: City, clock: Clock) -> None:
    scenario(city, clock)
    roads = actor_for_token(city.ctx, login(city.ctx, "roads1", PASSWORD))
    report = formalism_report(city.ctx, roads)
    assert {f.department for f in report.flags} == {"roads"}
    assert len(report.departments) == 3  # every department's rates are public anyway
    with pytest.raises(PermissionDenied):
        formalism_report(city.ctx, roads, department="parks")


def test_a_cases_flags_for_staff_who_may_see_it(city: City, clock: Clock) -> None:
    made = scenario(city, clock)
    admin = city.token("admin")
    r = city.client.get(f"/api/v1/cases/{made.ping_pong}/formalism", headers=admin)
    assert r.status_code == 200, r.text
    assert {f["key"] for f in r.json()["flags"]} == {
        f"ping_pong:c{made.ping_pong}:parks", f"ping_pong:c{made.ping_pong}:roads"}
    # the new case at the fixed place names the earlier case's flag too
    later = city.client.get(f"/api/v1/cases/{made.repeat}/formalism", headers=admin).json()
    assert [f["key"] for f in later["flags"]] == [
        f"repeat_after_fix:c{made.fixed}:north-roads"]
    quiet = city.client.get(f"/api/v1/cases/{made.made_good}/formalism", headers=admin)
    assert quiet.json()["case_id"] == made.made_good
    assert [f["kind"] for f in quiet.json()["flags"]] in ([], ["hollow_reply"])
    contract = OpenAPIContract(city.client.app)  # type: ignore[arg-type]
    for answer in (r, quiet, city.client.get(f"/api/v1/cases/{made.repeat}/formalism",
                                             headers=admin)):
        contract.check(answer)  # every key documented, none missing
    parks = city.token("parks1")
    assert city.client.get(f"/api/v1/cases/{made.reopened}/formalism",
                           headers=parks).status_code == 403
    assert city.client.get(f"/api/v1/cases/{made.reopened}/formalism").status_code == 401
    assert city.client.get("/api/v1/cases/999999/formalism", headers=admin).status_code == 404


def test_the_public_figures_carry_no_case_and_keep_the_minimum_sample(
    city: City, clock: Clock
) -> None:
    scenario(city, clock)
    r = city.client.get("/api/v1/formalism")
    assert r.status_code == 200, r.text
    OpenAPIContract(city.client.app).check(r)  # type: ignore[arg-type]
    body = r.json()
    assert "flags" not in body and "officers" not in body
    assert "case_ids" not in r.text and "staff:" not in r.text  # no case, no person
    rows = {row["department"]: row for row in body["departments"]}
    assert rows["roads"]["reopened_rate"] == 0.5
    assert body["city"]["flags"]["ping_pong"] == 2
    city.ctx.settings.scorecard_min_sample = 50
    guarded = formalism_summary(city.ctx)
    assert all(getattr(row, name) is None for row in guarded.departments
               for name in ("ping_pong_rate", "reopened_rate", "repeat_after_fix_rate"))
    assert all(row.sample_too_small for row in guarded.departments)
    assert city.client.get("/api/v1/formalism?since=2026-03-02T00:00:00").status_code == 422
    assert city.client.get(
        "/api/v1/formalism?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z"
    ).status_code == 422


def test_a_department_explains_a_flag_which_stays_with_the_explanation_beside_it(
    city: City, clock: Clock
) -> None:
    made = scenario(city, clock)
    key = f"reopened:c{made.reopened}:roads"
    r = city.client.post("/api/v1/formalism/explanations",
                         json={"flag": key, "text": "the asphalt plant was closed"},
                         headers=city.token("roads1"))
    assert r.status_code == 201, r.text
    OpenAPIContract(city.client.app).check(r)  # type: ignore[arg-type]
    assert r.json()["author"] == "staff:roads1" and r.json()["department"] == "roads"
    report = formalism_report(city.ctx, SYSTEM)
    flag = next(f for f in report.flags if f.key == key)
    assert [x.text for x in flag.explanations] == ["the asphalt plant was closed"]
    dispatcher = actor_for_token(city.ctx, login(city.ctx, "dispatch", PASSWORD))
    explain_flag(city.ctx, dispatcher, key, "routed right; the fix did not hold")
    flag = next(f for f in formalism_report(city.ctx, SYSTEM).flags if f.key == key)
    assert len(flag.explanations) == 2  # a newer one beside, never over, the older
    with city.ctx.db.reader() as s:
        audited = s.scalars(select(AuditEntry).where(AuditEntry.action == "formalism.explain")
                            ).all()
        assert [a.actor for a in audited] == ["staff:roads1", "staff:dispatch"]
        assert audited[0].subject == f"case:{made.reopened}"
        assert json.loads(audited[0].data)["flag"] == key
        assert len(s.scalars(select(FormalismExplanation)).all()) == 2
    count, problems = verify_audit_log(city.ctx.db)
    assert problems == [] and count > 0


def test_only_the_flagged_department_dispatchers_and_admins_may_explain(
    city: City, clock: Clock
) -> None:
    made = scenario(city, clock)
    key = f"reopened:c{made.reopened}:roads"
    body = {"flag": key, "text": "because"}
    for who, status in (("parks1", 403), ("audit", 403), ("admin", 201)):
        r = city.client.post("/api/v1/formalism/explanations", json=body,
                             headers=city.token(who))
        assert r.status_code == status, (who, r.text)
    assert city.client.post("/api/v1/formalism/explanations", json=body).status_code == 401
    # a flag that does not stand, or a key that is none
    for flag, status in ((f"reopened:c{made.made_good}:roads", 404),
                         (f"ping_pong:c{made.one_transfer}:parks", 404),
                         ("reopened:roads", 422), ("bulk_closure:c1:roads", 422)):
        r = city.client.post("/api/v1/formalism/explanations",
                             json={"flag": flag, "text": "x"}, headers=city.token("admin"))
        assert r.status_code == status, (flag, r.text)


def test_the_staff_page_offers_the_form_only_to_those_who_may_explain(
    city: City, clock: Clock
) -> None:
    made = scenario(city, clock)
    client = city.client
    assert client.get("/staff/formalism", follow_redirects=False).status_code == 303
    csrf = "formalism-page-csrf-0123456789"
    client.cookies.set("cp_csrf", csrf)
    client.cookies.set("cp_session", login(city.ctx, "roads1", PASSWORD))
    page = client.get("/staff/formalism?lang=en")
    assert page.status_code == 200
    assert "Passed back and forth" in page.text and f"/staff/cases/{made.reopened}" in page.text
    assert 'name="flag"' in page.text
    assert f"c{made.rejected}:parks" not in page.text  # another department's flag
    sent = client.post("/staff/formalism/explain", data={
        "csrf_token": csrf, "flag": f"reopened:c{made.reopened}:roads",
        "text": "crew off sick that week", "back": "kind=reopened"}, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/staff/formalism?kind=reopened&done=explained")
    shown = client.get(sent.headers["location"].split("#")[0] + "&lang=zh")
    assert "crew off sick that week" in shown.text and "已保存" in shown.text
    assert "形式主义" in shown.text
    client.cookies.set("cp_session", login(city.ctx, "audit", PASSWORD))
    read_only = client.get("/staff/formalism?lang=en")
    assert "parks" in read_only.text and 'name="flag"' not in read_only.text
    refused = client.post("/staff/formalism/explain", data={
        "csrf_token": csrf, "flag": f"reopened:c{made.reopened}:roads", "text": "x"},
        follow_redirects=False)
    assert refused.status_code == 403
    bad = client.get("/staff/formalism?since=yesterday")
    assert bad.status_code == 422


def test_the_league_table_shows_the_rates_beside_residents_verdicts(
    city: City, clock: Clock
) -> None:
    scenario(city, clock)
    page = city.client.get("/league?lang=en")
    assert page.status_code == 200
    assert "Passed back and forth" in page.text and "Came back after a fix" in page.text
    assert "100%" in page.text  # north-roads: its one resolution came back
    city.ctx.settings.scorecard_min_sample = 50
    guarded = city.client.get("/league?lang=zh").text
    assert "来回推诿" in guarded and "100%" not in guarded


def test_the_cli_prints_the_report(city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
                                   ) -> None:
    made = scenario(city, clock)
    settings = city.ctx.settings
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(settings.data_dir))
    from civicpulse.cli import app

    runner = CliRunner()
    table = runner.invoke(app, ["audit", "formalism", "--since", "2026-03-01",
                                "--until", "2026-04-01"])
    assert table.exit_code == 0, table.output
    assert f"ping_pong:c{made.ping_pong}:parks" in table.output
    assert "sent it back to parks" in table.output
    as_json = runner.invoke(app, ["audit", "formalism", "--since", "2026-03-01", "--until",
                                  "2026-04-01", "--department", "parks", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"rejected_done_elsewhere"' in as_json.output
    wrong = runner.invoke(app, ["audit", "formalism", "--format", "xml"])
    assert wrong.exit_code == 2 and "--format must be one of" in wrong.output


def test_a_departments_month_end_rush_and_unconfirmed_share_can_be_explained(
    city: City, clock: Clock
) -> None:
    """The flags about a department's figures: closures in bulk before a month ends, and
    a share of unconfirmed closures far above the city's; each explained like a case's."""
    from datetime import UTC, datetime

    from civicpulse.services.deadlines import run_deadlines

    settings = city.ctx.settings
    settings.formalism_bulk_min = 3
    d = Desk(city)
    clock.now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    rushed = [d.voice(f"Pothole number {i} on the ring road", "pothole") for i in range(3)]
    for case_id in rushed:
        clock.advance(hours=1)
        d.act("roads1", case_id, "resolve", message="filled")
    trees = [d.voice(f"Fallen tree number {i}", "tree") for i in range(3)]
    for case_id in trees:
        d.act("parks1", case_id, "resolve", message="cleared")
        d.verdict(case_id, fixed=True)
    clock.advance(days=16)  # the roads residents never answer
    run_deadlines(city.ctx)
    report = formalism_report(city.ctx, SYSTEM)
    keys = _keys(report.flags)
    assert "bulk_closure:20260401T0000Z:roads" in keys
    assert "unconfirmed_share:city:roads" in keys
    bulk = next(f for f in report.flags if f.key == "bulk_closure:20260401T0000Z:roads")
    assert set(bulk.case_ids) == set(rushed) and bulk.facts["quarter_end"] is True
    share = next(f for f in report.flags if f.kind == "unconfirmed_share")
    assert share.facts["share"] == 1.0 and share.facts["city_share"] == 0.5
    for key in ("bulk_closure:20260401T0000Z:roads", "unconfirmed_share:city:roads"):
        r = city.client.post("/api/v1/formalism/explanations",
                             json={"flag": key, "text": "year-end inspection round"},
                             headers=city.token("roads1"))
        assert r.status_code == 201, r.text
        assert r.json()["case_id"] is None
    refused = city.client.post("/api/v1/formalism/explanations",
                               json={"flag": "bulk_closure:20260301T0000Z:roads",
                                     "text": "no such rush"}, headers=city.token("admin"))
    assert refused.status_code == 404
    explained = {f.key: f.explanations for f in formalism_report(city.ctx, SYSTEM).flags}
    assert explained["unconfirmed_share:city:roads"][0].author == "staff:roads1"


# ---- hollow replies ----------------------------------------------------------------------


def _recorded(city: City, case_id: int, hollow: bool | None) -> None:
    """Set the assessment kept with the case's resolutions (None: written before
    assessments were kept), so the test decides what was hollow, not the assessor."""
    reply = {"relevance": 0.1 if hollow else 0.8, "boilerplate": 0.0, "deflection": False,
             "concrete": not hollow, "flags": ["does_not_answer", "no_concrete_action"]
             if hollow else [], "hollow": hollow,
             "reasons": ["nothing_specific", "misses_places"] if hollow else [],
             "sent_anyway": bool(hollow)}
    with city.ctx.db.transaction() as s:
        for event in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.kind == "resolve")):
            data = {k: v for k, v in event.data.items() if k != "reply"}
            if hollow is not None:
                data["reply"] = reply
            event.data = data


def _answered(city: City, clock: Clock, hollow: list[bool | None]) -> list[int]:
    d = Desk(city)
    made = []
    for i, h in enumerate(hollow):
        case_id = d.voice(f"Pothole number {i} on Station Road", "pothole")
        d.act("roads1", case_id, "resolve", message="filled")
        _recorded(city, case_id, h)
        made.append(case_id)
        clock.advance(minutes=5)
    return made


def test_hollow_replies_are_counted_among_assessed_resolutions_only(
    city: City, clock: Clock
) -> None:
    made = _answered(city, clock, [True, False, False, False, None, None])
    report = formalism_report(city.ctx, SYSTEM)
    roads = next(r for r in report.departments if r.department == "roads")
    assert roads.cases_resolved == 6 and roads.replies_assessed == 4
    assert roads.hollow_reply_rate == 0.25  # 1 hollow of 4 assessed; 2 unassessed ignored
    assert report.city.hollow_reply_rate == 0.25
    hollow = [f for f in report.flags if f.kind == "hollow_reply"]
    assert [f.key for f in hollow] == [f"hollow_reply:c{made[0]}:roads"]
    assert hollow[0].facts["flags"] == ["does_not_answer", "no_concrete_action"]
    assert hollow[0].facts["reasons"] == ["misses_places", "nothing_specific"]
    assert hollow[0].facts["sent_anyway"] is True
    assert hollow[0].officers == ("staff:roads1",)
    assert "reasons recorded: misses_places, nothing_specific" in hollow[0].reasons
    person = next(o for o in report.officers if o.officer == "staff:roads1")
    assert person.hollow_reply_rate == 0.25
    # the case's own flags say the same, and the flag can be explained
    case = city.client.get(f"/api/v1/cases/{made[0]}/formalism", headers=city.token("admin"))
    assert [f["key"] for f in case.json()["flags"] if f["kind"] == "hollow_reply"] == [
        f"hollow_reply:c{made[0]}:roads"]
    said = explain_flag(city.ctx, actor_for_token(city.ctx, login(city.ctx, "roads1",
                                                                  PASSWORD)),
                        f"hollow_reply:c{made[0]}:roads", "we called the resident back")
    assert said.case_id == made[0]
    # public: the rate, no case
    body = city.client.get("/api/v1/formalism").json()
    assert {r["department"]: r for r in body["departments"]}["roads"]["hollow_reply_rate"] \
        == 0.25


def test_hollow_reply_rate_keeps_the_minimum_sample_over_assessed_resolutions(
    city: City, clock: Clock
) -> None:
    _answered(city, clock, [True, True, None, None, None, None])
    city.ctx.settings.scorecard_min_sample = 3
    roads = next(r for r in formalism_summary(city.ctx).departments if r.department == "roads")
    assert roads.cases_resolved == 6 and roads.replies_assessed == 2
    assert roads.hollow_reply_rate is None  # 2 assessed, below the sample of 3
    city.ctx.settings.scorecard_min_sample = 2
    roads = next(r for r in formalism_summary(city.ctx).departments if r.department == "roads")
    assert roads.hollow_reply_rate == 1.0


def test_hollow_replies_show_on_the_league_table_and_the_staff_page(
    city: City, clock: Clock
) -> None:
    made = _answered(city, clock, [True, False])
    league = city.client.get("/league?lang=en").text
    assert "Hollow replies" in league and "50%" in league
    assert "空洞答复" in city.client.get("/league?lang=zh").text
    city.client.cookies.set("cp_session", login(city.ctx, "admin", PASSWORD))
    page = city.client.get("/staff/formalism?lang=zh&kind=hollow_reply").text
    assert f"hollow_reply:c{made[0]}:roads" in page
    assert "没有针对本留言的具体内容" in page  # the recorded reason, in words
    assert "没有回应居民所反映的问题" in page  # the recorded flag, in words
    assert "没有提到留言中的地点：…" in page  # its values are not kept: shown as …


# ---- the published summary ---------------------------------------------------------------


def test_the_job_runner_keeps_the_public_figures_and_pages_read_them(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicpulse.channels.mail import SpoolTransport
    from civicpulse.jobs.runner import run_once
    from civicpulse.services import formalism
    from civicpulse.services.formalism_published import published_path

    made = _answered(city, clock, [True, False])
    settings = city.ctx.settings
    settings.public_aggregate_cache_seconds = 60  # as in production: read what is kept
    path = published_path(city.ctx)
    assert not path.exists()
    first = published_formalism(city.ctx)  # none kept yet: computed once, and kept
    assert path.exists() and first.departments
    runs: list[object] = []
    real = formalism.run_audit
    monkeypatch.setattr(formalism, "run_audit", lambda *a: runs.append(a) or real(*a))
    _recorded(city, made[1], True)  # the figures change; the page shows what was kept
    league = city.client.get("/league?lang=en").text
    api = city.client.get("/api/v1/formalism").json()
    assert runs == []  # no audit on a request
    assert "50%" in league and _roads(api)["hollow_reply_rate"] == 0.5
    # the topics beat refreshes it, at most every formalism_publish_minutes
    report = run_once(city.ctx, SpoolTransport(settings.mail_spool_path), topics=True)
    assert not report.formalism_published and runs == []  # kept a moment ago: fresh
    settings.formalism_publish_minutes = 0
    report = run_once(city.ctx, SpoolTransport(settings.mail_spool_path), topics=True)
    assert report.formalism_published and len(runs) == 1
    assert _roads(city.client.get("/api/v1/formalism").json())["hollow_reply_rate"] == 1.0
    assert not run_once(city.ctx, SpoolTransport(settings.mail_spool_path)).formalism_published


def test_the_cli_prints_the_published_figures(
    city: City, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicpulse.services.formalism import publish_formalism

    _answered(city, clock, [True, False])
    publish_formalism(city.ctx)  # what the job runner keeps, on the test's clock
    settings = city.ctx.settings
    monkeypatch.setenv("CIVICPULSE_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("CIVICPULSE_DATA_DIR", str(settings.data_dir))
    from civicpulse.cli import app

    shown = CliRunner().invoke(app, ["audit", "formalism", "--public", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert "flags" not in body and _roads(body)["hollow_reply_rate"] == 0.5
    table = CliRunner().invoke(app, ["audit", "formalism", "--public"])
    assert table.exit_code == 0 and "hollow" in table.output and "50%" in table.output


def _roads(body: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in body["departments"] if r["department"] == "roads")
