"""The case state machine: every arrow, every refusal, and the rules about reasons."""

from __future__ import annotations

import itertools

import pytest

from civicpulse.domain.errors import InvalidTransition, ValidationFailed
from civicpulse.domain.workflow import (
    CLOSED_STATES,
    MAX_CONTESTS,
    TRANSITIONS,
    Action,
    CaseStatus,
    allowed_actions,
    plan_transition,
)

S = CaseStatus
A = Action
OPEN_WORK = (S.ASSIGNED, S.IN_PROGRESS, S.REOPENED)
NOT_YET_DONE = (S.SUBMITTED, S.CONTESTED, *OPEN_WORK)

# Written out by hand from the product guide, independently of TRANSITIONS, so that an
# accidental edit of the table (a new arrow or a lost one) fails here.
EXPECTED: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (S.SUBMITTED, A.ASSIGN): S.ASSIGNED,
    (S.CONTESTED, A.ASSIGN): S.ASSIGNED,
    **{(s, A.TRANSFER): S.ASSIGNED for s in OPEN_WORK},
    (S.ASSIGNED, A.START): S.IN_PROGRESS,
    (S.REOPENED, A.START): S.IN_PROGRESS,
    **{(s, A.REPLY): s for s in (*NOT_YET_DONE, S.RESOLVED)},
    **{(s, A.RESOLVE): S.RESOLVED for s in OPEN_WORK},
    (S.RESOLVED, A.CONFIRM): S.CONFIRMED,
    (S.RESOLVED, A.DISPUTE): S.REOPENED,
    (S.RESOLVED, A.EXPIRE_VERIFICATION): S.UNVERIFIED,
    **{(s, A.REJECT): S.REJECTED for s in NOT_YET_DONE},
    (S.REJECTED, A.CONTEST): S.CONTESTED,
    **{(s, A.MERGE): S.MERGED for s in NOT_YET_DONE},
}

FILLED = {"reason": "a real reason", "public_message": "a real reply"}
ALL_PAIRS = list(itertools.product(CaseStatus, Action))


def test_table_matches_the_guide() -> None:
    table = {
        (s, a): (target or s)
        for a, (sources, target) in TRANSITIONS.items()
        for s in sources
    }
    assert table == EXPECTED
    assert set(TRANSITIONS) == set(Action), "every action needs a row"


@pytest.mark.parametrize(
    ("status", "action"), ALL_PAIRS, ids=[f"{s.value}-{a.value}" for s, a in ALL_PAIRS]
)
def test_every_status_action_pair(status: CaseStatus, action: Action) -> None:
    if (status, action) in EXPECTED:
        t = plan_transition(status, action, **FILLED)
        assert (t.action, t.from_status, t.to_status) == (
            action, status, EXPECTED[(status, action)]
        )
        assert action in allowed_actions(status)
    else:
        with pytest.raises(InvalidTransition) as err:
            plan_transition(status, action, **FILLED)
        assert f"cannot {action.value} a case that is {status.value}" in err.value.message
        assert action not in allowed_actions(status)
        # the refusal names what *is* possible, so the caller can recover
        allowed = allowed_actions(status)
        for a in allowed:
            assert a.value in err.value.message
        if not allowed:
            assert "allowed: none" in err.value.message


def test_refusal_comes_before_missing_reason() -> None:
    """An impossible arrow is reported as such even when the reason is missing too."""
    with pytest.raises(InvalidTransition):
        plan_transition(S.CONFIRMED, A.REJECT, reason=None)
    with pytest.raises(InvalidTransition):
        plan_transition(S.SUBMITTED, A.RESOLVE, public_message=None)


@pytest.mark.parametrize("closed", [S.CONFIRMED, S.UNVERIFIED, S.MERGED])
def test_final_states_allow_nothing(closed: CaseStatus) -> None:
    assert closed in CLOSED_STATES
    assert allowed_actions(closed) == []


def test_rejected_is_closed_but_can_be_contested() -> None:
    assert S.REJECTED in CLOSED_STATES
    assert allowed_actions(S.REJECTED) == [A.CONTEST]


def test_allowed_actions_keep_table_order() -> None:
    order = list(TRANSITIONS)
    for status in CaseStatus:
        acts = allowed_actions(status)
        assert acts == sorted(acts, key=order.index)


BLANKS = [None, "", " ", "   \t\n", "\u3000"]


@pytest.mark.parametrize("blank", BLANKS, ids=repr)
@pytest.mark.parametrize(
    ("status", "action"),
    [(S.ASSIGNED, A.TRANSFER), (S.SUBMITTED, A.REJECT), (S.REJECTED, A.CONTEST)],
)
def test_reason_required(status: CaseStatus, action: Action, blank: str | None) -> None:
    with pytest.raises(ValidationFailed, match=f"{action.value} needs a reason"):
        plan_transition(status, action, reason=blank, public_message="a reply is not a reason")
    assert plan_transition(status, action, reason="x").action is action


@pytest.mark.parametrize("blank", BLANKS, ids=repr)
@pytest.mark.parametrize(
    ("status", "action", "words"),
    [
        (S.IN_PROGRESS, A.RESOLVE, "resolve needs a public reply to the resident"),
        (S.SUBMITTED, A.REPLY, "reply needs a message"),
        (S.RESOLVED, A.REPLY, "reply needs a message"),
    ],
)
def test_message_required(
    status: CaseStatus, action: Action, words: str, blank: str | None
) -> None:
    with pytest.raises(ValidationFailed) as err:
        plan_transition(status, action, public_message=blank, reason="a reason is not a reply")
    assert err.value.message == words
    assert plan_transition(status, action, public_message="ok").to_status in CaseStatus


@pytest.mark.parametrize(
    ("status", "action"),
    [(S.SUBMITTED, A.ASSIGN), (S.ASSIGNED, A.START), (S.RESOLVED, A.CONFIRM),
     (S.RESOLVED, A.DISPUTE), (S.RESOLVED, A.EXPIRE_VERIFICATION), (S.ASSIGNED, A.MERGE)],
)
def test_actions_that_need_no_text(status: CaseStatus, action: Action) -> None:
    assert plan_transition(status, action).to_status == EXPECTED[(status, action)]


def test_contest_limit() -> None:
    assert MAX_CONTESTS == 1
    first = plan_transition(S.REJECTED, A.CONTEST, reason="wrongly refused", contests_so_far=0)
    assert first.to_status is S.CONTESTED
    for so_far in (1, 2, 10):
        with pytest.raises(InvalidTransition, match="already contested"):
            plan_transition(S.REJECTED, A.CONTEST, reason="again", contests_so_far=so_far)


def test_contest_count_does_not_limit_other_actions() -> None:
    t = plan_transition(S.CONTESTED, A.REJECT, reason="still outside remit", contests_so_far=1)
    assert t.to_status is S.REJECTED
    assert plan_transition(S.CONTESTED, A.ASSIGN, contests_so_far=1).to_status is S.ASSIGNED
