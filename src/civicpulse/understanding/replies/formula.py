"""The formulas of official replies, and what a reply says of its own besides them.

Every official reply greets, acknowledges, thanks and signs off; many pass the matter on.
These are formulas: their wording changes by a name, a date or an office, so the phrases that
other replies carry word for word (:mod:`.boilerplate`) miss a good part of them ("网友：您
好！您反映的问题已转高速公路管理部门调查、核处。" shares only its greeting with other
replies). A reply's *own text* is what is left when its template phrases and its formula
clauses are taken away: the facts found, the decision, the answer. A form reply has almost
none; an answer has a few sentences at least.

The clauses are found by how Chinese and English official replies are worded, from general
knowledge of them, never from a city's rows:

* the greeting at the head ("网友“A0001”您好！", "尊敬的网友：", "Dear resident,");
* acknowledgement ("您的留言已收悉", "来信收悉", "已阅", "we have received your report");
* the lead-in and sign-off ("现回复如下", "特此回复", "以上是我单位对您来信的回复");
* thanks, wishes and invitations ("感谢您对我们工作的支持", "祝您生活愉快", "如有疑问请致电…",
  "thank you for", "please do not hesitate");
* attention professed ("我局高度重视");
* dates and telephone numbers;
* and the clauses that pass the matter on, found by :mod:`.commitments`.

Clauses are cut at Chinese and English punctuation; a formula clause is taken whole, and a
clause longer than ``_LONGEST`` characters is never a formula (a long clause says something).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

import numpy as np

from civicpulse.understanding.replies.term_keys import han_mask

_LONGEST = 60
"""Characters of the longest clause that can be a formula."""

_CLAUSE_END = re.compile(r"[，,。！!？?；;：:\n]")
_EN_CLAUSE_END = re.compile(r"[，,。！!？?；;：:\n]|(?<=[a-z])\.(?=\s|$)")

#: formula wording found anywhere in a clause
_ZH_FORMULA = re.compile(
    "(?=[收获悉知已阅看结情进现特以高感表多提深敬请])(?:" + "|".join((
        # acknowledgement
        r"收悉|收到|获悉|悉知|知悉|已阅|阅办|收阅|已悉|看到您的|看到你的",
        # the result promised back ("办理结果将及时反馈")
        r"(?:结果|情况|进展)[^，。！？]{0,10}?(?:将|会)?(?:及时|第一时间)?(?:反馈|回复|告知|公布)",
        # lead-in and sign-off
        r"(?:现|特)(?:将|就|对)?[^，。！？]{0,24}?(?:回复|答复|说明|反馈|汇报)(?:如下|于下)",
        r"特此(?:回复|答复|函复|说明)",
        r"以上是[^，。！？]{0,12}(?:回复|答复)",
        # thanks, wishes, invitations, apologies
        r"(?:高兴|感谢)[^，。！？]{0,12}(?:肯定|认可|好评|表扬|鼓励)",
        r"表示(?:衷心)?(?:的)?(?:感谢|谢意|敬意|歉意)",
        r"(?:多提|提出)(?:宝贵|好的)?(?:的)?(?:意见|建议)",
        r"深表歉意|敬请谅解|请(?:您)?(?:谅解|理解)",
    )) + ")"
)
"""(Each searched behind a look-ahead for the alternatives' first characters: without it the
search cost 35 µs a reply.)"""

#: formula wording that a clause begins with (tried at the clause's first character; "$" is
#: the clause's end)
_ZH_FORMULA_START = re.compile(
    "(?=[“\"关针对就您你网来现回答再衷非真诚感谢多致祝顺敬欢恳还希望我将会如尊亲同朋先女市写信])(?:"
    + "|".join((
        # the resident's matter restated ("关于您反映的……问题"), after an addressee
        r"(?:[“\"][^”\"]{1,30}[”\"][:：]?\s*)?(?:关于|针对|对于|对|就)?(?:您|你|网友|来信人)"
        r"(?:所|在)?[^，。！？]{0,16}?(?:反映|提出|咨询|投诉|举报|所提|提到|有关)",
        r"(?:现)?(?:回复|答复)如下",
        r"(?:再次|衷心|非常|真诚|诚挚)?(?:感谢|谢谢|多谢|致谢)",
        r"(?:祝|顺祝|敬祝)(?:您|你|大家)",
        r"(?:欢迎|敬请|恳请|还望|(?:衷心|真诚|诚挚)?希望(?:您|你)|望(?:您|你))",
        r"(?:我们|我局|我单位)?(?:将|会)(?:继续|进一步)?(?:以此为|再接再厉|一如既往|继续努力|"
        r"不断改进|更好地?(?:开展|做好|服务))",
        r"如(?:果)?(?:您|你)?(?:对|还有|有|仍有|还|仍)[^，。！？]{0,30}"
        r"(?:联系|咨询|致电|拨打|反映|来电|来人|沟通)",
        # a greeting alone in its clause
        r"(?:尊敬的|亲爱的)?(?:网友|网民|市民|来信人|写信人|信访人|同志|朋友|先生|女士)"
        r"[^，。！？]{0,24}$",
        r"(?:您好|你好)$",
    )) + ")"
)
#: attention professed, a clause of its own ("我局高度重视")
_ATTENTION = re.compile(r"[^，。！？]{0,16}(?:高度|非常|十分|极为)重视$")

_EN_FORMULA = re.compile(
    "|".join((
        r"\b(?:thank you|thanks)\b",
        r"\bwe (?:have )?received your\b",
        r"\bplease (?:do not hesitate|feel free)\b",
        r"\b(?:sincerely|regards|best wishes)\b",
    ))
)
_EN_FORMULA_START = re.compile(r"(?:dear|hello|hi)\b")

#: dates ("2019年5月2日", "2019-05-02", "2019.5.31", "二〇一三年十二月二十三日") and telephone
#: numbers ("0731-0000-00000000"), wherever they are; and the office that signs before a date
_DATE_OR_PHONE = re.compile(
    r"(?=[0-9一二联咨举投服电热])(?:(?P<date>[0-9]{4}\s*[年.\-/]\s*[0-9]{1,2}\s*[月.\-/]\s*[0-9]{1,2}\s*日?)"
    r"|[一二][〇零○][〇零○一二三四五六七八九]{2}年[一二三四五六七八九十]{1,2}月"
    r"[一二三四五六七八九十]{1,3}日"
    r"|(?:联系|咨询|举报|投诉|服务)?(?:电话|热线)[:：]?\s*[0-9（）()\-—－\s]{5,}"
    r"|[0-9]{3,4}[\-—－][0-9\-—－]{6,})"
)
_SIGNED_BY = re.compile(
    r"[^\s，。！？!?：:]{2,24}?(?:局|办公室|办|委员会|委|政府|中心|公司|大队|支队|街道|"
    r"办事处|管委会|所|站|部|院)\s*$"
)

_EDGES = " \t，,。！!？?；;：:"


def clauses(text: str, english: bool = False) -> list[tuple[int, int]]:
    """The clauses of a normalised text as (start, end), cut after punctuation (and, in a
    text with English, after a full stop that ends a word)."""
    out: list[tuple[int, int]] = []
    start = 0
    for mark in (_EN_CLAUSE_END if english else _CLAUSE_END).finditer(text):
        if mark.end() > start:
            out.append((start, mark.end()))
        start = mark.end()
    if start < len(text):
        out.append((start, len(text)))
    return out


def formula_spans(text: str, english: bool) -> list[tuple[int, int]]:
    """The spans of a normalised reply that are formulas: its greeting head, the formula
    clauses, dates (with the office signing before them) and telephone numbers.

    The wording found anywhere is searched once in the whole text and each match marks its
    clause; the wording a clause begins with is tried at each clause's first character only
    (searching every clause for everything cost 150 µs a reply)."""
    spans: list[tuple[int, int]] = []
    head = _greeting_head(text)
    if head:
        spans.append((0, head))
    cut = clauses(text, english)
    starts = [start for start, _ in cut]
    marked = _marked(_ZH_FORMULA, text, head, cut, starts)
    if english:
        marked |= _marked(_EN_FORMULA, text, head, cut, starts)
    for k, (start, end) in enumerate(cut):
        if end <= head:
            continue
        clause = text[start:end]
        first = end - len(clause.lstrip(_EDGES))
        last = start + len(clause.rstrip(_EDGES))
        if last <= first or last - first > _LONGEST:
            continue
        if (k in marked or _ZH_FORMULA_START.match(text, first, last)
                or ("重视" in clause and _ATTENTION.match(text, first, last))
                or (english and _EN_FORMULA_START.match(text, first, last))):
            spans.append((start, end))
    after = 0  # where the last date or number ended: an office signs after it
    for m in _DATE_OR_PHONE.finditer(text):
        signed = None
        if m.group("date") is not None:
            gap = m.start() - len(text[after : m.start()].rstrip())
            signed = _SIGNED_BY.search(text, max(after, m.start() - gap - 30), m.start())
        spans.append((signed.start() if signed else m.start(), m.end()))
        after = m.end()
    return spans


def _marked(
    pattern: re.Pattern[str], text: str, pos: int, cut: list[tuple[int, int]],
    starts: list[int],
) -> set[int]:
    """The clauses (by index) that hold a match of ``pattern`` inside them. A match that runs
    over the end of its clause is no clause's: the search goes on from the next clause."""
    out: set[int] = set()
    while (m := pattern.search(text, pos)) is not None:
        k = bisect_right(starts, m.start()) - 1
        if m.end() <= cut[k][1]:
            out.add(k)
            pos = m.end()
        elif k + 1 < len(cut):
            pos = cut[k + 1][0]
        else:
            break
    return out


_GREETING_HEAD = re.compile(
    r"^[^。！？!?\n]{0,48}?(?:您好|你好)[！!，,。：:\s]*"
    r"|^\s*(?:尊敬的|亲爱的)?(?:网友|网民|市民|来信人|写信人|信访人|民网朋友|网民朋友)[^，。！？\n]{0,24}?[:：，,]"
    r"|^\s*(?:dear|hello|hi)\b[^,\n]{0,40},"
)


def _greeting_head(text: str) -> int:
    found = _GREETING_HEAD.search(text)
    return found.end() if found else 0


def unit_positions(text: str, chinese: bool) -> Any:
    """For each character of a normalised text, how many template units (:func:`.text.
    template_units`) come before it, and the total at the end, so that a span (a, b) of the
    text covers units ``at[a]`` to ``at[b]``. In a text with Chinese a unit is a Chinese
    character, a letter or a run of digits (the characters between left out, as units leave
    them out); otherwise a word."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    digit = (points - 48) < 10  # code points wrap below 0, as unsigned
    word = digit | ((points - 97) < 26)
    at = np.zeros(len(points) + 1, dtype=np.int64)
    if chinese:
        kept = np.flatnonzero(han_mask(points) | word)
        runs = digit[kept]
        first = np.ones(len(kept), dtype=np.int64)
        first[1:] -= runs[1:] & runs[:-1]  # a run of digits is one unit
        starts = np.zeros(len(points), dtype=np.int64)
        starts[kept] = first
    else:
        starts = word.astype(np.int64)
        starts[1:] -= word[1:] & word[:-1]
    np.cumsum(starts, out=at[1:])
    return at


def own_units(
    text: str, chinese: bool, covered: Any, spans: list[tuple[int, int]]
) -> tuple[int, int]:
    """Units of the reply neither in a template phrase (``covered``, a mask over its units,
    empty when there is none) nor in any of ``spans``; and all its units."""
    at = unit_positions(text, chinese)
    units = int(at[-1])
    mine = ~covered if len(covered) == units else np.ones(units, dtype=bool)
    for start, end in spans:
        mine[at[start] : at[end]] = False
    return int(mine.sum()), units
