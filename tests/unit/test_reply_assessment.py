"""Reply assessment: relevance, boilerplate, deflection and concreteness, with their reasons.

Hand-written messages and replies in Chinese and English; the reference corpus is a dozen
hand-written replies that share the usual greeting and thanks, as a city's replies do.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from civicpulse.domain.errors import ValidationFailed
from civicpulse.understanding.replies import (
    ANSWERS_AT,
    ReplyReference,
    assess_reply,
    read_message,
    read_reply,
)
from civicpulse.understanding.replies.boilerplate import boilerplate
from civicpulse.understanding.replies.commitments import commitments
from civicpulse.understanding.replies.relevance import (
    UNKNOWN_AUTHOR,
    UNKNOWN_AUTHOR_PLAIN,
    relevance,
    weigh,
    weights_for,
)
from civicpulse.understanding.replies.text import addressee, latest_year, normalise, places

THANKS = "感谢您对我们工作的关心、理解和支持！"
GREETING = "网友您好！您的留言已收悉，现将有关情况回复如下："

ZH_MESSAGE = ("岳麓区桃子湖路的路灯坏了一个多星期，晚上一片漆黑，老人小孩出行很不安全，"
              "请有关部门尽快修复。")
ZH_TITLE = "岳麓区桃子湖路路灯不亮"
ZH_REPLY = (f"{GREETING}经核查，桃子湖路共有3盏路灯因电缆老化损坏，我局已于2019年5月10日"
            f"派员更换电缆，路灯已恢复照明。{THANKS}")
ZH_OTHER_REPLY = (f"{GREETING}经核查，天心区芙蓉中路一小区门口的垃圾站由物业公司管理，"
                  f"我局已督促物业公司于2019年6月3日前完成清运。{THANKS}")

EN_MESSAGE = "The street light in front of 12 Elm Street has been out for a week."
EN_REPLY = "Crew replaced the lamp of the street light at 12 Elm Street on March 3."
EN_OTHER_REPLY = "The overflowing litter bin on Dock Road was emptied on March 4."

CORPUS = [
    f"{GREETING}关于{topic}的问题，我们已安排人员核实处理。{THANKS}"
    for topic in ("小区噪音", "道路积水", "违章停车", "公交线路", "学校招生", "医保报销",
                  "物业收费", "垃圾清运", "占道经营", "绿化养护", "供水不足", "拆迁补偿")
]


@pytest.fixture(scope="module")
def reference() -> ReplyReference:
    return ReplyReference.build([*CORPUS, ZH_REPLY, ZH_OTHER_REPLY, EN_REPLY, EN_OTHER_REPLY])


def _relevance(message: str, reply: str, reference: ReplyReference, **kw: str | None) -> float:
    return relevance(read_message(message, **kw), read_reply(reply), reference).score


def test_the_real_chinese_reply_is_more_relevant_than_another_messages_reply(
    reference: ReplyReference,
) -> None:
    real = _relevance(ZH_MESSAGE, ZH_REPLY, reference, title=ZH_TITLE)
    other = _relevance(ZH_MESSAGE, ZH_OTHER_REPLY, reference, title=ZH_TITLE)
    assert real >= ANSWERS_AT > other
    said = assess_reply(ZH_MESSAGE, ZH_REPLY, reference, title=ZH_TITLE)
    codes = {f.code: f.args for f in said.findings}
    assert "桃子湖路" in codes["names_places"]["places"]
    assert "does_not_answer" not in said.flags
    wrong = assess_reply(ZH_MESSAGE, ZH_OTHER_REPLY, reference, title=ZH_TITLE)
    assert "does_not_answer" in wrong.flags
    foreign = {f.code: f.args for f in wrong.findings}["foreign_places"]["places"]
    assert any("芙蓉中路" in p for p in foreign)


def test_the_real_english_reply_is_more_relevant_than_another_messages_reply(
    reference: ReplyReference,
) -> None:
    real = _relevance(EN_MESSAGE, EN_REPLY, reference)
    other = _relevance(EN_MESSAGE, EN_OTHER_REPLY, reference)
    assert real > other
    assert real >= ANSWERS_AT > other
    codes = {f.code: f.args for f in assess_reply(EN_MESSAGE, EN_REPLY, reference).findings}
    assert "12 Elm Street" in codes["names_places"]["places"]


def test_english_falls_back_to_plain_word_overlap_without_a_reference() -> None:
    empty = ReplyReference.empty()
    assert _relevance(EN_MESSAGE, EN_REPLY, empty) > _relevance(EN_MESSAGE, EN_OTHER_REPLY, empty)


def test_greeting_the_author_or_somebody_else_is_evidence(reference: ReplyReference) -> None:
    # nothing of the message in the body: "尽快", which the message says too, is a word no
    # reply of this small corpus uses, and sharing it would be evidence of its own
    body = "您好！您反映的问题已收悉，我们将认真处理。"
    to_author = _relevance(ZH_MESSAGE, f"网友“A0012”{body}", reference, author="A0012")
    to_other = _relevance(ZH_MESSAGE, f"网友“B7788”{body}", reference, author="A0012")
    unknown = _relevance(ZH_MESSAGE, f"网友“B7788”{body}", reference)
    assert to_author > ANSWERS_AT > unknown > to_other
    said = assess_reply(ZH_MESSAGE, f"网友“B7788”{body}", reference, author="A0012")
    assert {"code": "greets_other", "name": "B7788", "author": "A0012"} in [
        f.as_json() for f in said.findings]


def test_the_day_the_message_was_sent_is_evidence(reference: ReplyReference) -> None:
    reply = "您于2019年5月2日在平台上的留言已收悉，我们将尽快处理。"
    on_the_day = weigh(read_message(ZH_MESSAGE, author="A0012", said_at=date(2019, 5, 2)),
                       read_reply(reply), reference)
    other_day = weigh(read_message(ZH_MESSAGE, author="A0012", said_at=date(2019, 5, 3)),
                      read_reply(reply), reference)
    assert on_the_day.date == 1.0 and other_day.date == 0.0


def test_an_empty_acknowledgement_is_not_shown_to_answer_but_is_not_another_messages(
    reference: ReplyReference,
) -> None:
    hollow = _relevance(ZH_MESSAGE, "网友：您好！留言已收悉", reference, title=ZH_TITLE)
    other = _relevance(ZH_MESSAGE, ZH_OTHER_REPLY, reference, title=ZH_TITLE)
    assert other < hollow < ANSWERS_AT
    said = assess_reply(ZH_MESSAGE, "网友：您好！留言已收悉", reference, title=ZH_TITLE)
    assert "nothing_specific" in [f.code for f in said.findings]


def test_a_quote_of_something_else_counts_against(reference: ReplyReference) -> None:
    plain = "您好！我们已派人核实处理。"
    quoted = "您好！关于“天心区芙蓉中路垃圾站臭气扰民”的问题，我们已派人核实处理。"
    assert _relevance(ZH_MESSAGE, quoted, reference) < _relevance(ZH_MESSAGE, plain, reference)


def test_boilerplate_names_the_template_sentence(reference: ReplyReference) -> None:
    reply = f"{GREETING}{THANKS}"
    found = boilerplate(read_reply(reply), reference)
    assert found.share >= 0.9
    named = [f.args for f in found.findings if f.code == "template_sentence"]
    # the corpus's twelve replies and the two hand-written ones carry it; this one is new
    assert any(THANKS in str(n["sentence"]) and n["replies"] == 14 for n in named), named
    said = assess_reply(ZH_MESSAGE, reply, reference)
    assert "boilerplate" in said.flags and said.boilerplate == pytest.approx(found.share)


def test_a_reply_with_its_own_words_is_little_boilerplate(reference: ReplyReference) -> None:
    found = boilerplate(read_reply(ZH_REPLY), reference)
    assert 0.2 < found.share < 0.6
    assert "template_share" not in [f.code for f in found.findings]


def test_a_reply_in_the_reference_is_not_its_own_template() -> None:
    unique = "桃子湖路的三盏路灯由我局更换电缆后已恢复照明。"
    # a small corpus asks a phrase to be in 2 other replies
    thrice = ReplyReference.build([unique, unique, unique, *CORPUS[:2]])
    assert thrice.template_min == 2
    assert boilerplate(read_reply(unique), thrice).share == 1.0  # the two other copies
    twice = ReplyReference.build([unique, unique, *CORPUS[:3]])
    assert boilerplate(read_reply(unique), twice).share == 0.0  # itself and one other
    outside = ReplyReference.build([unique, unique, *CORPUS[:3]][1:])
    assert not outside.holds("桃子湖路的三盏路灯由我局更换电缆。")
    assert boilerplate(read_reply("桃子湖路的三盏路灯由我局更换电缆。"), twice).share > 0.5


@pytest.mark.parametrize(
    "reply",
    [
        "您反映的问题不属于我局职责范围，请您向区住建局咨询。",
        "网友：您好！您所反映的问题已转交高新区管委会调查处理。",
        "您的建议我们将认真研究。",
        "This is not our responsibility; please contact the utility company.",
        "Your request was forwarded to the Parks Department.",
        "We will review your request.",
    ],
)
def test_deflection_without_an_action_is_flagged(reply: str) -> None:
    said = commitments(read_reply(reply))
    assert said.deflection and not said.concrete
    assert [f.code for f in said.findings] == ["no_concrete_action", "deflects"]


@pytest.mark.parametrize(
    "reply",
    [
        "已转交区住建局，区住建局已于5月10日派员到现场修复路灯。",
        "您的留言转由我单位办理。经查，路灯线路老化，已于2019年5月10日更换电缆200米。",
        "Forwarded to Public Works, who replaced the street light on March 3.",
        "经核查，该路段积水系排水管堵塞所致，我局已派员疏通，预计本周内完工。",
    ],
)
def test_a_transfer_with_a_dated_action_is_not_deflection(reply: str) -> None:
    said = commitments(read_reply(reply))
    assert said.concrete and not said.deflection


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("经核查，我局已于2019年5月10日更换路灯3盏。", "已于2019年5月10日更换路灯3盏"),
        ("Crew replaced 2 street lights on Elm St on March 3.", "Crew replaced 2 street"),
        ("Case Closed Case Resolved completed 08/16/11", "completed 08/16/11"),
        ("我单位工作人员已到现场进行沟通处理，老板承诺降低音量。", "已到现场"),
    ],
)
def test_an_action_with_when_how_much_or_where_is_concrete(reply: str, shown: str) -> None:
    said = commitments(read_reply(reply))
    assert said.concrete
    assert shown in str(said.findings[0].args["sentence"])


@pytest.mark.parametrize(
    "reply",
    [
        "路灯已修复。",  # an action, but no when, how much or where
        "针对您反映桃子湖路路灯怎么还没修好的问题，我们高度重视，2019年5月1日",  # the resident's
        "We will look into it. Thank you for contacting 311.",
        "感谢您对我们工作的关心、理解和支持！",
    ],
)
def test_no_action_or_an_action_without_particulars_is_not_concrete(reply: str) -> None:
    assert not commitments(read_reply(reply)).concrete


def test_places_addressee_and_normalising() -> None:
    assert places("位于A市A2区桂花坪街道的景蓉华苑小区") == ["a2区", "桂花坪街道", "景蓉华苑小区"]
    assert places("我们小区门口的路灯坏了") == []
    assert places("Pothole outside 12 Elm Street near Dock Road") == ["12 elm street", "dock road"]
    assert addressee(normalise("网友“A00023583”：您好！")) == "a00023583"
    assert addressee(normalise("Dear Ms Lee, thank you")) == "ms lee"
    assert addressee(normalise("您好！留言已收悉")) is None
    assert normalise("Ａ３区_x000D_") == "a3区\n      "


def test_a_reference_is_saved_and_loaded_as_counts(
    tmp_path: Path, reference: ReplyReference
) -> None:
    path = tmp_path / "replies.json.gz"
    reference.save(path)
    loaded = ReplyReference.load(path)
    assert loaded.replies == reference.replies == 16
    assert loaded.term_df == reference.term_df and loaded.phrase_df == reference.phrase_df
    assert loaded.phrase_df and all(n >= loaded.template_min for n in loaded.phrase_df.values())
    assert loaded.holds(ZH_REPLY) and not loaded.holds("另一条答复")
    assert loaded.weight("桃子") == reference.weight("桃子")
    # the spread survives the round trip to the digits kept: stands_out is the same
    assert loaded.typical_spread == reference.typical_spread > 0
    message, reply = read_message(ZH_MESSAGE, title=ZH_TITLE), read_reply(ZH_REPLY)
    assert weigh(message, reply, loaded).stands_out == pytest.approx(
        weigh(message, reply, reference).stands_out, rel=1e-4)
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ValidationFailed, match="is not a reply reference"):
        ReplyReference.load(tmp_path / "bad.json.gz")


def test_a_reply_written_for_the_message_stands_out_from_the_citys_replies(
    reference: ReplyReference,
) -> None:
    message = read_message(ZH_MESSAGE, title=ZH_TITLE)
    own = weigh(message, read_reply(ZH_REPLY), reference)
    # a reply of the corpus's usual words shares only what every reply shares
    usual = weigh(message, read_reply(CORPUS[0]), reference)
    assert own.stands_out > 1.0 > usual.stands_out
    # no corpus, no spread: nothing stands out
    assert weigh(message, read_reply(ZH_REPLY), ReplyReference.empty()).stands_out == 0.0


def test_a_reply_dated_before_the_message_was_written_for_another() -> None:
    message = read_message("2019年3月以来，桃子湖路的路灯一直不亮，请尽快修复。", title=ZH_TITLE)
    old = read_reply("经核查，桃子湖路路灯已修复。二〇一五年六月三日")
    new = read_reply("经核查，桃子湖路路灯已修复。2019年5月3日")
    assert (message.latest_year, old.latest_year, new.latest_year) == (2019, 2015, 2019)
    reference = ReplyReference.build([*CORPUS, ZH_REPLY, ZH_OTHER_REPLY])
    assert weigh(message, old, reference).dated_before == 1.0
    assert weigh(message, new, reference).dated_before == 0.0
    assert relevance(message, old, reference).score < relevance(message, new, reference).score
    # a date the message was sent counts when known
    sent = read_message("桃子湖路的路灯不亮。", said_at=date(2019, 4, 1))
    assert sent.latest_year == 2019


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2019年4月以来，交了2000元", 2019),  # a sum of money is no year
        ("答复于二〇一三年十二月二十三日", 2013),
        ("the light was fixed on May 2, 2019.", 2019),
        ("paid 2019 dollars in 2015", 2015),
        ("2018.09.28-10.28", 2018),
        ("3180的报名费，12012年", None),
    ],
)
def test_the_latest_year_a_text_dates(text: str, year: int | None) -> None:
    assert latest_year(normalise(text)) == year


@pytest.mark.parametrize(
    "reply",
    [
        "网友：您好！您反映的问题已转L6县调查、核处。",  # formulas and a county's name
        "网友您好：您反映的问题已收悉并交有关单位调查核处，如有情况将及时回复！2019年12月25日",
        "“UU0082251”您反映的情况，建议您直接和物业公司进行沟通。感谢您的留言。",
        "网友：你好！2018年12月4日",
        # a quarter of it its own, but that quarter is under a sentence
        "网友您好！您反映的问题我们已经知道了，会尽快安排处理。",
    ],
)
def test_a_form_is_boilerplate_though_no_other_reply_has_its_words(reply: str) -> None:
    said = assess_reply(ZH_MESSAGE, reply, ReplyReference.build(CORPUS))
    assert "boilerplate" in said.flags, said
    assert said.boilerplate >= 0.5


@pytest.mark.parametrize(
    "reply",
    [
        "按照现有的规定，B市没有此类规定。",  # short, but all its own words
        "网友您好！经核查，桃子湖路路灯已于5月10日修复。感谢您的支持！",  # short, and acts
        ZH_REPLY,
    ],
)
def test_a_short_answer_is_no_form(reply: str) -> None:
    assert "boilerplate" not in assess_reply(ZH_MESSAGE, reply, ReplyReference.build(CORPUS)).flags


@pytest.mark.parametrize(
    "reply",
    [
        "网友您好：您反映的问题已收悉并交有关单位调查核处，如有情况将及时回复！",
        "您的留言已收悉。关于您反映的问题，已转市教育局调查处理。",
        "网友：您好！留言已阅。建议你登录法治网等网站了解情况。",
        "您的建议我们将在这一轮设计中一并考虑。",
        "由于该路段未移交，交警部门无权在该路段设置电子警察。",
    ],
)
def test_more_ways_of_passing_the_matter_on(reply: str) -> None:
    said = assess_reply(ZH_MESSAGE, reply, ReplyReference.build(CORPUS))
    assert said.deflection, said


@pytest.mark.parametrize(
    "reply",
    [
        # the replier's own contact is no passing on, nor is a closing invitation
        "经核查，路灯线路老化，已安排更换。如果您有新的意见建议，请直接与我们联系。",
        # a matter passed *to* the replier, then dealt with
        "网友：接到热线交办后，镇政府现已对商店出店经营情况进行整改拆除，货物已按规划摆放。",
        # "会" of a meeting is no promise
        "经教育局党委会研究决定，营养餐由学校根据实际情况提出申请，报局党委同意后实施。",
        # an answer of its own that also points elsewhere
        "经查实，历次征地拆迁中，拆迁中心及镇、村两级干部均已入户走访；涉及集体土地补偿款分配的，"
        "组委会均召开了组员大会，并按大会达成的分配方案予以分配，征地拆迁补偿分配由村民自主决定。"
        "对外嫁女可能存在的不公平待遇，镇、村两级将加以引导。若您仍有异议，建议通过司法途径解决。",
    ],
)
def test_an_answer_that_points_elsewhere_or_to_the_replier_is_no_deflection(reply: str) -> None:
    said = assess_reply(ZH_MESSAGE, reply, ReplyReference.build(CORPUS))
    assert not said.deflection, said


def test_without_a_corpus_the_weights_fitted_without_the_spread_apply(
    reference: ReplyReference,
) -> None:
    answer = "经查，桃子湖路路灯电缆老化，我局已于5月10日更换电缆，路灯已恢复照明。"
    said = assess_reply(ZH_MESSAGE, answer, title=ZH_TITLE)  # no reference: all terms alike
    assert said.relevance >= ANSWERS_AT and "does_not_answer" not in said.flags
    message = read_message(ZH_MESSAGE, title=ZH_TITLE)
    assert weights_for(message, ReplyReference.empty()) is UNKNOWN_AUTHOR_PLAIN
    assert weights_for(message, reference) is UNKNOWN_AUTHOR


def test_a_reference_of_the_first_format_is_read_without_the_spread(
    tmp_path: Path, reference: ReplyReference
) -> None:
    path = tmp_path / "old.json.gz"
    reference.save(path)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        body = json.load(f)
    body["version"] = 1
    del body["term_spread"], body["typical_spread"]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(body, f)
    old = ReplyReference.load(path)
    assert old.typical_spread == 0.0 and old.term_df == reference.term_df
    message = read_message(ZH_MESSAGE, title=ZH_TITLE)
    assert weights_for(message, old) is UNKNOWN_AUTHOR_PLAIN
    body["version"] = 9
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(body, f)
    with pytest.raises(ValidationFailed, match="format 9"):
        ReplyReference.load(path)
