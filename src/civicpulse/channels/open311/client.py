"""Pull service requests (and their updates) from another GeoReport v2 endpoint.

Each remote request becomes a voice on the ``open311`` channel through
``start_submission``, like any other intake, with ``external_id`` =
``<endpoint>:<service_request_id>`` and the source's ``requested_datetime`` as its
``occurred_at``; the database's ``(channel, external_id)`` uniqueness makes a rerun add
nothing twice. Where the endpoint has FixMyStreet's updates feed, each update is written on
the case's timeline as an internal note by a named staff account, with a marker that makes
it idempotent too. The source's statuses are recorded, not obeyed, with one exception: a
request the source has *closed* is closed here too, as the source's closure, never as a
fix a resident confirmed (see ``services.open311_pull``).

Nothing is lost silently. A server answers at most some number of records per call (the
specification's 1,000, often fewer, and it does not say how many): each window is read page
by page (``page``/``page_size``) until a page comes back empty, shorter than the first, or
repeating itself (a server that ignores paging); a window read without paging is complete
only when its answer was smaller than the most the endpoint has ever returned at once, and
is halved until it is. When a window cannot be read whole, the pull stops there and keeps
its checkpoint before that window, so the next run starts again where records were missed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from civicpulse.channels.open311.mapping import CLOSING_STATUSES
from civicpulse.domain import limits
from civicpulse.domain.errors import DomainError, ValidationFailed
from civicpulse.domain.geo import validate_point
from civicpulse.domain.roles import Actor
from civicpulse.infra.context import Context
from civicpulse.services.open311_pull import (
    StoredCase,
    close_as_elsewhere,
    load_checkpoint,
    record_note_once,
    save_checkpoint,
    stored_cases,
)
from civicpulse.services.open311_requests import active_services
from civicpulse.services.staff import active_staff
from civicpulse.services.voices import SubmitResult, VoiceInput, start_submission

CHANNEL = "open311"
MAX_SPAN = timedelta(days=90)
#: a new run starts this much before where the last one stopped, for late-arriving records
OVERLAP = timedelta(hours=1)
#: a window this short that still comes back full cannot be split any further
SHORTEST_WINDOW = timedelta(seconds=1)
#: pages read from one window before paging is taken for broken and the window is split
MAX_PAGES = 1000
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

REQUESTS = "requests.json"
UPDATES = "servicerequestupdates.json"


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
    #: the page size asked for (the specification's most); a server may answer fewer
    limit: int = 1000


@dataclass
class PullReport:
    fetched: int = 0
    added: int = 0
    already_stored: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    closed_here: int = 0
    updates_fetched: int = 0
    updates_recorded: int = 0
    updates_skipped: int = 0
    updates_feed: bool | None = None
    until: datetime | None = None
    #: why the pull stopped before ``until``; the checkpoint stays before what was missed
    incomplete: str | None = None
    #: answers that may have been cut but could not be checked
    doubts: list[str] = field(default_factory=list)


def source_key(url: str, jurisdiction_id: str | None) -> str:
    """How voices from this endpoint are told apart from other endpoints' in external_id."""
    parts = urlsplit(url.strip())
    key = f"{parts.netloc}{parts.path.rstrip('/')}"
    if jurisdiction_id:
        key += f"@{jurisdiction_id}"
    if len(key) > 120:
        key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return key


# ---- reading the other endpoint ------------------------------------------------------------


def _w3c_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NoFeed(RemoteError):
    """The endpoint has no such list (an updates feed is an extension)."""


class RemoteEndpoint:
    """The JSON side of a GeoReport v2 endpoint, over one HTTP client, with what it has shown
    about its own limits: the largest answer yet, and whether it honours ``page``."""

    def __init__(self, http: httpx.Client, options: PullOptions) -> None:
        self.http = http
        self.base = options.url.rstrip("/")
        self.options = options
        self.largest_answer = 0
        self.pages: bool | None = None  # unknown until a second page is asked for
        #: the smallest answer shown to have been cut (a split found records it lacked)
        self.cut_at: int | None = None
        #: answers that may have been cut but could not be checked (see fetch_window)
        self.doubts: list[str] = []

    def page(self, feed: str, start: datetime, end: datetime, page: int) -> list[dict[str, Any]]:
        params = {
            "start_date": _w3c_utc(start),
            "end_date": _w3c_utc(end),
            "page": str(page),
            "page_size": str(self.options.limit),
        }
        if self.options.jurisdiction_id:
            params["jurisdiction_id"] = self.options.jurisdiction_id
        if self.options.api_key:
            params["api_key"] = self.options.api_key
        try:
            response = self.http.get(f"{self.base}/{feed}", params=params)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.base}: {exc}") from exc
        if feed == UPDATES and response.status_code in (404, 405, 501):
            raise NoFeed(f"{self.base} has no {feed}")
        got = _records(response, feed)
        self.largest_answer = max(self.largest_answer, len(got))
        return got


def _records(response: httpx.Response, what: str) -> list[dict[str, Any]]:
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


def windows(
    start: datetime, end: datetime, span: timedelta = MAX_SPAN
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive windows of at most ``span`` (the specification's 90 days) from start to end."""
    at = start
    while at < end:
        nxt = min(at + span, end)
        yield at, nxt
        at = nxt


def _identity(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def fetch_window(
    remote: RemoteEndpoint, feed: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Every record of a window, or RemoteError when the endpoint cannot give them all."""
    got: dict[str, dict[str, Any]] = {}
    first = remote.page(feed, start, end, 1)
    got.update((_identity(r), r) for r in first)
    if not first:
        return []
    if remote.pages is not False:
        records, number = first, 1
        while number < MAX_PAGES:
            number += 1
            records = remote.page(feed, start, end, number)
            fresh = [r for r in records if _identity(r) not in got]
            if records and not fresh:
                remote.pages = False  # page 2 repeats page 1: the endpoint ignores paging
                break
            remote.pages = True
            got.update((_identity(r), r) for r in fresh)
            if len(records) < len(first):  # a short (or empty) page is the last one
                return list(got.values())
    n = len(first)
    if n < min(remote.options.limit, remote.largest_answer):
        return list(got.values())  # smaller than an answer it has given: not cut
    if end - start <= SHORTEST_WINDOW:
        if n >= remote.options.limit or (remote.cut_at is not None and n >= remote.cut_at):
            raise RemoteError(
                f"{feed}: the endpoint cuts answers at {n} records and cannot page, and more "
                f"than that share the second at {_w3c_utc(start)}"
            )
        # never seen to cut an answer: most likely these are all (a lone record in a quiet
        # endpoint looks just like this), but it is said, not assumed silently
        remote.doubts.append(
            f"{feed}: {n} records share the second at {_w3c_utc(start)}; the endpoint "
            "cannot page, so whether it had more there cannot be checked"
        )
        return list(got.values())
    middle = start + (end - start) / 2
    halves = fetch_window(remote, feed, start, middle) + fetch_window(remote, feed, middle, end)
    if any(_identity(r) not in got for r in halves):  # the halves found what it lacked
        remote.cut_at = min(remote.cut_at or n, n)
    got.update((_identity(r), r) for r in halves)
    return list(got.values())


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
    truncated = len(text) > limits.TEXT
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
    address = str(record.get("address") or "").strip()[: limits.ADDRESS] or None
    return VoiceInput(
        text=text[: limits.TEXT],
        channel=CHANNEL,
        category=category,
        lat=lat,
        lon=lon,
        address=address,
        external_id=f"{key}:{rid}"[: limits.EXTERNAL_ID],
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


def closed_remotely(record: dict[str, Any]) -> bool:
    return str(record.get("status") or "").strip().lower() == "closed"


# ---- the pull ------------------------------------------------------------------------------


@dataclass
class _Run:
    ctx: Context
    options: PullOptions
    remote: RemoteEndpoint
    key: str
    actor: Actor
    report: PullReport
    categories: set[str]
    seen: set[str] = field(default_factory=set)  # windows touch at their edges
    #: closures seen in the source, applied after the updates so their notes land first
    to_close: dict[int, str] = field(default_factory=dict)


def pull(ctx: Context, options: PullOptions, http: httpx.Client) -> PullReport:
    """Bring the endpoint's requests (and updates) since the checkpoint, or ``since``."""
    if urlsplit(options.url).scheme not in ("http", "https"):
        raise ValidationFailed("the endpoint URL must start with http:// or https://")
    if options.limit < 1:
        raise ValidationFailed("--limit must be at least 1")
    updater = active_staff(ctx, options.updates_as) if options.updates_as else None
    key = source_key(options.url, options.jurisdiction_id)
    checkpoint = load_checkpoint(ctx, key)
    now = ctx.now()
    until = options.until or now
    start = _start(options.since, checkpoint.get("requests_until"), now)
    if until <= start:
        raise ValidationFailed("--since must be before the end of the pull")
    run = _Run(
        ctx=ctx,
        options=options,
        remote=RemoteEndpoint(http, options),
        key=key,
        actor=Actor(kind="integration", name=f"open311-pull:{key}"[:120]),
        report=PullReport(until=until),
        categories={s.code for s in active_services(ctx)},
    )
    reached = _pull_requests(run, start, until)
    if reached > start:
        checkpoint["requests_until"] = reached.isoformat()
    if updater is not None and run.report.incomplete is None:
        u_start = _start(options.since, checkpoint.get("updates_until"), now)
        u_reached = _pull_updates(run, updater, u_start, until)
        if run.report.updates_feed and u_reached > u_start:
            checkpoint["updates_until"] = u_reached.isoformat()
    for case_id, message in run.to_close.items():
        _close(run, case_id, message)
    run.report.doubts = run.remote.doubts
    save_checkpoint(ctx, key, checkpoint)
    return run.report


def _start(since: datetime | None, remembered: str | None, now: datetime) -> datetime:
    """An explicit --since wins; otherwise where the last run stopped, less an overlap."""
    if since is not None:
        return since
    if remembered:
        return datetime.fromisoformat(remembered) - OVERLAP
    return now - MAX_SPAN


def _pull_requests(run: _Run, start: datetime, until: datetime) -> datetime:
    """Store window after window; returns the end of the last one read whole."""
    reached = start
    for w_start, w_end in windows(start, until):
        try:
            records = fetch_window(run.remote, REQUESTS, w_start, w_end)
        except RemoteError as exc:
            run.report.incomplete = f"requests from {_w3c_utc(w_start)} on not read: {exc}"
            break
        _store(run, records)
        reached = w_end
    return reached


def _store(run: _Run, records: list[dict[str, Any]]) -> None:
    report = run.report
    voices: dict[str, VoiceInput] = {}
    closed: set[str] = set()
    for record in records:
        rid = str(record.get("service_request_id") or "?")
        try:
            v = voice_from_remote(
                record, run.key, run.options.url, run.categories, run.options.service_map
            )
        except ValidationFailed as exc:
            report.fetched += 1
            report.refused.append((rid, exc.message))
            continue
        assert v.external_id is not None
        if v.external_id in run.seen:
            continue
        run.seen.add(v.external_id)
        report.fetched += 1
        voices[v.external_id] = v
        if closed_remotely(record):
            closed.add(v.external_id)
    stored = stored_cases(run.ctx, CHANNEL, list(voices))
    report.already_stored += len(stored)
    pending: list[tuple[str, Future[SubmitResult]]] = []
    for ext, v in voices.items():
        if ext in stored:
            continue
        try:
            pending.append((ext, start_submission(run.ctx, run.actor, v)))
        except DomainError as exc:
            report.refused.append((ext, exc.message))
    for ext, future in pending:  # submitted together: the writer commits them in groups
        try:
            result = future.result()
        except DomainError as exc:
            report.refused.append((ext, exc.message))
            continue
        stored[ext] = StoredCase(result.case_id, closed=False)
        if result.created:
            report.added += 1
        else:
            report.already_stored += 1
    for ext in sorted(closed):
        case = stored.get(ext)
        if case is not None and not case.closed:
            run.to_close[case.case_id] = f"Closed in {run.options.url} (its status: closed)."


def _close(run: _Run, case_id: int, message: str) -> None:
    try:
        if close_as_elsewhere(run.ctx, run.actor, case_id, message):
            run.report.closed_here += 1
    except DomainError as exc:  # e.g. changed here at the same moment: the next run retries
        run.report.refused.append((str(case_id), f"not closed here: {exc.message}"))


def update_marker(key: str, update_id: str) -> str:
    return f"[open311 update {key}#{update_id}]"


def _pull_updates(run: _Run, staff: Actor, start: datetime, until: datetime) -> datetime:
    report = run.report
    reached = start
    for w_start, w_end in windows(start, until):
        try:
            updates = fetch_window(run.remote, UPDATES, w_start, w_end)
        except NoFeed:
            report.updates_feed = False
            return start
        except RemoteError as exc:
            report.incomplete = f"updates from {_w3c_utc(w_start)} on not read: {exc}"
            break
        report.updates_feed = True
        report.updates_fetched += len(updates)
        cases = stored_cases(
            run.ctx, CHANNEL, sorted({f"{run.key}:{u.get('service_request_id')}" for u in updates})
        )
        for u in sorted(updates, key=lambda u: str(u.get("updated_datetime") or "")):
            _record_update(run, staff, cases.get(f"{run.key}:{u.get('service_request_id')}"), u)
        reached = w_end
    return reached


def _record_update(run: _Run, staff: Actor, case: StoredCase | None, u: dict[str, Any]) -> None:
    report = run.report
    uid = str(u.get("update_id") or "").strip()
    if case is None or not uid:
        report.updates_skipped += 1
        return
    status = str(u.get("status") or "").strip() or "?"
    text = str(u.get("description") or "").strip()
    marker = update_marker(run.key, uid)
    note = f"{marker} {status} at {u.get('updated_datetime') or '?'}" + (
        f": {text}" if text else ""
    )
    try:
        recorded = record_note_once(run.ctx, staff, case.case_id, marker, note[: limits.TEXT])
    except DomainError:
        recorded = False  # e.g. the case is closed here: no note can be added
    if recorded:
        report.updates_recorded += 1
    else:
        report.updates_skipped += 1
    if status.upper().replace(" ", "_") in CLOSING_STATUSES and not case.closed:
        run.to_close[case.case_id] = f"Closed in {run.options.url} (update {uid}: {status})."
