"""Pull service requests (and their updates) from another GeoReport v2 endpoint.

Each remote request becomes a voice on the ``open311`` channel through
``start_submission``, like any other intake, with ``external_id`` =
``<endpoint>:<service_request_id>``; the database's ``(channel, external_id)`` uniqueness
makes a rerun add nothing twice. Where the endpoint has FixMyStreet's updates feed, each
update is written on the case's timeline as an internal note by a named staff account, with
a marker that makes it idempotent too. The remote side's statuses are recorded, not obeyed:
in CivicPulse the department acting here and the resident's verdict decide a case's state.

Where the last run got to is kept in ``DATA_DIR/open311-pull/``; it only saves work, since
the database checks make a lost or stale checkpoint harmless.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from civicpulse.domain.errors import DomainError, NotFound, ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.cases import reply_case
from civicpulse.services.staff import staff_actor
from civicpulse.services.voices import MAX_TEXT, SubmitResult, VoiceInput, start_submission
from civicpulse.storage.tables import Category, StaffUser, Voice

CHANNEL = "open311"
MAX_SPAN = timedelta(days=90)
#: a new run starts this much before where the last one stopped, for late-arriving records
OVERLAP = timedelta(hours=1)
#: the fields the specification defines; anything else a server adds is kept apart
STANDARD_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


class RemoteError(DomainError):
    """The other endpoint could not be read; nothing of the failed call was stored."""


@dataclass
class PullOptions:
    url: str
    since: datetime | None = None
    until: datetime | None = None
    jurisdiction_id: str | None = None
    api_key: str | None = None
    #: remote service_code -> our category code
    service_map: dict[str, str] = field(default_factory=dict)
    #: staff account that writes the remote updates on the timeline (None: skip updates)
    updates_as: str | None = None
    #: the most requests the endpoint returns per call (the specification's default)
    limit: int = 1000


@dataclass
class PullReport:
    fetched: int = 0
    added: int = 0
    already_stored: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    updates_fetched: int = 0
    updates_recorded: int = 0
    updates_skipped: int = 0
    updates_feed: bool | None = None
    until: datetime | None = None


# ---- where the last run got to -------------------------------------------------------------


def source_key(url: str, jurisdiction_id: str | None) -> str:
    """How voices from this endpoint are told apart from other endpoints' in external_id."""
    parts = urlsplit(url.strip())
    key = f"{parts.netloc}{parts.path.rstrip('/')}"
    if jurisdiction_id:
        key += f"@{jurisdiction_id}"
    if len(key) > 120:
        key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return key


def _checkpoint_path(ctx: Context, key: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    return ctx.settings.data_dir / "open311-pull" / f"{name}.json"


def load_checkpoint(ctx: Context, key: str) -> dict[str, str]:
    path = _checkpoint_path(ctx, key)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def save_checkpoint(ctx: Context, key: str, data: dict[str, str]) -> None:
    """Written beside and renamed, so a crash never leaves half a checkpoint."""
    path = _checkpoint_path(ctx, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"source": key, **data}, indent=1), encoding="utf-8")
    partial.replace(path)


# ---- reading the other endpoint ------------------------------------------------------------


def _w3c_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RemoteEndpoint:
    """The JSON side of a GeoReport v2 endpoint, over one HTTP client."""

    def __init__(self, http: httpx.Client, options: PullOptions) -> None:
        self.http = http
        self.base = options.url.rstrip("/")
        self.options = options

    def _get(self, path: str, params: dict[str, str]) -> httpx.Response:
        if self.options.jurisdiction_id:
            params["jurisdiction_id"] = self.options.jurisdiction_id
        if self.options.api_key:
            params["api_key"] = self.options.api_key
        try:
            return self.http.get(f"{self.base}/{path}", params=params)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.base}: {exc}") from exc

    def _list(self, response: httpx.Response, what: str) -> list[dict[str, Any]]:
        if response.status_code != 200:
            raise RemoteError(
                f"{what}: the endpoint answered {response.status_code}: {response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise RemoteError(f"{what}: the endpoint did not answer JSON") from exc
        if isinstance(data, dict):  # some servers wrap the list
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise RemoteError(f"{what}: expected a JSON list of objects")
        return data

    def requests(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        params = {"start_date": _w3c_utc(start), "end_date": _w3c_utc(end)}
        return self._list(self._get("requests.json", params), "requests")

    def updates(self, start: datetime, end: datetime) -> list[dict[str, Any]] | None:
        """The updates feed, or None when the endpoint has none."""
        params = {"start_date": _w3c_utc(start), "end_date": _w3c_utc(end)}
        response = self._get("servicerequestupdates.json", params)
        if response.status_code in (404, 405, 501):
            return None
        return self._list(response, "servicerequestupdates")


def windows(
    start: datetime, end: datetime, span: timedelta = MAX_SPAN
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive windows of at most ``span`` (the specification's 90 days) from start to end."""
    at = start
    while at < end:
        nxt = min(at + span, end)
        yield at, nxt
        at = nxt


def fetch_window(
    remote: RemoteEndpoint, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """Every request of a window: a full answer may have been cut at the endpoint's limit, so
    the window is halved until each part comes back under it."""
    got = remote.requests(start, end)
    if len(got) < limit or end - start <= timedelta(seconds=1):
        return got
    middle = start + (end - start) / 2
    return fetch_window(remote, start, middle, limit) + fetch_window(remote, middle, end, limit)


# ---- mapping a remote request --------------------------------------------------------------


def _coordinate(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def voice_from_remote(
    record: dict[str, Any], key: str, url: str, categories: set[str], service_map: dict[str, str]
) -> VoiceInput:
    """One remote request as a voice; refuses one without an id or anything to say."""
    rid = str(record.get("service_request_id") or "").strip()
    if not rid:
        raise ValidationFailed("the request has no service_request_id")
    code = str(record.get("service_code") or "").strip()
    text = str(record.get("description") or "").strip()
    text = text or str(record.get("service_name") or "").strip() or code
    if not text:
        raise ValidationFailed("the request has neither a description nor a service")
    truncated = len(text) > MAX_TEXT
    lat, lon = _coordinate(record.get("lat")), _coordinate(record.get("long"))
    if lat is not None and lon is not None:
        try:
            validate_point(lat, lon)
        except ValidationFailed:
            lat = lon = None
    else:
        lat = lon = None
    category = service_map.get(code) or (code if code in categories else None)
    protocol = {k: record.get(k) for k in STANDARD_FIELDS if record.get(k) not in (None, "")}
    protocol.pop("description", None)  # it is the voice's text already
    extra = {k: v for k, v in record.items() if k not in STANDARD_FIELDS}
    address = str(record.get("address") or "").strip()[:500] or None
    return VoiceInput(
        text=text[:MAX_TEXT],
        channel=CHANNEL,
        category=category,
        lat=lat,
        lon=lon,
        address=address,
        external_id=f"{key}:{rid}"[:200],
        occurred_at=_when(record.get("requested_datetime")),
        historical=True,
        attributes={
            "open311": {
                "source": url,
                **protocol,
                **({"extra": extra} if extra else {}),
                **({"truncated": True} if truncated else {}),
            }
        },
    )


# ---- the pull ------------------------------------------------------------------------------


def _stored_ids(ctx: Context, external_ids: list[str]) -> dict[str, int]:
    """external_id -> case id of the voices already stored from this endpoint."""
    found: dict[str, int] = {}
    with ctx.db.reader() as s:
        for i in range(0, len(external_ids), 500):
            chunk = external_ids[i : i + 500]
            for ext, case_id in s.execute(
                select(Voice.external_id, Voice.case_id).where(
                    Voice.channel == CHANNEL, Voice.external_id.in_(chunk)
                )
            ):
                if ext is not None:
                    found[ext] = case_id
    return found


def _active_categories(ctx: Context) -> set[str]:
    with ctx.db.reader() as s:
        return set(s.scalars(select(Category.code).where(Category.active.is_(True))))


def _staff(ctx: Context, username: str) -> Actor:
    with ctx.db.reader() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).first()
        if user is None or not user.active:
            raise NotFound(f"no active staff account {username!r}")
        return staff_actor(user)


def pull(ctx: Context, options: PullOptions, http: httpx.Client) -> PullReport:
    """Bring the endpoint's requests (and updates) since the checkpoint, or ``since``."""
    if urlsplit(options.url).scheme not in ("http", "https"):
        raise ValidationFailed("the endpoint URL must start with http:// or https://")
    if options.limit < 1:
        raise ValidationFailed("--limit must be at least 1")
    updater = _staff(ctx, options.updates_as) if options.updates_as else None
    key = source_key(options.url, options.jurisdiction_id)
    checkpoint = load_checkpoint(ctx, key)
    now = ctx.now()
    until = options.until or now
    start = _start(options.since, checkpoint.get("requests_until"), now)
    if until <= start:
        raise ValidationFailed("--since must be before the end of the pull")
    remote = RemoteEndpoint(http, options)
    report = PullReport(until=until)
    actor = Actor(kind="integration", name=f"open311-pull:{key}"[:120])
    categories = _active_categories(ctx)
    seen: set[str] = set()  # windows touch at their edges: a record there comes twice
    for w_start, w_end in windows(start, until):
        records = fetch_window(remote, w_start, w_end, options.limit)
        _store(ctx, actor, records, key, options, categories, report, seen)
    checkpoint["requests_until"] = until.isoformat()
    if updater is not None:
        u_start = _start(options.since, checkpoint.get("updates_until"), now)
        _pull_updates(ctx, remote, updater, key, u_start, until, report)
        if report.updates_feed:
            checkpoint["updates_until"] = until.isoformat()
    save_checkpoint(ctx, key, checkpoint)
    return report


def _start(since: datetime | None, remembered: str | None, now: datetime) -> datetime:
    """An explicit --since wins; otherwise where the last run stopped, less an overlap."""
    if since is not None:
        return since
    if remembered:
        return datetime.fromisoformat(remembered) - OVERLAP
    return now - MAX_SPAN


def _store(
    ctx: Context,
    actor: Actor,
    records: list[dict[str, Any]],
    key: str,
    options: PullOptions,
    categories: set[str],
    report: PullReport,
    seen: set[str],
) -> None:
    voices: dict[str, VoiceInput] = {}
    for record in records:
        rid = str(record.get("service_request_id") or "?")
        try:
            v = voice_from_remote(record, key, options.url, categories, options.service_map)
        except ValidationFailed as exc:
            report.fetched += 1
            report.refused.append((rid, exc.message))
            continue
        assert v.external_id is not None
        if v.external_id in seen:
            continue
        seen.add(v.external_id)
        report.fetched += 1
        voices[v.external_id] = v
    stored = _stored_ids(ctx, list(voices))
    report.already_stored += len(stored)
    pending: list[tuple[str, Future[SubmitResult]]] = []
    for ext, v in voices.items():
        if ext in stored:
            continue
        try:
            pending.append((ext, start_submission(ctx, actor, v)))
        except DomainError as exc:
            report.refused.append((ext, exc.message))
    for ext, future in pending:  # submitted together: the writer commits them in groups
        try:
            result = future.result()
        except DomainError as exc:
            report.refused.append((ext, exc.message))
            continue
        if result.created:
            report.added += 1
        else:
            report.already_stored += 1


def update_marker(key: str, update_id: str) -> str:
    return f"[open311 update {key}#{update_id}]"


def _pull_updates(
    ctx: Context,
    remote: RemoteEndpoint,
    staff: Actor,
    key: str,
    start: datetime,
    until: datetime,
    report: PullReport,
) -> None:
    from civicpulse.storage.tables import CaseEvent

    for w_start, w_end in windows(start, until):
        updates = remote.updates(w_start, w_end)
        if updates is None:
            report.updates_feed = False
            return
        report.updates_feed = True
        report.updates_fetched += len(updates)
        wanted = {f"{key}:{u.get('service_request_id')}" for u in updates}
        cases = _stored_ids(ctx, sorted(wanted))
        for u in updates:
            case_id = cases.get(f"{key}:{u.get('service_request_id')}")
            uid = str(u.get("update_id") or "").strip()
            if case_id is None or not uid:
                report.updates_skipped += 1
                continue
            marker = update_marker(key, uid)
            with ctx.db.reader() as s:
                seen = s.scalar(
                    select(CaseEvent.id).where(
                        CaseEvent.case_id == case_id,
                        CaseEvent.message.contains(marker, autoescape=True),
                    )
                )
            if seen is not None:
                report.updates_skipped += 1
                continue
            status = str(u.get("status") or "").strip() or "?"
            text = str(u.get("description") or "").strip()
            note = f"{marker} {status} at {u.get('updated_datetime') or '?'}" + (
                f": {text}" if text else ""
            )
            try:
                reply_case(ctx, staff, case_id, note[:4000], public=False)
            except DomainError:
                report.updates_skipped += 1  # e.g. the case is closed here
                continue
            report.updates_recorded += 1
