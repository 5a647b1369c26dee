"""Following bursts from run to run, so that each burst alerts once while it lasts.

:func:`follow_bursts` matches the bursts found on a day against those already raised (same
series, window touching or within ``gap_days`` of the last day it was seen) and returns only
the new ones; a burst's identity is its series key and the day it started
(:attr:`RaisedBurst.identity`).

Apart from the detector (``bursts.py``) because this is about alerts, not statistics: the
caller keeps the raised bursts between runs (``services/bursts.py``, in ``burst_alerts``).
Pure: dataclasses in, dataclasses out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from civicpulse.insight.bursts import Burst


@dataclass(frozen=True)
class RaisedBurst:
    """A burst already alerted on, as the caller remembers it between runs."""

    series: str
    start: date  # the first day of the window that raised it; fixed for its life
    last_seen: date  # the last day on which it was still significant

    @property
    def identity(self) -> str:
        """Stable key for deduplication and outbox messages: series and start day."""
        return f"{self.series}@{self.start.isoformat()}"


@dataclass(frozen=True)
class BurstUpdate:
    """The result of matching today's bursts against the ones already raised."""

    new: tuple[tuple[Burst, RaisedBurst], ...]  # alert these, once
    continuing: tuple[tuple[Burst, RaisedBurst], ...]  # same burst as before: no new alert
    open: tuple[RaisedBurst, ...]  # remember these for the next run
    ended: tuple[RaisedBurst, ...]  # not seen for more than gap_days


def same_burst(found: Burst, raised: RaisedBurst, gap_days: int = 2) -> bool:
    """Whether ``found`` is the continuation of ``raised``: same series, and its window
    overlaps or starts at most ``gap_days`` quiet days after the raised burst was last seen.

    A three-day window keeps finding a one-day spike on the two days after it, and a burst
    may dip under the threshold for a day; neither should page anyone twice."""
    if found.series != raised.series or found.end < raised.start:
        return False
    quiet_days = (found.start - raised.last_seen).days - 1
    return quiet_days <= gap_days


def follow_bursts(
    found: Iterable[Burst],
    raised: Iterable[RaisedBurst],
    day: date,
    gap_days: int = 2,
) -> BurstUpdate:
    """Match the bursts found against the ones already raised, so each burst alerts once.

    A found burst continuing a raised one extends its ``last_seen`` and keeps its identity;
    any other is new. A raised burst not seen for more than ``gap_days`` days before ``day``
    has ended, and a rise after that is a new burst. Bursts of several days may be passed
    together, in any order: they chain as they would day by day."""
    open_: dict[str, RaisedBurst] = {r.identity: r for r in raised}
    new: list[tuple[Burst, RaisedBurst]] = []
    continuing: list[tuple[Burst, RaisedBurst]] = []
    for burst in sorted(found, key=lambda b: (b.end, b.series, b.start)):
        candidates = sorted(open_.values(), key=lambda r: (r.start, r.series))
        match = next((r for r in candidates if same_burst(burst, r, gap_days)), None)
        if match is None:
            record = RaisedBurst(burst.series, burst.start, burst.end)
            new.append((burst, record))
        else:
            record = replace(match, last_seen=max(match.last_seen, burst.end))
            continuing.append((burst, record))
        open_[record.identity] = record
    cutoff = day - timedelta(days=gap_days + 1)
    records = sorted(open_.values(), key=lambda r: (r.series, r.start))
    return BurstUpdate(
        new=tuple(new),
        continuing=tuple(continuing),
        open=tuple(r for r in records if r.last_seen >= cutoff),
        ended=tuple(r for r in records if r.last_seen < cutoff),
    )
