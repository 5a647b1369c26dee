"""A newer model refreshes the suggestions of cases still waiting for the dispatcher."""

from __future__ import annotations

from sqlalchemy import select

from civicpulse.channels.mail import SpoolTransport
from civicpulse.jobs.runner import run_once
from civicpulse.services.classification import train_from_cases
from civicpulse.services.resuggest import refresh_waiting_suggestions
from civicpulse.storage.tables import Case, CaseEvent, Voice
from tests.city import City
from tests.integration.test_classification_intake import _teach


def test_waiting_voices_get_the_new_models_view_once(city: City) -> None:
    # arrives before any model: uncategorised, no suggestion
    r = city.client.post("/api/v1/voices", json={"text": "a deep pothole in the road"})
    waiting = r.json()["case_id"]
    assert r.json()["category"] is None
    assert refresh_waiting_suggestions(city.ctx) == 0  # no model yet: nothing to do
    _teach(city)  # categorised cases: not waiting, never touched
    train_from_cases(city.ctx, min_examples=3)
    city.ctx.models.forget()

    assert refresh_waiting_suggestions(city.ctx) == 1
    with city.ctx.db.reader() as s:
        voice = s.scalars(select(Voice).where(Voice.case_id == waiting)).one()
        case = s.get(Case, waiting)
        events = s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == waiting, CaseEvent.kind == "classified")
        ).all()
        others = s.scalars(select(Voice).where(Voice.case_id != waiting)).all()
        assert voice.suggested_category == "pothole" and voice.model_version == 1
        assert case is not None and case.category_id is None and case.status == "submitted"
        assert len(events) == 1 and not events[0].public and events[0].data["applied"] is False
        assert others and all(v.model_version is None for v in others)
    assert refresh_waiting_suggestions(city.ctx) == 0  # done once, not again


def test_the_job_pass_runs_it(city: City) -> None:
    city.client.post("/api/v1/voices", json={"text": "tree fell on the footpath"})
    _teach(city)
    train_from_cases(city.ctx, min_examples=3)
    city.ctx.models.forget()
    report = run_once(city.ctx, SpoolTransport(city.ctx.settings.mail_spool_path))
    assert report.resuggested == 1
