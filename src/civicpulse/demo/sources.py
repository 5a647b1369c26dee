"""Where the demo city's voices come from: real published records when they are on disk,
else the small bilingual sample shipped with the package.

The real files are read where they lie (``settings.shared_data_dir``) and never copied. Each
source's own labels are translated into the demo catalogue's categories by the explicit
tables below: they are this demo's configuration, written by hand for the demo catalogue,
and nothing in the product reads them.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from civicpulse.domain import limits

# ---- mapping tables (demo configuration) ---------------------------------------------------

#: The message board's seven level-1 labels (labelled_messages.csv, column 一级标签).
MESSAGE_BOARD_LABELS: dict[str, str] = {
    "城乡建设": "construction-property",  # urban construction: planning, building, estates
    "劳动和社会保障": "jobs-social-security",
    "教育文体": "schools-culture",
    "商贸旅游": "markets-tourism",
    "环境保护": "pollution-noise",
    "卫生计生": "health-services",
    "交通运输": "public-transport",
}

#: messages_with_replies.csv carries no label: such messages reach the Citizen Service
#: Centre, which coordinates the answer (and the demo posts the government's real reply).
UNLABELLED_BOARD_CATEGORY = "general"

#: Boston 311 request types whose reason (below) is too broad for the demo catalogue.
BOSTON_TYPES: dict[str, str] = {
    "Schedule a Bulk Item Pickup": "bulk-item",
    "Sidewalk Repair": "sidewalk",
    "Sidewalk Repair (Make Safe)": "sidewalk",
    "Parks General Request": "park",
    "Transportation General Request": "public-transport",
}

#: Boston 311 reasons (column ``reason``); reasons not listed are left out of the demo.
BOSTON_REASONS: dict[str, str] = {
    "Sanitation": "collection",
    "Recycling": "collection",
    "Highway Maintenance": "pothole",
    "Street Lights": "streetlight",
    "Trees": "tree",
    "Housing": "housing-conditions",
    "Building": "construction-property",
    "Signs & Signals": "traffic-signs",
    "Traffic Management & Engineering": "traffic-signs",
    "Graffiti": "graffiti",
    "Street Cleaning": "street-cleaning",
    "Enforcement & Abandoned Vehicles": "vehicles-parking",
    "Environmental Services": "pests",  # mostly rodent activity
    "Health": "health-services",  # food establishments
    "Park Maintenance & Safety": "park",
    "Employee & General Comments": "general",
    "Administrative & General Requests": "general",
}

#: How a Boston request reached the city, as a CivicPulse channel. Requests the city's own
#: employees generated are not residents' voices, so the demo does not use them.
BOSTON_CHANNELS: dict[str, str] = {
    "Constituent Call": "hotline",
    "Self Service": "web",
    "Citizens Connect App": "open311",
    "Twitter": "web",
}

#: Boston files requests that have no location at City Hall Plaza; the demo drops that point
#: so the map does not show a hotspot that is only a default value.
BOSTON_NO_LOCATION = (42.3594, -71.0587)

# ---- the voices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoVoice:
    """One voice to seed, with what its source tells about how the city handled it."""

    external_id: str
    channel: str
    language: str
    text: str
    category: str | None  # the demo category it belongs to (None: nobody could tell)
    title: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    email: str | None = None
    real_reply: str | None = None  # the official answer the source published
    handling_hours: float | None = None  # how long the real city took to answer or close
    still_open: bool = False  # the source says the real request was never closed


def sample_voices() -> list[DemoVoice]:
    """The ~40 voices written for the package, used when no real data is present."""
    text = resources.files("civicpulse.demo").joinpath("sample_voices.csv").read_text("utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        lat, lon = _float(row["lat"]), _float(row["lon"])
        out.append(
            DemoVoice(
                external_id=f"demo-sample/{row['ref']}",
                channel=row["channel"],
                language="zh" if row["ref"].startswith("zh") else "en",
                text=row["text"],
                category=row["category"] or None,
                title=row["title"] or None,
                lat=lat if lon is not None else None,
                lon=lon if lat is not None else None,
                email=row["email"] or None,
            )
        )
    return out


Candidate = Any  # a source's raw row, cheap to keep until it is picked


@dataclass(frozen=True)
class RealSource:
    """A real file, the share of the demo's voices it supplies, and how to read it: the
    usable rows first (cheap), then only the picked ones become voices."""

    name: str
    relative_path: str
    share: float
    candidates: Callable[[Path], Iterator[Candidate]]
    to_voice: Callable[[Candidate], DemoVoice]


def _labelled_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("text") or "").strip()
            if row["一级标签"] in MESSAGE_BOARD_LABELS and text and len(text) <= limits.TEXT:
                yield row


def _labelled_voice(row: dict[str, str]) -> DemoVoice:
    return DemoVoice(
        external_id=f"demo-board-labelled/{row['row_index']}",
        channel="web",
        language="zh",
        text=row["text"].strip(),
        category=MESSAGE_BOARD_LABELS[row["一级标签"]],
        title=(row.get("留言主题") or "").strip()[:300] or None,
    )


def _replies_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("留言详情") or "").strip()
            if text and len(text) <= limits.TEXT and (row.get("答复意见") or "").strip():
                yield row


def _replies_voice(row: dict[str, str]) -> DemoVoice:
    return DemoVoice(
        external_id=f"demo-board-replies/{row['留言编号']}",
        channel="web",
        language="zh",
        text=row["留言详情"].strip(),
        category=UNLABELLED_BOARD_CATEGORY,
        title=(row.get("留言主题") or "").strip()[:300] or None,
        real_reply=row["答复意见"].strip(),
        handling_hours=_hours_between(row.get("留言时间"), row.get("答复时间")),
    )


def _boston_rows(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    # 50,000 rows: plain lists and a cheap filter keep this fast; dicts only for the picked
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        source, kind, reason = (header.index(name) for name in ("source", "type", "reason"))
        for values in reader:
            if values[source] in BOSTON_CHANNELS and (
                values[kind] in BOSTON_TYPES or values[reason] in BOSTON_REASONS
            ):
                yield header, values


def _boston_voice(candidate: tuple[list[str], list[str]]) -> DemoVoice:
    row = dict(zip(*candidate, strict=True))
    lat, lon = _float(row["latitude"]), _float(row["longitude"])
    if lat is None or lon is None or (lat, lon) == BOSTON_NO_LOCATION:
        lat = lon = None
    closure = " ".join(row["closure_reason"].split()).removeprefix("Case Closed").strip()
    return DemoVoice(
        external_id=f"demo-boston311/{row['case_enquiry_id']}",
        channel=BOSTON_CHANNELS[row["source"]],
        language="en",
        text=" ".join(row["case_title"].split()) or row["type"],
        category=BOSTON_TYPES.get(row["type"]) or BOSTON_REASONS[row["reason"]],
        lat=lat,
        lon=lon,
        address=" ".join(row["location"].split()) or None,
        real_reply=closure or None,
        handling_hours=_hours_between(row["open_dt"], row["closed_dt"]),
        still_open=row["case_status"] == "Open",
    )


REAL_SOURCES: tuple[RealSource, ...] = (
    RealSource("message board (labelled)", "gov_message_board/labelled_messages.csv", 1 / 3,
               _labelled_rows, _labelled_voice),
    RealSource("message board (with replies)", "gov_message_board/messages_with_replies.csv",
               1 / 6, _replies_rows, _replies_voice),
    RealSource("Boston 311", "boston311/requests_2011_jul_nov.csv.gz", 1 / 2,
               _boston_rows, _boston_voice),
)


def real_voices(
    data_dir: Path, count: int, rng: random.Random
) -> tuple[list[DemoVoice], list[str]]:
    """About ``count`` voices drawn from the real files present; ([], []) when none is.

    Shares of missing files go to the files that are there, so the total stays ``count``.
    """
    present = [s for s in REAL_SOURCES if (data_dir / s.relative_path).is_file()]
    if not present or count <= 0:
        return [], []
    total_share = sum(s.share for s in present)
    quotas = [round(count * s.share / total_share) for s in present]
    quotas[-1] += count - sum(quotas)
    voices: list[DemoVoice] = []
    for source, quota in zip(present, quotas, strict=True):
        rows = list(source.candidates(data_dir / source.relative_path))
        picked = rng.sample(rows, min(max(quota, 0), len(rows)))
        voices.extend(source.to_voice(row) for row in picked)
    return voices, [s.name for s in present]


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _hours_between(start: str | None, end: str | None) -> float | None:
    """Hours between two naive timestamps of the same source, when both parse."""
    try:
        a = datetime.fromisoformat((start or "").strip())
        b = datetime.fromisoformat((end or "").strip())
    except ValueError:
        return None
    hours = (b - a).total_seconds() / 3600
    return hours if hours > 0 else None
