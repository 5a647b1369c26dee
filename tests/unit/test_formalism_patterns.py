"""The formalism patterns on hand-made timelines, with a clock the tests move: each pattern
fires where it should, and does not where it must not (one transfer with a reason, a reopen
that was then confirmed fixed, a rejection the same department then did)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicpulse.insight.formalism_departments import (
    Closure,
    Outcomes,
    bulk_closures,
    month_ends,
    unconfirmed_share,
)
from civicpulse.insight.formalism_patterns import (
    FlagKind,
    Period,
    Step,
    Thresholds,
    case_flags,
    deadline_edge,
    parse_flag_key,
    ping_pong,
    rejected_done_elsewhere,
    reopened,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TH = Thresholds()
PERIOD = Period(T0 - timedelta(days=1))


class Timeline:
    """A case's timeline written as it happens, on a clock the test moves."""

    def __init__(self, case_id: int = 7) -> None:
        self.case_id = case_id
        self.now = T0
        self.steps: list[Step] = []
        self.department: str | None = None

    def advance(self, **kw: float) -> Timeline:
        self.now += timedelta(**kw)
        return self

    def _add(self, kind: str, actor: str, to: str | None = None, message: str | None = None,
             ) -> Timeline:
        self.steps.append(Step(len(self.steps) + 1, kind, self.now, actor, self.department,
                               to, message))
        if to is not None:
            self.department = to
        return self

    def routed(self, dept: str) -> Timeline:
        return self._add("assigned", "system:routing", to=dept)

    def transfer(self, dept: str, reason: str = "theirs", who: str = "staff:a") -> Timeline:
        return self._add("transfer", who, to=dept, message=reason)

    def assign(self, dept: str) -> Timeline:
        return self._add("assign", "staff:dispatch", to=dept)

    def resolve(self, who: str = "staff:a") -> Timeline:
        return self._add("resolve", who)

    def confirm(self) -> Timeline:
        return self._add("confirm", "resident:resident")

    def dispute(self) -> Timeline:
        return self._add("dispute", "resident:resident")

    def expire(self) -> Timeline:
        return self._add("expire_verification", "system:civicpulse")

    def reject(self, reason: str = "not our remit", who: str = "staff:a") -> Timeline:
        return self._add("reject", who, message=reason)

    def contest(self) -> Timeline:
        return self._add("contest", "resident:resident")


# ---- ping-pong ---------------------------------------------------------------------------


def test_a_case_sent_back_to_a_department_that_passed_it_on_is_flagged_for_both() -> None:
    t = (Timeline().routed("roads").advance(hours=2).transfer("parks", who="staff:r1")
         .advance(hours=3).transfer("roads", "it is a road", who="staff:p1"))
    flags = ping_pong(t.case_id, t.steps, PERIOD, TH)
    assert sorted(f.department for f in flags) == ["parks", "roads"]
    assert {f.kind for f in flags} == {FlagKind.PING_PONG}
    flag = next(f for f in flags if f.department == "parks")
    assert flag.reasons[0] == "passed roads → parks → roads"
    assert "parks sent it back to roads, which had already passed it on" in flag.reasons[1]
    assert flag.facts["hops"] == 2 and flag.facts["returns"] == 1
    assert [e.what for e in flag.evidence] == ["transfer", "transfer"]
    assert flag.evidence[1].note == "it is a road"
    assert flag.officers == ("staff:p1",)
    assert flag.key == "ping_pong:c7:parks"


def test_one_transfer_with_a_reason_is_not_ping_pong() -> None:
    t = Timeline().routed("roads").advance(hours=1).transfer("parks", "trees are parks'")
    assert ping_pong(t.case_id, t.steps, PERIOD, TH) == []
    assert case_flags(t.case_id, t.steps, None, PERIOD, TH) == []


def test_too_many_hops_are_flagged_without_a_return() -> None:
    t = Timeline().routed("a")
    for dept in ("b", "c", "d"):
        t.advance(hours=1).transfer(dept, who=f"staff:{dept}")
    assert ping_pong(t.case_id, t.steps, PERIOD, TH) == []  # three hops: the limit
    t.advance(hours=1).transfer("e")
    flags = ping_pong(t.case_id, t.steps, PERIOD, TH)
    assert sorted(f.department for f in flags) == ["a", "b", "c", "d"]
    assert "4 hops between departments, more than 3" in flags[0].reasons


def test_a_return_before_the_period_is_not_this_periods_flag() -> None:
    t = Timeline().routed("roads").advance(hours=1).transfer("parks").advance(hours=1)
    t.transfer("roads")
    later = Period(t.now + timedelta(days=1))
    assert ping_pong(t.case_id, t.steps, later, TH) == []
    before = Period(T0 - timedelta(days=10), T0)
    assert ping_pong(t.case_id, t.steps, before, TH) == []


# ---- reopen after "resolved" -------------------------------------------------------------


def test_resolved_then_not_fixed_is_flagged_for_the_resolving_department() -> None:
    t = Timeline().routed("roads").advance(days=1).resolve("staff:r1").advance(days=2)
    t.dispute()
    flags = reopened(t.case_id, t.steps, PERIOD)
    assert [(f.department, f.kind) for f in flags] == [("roads", FlagKind.REOPENED)]
    assert flags[0].officers == ("staff:r1",)
    assert "the resident said not fixed" in flags[0].reasons[0]
    assert [e.what for e in flags[0].evidence] == ["resolve", "dispute"]


def test_a_reopen_that_was_then_confirmed_fixed_is_not_flagged() -> None:
    t = (Timeline().routed("roads").advance(days=1).resolve().advance(days=2).dispute()
         .advance(days=1).resolve().advance(days=1))
    assert reopened(t.case_id, t.steps, PERIOD) != []  # the second resolution is awaited
    t.confirm()
    assert reopened(t.case_id, t.steps, PERIOD) == []
    assert case_flags(t.case_id, t.steps, None, PERIOD, TH) == []


def test_a_resolution_confirmed_or_unanswered_is_not_a_reopen() -> None:
    confirmed = Timeline().routed("roads").advance(days=1).resolve().advance(days=1).confirm()
    silent = Timeline().routed("roads").advance(days=1).resolve().advance(days=14).expire()
    assert reopened(confirmed.case_id, confirmed.steps, PERIOD) == []
    assert reopened(silent.case_id, silent.steps, PERIOD) == []


def test_a_reopen_still_counts_when_a_later_resolution_was_also_disputed() -> None:
    t = (Timeline().routed("roads").advance(days=1).resolve().advance(days=1).dispute()
         .advance(days=1).resolve().advance(days=1).dispute())
    flags = reopened(t.case_id, t.steps, PERIOD)
    assert len(flags) == 1 and flags[0].facts["reopens"] == 2


# ---- deadline games ----------------------------------------------------------------------


def test_resolved_minutes_before_the_deadline_and_reopened_after_it() -> None:
    t = Timeline().routed("roads")
    due = T0 + timedelta(hours=72)
    t.advance(hours=71, minutes=40).resolve("staff:r2").advance(days=2).dispute()
    flags = deadline_edge(t.case_id, t.steps, due, PERIOD, TH)
    assert [(f.department, f.kind) for f in flags] == [("roads", FlagKind.DEADLINE_EDGE)]
    assert flags[0].facts["minutes_before"] == 20.0
    assert "20 min before the deadline" in flags[0].reasons[0]


def test_no_deadline_game_without_the_edge_or_the_reopen_after_it() -> None:
    due = T0 + timedelta(hours=72)
    early = Timeline().routed("roads").advance(hours=60).resolve().advance(days=2).dispute()
    confirmed = Timeline().routed("roads").advance(hours=71, minutes=50).resolve()
    confirmed.advance(days=1).confirm()
    late = Timeline().routed("roads").advance(hours=73).resolve().advance(days=1).dispute()
    for t in (early, confirmed, late):
        assert deadline_edge(t.case_id, t.steps, due, PERIOD, TH) == []
    quick = Timeline().routed("roads").advance(hours=71, minutes=50).resolve()
    quick.advance(minutes=5).dispute()  # reopened before the deadline had passed
    assert deadline_edge(quick.case_id, quick.steps, due, PERIOD, TH) == []
    assert deadline_edge(quick.case_id, quick.steps, None, PERIOD, TH) == []


# ---- rejected as "not ours", then done by another department ----------------------------


def test_a_rejection_another_department_then_resolved() -> None:
    t = (Timeline().routed("roads").advance(hours=1).reject("outside our remit", "staff:r1")
         .advance(hours=5).contest().advance(hours=1).assign("parks").advance(days=1)
         .resolve("staff:p1"))
    flags = rejected_done_elsewhere(t.case_id, t.steps, PERIOD)
    assert [(f.department, f.kind) for f in flags] == [
        ("roads", FlagKind.REJECTED_DONE_ELSEWHERE)]
    assert flags[0].reasons[0].endswith("(staff:r1): outside our remit")
    assert "resolved by parks" in flags[0].reasons[1]
    assert flags[0].facts["done_by"] == "parks"


def test_no_flag_when_the_same_department_did_it_or_the_resident_said_not_fixed() -> None:
    same = (Timeline().routed("roads").advance(hours=1).reject().advance(hours=1).contest()
            .advance(hours=1).assign("roads").advance(days=1).resolve())
    disputed = (Timeline().routed("roads").advance(hours=1).reject().advance(hours=1)
                .contest().advance(hours=1).assign("parks").advance(days=1).resolve()
                .advance(days=1).dispute())
    never = Timeline().routed("roads").advance(hours=1).reject()
    for t in (same, disputed, never):
        assert rejected_done_elsewhere(t.case_id, t.steps, PERIOD) == []


# ---- closing in bulk at the end of a month -----------------------------------------------


def _closures(start: datetime, every: timedelta, n: int, first_case: int = 1) -> list[Closure]:
    return [Closure(first_case + i, start + i * every, f"staff:r{i % 3}") for i in range(n)]


def test_closures_in_bulk_before_a_quarter_ends_are_flagged() -> None:
    end = datetime(2026, 4, 1, tzinfo=UTC)  # the end of March, and of a quarter
    usual = _closures(end - timedelta(days=30), timedelta(days=1), 28)  # one a day
    rush = _closures(end - timedelta(hours=20), timedelta(minutes=30), 30, first_case=100)
    flags = bulk_closures({"roads": usual + rush}, Period(datetime(2026, 3, 1, tzinfo=UTC)),
                          end + timedelta(days=1), "UTC", TH)
    assert [(f.department, f.kind) for f in flags] == [("roads", FlagKind.BULK_CLOSURE)]
    flag = flags[0]
    assert flag.facts["closures"] == 30 and flag.facts["quarter_end"] is True
    assert flag.case_ids == tuple(range(100, 130))
    assert "before the end of March 2026 (end of a quarter)" in flag.reasons[0]
    assert flag.key == "bulk_closure:20260401T0000Z:roads"
    assert parse_flag_key(flag.key) == (FlagKind.BULK_CLOSURE, "20260401T0000Z", "roads")


def test_a_steady_rate_or_a_few_closures_are_not_bulk() -> None:
    end = datetime(2026, 4, 1, tzinfo=UTC)
    steady = _closures(end - timedelta(days=30), timedelta(hours=1), 30 * 24)
    few = _closures(end - timedelta(hours=5), timedelta(minutes=10), TH.bulk_min - 1)
    period = Period(datetime(2026, 3, 1, tzinfo=UTC))
    assert bulk_closures({"roads": steady, "parks": few}, period, end, "UTC", TH) == []


def test_month_ends_follow_the_city_time_zone() -> None:
    ends = month_ends(datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC),
                      "Asia/Shanghai")
    assert ends == [datetime(2026, 1, 31, 16, tzinfo=UTC), datetime(2026, 2, 28, 16, tzinfo=UTC),
                    datetime(2026, 3, 31, 16, tzinfo=UTC)]


# ---- unconfirmed closures ----------------------------------------------------------------


def test_a_share_of_unconfirmed_closures_far_above_the_citys_is_flagged() -> None:
    outcomes = {
        "roads": Outcomes(confirmed=4, unverified=16, unverified_cases=tuple(range(16))),
        "parks": Outcomes(confirmed=40, unverified=10),
        "water": Outcomes(confirmed=35, unverified=15),
    }
    flags = unconfirmed_share(outcomes, T0, TH)
    assert [(f.department, f.kind) for f in flags] == [("roads", FlagKind.UNCONFIRMED_SHARE)]
    assert flags[0].facts["share"] == 0.8 and flags[0].facts["city_share"] == 0.3417
    assert "16 of 20 closures (80%)" in flags[0].reasons[0]


def test_a_small_sample_or_a_share_near_the_citys_is_not_flagged() -> None:
    small = {"roads": Outcomes(confirmed=0, unverified=4), "parks": Outcomes(40, 10)}
    assert unconfirmed_share(small, T0, TH) == []
    near = {"roads": Outcomes(30, 20), "parks": Outcomes(35, 15)}
    assert unconfirmed_share(near, T0, TH) == []
    assert unconfirmed_share({}, T0, TH) == []
