"""Typed settings, read once in the composition root (never at import time).

Every setting can be given as an environment variable ``CIVICPULSE_<NAME>`` or in a ``.env``
file, so the same code runs as the embedded default (a SQLite file, jobs in-process) and in
production (PostgreSQL, several processes) without edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All knobs of a CivicPulse installation, each with the reason it exists."""

    model_config = SettingsConfigDict(env_prefix="CIVICPULSE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path("civicpulse-data"),
        description="Where this installation keeps its files: the embedded SQLite database, "
        "the mail spool, trained models, open-data files and Open311 pull checkpoints.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; empty means a SQLite file in data_dir. "
        "Use postgresql+psycopg://user@host/db in production.",
    )
    timezone: str = Field(
        "UTC",
        description="The city's time zone (IANA name): the default for imported times that "
        "carry no zone, and the zone of Open311 datetimes.",
    )
    verification_days: int = Field(
        14, ge=1, description="Days a resident has to confirm a resolution before it is unverified."
    )
    password_hash_memory_kib: int = Field(
        65536, ge=8, description="argon2 memory cost; lower only for tests on small machines."
    )
    password_hash_time_cost: int = Field(3, ge=1, description="argon2 iterations.")
    classifier_min_confidence: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="A voice without a category takes the model's category only at or above "
        "this confidence; below it, it waits for the dispatcher with the suggestion shown.",
    )
    public_aggregate_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="Public league tables are recomputed at most this often per process "
        "(0: every request); they read the whole history, which is slow on large cities.",
    )
    token_ttl_hours: int = Field(12, ge=1, description="Lifetime of a staff bearer token.")
    public_rate_limit_per_minute: int = Field(
        60, ge=1, description="Requests per minute per client address on public endpoints."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses (or CIDR ranges) of the reverse proxies in "
        "front of the server, whose X-Forwarded-For and X-Forwarded-Proto are believed. "
        "Empty (the default) believes nobody, so a caller cannot pick the address that "
        "rate limits count; set it to your proxy's address, e.g. 127.0.0.1.",
    )
    login_rate_limit_per_minute: int = Field(
        10, ge=1, description="Login attempts per minute per client address."
    )
    rate_limit_backend: Literal["auto", "memory", "database", "redis"] = Field(
        "auto",
        description="Where rate-limit counters live. `memory` counts in each server process "
        "(cheapest, right for one process); `database` counts in the database, shared by "
        "every process; `redis` counts in Redis (needs redis_url). `auto` picks redis when "
        "redis_url is set, else database on PostgreSQL (several processes) and memory on the "
        "embedded SQLite default (one process, where a disk write per request would cost "
        "more than it protects).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:6379/0) for shared rate-limit counters; empty "
        "uses the database or memory, see rate_limit_backend.",
    )
    login_lockout_attempts: int = Field(
        5,
        ge=1,
        description="Failed logins to one account name within login_lockout_window_minutes "
        "that lock it; counted in the database, so every server process sees them.",
    )
    login_lockout_window_minutes: float = Field(
        15, gt=0, description="The window in which failed logins to one account are counted."
    )
    login_lockout_minutes: float = Field(
        15,
        gt=0,
        description="How long a locked account refuses every login, the right password "
        "included, before it may try again; an administrator's password reset unlocks it.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Larger request bodies are refused with 413."
    )
    photo_max_bytes: int = Field(
        8_000_000, ge=10_000, description="Largest photo a resident may attach, in bytes."
    )
    photo_max_pixels: int = Field(
        40_000_000,
        ge=10_000,
        description="Largest photo in pixels (width × height); refuses decompression bombs.",
    )
    photo_max_side: int = Field(
        2048, ge=64, description="Stored photos are scaled down to this many pixels per side."
    )
    map_tile_url: str | None = Field(
        None,
        description="Optional base-map tiles for the public map, e.g. "
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty draws the areas only (offline).",
    )
    map_tile_attribution: str = Field(
        "", description="Credit line the tile provider requires, shown under the public map."
    )
    open_data_refresh_seconds: float = Field(
        900,
        ge=0,
        description="Open-data downloads are rewritten at most this often (0: every download).",
    )
    scorecard_min_sample: int = Field(
        5,
        ge=1,
        description="Below this many cases (or verdicts) a scorecard rate is withheld, so one "
        "lucky case cannot top a league table.",
    )
    escalation_repeat_hours: int = Field(
        24, ge=1, description="How often an overdue case is escalated again while still overdue."
    )
    formalism_period_days: int = Field(
        90,
        ge=1,
        description="The formalism audit covers the last this many days when no period is "
        "given (`audit formalism` without --since, the API, the staff page, the league table).",
    )
    formalism_publish_minutes: float = Field(
        15.0,
        ge=0,
        description="The job runner computes the public formalism figures (league table, "
        "GET /api/v1/formalism) at most this often, on its topics beat, and keeps them in "
        "data_dir; pages read the kept copy instead of running the audit.",
    )
    formalism_max_hops: int = Field(
        3,
        ge=1,
        description="A case passed between departments more times than this is flagged as "
        "passed around; going back to a department that had already passed it on is "
        "flagged at once (A → B → A).",
    )
    formalism_deadline_edge_minutes: float = Field(
        60,
        gt=0,
        description="A resolution at most this many minutes before the case's resolution "
        "deadline, reopened by the resident after the deadline, is flagged as a deadline game.",
    )
    formalism_repeat_days: float = Field(
        42,
        gt=0,
        description="A new case about the same problem at the same place (the same-problem "
        "matching rule) within this many days of a resolution flags it as a repeat after "
        "fix; a problem rejected by one department and done by another within this many "
        "days of the rejection is flagged too.",
    )
    formalism_bulk_hours: float = Field(
        24,
        gt=0,
        description="Closing in bulk: a department's resolutions in the last this many hours "
        "before a month ends (city time) are compared with its usual rate.",
    )
    formalism_bulk_baseline_days: int = Field(
        28,
        ge=1,
        description="A department's usual rate of resolutions is counted over this many days "
        "before the end-of-month window.",
    )
    formalism_bulk_ratio: float = Field(
        3.0,
        gt=1,
        description="Resolutions in the end-of-month window at least this many times the "
        "department's usual rate (and at least formalism_bulk_min of them) are flagged as "
        "closing in bulk.",
    )
    formalism_bulk_min: int = Field(
        10,
        ge=1,
        description="Fewer resolutions than this in an end-of-month window are never flagged "
        "as closing in bulk, however quiet the department usually is.",
    )
    formalism_unconfirmed_ratio: float = Field(
        1.5,
        gt=1,
        description="A department whose share of resolutions closed without the resident's "
        "confirmation is at least this many times the city's share (and at least "
        "formalism_unconfirmed_margin above it) is flagged; below scorecard_min_sample "
        "closures it is not judged.",
    )
    formalism_unconfirmed_margin: float = Field(
        0.10,
        ge=0,
        le=1,
        description="How far above the city's share of unconfirmed closures a department "
        "must be, at least, to be flagged (0.10: ten percentage points).",
    )
    job_interval_seconds: float = Field(
        30.0, gt=0, description="How often in-process jobs (outbox, deadlines) run in `serve`."
    )
    run_jobs_in_process: bool = Field(
        True, description="Run background jobs inside `serve`; turn off when workers run them."
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Used in notifications so residents can follow links."
    )
    smtp_host: str | None = Field(None, description="SMTP server; empty writes mail to a file.")
    smtp_port: int = Field(587, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field("civicpulse@localhost", description="Sender of notifications.")
    outbox_max_attempts: int = Field(
        8, ge=1, description="Delivery attempts before a message is marked failed."
    )
    outbox_backoff_seconds: float = Field(
        30.0, gt=0, description="First retry delay; it doubles after each failure."
    )
    brief_recipients: str = Field(
        "",
        description="Comma-separated e-mail addresses that receive the leader's brief of the "
        "week just ended as PDF, once a week each; empty mails none (the brief is still on "
        "/staff/brief and from `civicpulse brief`).",
    )
    burst_recipients: str = Field(
        "",
        description="Comma-separated e-mail addresses (the dispatchers' shared inbox) told of "
        "each new burst once; a burst in a category is also mailed to that category's "
        "department when it has an e-mail address.",
    )
    brief_languages: str = Field(
        "zh,en",
        description="Languages of the mailed brief, comma-separated (zh, en): one PDF attached "
        "per language, the mail's text in each, the first one's subject.",
    )
    brief_send_hour: int = Field(
        7,
        ge=0,
        le=23,
        description="Hour of Monday (city time) from which the brief of the week just ended "
        "is mailed: the first background pass after it sends it, once per recipient and "
        "week however many workers run.",
    )
    open311_jurisdiction_id: str | None = Field(
        None,
        description="When set, every Open311 call must name this jurisdiction_id (an endpoint "
        "serving several jurisdictions); empty accepts calls without one.",
    )
    shared_data_dir: Path = Field(
        Path("../shared/data"),
        description="Real city data used by `civicpulse demo` when present.",
    )
    match_auto_merge: bool = Field(
        True,
        description="Merge a new voice's case into the open case about the same problem at "
        "intake (staff can undo it); off, the match is only proposed to staff.",
    )
    match_radius_metres: float = Field(
        300.0, gt=0, description="Two voices further apart than this are different problems."
    )
    match_window_days: float = Field(
        30.0, gt=0, description="Two voices further apart in time than this are not matched."
    )
    match_threshold: float = Field(
        0.30,
        gt=0,
        description="Score (text similarity plus place and category evidence) at which a "
        "new voice is called the same problem as an open case.",
    )
    urgency_rules_file: Path | None = Field(
        None,
        description="JSON or YAML list of urgency rules {code, reason, weight, patterns} "
        "replacing the built-in ones.",
    )
    topics_refresh_seconds: float = Field(
        600,
        ge=0,
        description="Background jobs place new voices in topics at most this often "
        "(0: only `civicpulse topics`).",
    )
    topic_min_similarity: float = Field(
        0.25,
        gt=0,
        le=1,
        description="A voice joins the topic of its most similar earlier voice at or above "
        "this text similarity (headline or whole text), else it starts a new topic.",
    )
    concern_weights_file: Path | None = Field(
        None,
        description="YAML file of the concern ranking's weights, scales, guards and windows "
        "(the built-in file `insight/concern_weights.yaml` shows every entry); entries it "
        "leaves out keep the built-in values.",
    )
    concern_gap_days: float = Field(
        30.0,
        gt=0,
        description="Cases of one topic in one place belong to one concern while each comes "
        "within this many days of the one before; a longer pause starts a new concern.",
    )
    concern_place_km: float = Field(
        1.0,
        gt=0,
        description="Located cases of one topic are one concern only within the same square "
        "of this size (cases without a location are grouped by their area, else city-wide).",
    )
    concern_min_people: int = Field(
        2,
        ge=1,
        description="A case or topic becomes a concern once this many people stand behind it: "
        "residents who wrote in, residents who said \"me too\" and supports imported from "
        "another system.",
    )
    support_rate_limit_per_minute: int = Field(
        10,
        ge=1,
        description="\"Me too\" requests per minute per client address (each resident counts "
        "once per case whatever the limit).",
    )
    resident_key_secret: str | None = Field(
        None,
        description="Secret of the keyed hashes that stand for residents (\"me too\", counting "
        "one resident once) instead of their contact details. Empty: a random one is made on "
        "first use and kept in the database. Changing it makes every earlier supporter count "
        "as a new one.",
    )

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        """A wrong tile template would silently draw an empty map; refuse it at start-up."""
        if not value:
            return None
        if not value.startswith(("https://", "http://")) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            raise ValueError("must be an http(s) URL containing {z}, {x} and {y}")
        return value

    @field_validator("brief_recipients", "burst_recipients")
    @classmethod
    def _brief_recipients(cls, value: str) -> str:
        """A typo would silently mail nobody; refuse it at start-up."""
        for address in _listed(value):
            if address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    @field_validator("brief_languages")
    @classmethod
    def _brief_languages(cls, value: str) -> str:
        listed = _listed(value)
        if not listed or any(lang not in ("zh", "en") for lang in listed):
            raise ValueError("must list zh, en or both, comma-separated")
        return value

    @property
    def brief_recipient_list(self) -> list[str]:
        return _listed(self.brief_recipients)

    @property
    def burst_recipient_list(self) -> list[str]:
        return _listed(self.burst_recipients)

    @property
    def brief_language_list(self) -> list[str]:
        return list(dict.fromkeys(_listed(self.brief_languages)))

    def resolved_database_url(self) -> str:
        """The URL to connect to: explicit, else the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'civicpulse.db').resolve()}"

    @property
    def mail_spool_path(self) -> Path:
        """Where mail goes when no SMTP server is configured (one JSON object a line)."""
        return self.data_dir / "outbox-mail.jsonl"


def _listed(value: str) -> list[str]:
    """The non-empty, trimmed items of a comma-separated setting."""
    return [item.strip() for item in value.split(",") if item.strip()]
