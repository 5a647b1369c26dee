"""Areas (point in polygon), who may do what, and the scorecard's minimum-sample guard."""

from __future__ import annotations

import itertools

import pytest

from civicpulse.domain.errors import PermissionDenied, ValidationFailed
from civicpulse.domain.geo import contains, polygons_of, validate_point
from civicpulse.domain.roles import (
    RESIDENT,
    SYSTEM,
    Actor,
    Role,
    check_case_action,
    check_case_visible,
    require_role,
)
from civicpulse.domain.workflow import Action
from civicpulse.insight.scorecard import CaseFacts, compute_scorecards

# ---- geometry -------------------------------------------------------------------------------
# GeoJSON positions are [lon, lat]; the squares are placed so that swapping lat and lon
# lands far outside, which catches an axis mix-up.

OUTER = [[120.0, 30.0], [121.0, 30.0], [121.0, 31.0], [120.0, 31.0], [120.0, 30.0]]
HOLE = [[120.4, 30.4], [120.6, 30.4], [120.6, 30.6], [120.4, 30.6], [120.4, 30.4]]
DONUT = {"type": "Polygon", "coordinates": [OUTER, HOLE]}
EAST = [[[122.0, 30.0], [122.5, 30.0], [122.5, 30.5], [122.0, 30.5], [122.0, 30.0]]]
MULTI = {"type": "MultiPolygon", "coordinates": [[OUTER, HOLE], EAST]}


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [
        (30.2, 120.2, True),  # in the ring
        (30.9, 120.9, True),
        (30.5, 120.5, False),  # in the hole
        (30.45, 120.55, False),
        (30.3, 120.5, True),  # just south of the hole
        (31.5, 120.5, False),  # north of everything
        (30.5, 119.5, False),  # west
        (120.5, 30.5, False),  # lat/lon swapped
    ],
)
def test_polygon_with_hole(lat: float, lon: float, inside: bool) -> None:
    assert contains(DONUT, lat, lon) is inside


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [
        (30.2, 120.2, True),  # first polygon
        (30.5, 120.5, False),  # first polygon's hole
        (30.25, 122.25, True),  # second polygon
        (30.25, 121.5, False),  # between the two
        (30.75, 122.25, False),  # north of the second
    ],
)
def test_multipolygon(lat: float, lon: float, inside: bool) -> None:
    assert contains(MULTI, lat, lon) is inside


def test_feature_wrapper_is_unwrapped() -> None:
    feature = {"type": "Feature", "properties": {"name": "x"}, "geometry": DONUT}
    assert contains(feature, 30.2, 120.2) is True
    assert contains(feature, 30.5, 120.5) is False


def test_concave_polygon() -> None:
    # an L shape: the notch at the top right is outside
    ell = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2],
                                               [0, 0]]]}
    assert contains(ell, 0.5, 0.5) is True
    assert contains(ell, 1.5, 0.5) is True
    assert contains(ell, 0.5, 1.5) is True
    assert contains(ell, 1.5, 1.5) is False


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [120.0, 30.0]},
        {"type": "Polygon"},
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},  # ring too short
        {"type": "MultiPolygon", "coordinates": [[]]},
        {"type": "Feature", "geometry": None},
        {},
    ],
)
def test_bad_geometry_refused(geometry: dict) -> None:
    with pytest.raises(ValidationFailed):
        polygons_of(geometry)


def test_validate_point_bounds() -> None:
    for lat, lon in [(0, 0), (90, 180), (-90, -180), (30.5, 120.5)]:
        validate_point(lat, lon)
    for lat, lon in [(90.01, 0), (-91, 0), (0, 180.5), (0, -181)]:
        with pytest.raises(ValidationFailed):
            validate_point(lat, lon)


# ---- roles ----------------------------------------------------------------------------------

ROADS, PARKS = 1, 2


def staff(role: Role, *departments: int) -> Actor:
    return Actor(kind="staff", name=role.value, user_id=1, role=role,
                 department_ids=frozenset(departments))


OFFICER_ACTIONS = {Action.TRANSFER, Action.START, Action.REPLY, Action.RESOLVE, Action.REJECT}
DISPATCHER_ACTIONS = {Action.ASSIGN, Action.TRANSFER, Action.REJECT, Action.MERGE, Action.REPLY}
ROLE_PAIRS = list(itertools.product(Role, Action))


@pytest.mark.parametrize(("role", "action"), ROLE_PAIRS,
                         ids=[f"{r.value}-{a.value}" for r, a in ROLE_PAIRS])
def test_role_table(role: Role, action: Action) -> None:
    allowed = {
        Role.ADMIN: set(Action),
        Role.DISPATCHER: DISPATCHER_ACTIONS,
        Role.OFFICER: OFFICER_ACTIONS,
        Role.AUDITOR: set(),
        Role.LEADER: set(),
    }[role]
    actor = staff(role, ROADS)
    if action in allowed:
        check_case_action(actor, action, ROADS)
    else:
        with pytest.raises(PermissionDenied, match=f"role {role.value} may not {action.value}"):
            check_case_action(actor, action, ROADS)


@pytest.mark.parametrize("action", sorted(OFFICER_ACTIONS))
def test_officer_limited_to_own_department(action: Action) -> None:
    officer = staff(Role.OFFICER, ROADS)
    check_case_action(officer, action, ROADS)
    for other in (PARKS, None):
        with pytest.raises(PermissionDenied, match="own department"):
            check_case_action(officer, action, other)


def test_officer_without_department_can_act_on_nothing() -> None:
    with pytest.raises(PermissionDenied):
        check_case_action(staff(Role.OFFICER), Action.START, ROADS)
    with pytest.raises(PermissionDenied):
        check_case_action(staff(Role.OFFICER), Action.START, None)


def test_dispatcher_and_admin_act_across_departments() -> None:
    for dept in (ROADS, PARKS, None):
        check_case_action(staff(Role.DISPATCHER), Action.ASSIGN, dept)
        check_case_action(staff(Role.ADMIN), Action.RESOLVE, dept)
    with pytest.raises(PermissionDenied):
        check_case_action(staff(Role.DISPATCHER), Action.RESOLVE, ROADS)


@pytest.mark.parametrize("action", list(Action))
def test_auditor_cannot_act(action: Action) -> None:
    with pytest.raises(PermissionDenied):
        check_case_action(staff(Role.AUDITOR, ROADS), action, ROADS)


@pytest.mark.parametrize("who", [RESIDENT, SYSTEM, Actor(kind="integration", name="app"),
                                 Actor(kind="staff", name="no-role")])
def test_non_staff_cannot_act_as_staff(who: Actor) -> None:
    with pytest.raises(PermissionDenied, match="staff login required"):
        check_case_action(who, Action.REPLY, ROADS)
    with pytest.raises(PermissionDenied):
        check_case_visible(who, ROADS)


def test_visibility() -> None:
    for role in (Role.ADMIN, Role.DISPATCHER, Role.AUDITOR, Role.LEADER):
        check_case_visible(staff(role), PARKS)
        check_case_visible(staff(role), None)
    check_case_visible(staff(Role.OFFICER, ROADS), ROADS)
    with pytest.raises(PermissionDenied):
        check_case_visible(staff(Role.OFFICER, ROADS), PARKS)
    with pytest.raises(PermissionDenied):
        check_case_visible(staff(Role.OFFICER, ROADS), None)


def test_require_role() -> None:
    require_role(staff(Role.ADMIN), Role.ADMIN, Role.AUDITOR)
    with pytest.raises(PermissionDenied, match="admin"):
        require_role(staff(Role.OFFICER, ROADS), Role.ADMIN)
    with pytest.raises(PermissionDenied):
        require_role(RESIDENT, Role.ADMIN)


def test_actor_label() -> None:
    assert staff(Role.OFFICER, ROADS).label == "staff:officer"
    assert RESIDENT.label == "resident:resident"


# ---- scorecards -----------------------------------------------------------------------------


def facts(dept: str, n: int, *, confirmed: int, on_time: int, sat: int = 4) -> list[CaseFacts]:
    """n resolved cases with one verdict each: ``confirmed`` fixed, the rest reopened."""
    out = []
    for i in range(n):
        ok = i < confirmed
        out.append(CaseFacts(department=dept, first_response_on_time=i < on_time, resolved=True,
                             confirmed=ok, satisfaction=[sat], verdicts=1, resolutions=1,
                             reopens=0 if ok else 1))
    return out


def test_rates_withheld_below_min_sample() -> None:
    rows = compute_scorecards(facts("roads", 4, confirmed=4, on_time=4), {}, ["roads"],
                              min_sample=5)
    (row,) = rows
    assert row.cases_received == 4
    assert row.first_response_on_time_rate is None
    assert row.resolved_rate is None
    assert row.confirmed_resolution_rate is None
    assert row.satisfaction_mean is None
    assert row.reopen_rate is None
    assert row.verified_sample_size == 4
    assert row.sample_too_small is True


def test_rates_shown_at_min_sample() -> None:
    (row,) = compute_scorecards(facts("roads", 5, confirmed=3, on_time=4, sat=3), {"roads": 2},
                                ["roads"], min_sample=5)
    assert row.cases_received == 5
    assert row.first_response_on_time_rate == 0.8
    assert row.resolved_rate == 1.0
    assert row.confirmed_resolution_rate == 0.6
    assert row.satisfaction_mean == 3.0
    assert row.reopen_rate == 0.4
    assert row.transfers_out == 2
    assert row.verified_sample_size == 5
    assert row.sample_too_small is False


def test_one_lucky_case_does_not_top_the_table() -> None:
    lucky = facts("parks", 1, confirmed=1, on_time=1, sat=5)
    steady = facts("roads", 10, confirmed=8, on_time=9, sat=4)
    rows = {r.department: r for r in compute_scorecards(lucky + steady, {}, ["parks", "roads"],
                                                        min_sample=5)}
    assert rows["parks"].confirmed_resolution_rate is None
    assert rows["parks"].satisfaction_mean is None
    assert rows["parks"].sample_too_small is True
    assert rows["roads"].confirmed_resolution_rate == 0.8
    assert rows["roads"].satisfaction_mean == 4.0


def test_first_response_guard_counts_only_judgeable_cases() -> None:
    items = facts("roads", 6, confirmed=6, on_time=6)
    for f in items[:2]:
        f.first_response_on_time = None  # still open: not judgeable yet
    (row,) = compute_scorecards(items, {}, ["roads"], min_sample=5)
    assert row.first_response_on_time_rate is None  # only 4 judgeable
    assert row.resolved_rate == 1.0  # 6 received


def test_unconfirmed_resolution_is_not_counted_as_confirmed() -> None:
    items = facts("roads", 5, confirmed=5, on_time=5)
    for f in items[:2]:  # resolved but the resident never answered
        f.confirmed, f.satisfaction, f.verdicts, f.reopens = False, [], 0, 0
    (row,) = compute_scorecards(items, {}, ["roads"], min_sample=3)
    assert row.resolved_rate == 1.0
    assert row.confirmed_resolution_rate == 0.6
    assert row.verified_sample_size == 3
    assert row.reopen_rate == 0.0


def test_every_department_listed_even_without_cases() -> None:
    rows = compute_scorecards([], {"parks": 1}, ["roads", "parks"], min_sample=1)
    assert [r.department for r in rows] == ["roads", "parks"]
    assert rows[0].cases_received == 0 and rows[0].resolved_rate is None
    assert rows[1].transfers_out == 1
