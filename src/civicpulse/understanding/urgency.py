"""Urgency: does a voice speak of danger to life, vulnerable people or a utility that is out?

Two parts, each giving its reason so staff can see why a voice was flagged:

* **Rules**: a small list anyone can read and change. The defaults below were written
  from general knowledge of what makes a public-service request urgent (the emergency-
  service categories most cities use), in Chinese and English; they are not taken from any
  city's data. A city replaces them with its own file (``CIVICPULSE_URGENCY_RULES_FILE``,
  JSON or YAML: a list of ``{code, reason, weight, patterns}``).
* **A model**: learnt from the cases the city's staff marked urgent or not (see
  :class:`UrgencyModel`), so it picks up how this city's residents describe urgent things.

A voice is urgent when the rules' weights plus the model's vote reach 1.0.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

URGENT = "urgent"
NORMAL = "normal"
#: score at which a voice is urgent
URGENT_AT = 1.0


@dataclass(frozen=True)
class Rule:
    """One reason a voice can be urgent, with the words that signal it."""

    code: str
    reason: str
    weight: float
    patterns: tuple[str, ...]

    def compiled(self) -> re.Pattern[str]:
        return re.compile("|".join(self.patterns), re.IGNORECASE)


#: The default rules: written for this module from general knowledge, in both languages.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "danger_to_life",
        "danger to life or safety",
        1.0,
        (
            r"\bfire\b", r"\bsmoke\b", r"gas leak", r"smell of gas", r"explosi",
            r"live wire", r"electrocut", r"collaps", r"\binjur", r"\bbleeding\b",
            r"unconscious", r"not breathing", r"\boverdos", r"\bdrown", r"\bweapon",
            r"\bgun\b", r"\bknife\b", r"\bassault", r"falling (?:debris|tree|branch)",
            r"着火", r"起火", r"火灾", r"冒烟", r"燃气泄漏", r"煤气泄漏", r"漏气", r"爆炸",
            r"触电", r"漏电", r"电线裸露", r"坍塌", r"倒塌", r"塌方", r"受伤", r"流血",
            r"昏迷", r"溺水", r"持刀", r"打人", r"生命危险",
        ),
    ),
    Rule(
        "safety_hazard",
        "a hazard that could hurt someone",
        0.5,
        (
            r"\bunsafe\b", r"\bhazard", r"\bdanger", r"trip(?:ping)? hazard", r"open manhole",
            r"安全隐患", r"危险", r"井盖", r"隐患",
        ),
    ),
    Rule(
        "vulnerable_people",
        "vulnerable people affected (elderly, children, disabled, pregnant)",
        0.5,
        (
            r"\belderly\b", r"\bsenior", r"\bchild", r"\bkids?\b", r"\bbab(?:y|ies)\b",
            r"\bdisab", r"wheelchair", r"\bblind\b", r"pregnan", r"\bschool",
            r"老人", r"老年", r"儿童", r"孩子", r"小孩", r"婴儿", r"学生", r"残疾", r"轮椅",
            r"孕妇", r"盲人", r"幼儿园", r"小学",
        ),
    ),
    Rule(
        "utility_out",
        "essential utility out (water, power, heating, gas, sewer)",
        1.0,
        (
            r"no water", r"water (?:is )?(?:off|out|cut)", r"no power", r"power (?:is )?out",
            r"power cut", r"outage", r"blackout", r"no heat", r"heating (?:is )?(?:off|out)",
            r"sewer (?:is )?(?:blocked|backing up)", r"停水", r"断水", r"没有水", r"没水",
            r"停电", r"断电", r"没有电", r"没电", r"停气", r"断气", r"没有暖气", r"停暖",
            r"下水道堵",
        ),
    ),
)


@dataclass(frozen=True)
class Verdict:
    """The urgency of one voice: level, score and every reason that counted."""

    level: str
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


def load_rules(path: Path | None) -> tuple[Rule, ...]:
    """The city's own rules from a JSON or YAML file, else the defaults."""
    if path is None:
        return DEFAULT_RULES
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        items = yaml.safe_load(text)
    else:
        items = json.loads(text)
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of rules")
    return tuple(
        Rule(
            code=str(item["code"]),
            reason=str(item.get("reason", item["code"])),
            weight=float(item.get("weight", 1.0)),
            patterns=tuple(str(p) for p in item["patterns"]),
        )
        for item in items
    )


class RuleSet:
    """Rules compiled once; ``judge`` is a few regular-expression scans."""

    def __init__(self, rules: Sequence[Rule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        self._compiled = [(rule, rule.compiled()) for rule in self.rules]

    def findings(self, text: str) -> list[dict[str, Any]]:
        out = []
        for rule, pattern in self._compiled:
            found = pattern.search(text)
            if found:
                out.append(
                    {
                        "source": "rule",
                        "rule": rule.code,
                        "reason": rule.reason,
                        "matched": found.group(0),
                        "weight": rule.weight,
                    }
                )
        return out


# ---- the model ---------------------------------------------------------------------------

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[a-z0-9]+")


def _features(text: str) -> set[str]:
    """Words for Latin text and character bigrams for Chinese: no segmenter needed."""
    tokens = _TOKEN.findall(text.lower())
    feats = {t for t in tokens if len(t) > 1}
    han = [t for t in tokens if len(t) == 1 and not t.isascii()]
    feats.update(a + b for a, b in itertools.pairwise(han))
    return feats


@dataclass
class UrgencyModel:
    """Naive Bayes over words and character bigrams, learnt from staff's urgency marks.

    Small and explainable: the reason it gives is the few features that pushed the voice
    towards "urgent" the most. It votes only when it is confident, and only with as much
    weight as one rule, so a handful of marks cannot flag everything.
    """

    log_odds: dict[str, float]
    prior: float
    examples: int
    version: int = 1

    @classmethod
    def train(
        cls, texts: Iterable[str], urgent: Iterable[bool], min_count: int = 2
    ) -> UrgencyModel:
        pos: Counter[str] = Counter()
        neg: Counter[str] = Counter()
        n_pos = n_neg = 0
        for text, flag in zip(texts, urgent, strict=True):
            feats = _features(text)
            if flag:
                pos.update(feats)
                n_pos += 1
            else:
                neg.update(feats)
                n_neg += 1
        if n_pos == 0 or n_neg == 0:
            raise ValueError("need voices marked urgent and voices marked not urgent")
        log_odds = {}
        for feat in set(pos) | set(neg):
            if pos[feat] + neg[feat] < min_count:
                continue
            p = (pos[feat] + 1) / (n_pos + 2)
            q = (neg[feat] + 1) / (n_neg + 2)
            log_odds[feat] = math.log(p / q)
        return cls(log_odds, math.log(n_pos / n_neg), n_pos + n_neg)

    def probability(self, text: str) -> tuple[float, list[str]]:
        """P(urgent) and the features that raised it most."""
        contributions = sorted(
            ((self.log_odds[f], f) for f in _features(text) if f in self.log_odds), reverse=True
        )
        z = self.prior + sum(w for w, _ in contributions)
        z = max(-30.0, min(30.0, z))
        top = [f for w, f in contributions[:3] if w > 0]
        return 1 / (1 + math.exp(-z)), top

    def to_json(self) -> dict[str, Any]:
        return {"log_odds": self.log_odds, "prior": self.prior, "examples": self.examples,
                "version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UrgencyModel:
        return cls(dict(data["log_odds"]), float(data["prior"]), int(data["examples"]),
                   int(data.get("version", 1)))


#: the model votes only at or above this probability
MODEL_CONFIDENT = 0.8


def assess(text: str, rules: RuleSet, model: UrgencyModel | None = None) -> Verdict:
    """Rules plus the model's vote; urgent at a score of 1.0, every reason kept."""
    reasons = rules.findings(text)
    score = sum(r["weight"] for r in reasons)
    if model is not None:
        p, top = model.probability(text)
        if p >= MODEL_CONFIDENT:
            reasons.append(
                {
                    "source": "model",
                    "rule": f"model-v{model.version}",
                    "reason": f"like cases staff marked urgent (p={p:.2f})",
                    "matched": ", ".join(top),
                    "weight": 1.0,
                }
            )
            score += 1.0
    level = URGENT if score >= URGENT_AT else NORMAL
    return Verdict(level, round(score, 3), reasons)
