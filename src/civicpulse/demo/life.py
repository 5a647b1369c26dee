"""What happens to each demo case after it is submitted: a plan of dated steps.

Planning is plain Python over a seeded ``random.Random``, separate from the code that
carries the plan out through the services, so the same seed always gives the same city and
the rules of the simulated life can be read (and tested) on their own.

Departments differ on purpose — each gets a speed and a quality drawn once — so that the
scorecards have something to tell apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

P_REJECT = 0.04
P_TRANSFER = 0.07
P_BOUNCE_BACK = 0.25  # of transfers: the receiving department sends the case back
P_ACKNOWLEDGE = 0.6
P_STAYS_ASSIGNED = 0.08
P_STAYS_IN_PROGRESS = 0.12
P_VERDICT = 0.7
P_SECOND_VERDICT = 0.6

# ---- words the demo's staff and residents use ----------------------------------------------

Bilingual = tuple[str, str]  # (English, Chinese)

ACKNOWLEDGEMENTS: list[Bilingual] = [
    ("Thank you for your report. An inspector will visit the site.",
     "您好，您反映的问题已收到，我们已安排工作人员现场核查。"),
    ("We have logged your report and scheduled the work with our crew.",
     "您的诉求已登记，已安排班组排期处理。"),
    ("Received. We are checking who is responsible for this location.",
     "已收悉，正在核实该处的管理责任单位。"),
]

RESOLUTION_NOTES: dict[str, Bilingual] = {
    "pothole": ("The hole was filled with hot asphalt and the surface levelled.",
                "已用热沥青填补坑洼并整平路面。"),
    "sidewalk": ("The loose slabs were re-laid and the trip hazard removed.",
                 "已重新铺设松动地砖，消除绊倒隐患。"),
    "streetlight": ("The lamp and its fuse were replaced; the light works again.",
                    "已更换灯具及保险丝，路灯恢复照明。"),
    "collection": ("The missed collection was picked up and the route crew reminded.",
                   "已补收垃圾，并提醒该线路收运班组按时收运。"),
    "bulk-item": ("The items were collected.", "大件垃圾已清运完毕。"),
    "graffiti": ("The wall was cleaned and repainted.", "已清除涂鸦并重新粉刷墙面。"),
    "street-cleaning": ("The street was cleaned and the carcass removed.",
                        "已清扫路面并清理动物尸体。"),
    "tree": ("The broken branch was cut down and the footpath cleared.",
             "已锯除断枝并清理人行道。"),
    "park": ("The damaged equipment was repaired and safety-checked.",
             "已维修损坏设施并完成安全检查。"),
    "traffic-signs": ("The signal controller was reset and the timing corrected.",
                      "已重置信号机并调整配时。"),
    "vehicles-parking": ("The vehicle was tagged and towed after the notice period.",
                         "已张贴告知书，期满后将车辆拖离。"),
    "public-transport": ("The operator was asked to add runs at peak hours from next month.",
                         "已要求公交公司自下月起在高峰时段加密班次。"),
    "housing-conditions": ("An inspector ordered the landlord to repair within 7 days and "
                           "confirmed the work.",
                           "检查人员已责令房东七日内整改，并已复查确认。"),
    "construction-property": ("The property company was summoned and agreed on a repair "
                              "schedule, which we will follow up.",
                              "已约谈物业公司，督促其制定维修计划，我局将跟踪落实。"),
    "pollution-noise": ("Night work at the site was stopped and the contractor fined.",
                        "已责令工地停止夜间施工，并依法对施工单位作出处罚。"),
    "pests": ("Bait stations were set and the bins area cleaned; we will re-inspect.",
              "已投放灭鼠毒饵站并清理垃圾点，后续将复查。"),
    "health-services": ("An inspection found the problem and the business has corrected it.",
                        "经检查属实，经营单位已整改到位。"),
    "jobs-social-security": ("The employer was ordered to pay the arrears; payment was made.",
                             "已责令用人单位支付拖欠工资，款项已发放。"),
    "schools-culture": ("The school and the district agreed on the changes you asked for.",
                        "学校与区教育部门已就您的建议达成改进方案。"),
    "markets-tourism": ("The market was inspected and the traders' scales checked.",
                        "已对市场开展检查，并对商户计量器具进行检定。"),
    "general": ("Your suggestion was passed to the responsible office, which has acted on it.",
                "您的建议已转交责任部门并已落实。"),
}
SECOND_RESOLUTION: Bilingual = (
    "The crew went back and finished the repair properly.",
    "已安排人员返工，问题已彻底处理。",
)

REJECTIONS: list[Bilingual] = [
    ("This is private property; the owner is responsible and has been told of your report.",
     "经核实，该处为私人产权，由业主负责维护，已告知产权单位。"),
    ("This is a private dispute outside the city's remit; legal aid can advise you.",
     "该问题属于民事纠纷，不属于行政受理范围，建议通过法律援助途径解决。"),
]

#: category -> (department it is sometimes passed to, why)
TRANSFERS: dict[str, tuple[str, Bilingual]] = {
    "pothole": ("transport", ("The damage is on a bus lane, which Transport maintains.",
                              "该路段为公交专用道，由交通运输局负责养护。")),
    "streetlight": ("transport", ("This is a traffic signal, not a street light.",
                                  "该灯为交通信号灯，非路灯。")),
    "tree": ("public-works", ("The tree stands on a road verge that Public Works looks after.",
                              "该树位于道路绿化带，由市政工程局管护。")),
    "pollution-noise": ("housing", ("The noise comes from a licensed building site; Housing "
                                    "and Construction supervises its hours.",
                                    "噪音来自在建工地，施工时间由住建局监管。")),
    "construction-property": ("service-centre", ("Several departments are involved; the "
                                                 "Citizen Service Centre will coordinate.",
                                                 "涉及多个部门，转市民服务中心统筹协调。")),
    "markets-tourism": ("health", ("Food safety is a matter for Public Health.",
                                   "食品安全问题由卫生健康部门负责。")),
    "housing-conditions": ("health", ("Mould and pests in homes are inspected by Public Health.",
                                      "室内霉菌和虫害由卫生健康部门检查。")),
    "schools-culture": ("transport", ("Traffic around schools is handled by Transport.",
                                      "学校周边交通问题由交通运输局负责。")),
    "public-transport": ("public-works", ("Road layout changes are designed by Public Works.",
                                          "道路改造设计由市政工程局负责。")),
}
BOUNCE_BACK: Bilingual = (
    "Returned: after checking, this remains with the original department.",
    "经核实仍属原部门职责，退回原部门办理。",
)

COMMENTS_FIXED: list[Bilingual] = [
    ("Quick and clean, thank you.", "处理很及时，谢谢！"),
    ("Fixed, though it took a while.", "问题解决了，就是时间有点长。"),
]
COMMENTS_NOT_FIXED: list[Bilingual] = [
    ("Nothing has changed on the ground.", "现场根本没有变化。"),
    ("They came but the problem is back already.", "来过一次，但问题很快又出现了。"),
]


def say(words: Bilingual, language: str) -> str:
    return words[1] if language == "zh" else words[0]


# ---- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How a department works in the demo: ``speed`` scales its delays, ``quality`` is the
    chance a resident finds the problem really fixed."""

    speed: float
    quality: float


def department_profiles(codes: list[str], rng: random.Random) -> dict[str, Profile]:
    return {
        code: Profile(speed=rng.uniform(0.4, 1.6), quality=rng.uniform(0.55, 0.95))
        for code in sorted(codes)
    }


@dataclass(frozen=True)
class Step:
    """One thing someone does to a case at a moment. Who does it follows from ``kind``:
    the dispatcher assigns and merges, the holding department's officer does the work, the
    resident gives the verdict."""

    at: datetime
    kind: str  # assign | transfer | reply | start | resolve | reject | merge | verify
    department: str | None = None
    message: str | None = None
    fixed: bool | None = None
    satisfaction: int | None = None
    into: int | None = None  # merge: index of the target voice in the seeding order


@dataclass(frozen=True)
class CaseOutline:
    """What the planner needs to know about a case at submission."""

    received_at: datetime
    language: str
    category: str | None
    department: str | None  # where routing sends it (None: the dispatcher must assign)
    first_response_hours: int | None
    resolution_hours: int | None
    real_reply: str | None = None
    handling_hours: float | None = None
    still_open: bool = False


def _hours(h: float) -> timedelta:
    return timedelta(hours=h)


def plan_case(
    outline: CaseOutline,
    rng: random.Random,
    profiles: dict[str, Profile],
    *,
    triage_to: str | None,
    verification_hours: float,
    now: datetime,
    allow_reject: bool = True,
) -> list[Step]:
    """The case's steps in time order, cut at ``now`` (the future has not happened yet).

    ``triage_to`` is where the dispatcher sends a case routing could not place (None: it
    stays in the queue); a case others are merged into is never rejected.
    """
    lang = outline.language
    t = outline.received_at
    steps: list[Step] = []
    department = outline.department
    if department is None:
        if triage_to is None:
            return []
        t += _hours(rng.uniform(0.5, 18))
        steps.append(Step(t, "assign", department=triage_to))
        department = triage_to
    profile = profiles[department]
    roll = rng.random()
    if allow_reject and roll < P_REJECT:
        t += _hours(rng.uniform(2, 48) * profile.speed)
        steps.append(Step(t, "reject", message=say(rng.choice(REJECTIONS), lang)))
        return _until(steps, now)
    transfer = TRANSFERS.get(outline.category or "")
    if roll < P_REJECT + P_TRANSFER and transfer and transfer[0] != department:
        target, why = transfer
        t += _hours(rng.uniform(1, 24) * profile.speed)
        steps.append(Step(t, "transfer", department=target, message=say(why, lang)))
        if rng.random() < P_BOUNCE_BACK:
            t += _hours(rng.uniform(4, 48) * profiles[target].speed)
            steps.append(Step(t, "transfer", department=department,
                              message=say(BOUNCE_BACK, lang)))
        else:
            department, profile = target, profiles[target]
    steps.extend(_work(outline, rng, profile, t, verification_hours))
    return _until(steps, now)


def _work(
    outline: CaseOutline, rng: random.Random, profile: Profile, t: datetime,
    verification_hours: float,
) -> list[Step]:
    lang = outline.language
    first = (outline.first_response_hours or 72) * profile.speed * rng.lognormvariate(-0.3, 0.6)
    ack_at = t + _hours(first)
    steps = []
    if rng.random() < P_ACKNOWLEDGE:
        steps.append(Step(ack_at, "reply", message=say(rng.choice(ACKNOWLEDGEMENTS), lang)))
    stage = rng.random()
    if stage < P_STAYS_ASSIGNED:
        return steps
    start_at = ack_at + _hours(rng.uniform(1, 24) * profile.speed)
    steps.append(Step(start_at, "start"))
    if outline.still_open or stage < P_STAYS_ASSIGNED + P_STAYS_IN_PROGRESS:
        return steps
    if outline.handling_hours is not None:
        took = min(outline.handling_hours, 45 * 24.0)
    else:
        took = (outline.resolution_hours or 360) * profile.speed * rng.lognormvariate(-0.5, 0.6)
    resolve_at = max(start_at + _hours(rng.uniform(1, 8)), outline.received_at + _hours(took))
    note = outline.real_reply or say(RESOLUTION_NOTES[outline.category or "general"], lang)
    steps.append(Step(resolve_at, "resolve", message=note))
    if rng.random() >= P_VERDICT:
        return steps
    verdict = _verdict(rng, lang, profile.quality, resolve_at, verification_hours)
    steps.append(verdict)
    if verdict.fixed:
        return steps
    restart = verdict.at + _hours(rng.uniform(4, 48) * profile.speed)
    again = restart + _hours(rng.uniform(24, 120) * profile.speed)
    steps.append(Step(restart, "start"))
    steps.append(Step(again, "resolve", message=say(SECOND_RESOLUTION, lang)))
    if rng.random() < P_SECOND_VERDICT:
        steps.append(_verdict(rng, lang, (1 + profile.quality) / 2, again, verification_hours))
    return steps


def _verdict(
    rng: random.Random, lang: str, quality: float, resolved_at: datetime,
    verification_hours: float,
) -> Step:
    fixed = rng.random() < quality
    score = rng.choice([3, 4, 4, 5, 5]) if fixed else rng.choice([1, 1, 2, 2, 3])
    comments = COMMENTS_FIXED if fixed else COMMENTS_NOT_FIXED
    comment = say(rng.choice(comments), lang) if rng.random() < 0.4 else None
    at = resolved_at + _hours(rng.uniform(2, 0.9 * verification_hours))
    return Step(at, "verify", fixed=fixed, satisfaction=score, message=comment)


def plan_merge(received_at: datetime, into: int, rng: random.Random, now: datetime) -> list[Step]:
    """A duplicate the dispatcher folds into an earlier case about the same problem."""
    return _until([Step(received_at + _hours(rng.uniform(1, 12)), "merge", into=into)], now)


def _until(steps: list[Step], now: datetime) -> list[Step]:
    """Steps up to ``now``; a plan is a sequence, so nothing after a future step happens."""
    out = []
    for step in steps:
        if step.at > now:
            break
        out.append(step)
    return out
