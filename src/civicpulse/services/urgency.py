"""Urgency in the product: the city's rules, the model learnt from staff marks, and the marks.

Staff mark a case urgent or not urgent (with a reason, recorded on the timeline and in the
audit log); ``civicpulse understand train-urgency`` learns a model from those marks and
writes it as a new version in ``DATA_DIR/models``; intake picks it up within
``CHECK_SECONDS`` and ``civicpulse understand rerun`` reassesses older voices with it.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicpulse.domain import limits
from civicpulse.domain.errors import ValidationFailed
from civicpulse.domain.limits import check_length
from civicpulse.domain.roles import Actor, Role, check_case_visible, require_role
from civicpulse.infra.newest_model import NewestModel
from civicpulse.services.case_change import Change, run_changes
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseEvent, Voice, VoiceInsight
from civicpulse.understanding.urgency import (
    URGENT,
    RuleSet,
    UrgencyModel,
    Verdict,
    assess,
    load_rules,
)

if TYPE_CHECKING:
    from civicpulse.infra.context import Context
    from civicpulse.settings import Settings

MARK_EVENT = "urgency_marked"
_MODEL_NAME = re.compile(r"^urgency-v(\d+)\.json$")


@functools.lru_cache(maxsize=8)
def _rules_for(path: Path | None) -> RuleSet:
    return RuleSet(load_rules(path))


def rules(settings: Settings) -> RuleSet:
    """The installation's rules, compiled once per process."""
    return _rules_for(settings.urgency_rules_file)


def _load_model(path: Path) -> UrgencyModel:
    return UrgencyModel.from_json(json.loads(path.read_text(encoding="utf-8")))


_holders: dict[Path, NewestModel[UrgencyModel]] = {}
_holders_lock = threading.Lock()


def _holder(settings: Settings) -> NewestModel[UrgencyModel]:
    directory = (settings.data_dir / "models").resolve()
    with _holders_lock:
        if directory not in _holders:
            _holders[directory] = NewestModel(directory, latest_model_path, _load_model)
        return _holders[directory]


def latest_model_path(directory: Path) -> Path | None:
    versions = [
        (int(m.group(1)), p)
        for p in (directory.glob("urgency-v*.json") if directory.is_dir() else [])
        if (m := _MODEL_NAME.match(p.name))
    ]
    return max(versions)[1] if versions else None


def current_model(settings: Settings) -> UrgencyModel | None:
    return _holder(settings).current()


def assess_text(settings: Settings, text: str, title: str | None = None) -> Verdict:
    """Rules plus the newest model on what the resident said (title included)."""
    full = f"{title}\n{text}" if title else text
    return assess(full, rules(settings), current_model(settings))


# ---- staff marks and training ------------------------------------------------------------


def marking_urgency(ctx: Context, actor: Actor, urgent: bool, reason: str) -> Change:
    """Staff say whether a case is urgent; the mark teaches the model and sets the case's
    voices' urgency at once (staff know better than the rules)."""
    require_role(actor, Role.ADMIN, Role.DISPATCHER, Role.OFFICER)
    if not reason or not reason.strip():
        raise ValidationFailed("marking urgency needs a reason")
    check_length("reason", reason, limits.REASON)

    def change(session: Session, case: Case) -> dict[str, Any]:
        now = ctx.now()
        check_case_visible(actor, case.department_id)
        session.add(
            CaseEvent(
                case_id=case.id,
                kind=MARK_EVENT,
                actor=actor.label,
                public=False,
                message=reason,
                data={"urgent": urgent},
                created_at=now,
            )
        )
        staff_reason = {
            "source": "staff",
            "rule": "staff",
            "reason": reason,
            "matched": actor.label,
            "weight": 0.0,
        }
        session.execute(
            update(VoiceInsight)
            .where(VoiceInsight.case_id == case.id)
            .values(urgency=URGENT if urgent else "normal", urgency_reasons=[staff_reason])
        )
        append_audit(
            session,
            actor=actor.label,
            action="case.urgency_marked",
            subject=f"case:{case.id}",
            data={"urgent": urgent, "reason": reason},
            at=now,
        )
        return {"urgent": urgent}

    return change


def mark_urgency(ctx: Context, actor: Actor, case_id: int, urgent: bool, reason: str) -> None:
    run_changes(ctx, case_id, [marking_urgency(ctx, actor, urgent, reason)])


def marked_examples(ctx: Context) -> tuple[list[str], list[bool]]:
    """(first voice text, latest staff mark) of every case staff marked."""
    with ctx.db.reader() as s:
        marks: dict[int, bool] = {}
        for case_id, data in s.execute(
            select(CaseEvent.case_id, CaseEvent.data)
            .where(CaseEvent.kind == MARK_EVENT)
            .order_by(CaseEvent.id)
        ):
            marks[case_id] = bool(data.get("urgent"))
        texts: dict[int, str] = {}
        if marks:
            for case_id, text in s.execute(
                select(Voice.case_id, Voice.text)
                .where(Voice.case_id.in_(list(marks)))
                .order_by(Voice.id)
            ):
                texts.setdefault(case_id, text)
    ids = sorted(c for c in marks if c in texts)
    return [texts[c] for c in ids], [marks[c] for c in ids]


def train_urgency(ctx: Context) -> Path:
    """Learn a new model version from staff marks; intake uses it within CHECK_SECONDS."""
    texts, labels = marked_examples(ctx)
    try:
        model = UrgencyModel.train(texts, labels)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    directory = ctx.settings.data_dir / "models"
    directory.mkdir(parents=True, exist_ok=True)
    newest = latest_model_path(directory)
    version = 1 if newest is None else int(_MODEL_NAME.match(newest.name).group(1)) + 1  # type: ignore[union-attr]
    model.version = version
    path = directory / f"urgency-v{version}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model.to_json(), ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    _holder(ctx.settings).forget()
    return path
