"""The stored same-problem index answers lookups on both databases."""

from __future__ import annotations

from datetime import timedelta

from civicpulse.domain.roles import SYSTEM, Actor
from civicpulse.services.match_index import best_open_match, find_candidates, params_from
from civicpulse.services.same_problem import rerun
from civicpulse.services.staff import actor_for_token, login
from civicpulse.services.text_reading import matching_keys as precompute
from civicpulse.services.voices import VoiceInput, submit_voice
from tests.city import PASSWORD, City


def test_lookups_find_open_cases_by_place_and_by_text(city: City) -> None:
    ctx = city.ctx
    near = submit_voice(ctx, SYSTEM, VoiceInput(text="Tent on the sidewalk", lat=30.05,
                                                lon=120.05))
    board = submit_voice(ctx, SYSTEM, VoiceInput(
        text="丽发新城小区附近的搅拌站噪音扰民，粉尘很大", title="丽发新城搅拌站噪音扰民"))
    submit_voice(ctx, SYSTEM, VoiceInput(text="Tent on the sidewalk", lat=30.09, lon=120.05))
    rerun(ctx)
    params = params_from(ctx.settings)
    later = ctx.now() + timedelta(days=2)
    by_place = precompute(ctx.settings, text="Person sleeping here", title=None, at=later,
                          lat=30.05001, lon=120.05001)
    by_text = precompute(ctx.settings, text="投诉丽发新城附近搅拌站噪音扰民，灰尘很大",
                         title="丽发新城搅拌站噪音扰民", at=later, lat=None, lon=None)
    too_late = precompute(ctx.settings, text="Tent on the sidewalk", title=None,
                          at=ctx.now() + timedelta(days=45), lat=30.05, lon=120.05)
    with ctx.db.reader() as s:
        place_match = best_open_match(s, by_place.probe, params, by_place.query_keys)
        text_match = best_open_match(s, by_text.probe, params, by_text.query_keys)
        candidates = find_candidates(s, by_place.probe, params, by_place.query_keys)
        late = find_candidates(s, too_late.probe, params, too_late.query_keys)
    assert place_match is not None and place_match.case_id == near.case_id
    assert text_match is not None and text_match.case_id == board.case_id
    assert [c.case_id for c in candidates] == [near.case_id]  # the far tent is not a candidate
    assert late == []


def test_a_closed_case_is_not_matched_but_the_case_it_was_merged_into_is(city: City) -> None:
    from civicpulse.services.cases import merge_case, reject_case

    ctx = city.ctx
    first = submit_voice(ctx, SYSTEM, VoiceInput(text="Broken bench", lat=30.05, lon=120.05))
    second = submit_voice(ctx, SYSTEM, VoiceInput(text="Graffiti", lat=30.06, lon=120.06))
    rerun(ctx)
    admin = _admin(city)
    merge_case(ctx, admin, first.case_id, second.case_id)
    params = params_from(ctx.settings)
    probe = precompute(ctx.settings, text="The bench is broken", title=None,
                       at=ctx.now(), lat=30.05, lon=120.05)
    with ctx.db.reader() as s:
        found = best_open_match(s, probe.probe, params, probe.query_keys)
    assert found is not None and found.case_id == second.case_id  # followed the merge
    reject_case(ctx, admin, second.case_id, "outside our remit")
    with ctx.db.reader() as s:
        assert best_open_match(s, probe.probe, params, probe.query_keys) is None


def _admin(city: City) -> Actor:
    return actor_for_token(city.ctx, login(city.ctx, "admin", PASSWORD))
