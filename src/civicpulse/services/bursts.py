"""Bursts in the product: count voices per day and series, test, and raise each burst once.

The statistics are :mod:`civicpulse.insight.bursts` (each series against its own eight weeks,
weekday-aware, negative-binomial, Benjamini–Hochberg across series). Here the series are
read from the database: one per category (the case's category, else the resident's), per
area and per topic, counted by the day a voice says it happened (else the day it arrived)
in the city's time zone.

:func:`city_bursts` answers the CLI, the API and the pages; it stores nothing.
:func:`raise_bursts` is the background step: it follows the bursts already raised (stored in
``burst_alerts``), writes a new one and its mails in one transaction keyed by the burst's
identity, so a burst alerts once however long it lasts and however many workers find it,
and marks the ones that are over.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from civicpulse.domain.errors import ValidationFailed
from civicpulse.insight.burst_follow import RaisedBurst, follow_bursts
from civicpulse.insight.bursts import (
    TEST_NAME,
    Burst,
    BurstParams,
    count_table,
    detect_in_table,
    eligible_series,
)
from civicpulse.services.outbox import enqueue_mail
from civicpulse.services.read_models import BurstList, BurstView
from civicpulse.storage.tables import (
    Area,
    BurstAlert,
    Case,
    Category,
    Department,
    Topic,
    Voice,
    VoiceTopic,
)

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

KINDS = ("category", "area", "topic")


def _local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def _today(ctx: Context) -> date:
    return _local_day(ctx.clock(), ZoneInfo(ctx.settings.timezone))


def daily_counts(
    ctx: Context, first_day: date, last_day: date
) -> dict[str, list[tuple[date, int]]]:
    """Voices per local day in ``[first_day, last_day]`` for every series that had any."""
    zone = ZoneInfo(ctx.settings.timezone)
    lo = datetime.combine(first_day, time(), zone)
    hi = datetime.combine(last_day + timedelta(days=1), time(), zone)
    at = func.coalesce(Voice.occurred_at, Voice.received_at)
    q = (
        select(at, func.coalesce(Case.category_id, Voice.category_id), Case.area_id,
               VoiceTopic.topic_id)
        .join(Case, Case.id == Voice.case_id)
        .outerjoin(VoiceTopic, VoiceTopic.voice_id == Voice.id)
        .where(at >= lo, at < hi)
    )
    counts: Counter[tuple[str, date]] = Counter()
    with ctx.db.reader() as s:
        categories = dict(s.execute(select(Category.id, Category.code)).all())
        areas = dict(s.execute(select(Area.id, Area.code)).all())
        topics = dict(s.execute(select(Topic.id, Topic.key)).all())
        for when, category_id, area_id, topic_id in s.execute(q):
            day = _local_day(when, zone)
            if category_id in categories:
                counts[(f"category:{categories[category_id]}", day)] += 1
            if area_id in areas:
                counts[(f"area:{areas[area_id]}", day)] += 1
            if topic_id in topics:
                counts[(f"topic:{topics[topic_id]}", day)] += 1
    series: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for (key, day), n in sorted(counts.items()):
        series[key].append((day, n))
    return dict(series)


@dataclass(frozen=True)
class _Found:
    bursts: list[Burst]
    tested: int
    params: BurstParams


def _find(ctx: Context, day: date, until: date | None) -> _Found:
    params = BurstParams()
    last = until or day
    first = day - timedelta(days=params.history_days + max(params.windows) + 7)
    table = count_table(daily_counts(ctx, first, last), first_day=first, last_day=last)
    if not table.keys:
        return _Found([], 0, params)
    bursts = detect_in_table(table, day, last, params)
    return _Found(bursts, len(eligible_series(table, day, params)), params)


def _view(b: Burst) -> BurstView:
    kind, _, code = b.series.partition(":")
    return BurstView(
        kind=kind, code=code, series=b.series, start=b.start, end=b.end, observed=b.observed,
        expected=b.expected, ratio=b.ratio, p_value=b.p_value, q_value=b.q_value,
        daily_observed=list(b.daily_observed), daily_expected=list(b.daily_expected),
        reasons=list(b.reasons), identity=f"{b.series}@{b.start.isoformat()}",
    )


def city_bursts(ctx: Context, day: date | None = None) -> BurstList:
    """The bursts whose window ends on ``day`` (default: today in the city), strongest
    first. Cached like the other city-wide aggregates: it reads eight weeks of voices."""
    today = _today(ctx)
    day = day or today
    if day > today:
        raise ValidationFailed("day must not be in the future")

    def compute() -> BurstList:
        found = _find(ctx, day, None)
        ordered = sorted(found.bursts, key=lambda b: (b.q_value, -b.ratio, b.series))
        return BurstList(day=day, test=TEST_NAME, fdr=found.params.fdr,
                         series_tested=found.tested, bursts=[_view(b) for b in ordered])

    result: BurstList = ctx.aggregates.get(("bursts", day), compute)
    return result


@dataclass(frozen=True)
class BurstRun:
    new: int
    continuing: int
    ended: int
    mails: int


def raise_bursts(ctx: Context, day: date | None = None) -> BurstRun:
    """Find the bursts of yesterday and today (today's count so far can only under-state
    it, so a burst seen before the day ends is a real one), alert the new ones once, move
    the ones that go on, close the ones that are over."""
    today = day or _today(ctx)
    found = _find(ctx, today - timedelta(days=1), today)
    with ctx.db.reader() as s:
        stored = s.execute(
            select(BurstAlert.series, BurstAlert.start_day, BurstAlert.last_seen)
            .where(BurstAlert.ended_on.is_(None))
        ).all()
    raised = [RaisedBurst(series, start, last) for series, start, last in stored]
    update_ = follow_bursts(found.bursts, raised, today)
    mails = 0
    new = 0
    for burst, memory in update_.new:
        sent = _raise_one(ctx, burst, memory)
        if sent is not None:
            new += 1
            mails += sent
    with ctx.db.transaction() as s:
        for _burst, memory in update_.continuing:
            s.execute(
                update(BurstAlert)
                .where(BurstAlert.identity == memory.identity)
                .values(last_seen=memory.last_seen)
            )
        for memory in update_.ended:
            s.execute(
                update(BurstAlert).where(BurstAlert.identity == memory.identity)
                .values(ended_on=today)
            )
    return BurstRun(new, len(update_.continuing), len(update_.ended), mails)


def _raise_one(ctx: Context, burst: Burst, memory: RaisedBurst) -> int | None:
    """Store one new burst and queue its mails in one transaction: the number of mails, or
    None when another worker raised it first."""
    now = ctx.clock()
    try:
        with ctx.db.transaction() as s:
            s.execute(insert(BurstAlert).values(
                identity=memory.identity, series=burst.series, start_day=burst.start,
                last_seen=memory.last_seen, ended_on=None, observed=burst.observed,
                expected=burst.expected, p_value=burst.p_value, q_value=burst.q_value,
                raised_at=now,
            ))
            recipients = list(ctx.settings.burst_recipient_list)
            kind, _, code = burst.series.partition(":")
            label = code
            if kind == "category":
                row = s.execute(
                    select(Category.name_zh, Category.name_en, Department.email)
                    .outerjoin(Department, Department.id == Category.department_id)
                    .where(Category.code == code)
                ).first()
                if row is not None:
                    label = f"{row[0] or code} / {row[1] or code}"
                    if row[2]:
                        recipients.append(row[2])
            elif kind == "area":
                names = s.execute(
                    select(Area.name_zh, Area.name_en).where(Area.code == code)
                ).first()
                if names is not None:
                    label = f"{names[0] or code} / {names[1] or code}"
            elif kind == "topic":
                topic = s.execute(select(Topic.label).where(Topic.key == code)).scalar()
                label = topic or code
            subject, body = _alert_text(burst, kind, label, ctx.settings.public_base_url)
            for recipient in dict.fromkeys(recipients):
                enqueue_mail(s, recipient=recipient, subject=subject, body=body, case_id=None,
                             now=now)
            return len(dict.fromkeys(recipients))
    except IntegrityError:
        return None


_KIND_WORDS = {
    "category": ("类别", "category"),
    "area": ("区域", "area"),
    "topic": ("话题", "topic"),
}


def _alert_text(burst: Burst, kind: str, label: str, base_url: str) -> tuple[str, str]:
    """The alert in both languages (staff mailboxes are shared; the words are short)."""
    zh_kind, en_kind = _KIND_WORDS.get(kind, (kind, kind))
    days = (burst.end - burst.start).days + 1
    subject = (f"诉求激增 / Burst of voices: {label} "
               f"({burst.observed} / {burst.expected:.1f})")
    link = f"{base_url.rstrip('/')}/staff/concerns"
    zh = (f"{zh_kind}「{label}」在 {burst.start.isoformat()} 至 {burst.end.isoformat()} 的 "
          f"{days} 天内收到 {burst.observed} 条诉求，按其过去八周同一星期几的水平应约为 "
          f"{burst.expected:.1f} 条（{burst.ratio:.1f} 倍）。检验：负二项分布上尾，"
          f"p = {burst.p_value:.2g}，错误发现率校正后 q = {burst.q_value:.2g}。"
          f"同一激增持续期间不再重复提醒。\n查看：{link}")
    en = (f"The {en_kind} \"{label}\" received {burst.observed} voices in the {days} days "
          f"{burst.start.isoformat()} to {burst.end.isoformat()}, where its own last eight "
          f"weeks, weekday by weekday, lead to about {burst.expected:.1f} "
          f"({burst.ratio:.1f}×). Test: negative-binomial upper tail, p = "
          f"{burst.p_value:.2g}, q = {burst.q_value:.2g} after false-discovery control. "
          f"You will not be told again while this burst lasts.\nSee: {link}")
    return subject, f"{zh}\n\n{en}\n"
