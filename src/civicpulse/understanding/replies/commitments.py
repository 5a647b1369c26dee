"""Deflection and concreteness: does the reply commit someone to something?

*Concrete*: some clause of the reply names an action (repaired, removed, fined, went on site;
修复, 拆除, 处罚, 到现场) together with when, how much or where it is or was done: a date or a
deadline, a quantity, a place. "路灯已修复" is an action without a when; "已于5月10日更换路
灯3盏" is concrete. A clause that repeats the resident's words ("您反映……怎么还没修好") is not
an action of the office.

*Deflection*: the reply moves the matter elsewhere ("不属于我单位职责", "已转交", "建议您向…
咨询", "将研究", "not our responsibility", "forwarded to", "will review", "please contact"),
names no concrete action, and has little else to say: under ``ANSWER_MIN`` units of its own
text besides its template phrases, formulas and the clauses that pass the matter on. A
transfer that comes with a dated action is not deflection; a "will study it" with nothing done
is; an answer that explains the rules at length and ends "如有异议，可通过司法途径解决" is
not. The replier's own contact ("请直接与我们联系") passes nothing on, nor does a matter passed
*to* the replier ("接到热线交办后……").

The phrases are written from general knowledge of how Chinese and English public bodies
word their replies, not from any city's rows, and the reasons quote the clause that decided.
Each Chinese pattern is searched behind a look-ahead for its possible first characters, and
the English ones only in text with English words: a plain alternation cost 0.15 ms a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from civicpulse.understanding.replies.findings import Finding
from civicpulse.understanding.replies.formula import formula_spans, own_units
from civicpulse.understanding.replies.text import has_han, normalise
from civicpulse.understanding.replies.views import ReplyView


def _words_pattern(words: str, *patterns: str) -> str:
    """An alternation of plain words (longest first) and of ``patterns`` (each a first
    character, then a regular expression), behind a look-ahead for their first characters."""
    listed = sorted(set(words.split()), key=len, reverse=True)
    firsts = "".join(sorted({w[0] for w in listed} | {p[0] for p in patterns}))
    return f"(?=[{firsts}])(?:{'|'.join([*patterns, *map(re.escape, listed)])})"


_ZH_DEFLECTION = re.compile(
    "(?=[不非超转移函呈建请属将会予待等已要责交督可应均系向给具汇上报无需通走申提])(?:" + "|".join((
        # responsibility denied, or placed with another office
        r"不(?:属于|归|在)(?:我|本)?[^，。；]{0,10}(?:职责|职能|管辖|受理|业务|管理)(?:范围)?",
        r"非(?:我|本)[^，。；]{0,6}(?:职责|职能|管辖)",
        r"超(?:出|越)[^，。；]{0,6}(?:职责|职能|管辖)",
        r"(?:应|均|系)?属(?:于)?(?!我|本)[^，。；]{1,12}(?:的)?(?:职责|职能|管辖)",
        r"无权",
        # passed on (not "转由我单位办理": the reply then comes from the right office); the
        # group "to" holds the alternatives whose object may be the replier itself
        r"(?P<to>(?:转交|转至|转给|转送|移交|移送|转办|交办|函转|呈转|转呈|呈请)(?!我)",
        r"已(?:经)?转(?!变|为|化|入|让|型|岗|正|发|载)[^，。；]{0,24}?"
        r"(?:调查|处理|核处|核实|办理|办复|答复|研究|参考|处置)",
        r"(?:要求|责成|交由|交给|交|请|督促|转|转交|转给|转至)(?:相关|有关)(?:部门|单位|方面)",
        r"(?:已|将|会)(?:经)?(?:将其|将此|按程序)?(?:汇报|上报|报送|呈报|转报)(?:给|至|到)?"
        r"(?:[^，。；]{0,16}?(?:领导|部门|政府|厅|局|委|办))?",
        r"(?:向|给)[^，。；]{0,16}?(?:领导|部门|政府|厅)(?:进行)?(?:汇报|报告|反映)",
        # the resident sent elsewhere
        r"(?:建议|请)(?:您|你)?(?:直接|自行|依法|通过|具体)?"
        r"(?:向|到|与|和|跟|联系|咨询|拨打|前往|通过|登录|访问|查阅|致电)"
        r"[^。！？]{0,30}?(?:咨询|反映|联系|协商|沟通|了解|办理|申请|起诉|投诉|解决|处理|核实|"
        r"电话|查询)",
        r"(?:建议|请)(?:您|你)?(?:直接|具体)?(?:咨询|联系|致电)",
        r"(?:可以|可|应)(?:直接)?(?:向|到|与)[^。！？]{0,30}?(?:咨询|反映|投诉|举报|联系)",
        r"(?:要|需|需要|应|应当|可以|可)(?:去|再)?咨询",
        r"(?:请|建议)(?:您|你)?(?:通过)?(?:法律|司法|诉讼|仲裁|协商)(?:途径|程序|方式)",
        r"(?:通过|走)[^，。；]{0,12}?(?:法律|司法|诉讼|仲裁|复议|法定)(?:途径|程序|渠道)",
        r"(?:申请|提起)(?:行政)?(?:复议|诉讼)|向(?:当地)?人民法院(?:提起|起诉))",
        r"属于[^，。；]{0,10}纠纷",
        # promised vaguely ("我们会考虑", not the "会" of "办公会研究", "社会关注")
        r"(?:将|(?<=[我们局司也还就都再])会|予以)[^，。；]{0,16}?(?:研究|考虑|调研|论证|关注|"
        r"酌情)",
        r"(?:待|等)[^，。；]{0,8}(?:研究|调查|核实|条件成熟)(?:后|时)",
    )) + ")"
)
"""What passes the matter on. A match whose object is the replier itself ("请直接与我们联系")
does not, nor does the invitation that closes most answers ("如有疑问，请致电…"), which
is a formula (:mod:`.formula`)."""

_SELF = re.compile(
    r"我们|我局|我单位|我办|我委|我中心|我司|我部|我所|我镇|我街道|我乡|我处|我队|本局|本单位"
)
_RECEIVED = re.compile(r"接到|收到|根据|按照|依据")
_CONDITIONAL = re.compile(r"^\s*如(?:果|若)?(?:您|你)?(?:对|还有|有|仍|需|需要|还|想)")

_EN_DEFLECTION = re.compile(
    "|".join((
        r"\bnot (?:within )?(?:our|the city'?s|this department'?s|its) "
        r"(?:responsibility|jurisdiction|remit|purview|area)",
        r"\b(?:outside|beyond) (?:of )?(?:our|the city'?s|its|this department'?s) "
        r"(?:jurisdiction|remit|scope|responsibility|purview)",
        r"\b(?:is|are) (?:the responsibility|a matter) (?:of|for)\b",
        r"\b(?:forwarded|referred|transferred|passed|sent|redirected|routed) "
        r"(?:\w+ ){0,4}(?:on )?to\b",
        r"\bwill (?:be )?(?:review|reviewed|look into|consider|considered|study|studied|"
        r"evaluate|evaluated|monitor|monitored)\b",
        r"\bplease (?:contact|call|reach out|refer|submit|file|direct)\b",
        r"\b(?:private property|civil matter|private matter)\b",
    )),
    re.IGNORECASE,
)

_ZH_ACTION = re.compile(
    _words_pattern(
        """修复 修好 维修 修缮 抢修 更换 安装 加装 增设 清理 清运 清扫 清除 疏通 拆除 整改
        处罚 罚款 责令 约谈 立案 取缔 关停 查封 暂扣 没收 铺设 硬化 施工 完工 竣工 开工 通车 复工
        补发 退还 退回 发放 支付 补缴 办结 派出 派员 派人 出动 巡查 检查 核查 排查 勘察 勘查 测量
        检测 调解 召开 下达 下发 签订 建成 投入使用 恢复 补偿 制止 劝离 封堵 填补 修剪 移除 回收
        治理 改造 粉刷 喷洒 消杀 上门 到现场 赴现场 前往现场 到达现场 深入现场 到实地 赴实地""",
        r"查处(?<!调查处)",  # not the "查处" inside "调查处理", which is no action yet
    )
)

_EN_ACTION = re.compile(
    r"\b(?:repaired|replaced|fixed|installed|removed|cleaned|cleared|collected|picked up|"
    r"patched|paved|filled|trimmed|pruned|towed|inspected|cited|ticketed|fined|issued|"
    r"completed|scheduled|restored|painted|swept|abated|boarded|posted|sealed|treated|"
    r"visited|dispatched|relocated|will (?:repair|replace|install|remove|clean|collect|"
    r"patch|pave|inspect|trim|tow|complete))\b",
    re.IGNORECASE,
)

_WHEN = re.compile(
    "|".join((
        r"\d{4}年\d{1,2}月(?:\d{1,2}日)?",
        r"\d{1,2}月\d{1,2}日",
        r"\d{1,2}月(?:上旬|中旬|下旬|底|初|末|份)",
        r"年底|年初|月底|本周|下周|本月|下月|今天|明天|今日|当日|当天|次日",
        r"(?:\d+|[一二三四五六七八九十两]+)个?(?:工作日|小时|天|日|周|星期|个月)(?:内|之内|前|以内)",
        r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
        r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}\b",
        r"\b(?:on|by|next|this) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        r"\bwithin \d+ (?:business |working )?(?:hours?|days?|weeks?)\b",
        r"\b(?:today|tomorrow|yesterday|this week|next week|this morning|this afternoon)\b",
    )),
    re.IGNORECASE,
)

_QUANTITY = re.compile(
    r"\d+(?:\.\d+)?\s*(?:万元|元|公里|千米|平方米|米|亩|户|人|名|处|台|辆|吨|盏|棵|株|个|次|起|家|间|"
    r"套|条|块|根|座|栋|批|份|%|％)"
    r"|\b\d+(?:\.\d+)? (?:feet|ft|foot|meters?|yards?|bags?|potholes?|lights?|trees?|tons?|"
    r"items?|cars?|vehicles?|units?|signs?|tires?|tyres?|dollars?|percent)\b"
    r"|\$\d+",
    re.IGNORECASE,
)

_WHERE = re.compile(r"现场|实地|on site|on-site|at the (?:location|site|address)", re.IGNORECASE)

#: a clause ends at a comma, a colon or a semicolon too: "who does what, when" is one
_CLAUSE_MARKS = (*"，,：:；;。！？!?\n", ". ")

#: where a clause repeats what the resident said rather than what the office did; the
#: restatement ends with the matter's name ("……的问题") when it has one
_RESTATES = re.compile(
    r"(?:您|你|网友|来信|留言)[^，。]{0,4}(?:反映|提出|咨询|投诉|举报|所说|所提|留言)"
    r"(?:[^，。]*?(?:问题|情况|一事|事宜|诉求)|(?P<open>))"
    r"|\byou (?:reported|said|asked|wrote|mentioned)\b(?P<open_en>)"
    r"|\byour (?:report|request|message)\b",
    re.IGNORECASE,
)

_ENGLISH_WORD = re.compile(r"[A-Za-z]{3}")
_THANKS = re.compile(r"\s*(?:再次|衷心|非常|真诚)?(?:感谢|谢谢|多谢)|\s*thank", re.IGNORECASE)


ANSWER_MIN = 60
"""Units of its own text (Chinese characters, English words; see :mod:`.formula`) from which a
reply answers by itself, about two sentences: a clause in it that points elsewhere ("如仍有
异议，建议通过司法途径解决") does not make it a deflection. On the 150 replies labelled to
develop the rules, the replies that only passed the matter on had at most 36 units of their
own, and the answers that also pointed elsewhere at least 79 (bench/README.md)."""


@dataclass(frozen=True, slots=True)
class Commitments:
    deflection: bool
    concrete: bool
    findings: list[Finding]


@dataclass(frozen=True, slots=True)
class PassingOn:
    """The clauses of a reply that pass the matter on, and the sentence to quote."""

    spans: tuple[tuple[int, int], ...]
    sentence: str | None


def passing_on(reply: ReplyView) -> PassingOn:
    """Every clause that passes the matter on, as spans of the reply's text (its raw text and
    its normalised text have the same offsets)."""
    text = reply.raw
    found = list(_ZH_DEFLECTION.finditer(text))
    if _ENGLISH_WORD.search(text) is not None:
        found += _EN_DEFLECTION.finditer(text)
    spans: list[tuple[int, int]] = []
    sentence: str | None = None
    for match in sorted(found, key=lambda m: m.start()):
        start, end = _clause_of(text, match.start(), match.end())
        clause = text[start:end]
        if ((match.re is _ZH_DEFLECTION and match.group("to") is not None
                and _SELF.search(match.group()))
                or _CONDITIONAL.match(clause) or _RECEIVED.search(text, start, match.start())):
            continue  # the replier's own contact, an invitation to come back, or a matter
            # passed on *to* the replier ("接到热线交办后")
        spans.append((start, end))
        if sentence is None:
            sentence = _around(text, match.start(), match.end())
    return PassingOn(tuple(spans), sentence)


def concrete_action(reply: ReplyView) -> str | None:
    """The first clause that names an action with its when, how much or where, or None."""
    text = reply.raw
    concrete = _concrete_clause(text, reply, _ZH_ACTION)
    if concrete is None and _ENGLISH_WORD.search(text) is not None:
        concrete = _concrete_clause(text, reply, _EN_ACTION)
    return concrete


def commitments(
    reply: ReplyView, passing: PassingOn | None = None, own: int | None = None
) -> Commitments:
    """Concreteness and deflection of a reply on its own (:func:`judge`); the own text is
    measured against the formulas alone unless given."""
    if passing is None:
        passing = passing_on(reply)
    if own is None and passing.spans:
        english = _ENGLISH_WORD.search(reply.raw) is not None
        own, _ = own_units(reply.text, has_han(reply.text), np.zeros(0, dtype=bool),
                           [*formula_spans(reply.text, english), *passing.spans])
    return judge(passing, own, concrete_action(reply))


def judge(passing: PassingOn, own: int | None, concrete: str | None) -> Commitments:
    """Deflection: the reply passes the matter on, names no concrete action and has under
    ``ANSWER_MIN`` units of its own text (``own``, as :func:`.boilerplate.boilerplate`
    measures it against the city's templates and the formulas)."""
    deflection = (bool(passing.spans) and concrete is None
                  and own is not None and own < ANSWER_MIN)
    out: list[Finding] = []
    if concrete is not None:
        out.append(Finding("concrete_action", {"sentence": concrete}))
    else:
        out.append(Finding("no_concrete_action"))
    if deflection and passing.sentence is not None:
        out.append(Finding("deflects", {"sentence": passing.sentence}))
    return Commitments(deflection, concrete is not None, out)


def _clause_of(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around ``start``–``end``: from after the last mark before to the first
    mark after, included."""
    before = max((at + len(mark) for mark in _CLAUSE_MARKS
                  if (at := text.rfind(mark, 0, start)) >= 0), default=0)
    ends = [i + len(mark) for mark in _CLAUSE_MARKS if (i := text.find(mark, end)) >= 0]
    return before, min(ends) if ends else len(text)


def _concrete_clause(text: str, reply: ReplyView, actions: re.Pattern[str]) -> str | None:
    """The first clause of ``text`` that names an action with its when, how much or where.

    Each action found is read in its clause (between commas, colons, semicolons and the ends
    of sentences), not the reply sentence by sentence: most of a reply names no action."""
    after = 0
    for action in actions.finditer(text):
        if action.start() < after:
            continue
        start = max((at + len(mark) for mark in _CLAUSE_MARKS
                     if (at := text.rfind(mark, 0, action.start())) >= 0), default=0)
        ends = [i for i in (text.find(mark, action.end()) for mark in _CLAUSE_MARKS) if i >= 0]
        after = min(ends) + 1 if ends else len(text)
        clause = text[start:after]
        if _THANKS.match(clause):
            continue  # "感谢您支持我县棚户区改造工作" thanks, it does not act
        restated = _RESTATES.search(clause)
        if restated is not None:
            if restated.group("open") is not None or restated.group("open_en") is not None:
                continue  # the rest of the clause is the resident's words
            clause = clause[restated.end():]
            if not actions.search(clause):
                continue
        if (_WHEN.search(clause) or _QUANTITY.search(clause) or _WHERE.search(clause)
                or any(p in normalise(clause) for p in reply.places)):
            return _clip(clause.strip().rstrip("，,：:；;"))
    return None


def _around(text: str, start: int, end: int, size: int = 60) -> str:
    """The sentence around ``start``–``end`` of ``text``, at most ``size`` characters."""
    before = max((at + len(mark) for mark in (*"。！？!?；;\n", ". ")
                  if (at := text.rfind(mark, 0, start)) >= 0), default=0)
    lead = before if start - before <= size // 2 else max(
        0, start - (size - (end - start)) // 2)
    return ("…" if lead != before else "") + _clip(text[lead:].lstrip(), size)


def _clip(text: str, size: int = 60) -> str:
    text = " ".join(text.split())
    cut = min((i for i in (text.find(m) for m in (*"。！？!?\n", ". ")) if i >= 0), default=-1)
    if 0 <= cut < size:
        text = text[: cut + 1]
    return text if len(text) <= size else text[: size - 1] + "…"
