"""What pulling another GeoReport v2 endpoint needs from CivicPulse, besides intake itself.

The pull client (``channels/open311/client.py``) reads the other side over HTTP and calls
these for everything that touches our data: where the last run stopped, which remote
records are already stored, a remote update written once on a case's timeline, and a remote
closure mirrored here.

A request the other system has closed is shown closed here too, as **its** closure: the case
moves to ``unverified`` (closed, the resident never confirmed a fix) with a
``closed_elsewhere`` timeline entry naming the source. It is not a resolution by one of our
departments and writes no verdict, so scorecards (which count ``resolve`` entries as
resolutions and residents' verdicts as confirmations) never count it as a confirmed fix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpulse.domain import limits
from civicpulse.domain.roles import Actor
from civicpulse.domain.workflow import CLOSED_STATES, CaseStatus
from civicpulse.infra.context import Context
from civicpulse.services.case_change import run_changes
from civicpulse.services.cases import replying
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent, Voice

#: the timeline entry of a closure mirrored from the source system
CLOSED_ELSEWHERE = "closed_elsewhere"


# ---- where the last run got to -------------------------------------------------------------


def _checkpoint_path(ctx: Context, key: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    return ctx.settings.data_dir / "open311-pull" / f"{name}.json"


def load_checkpoint(ctx: Context, key: str) -> dict[str, str]:
    """A file, not a table: losing it costs a longer next pull, never a duplicate, since the
    database's (channel, external_id) uniqueness and the update markers make reruns safe."""
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


# ---- what is already here ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCase:
    case_id: int
    closed: bool


def stored_cases(ctx: Context, channel: str, external_ids: list[str]) -> dict[str, StoredCase]:
    """external_id -> the case of the voice already stored from the source, with its state."""
    closed = sorted(s.value for s in CLOSED_STATES)
    found: dict[str, StoredCase] = {}
    with ctx.db.reader() as s:
        for i in range(0, len(external_ids), 500):
            chunk = external_ids[i : i + 500]
            for ext, case_id, status in s.execute(
                select(Voice.external_id, Voice.case_id, Case.status)
                .join(Case, Case.id == Voice.case_id)
                .where(Voice.channel == channel, Voice.external_id.in_(chunk))
            ):
                if ext is not None:
                    found[ext] = StoredCase(case_id, status in closed)
    return found


# ---- writing what the source said ----------------------------------------------------------


def record_note_once(ctx: Context, staff: Actor, case_id: int, marker: str, note: str) -> bool:
    """An internal note carrying ``marker``, unless the case already has one; False when it
    had. Checked and written in one transaction, so two pulls at once write it once."""

    def change(session: Session, case: Case) -> dict[str, Any]:
        seen = session.scalar(
            select(CaseEvent.id).where(
                CaseEvent.case_id == case.id,
                CaseEvent.message.contains(marker, autoescape=True),
            )
        )
        if seen is not None:
            return {"recorded": False}
        replying(ctx, staff, note, public=False)(session, case)
        return {"recorded": True}

    result = run_changes(ctx, case_id, [change])
    return bool(result.extra["recorded"])


def close_as_elsewhere(ctx: Context, actor: Actor, case_id: int, message: str) -> bool:
    """Mirror the source's closure (see the module's note); False when already closed here.

    Not an arrow of the state machine on purpose: no officer or resident here acted, so it
    must not be offered as a staff action; it is recorded and audited like one."""
    text = message[: limits.REASON]  # the source's words, cut rather than refused

    def change(session: Session, case: Case) -> dict[str, Any]:
        if CaseStatus(case.status) in CLOSED_STATES:
            return {"closed": False}
        now = ctx.now()
        before = case.status
        case.status = CaseStatus.UNVERIFIED.value
        case.closed_at = now
        case.updated_at = now
        case.verification_due = None
        session.add(
            CaseEvent(
                case_id=case.id,
                kind=CLOSED_ELSEWHERE,
                actor=actor.label,
                from_status=before,
                to_status=case.status,
                message=text,
                public=True,
                data={"remote": True},
                created_at=now,
            )
        )
        append_audit(
            session,
            actor=actor.label,
            action=f"case.{CLOSED_ELSEWHERE}",
            subject=f"case:{case.id}",
            data={"from": before, "to": case.status, "message": text},
            at=now,
        )
        return {"closed": True}

    result = run_changes(ctx, case_id, [change])
    return bool(result.extra["closed"])
