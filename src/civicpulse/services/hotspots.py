"""Hotspots of the city's unresolved cases, for the CLI, the API, the maps and the brief.

A hotspot is computed by :mod:`civicpulse.insight.hotspots` (Getis–Ord Gi* on a grid, with
false-discovery control) over the cases still waiting for action: submitted, assigned, in
progress or reopened, not merged into another case, with a place. Each case counts once,
weighted by its voices (a case that ten residents raised weighs ten), because the question
is where *residents'* unresolved problems gather.

The answer carries case ids (public on ``/cases``), counts and places; no text, so it is
the same for the public and staff. It is cached for ``aggregate_cache_seconds`` like the
other city-wide aggregates: the statistic reads every open case.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.limits import check_moment
from civicpulse.domain.workflow import AWAITING_ACTION
from civicpulse.insight.hotspots import HotspotParams, PlacePoint, find_hotspots
from civicpulse.services.read_models import HotspotList, HotspotView, Location
from civicpulse.storage.tables import Case, Voice

if TYPE_CHECKING:
    from civicpulse.infra.context import Context


def _points(ctx: Context, since: datetime | None, until: datetime | None) -> list[PlacePoint]:
    voices = (
        select(Voice.case_id, func.count().label("n")).group_by(Voice.case_id).subquery()
    )
    q = (
        select(Case.id, Case.lat, Case.lon, voices.c.n)
        .join(voices, voices.c.case_id == Case.id)
        .where(
            Case.status.in_([s.value for s in AWAITING_ACTION]),
            Case.merged_into_id.is_(None),
            Case.lat.is_not(None),
            Case.lon.is_not(None),
        )
    )
    if since is not None:
        q = q.where(Case.created_at >= since)
    if until is not None:
        q = q.where(Case.created_at < until)
    with ctx.db.reader() as s:
        return [
            PlacePoint(int(i), float(lat), float(lon), float(n or 1))
            for i, lat, lon, n in s.execute(q)
        ]


def city_hotspots(
    ctx: Context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    cell_m: float | None = None,
    band_m: float | None = None,
) -> HotspotList:
    """The hotspots of unresolved cases created in ``[since, until)`` (all open cases when
    not given), strongest first."""
    check_moment("since", since)
    check_moment("until", until)
    if since is not None and until is not None and since >= until:
        raise ValidationFailed("since must be before until")
    params = HotspotParams()
    if cell_m is not None or band_m is not None:
        params = HotspotParams(
            cell_m=cell_m if cell_m is not None else params.cell_m,
            band_m=band_m if band_m is not None else params.band_m,
        )

    def compute() -> HotspotList:
        report = find_hotspots(_points(ctx, since, until), params)
        return HotspotList(
            method="getis-ord-gi*",
            cell_m=params.cell_m,
            band_m=params.band_m,
            fdr=params.fdr,
            cases=report.points,
            set_aside=sum(len(s.member_ids) for s in report.set_aside),
            hotspots=[
                HotspotView(
                    rank=rank,
                    key=h.key,
                    place=Location(lat=h.lat, lon=h.lon),
                    south=h.bbox.south,
                    west=h.bbox.west,
                    north=h.bbox.north,
                    east=h.bbox.east,
                    cases=h.count,
                    voices=round(h.weight),
                    expected=round(h.expected, 2),
                    z=round(h.z, 3),
                    p=h.p,
                    q=h.q,
                    case_ids=sorted(h.member_ids),
                )
                for rank, h in enumerate(report.hotspots, start=1)
            ],
        )

    key = ("hotspots", since, until, params.cell_m, params.band_m)
    result: HotspotList = ctx.aggregates.get(key, compute)
    return result
