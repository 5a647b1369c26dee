"""The explainable ranking of concerns: a score that is the sum of its reasons.

Each component turns one fact about a concern into a contribution, ``weight × scale(value)``,
and every guard against gaming that discounts something is a reason line of its own with a
negative contribution. So a leader reads *why* a concern ranks where it does, line by line,
and the lines add up exactly to the score (to the thousandth: each contribution is rounded
first and the score is their sum).

The weights, scales, guards and windows live in a YAML file (``concern_weights.yaml`` beside
this module; a city names its own copy in ``CIVICPULSE_CONCERN_WEIGHTS_FILE``), so a city
changes its priorities by configuration, not code.

Everything here is plain Python over :class:`ConcernFacts`, which the concerns service
gathers from the database; facts are stored with each concern, so a change of weights or
the passing of time rescores every concern without reading a single voice again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

COMPONENTS = ("residents", "support", "growth", "age", "urgency", "repeats")
SCALES = ("linear", "log2", "sqrt")
#: the reason lines a guard adds when it discounts or flags something
GUARD_REASONS = ("flood_device", "flood_network", "flood_contact")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Component:
    weight: float
    scale: str

    def apply(self, value: float) -> float:
        return self.weight * scaled(self.scale, value)


@dataclass(frozen=True)
class Guards:
    supporters_per_device: int = 3
    supporters_per_network: int = 20
    voices_per_resident: int = 5


@dataclass(frozen=True)
class Windows:
    recent_days: int = 7
    baseline_days: int = 56


@dataclass(frozen=True)
class Weights:
    components: Mapping[str, Component]
    guards: Guards = field(default_factory=Guards)
    windows: Windows = field(default_factory=Windows)

    @property
    def digest(self) -> str:
        """Changes whenever anything that decides a score changes (stored concerns compare it
        to know they must be rescored)."""
        shape = {
            "components": {k: asdict(c) for k, c in sorted(self.components.items())},
            "guards": asdict(self.guards),
            "windows": asdict(self.windows),
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def scaled(scale: str, value: float) -> float:
    if scale == "log2":
        return math.log2(1.0 + max(0.0, value))
    if scale == "sqrt":
        return math.sqrt(max(0.0, value))
    return value


# ---- the weights file ------------------------------------------------------------------------


def default_weights_text() -> str:
    return resources.files("civicpulse.insight").joinpath("concern_weights.yaml").read_text(
        encoding="utf-8"
    )


def load_weights(path: Path | None = None) -> Weights:
    """The built-in weights, with whatever the city's file at ``path`` changes."""
    data = _mapping(yaml.safe_load(default_weights_text()), "the built-in weights")
    if path is not None:
        try:
            city = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read the concern weights file {path}: {exc}") from exc
        for section, values in _mapping(city, str(path)).items():
            if section not in data:
                raise ValueError(f"{path}: unknown section {section!r}; sections are "
                                 f"{', '.join(data)}")
            base = dict(data[section])
            for name, value in _mapping(values, f"{path}: {section}").items():
                if name not in base:
                    raise ValueError(f"{path}: unknown {section} entry {name!r}; entries are "
                                     f"{', '.join(base)}")
                base[name] = {**base[name], **value} if isinstance(value, dict) else value
            data[section] = base
    return _weights(data)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping of names to values")
    return value


def _weights(data: dict[str, Any]) -> Weights:
    components = {}
    for name in COMPONENTS:
        entry = _mapping(data["components"].get(name), f"component {name}")
        weight, scale = entry.get("weight"), entry.get("scale", "linear")
        if not isinstance(weight, int | float) or weight < 0:
            raise ValueError(f"component {name}: weight must be a number ≥ 0")
        if scale not in SCALES:
            raise ValueError(f"component {name}: scale must be one of {', '.join(SCALES)}")
        components[name] = Component(float(weight), scale)
    guards = {k: int(v) for k, v in _mapping(data["guards"], "guards").items()}
    windows = {k: int(v) for k, v in _mapping(data["windows"], "windows").items()}
    if min(guards.values()) < 1 or min(windows.values()) < 1:
        raise ValueError("guards and windows must be whole numbers ≥ 1")
    return Weights(components, Guards(**guards), Windows(**windows))


# ---- facts and reasons ---------------------------------------------------------------------


def day_number(at: datetime) -> int:
    """Days since 1970-01-01 UTC: how the facts remember when people joined."""
    return (at.astimezone(UTC) - _EPOCH).days


@dataclass(frozen=True)
class ConcernFacts:
    """What the ranking needs to know about one concern, gathered once when it changes."""

    #: distinct residents who wrote in (one person once, whatever the channel)
    residents: int = 0
    #: distinct people who said "me too" and did not write in themselves
    supporters: int = 0
    #: likes or supports counted by the systems voices were imported from
    imported_supports: int = 0
    #: sizes of the groups of supporters that share one device (groups of 2 or more)
    device_groups: tuple[int, ...] = ()
    #: sizes of the groups of supporters that share one network address (2 or more)
    network_groups: tuple[int, ...] = ()
    #: the most voices one resident sent about this concern
    most_voices_one_resident: int = 0
    #: people (residents and supporters) by the day they joined: day number -> count, for
    #: the days that growth can still look at
    joined: Mapping[int, int] = field(default_factory=dict)
    #: when the oldest case of the concern still unresolved was raised; None when none is
    open_since: datetime | None = None
    #: share of residents whose voice was assessed urgent, or whose case staff marked urgent
    urgent_share: float = 0.0
    #: "not fixed" verdicts, and residents who wrote in after a case of the concern was resolved
    repeats: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["joined"] = {str(k): v for k, v in self.joined.items()}
        out["open_since"] = self.open_since.isoformat() if self.open_since else None
        out["device_groups"] = list(self.device_groups)
        out["network_groups"] = list(self.network_groups)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConcernFacts:
        since = data.get("open_since")
        return cls(
            residents=int(data.get("residents", 0)),
            supporters=int(data.get("supporters", 0)),
            imported_supports=int(data.get("imported_supports", 0)),
            device_groups=tuple(int(x) for x in data.get("device_groups", ())),
            network_groups=tuple(int(x) for x in data.get("network_groups", ())),
            most_voices_one_resident=int(data.get("most_voices_one_resident", 0)),
            joined={int(k): int(v) for k, v in dict(data.get("joined", {})).items()},
            open_since=datetime.fromisoformat(since) if since else None,
            urgent_share=float(data.get("urgent_share", 0.0)),
            repeats=int(data.get("repeats", 0)),
        )


@dataclass(frozen=True)
class Reason:
    """One line of a score: what was measured, how much it weighs and what it adds."""

    name: str
    value: float
    weight: float
    contribution: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ranked:
    score: float
    reasons: list[Reason]


def _r(x: float) -> float:
    """Rounded to the thousandth; -0.0 printed as 0.0."""
    return round(x, 3) + 0.0


def total(contributions: list[float]) -> float:
    """The exact decimal sum of the rounded contributions (what a reader adding them gets)."""
    return float(sum((Decimal(repr(c)) for c in contributions), Decimal(0)))


def growth(facts: ConcernFacts, windows: Windows, as_of: datetime) -> float:
    """People who joined in the recent window beyond what the concern's own earlier rate
    would predict (never below 0)."""
    today = day_number(as_of)
    recent_from = today - windows.recent_days
    baseline_from = recent_from - windows.baseline_days
    recent = sum(n for day, n in facts.joined.items() if recent_from < day <= today)
    before = sum(n for day, n in facts.joined.items() if baseline_from < day <= recent_from)
    expected = before * windows.recent_days / windows.baseline_days
    return max(0.0, recent - expected)


def weeks_open(facts: ConcernFacts, as_of: datetime) -> float:
    if facts.open_since is None:
        return 0.0
    return max(0.0, (as_of - facts.open_since) / timedelta(days=7))


def _excess(groups: tuple[int, ...], allowed: int) -> int:
    return sum(max(0, size - allowed) for size in groups)


def rank(facts: ConcernFacts, weights: Weights, as_of: datetime) -> Ranked:
    """The score of one concern as of ``as_of``, with every reason behind it."""
    c = weights.components
    g = weights.guards
    reasons: list[Reason] = []

    def line(name: str, value: float, weight: float, contribution: float) -> None:
        reasons.append(Reason(name, _r(value), weight, _r(contribution)))

    line("residents", facts.residents, c["residents"].weight,
         c["residents"].apply(facts.residents))
    supported = facts.supporters + facts.imported_supports
    support = c["support"]
    line("support", supported, support.weight, support.apply(supported))
    # the guards discount "me too"s one after the other; each discount is its own line
    device = min(_excess(facts.device_groups, g.supporters_per_device), facts.supporters)
    network = min(_excess(facts.network_groups, g.supporters_per_network),
                  facts.supporters - device)
    kept = supported
    for name, excess in (("flood_device", device), ("flood_network", network)):
        if excess > 0:
            line(name, excess, support.weight,
                 _r(support.apply(kept - excess)) - _r(support.apply(kept)))
            kept -= excess
    if facts.most_voices_one_resident > g.voices_per_resident:
        # flagged: the resident already counts once, so nothing more is taken off
        line("flood_contact", facts.most_voices_one_resident - 1, 0.0, 0.0)
    rise = growth(facts, weights.windows, as_of)
    line("growth", rise, c["growth"].weight, c["growth"].apply(rise))
    weeks = weeks_open(facts, as_of)
    line("age", weeks, c["age"].weight, c["age"].apply(round(weeks, 3)))
    line("urgency", facts.urgent_share, c["urgency"].weight,
         c["urgency"].apply(facts.urgent_share))
    line("repeats", facts.repeats, c["repeats"].weight, c["repeats"].apply(facts.repeats))
    return Ranked(total([r.contribution for r in reasons]), reasons)
