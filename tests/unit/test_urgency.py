"""Urgency: the rules give their reasons, the model learns from staff marks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicpulse.understanding.urgency import (
    DEFAULT_RULES,
    NORMAL,
    URGENT,
    RuleSet,
    UrgencyModel,
    assess,
    load_rules,
)

RULES = RuleSet()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("There is a gas leak in the stairwell", "danger_to_life"),
        ("楼道里有燃气泄漏的味道", "danger_to_life"),
        ("Power is out on the whole block since last night", "utility_out"),
        ("小区已经停水两天了", "utility_out"),
    ],
)
def test_danger_and_utilities_out_are_urgent_with_the_reason(text: str, rule: str) -> None:
    verdict = assess(text, RULES)
    assert verdict.level == URGENT
    assert rule in {r["rule"] for r in verdict.reasons}
    assert all(r["matched"] for r in verdict.reasons)


def test_vulnerable_people_alone_raise_the_score_but_do_not_make_it_urgent() -> None:
    verdict = assess("The bench near the school is broken", RULES)
    assert verdict.level == NORMAL
    assert verdict.score == 0.5
    assert verdict.reasons[0]["rule"] == "vulnerable_people"


def test_a_hazard_to_children_is_urgent() -> None:
    verdict = assess("Open manhole right outside the kindergarten, children walk past", RULES)
    assert verdict.level == URGENT
    assert {r["rule"] for r in verdict.reasons} == {"safety_hazard", "vulnerable_people"}


def test_an_ordinary_request_is_not_urgent() -> None:
    verdict = assess("建议在公园增加几个长椅", RULES)
    assert verdict.level == NORMAL and verdict.reasons == []


def test_a_city_replaces_the_rules_with_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([
        {"code": "flood", "reason": "flooding", "weight": 1.0, "patterns": ["flood", "内涝"]}
    ]), encoding="utf-8")
    rules = RuleSet(load_rules(path))
    assert assess("Street flooded after the storm", rules).level == URGENT
    assert assess("There is a gas leak", rules).level == NORMAL


def test_defaults_are_used_without_a_file() -> None:
    assert load_rules(None) == DEFAULT_RULES


def test_the_model_learns_from_staff_marks_and_names_its_features() -> None:
    urgent = ["电梯困人了，里面有人出不来", "电梯困人，快来救援", "有人被困电梯里"] * 3
    calm = ["建议多种几棵树", "希望增加公交班次", "公园长椅坏了"] * 3
    model = UrgencyModel.train(urgent + calm, [True] * 9 + [False] * 9)
    p_urgent, top = model.probability("电梯困人，请马上处理")
    p_calm, _ = model.probability("希望多种树")
    assert p_urgent > 0.8 > p_calm
    assert "困人" in top
    verdict = assess("电梯困人，请马上处理", RULES, model)
    assert verdict.level == URGENT
    assert verdict.reasons[-1]["source"] == "model"
    again = UrgencyModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.probability("电梯困人")[0] == model.probability("电梯困人")[0]


def test_the_model_needs_both_kinds_of_marks() -> None:
    with pytest.raises(ValueError):
        UrgencyModel.train(["a fire"], [True])
