"""The hollow-reply rule over recorded assessments, and reason codes put into words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicpulse.insight.formalism_departments import Answer, guarded_rate, hollow_replies
from civicpulse.insight.formalism_patterns import FlagKind
from civicpulse.services.formalism_views import code_words

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _answer(event: int, case: int, hollow: bool, **more: object) -> Answer:
    return Answer(event, case, "roads", "staff:roads1", T0 + timedelta(minutes=event),
                  hollow, **more)  # type: ignore[arg-type]


def test_one_flag_per_case_with_the_recorded_flags_and_reasons() -> None:
    flags = hollow_replies([
        _answer(1, 10, True, flags=("does_not_answer",), reasons=("nothing_specific",)),
        _answer(2, 10, True, flags=("boilerplate",), reasons=("template_share",),
                sent_anyway=True),
        _answer(3, 11, False),
    ])
    assert [f.key for f in flags] == ["hollow_reply:c10:roads"]
    (flag,) = flags
    assert flag.kind is FlagKind.HOLLOW_REPLY and flag.case_ids == (10,)
    assert flag.facts == {"replies": 2, "flags": ["boilerplate", "does_not_answer"],
                          "reasons": ["nothing_specific", "template_share"],
                          "sent_anyway": True}
    assert [e.event_id for e in flag.evidence] == [1, 2]
    assert "sent after the warning" in flag.reasons[1]


def test_answered_replies_raise_nothing_and_the_rate_keeps_its_guard() -> None:
    assert hollow_replies([_answer(1, 10, False)]) == []
    assert guarded_rate(1, 4, 5) is None and guarded_rate(1, 5, 5) == 0.2


def test_a_code_reads_as_words_without_the_values_it_never_kept() -> None:
    texts = {"reply.template_share": "%(share)s%% of the reply is template text"}
    assert code_words(lambda k: texts.get(k, k), "reply.template_share") \
        == "…% of the reply is template text"
    assert code_words(lambda k: k, "flag.unknown") == "flag.unknown"
