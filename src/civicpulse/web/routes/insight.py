"""Routes of city-wide insight: hotspots and bursts. Public: they carry counts, places, codes
and case ids, which ``/cases`` shows anyway, and no text."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Request

from civicpulse.infra.context import Context
from civicpulse.services.bursts import city_bursts
from civicpulse.services.hotspots import city_hotspots
from civicpulse.services.read_models import BurstList, HotspotList
from civicpulse.web.deps import get_ctx, limit_public
from civicpulse.web.schemas import refusals

router = APIRouter(tags=["insight"])


@router.get("/hotspots", responses=refusals(422, 429))
def hotspots(
    request: Request,
    since: datetime | None = Query(None, description="cases created at or after this time"),
    until: datetime | None = Query(None, description="cases created before this time"),
    ctx: Context = Depends(get_ctx),
) -> HotspotList:
    """Places where unresolved cases gather beyond chance: Getis–Ord Gi* on 250 m cells,
    neighbours within 500 m, Benjamini–Hochberg at 5 %; strongest first."""
    limit_public(request)
    return city_hotspots(ctx, since=since, until=until)


@router.get("/bursts", responses=refusals(422, 429))
def bursts(
    request: Request,
    day: date | None = Query(None, description="last day of the windows (city time); today"),
    ctx: Context = Depends(get_ctx),
) -> BurstList:
    """Categories, areas and topics whose voices rose significantly over the last one to
    three days against their own eight weeks, weekday by weekday (negative-binomial test,
    Benjamini–Hochberg at 10 % across series); strongest first."""
    limit_public(request)
    return city_bursts(ctx, day)
