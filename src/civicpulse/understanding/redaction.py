"""Redaction of personal data before a voice is shown in public.

Finds phone numbers (Chinese mobile and landline, North American), e-mail addresses, Chinese
resident ID numbers (checksum-validated), bank card numbers (Luhn-validated), Chinese licence
plates and personal names introduced by a cue ("我叫", "联系人：", "my name is"). Each finding is
a :class:`Span` with its kind, so staff views can show what was hidden and why.

Checksums do most of the work against false alarms: an order number, a date or a price does
not pass the ID or Luhn check, and numbers are only taken whole (never a run of digits cut out
of a longer one). A card-like or phone-like number right after an order/tracking cue is left
alone, since one random number in ten passes Luhn. The patterns are general knowledge about
these number formats, not learnt from any city's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

KINDS = ("email", "id_number", "bank_card", "phone", "plate", "name")

PLACEHOLDER = {
    "email": "[email]",
    "id_number": "[id]",
    "bank_card": "[card]",
    "phone": "[phone]",
    "plate": "[plate]",
    "name": "[name]",
}


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    spans: list[Span]


# ---- validators ---------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """The 18th character of a Chinese resident ID (GB 11643-1999, ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def valid_resident_id(number: str) -> bool:
    """18 characters, a plausible birth date and a matching check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if number[0] == "0":
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900:
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ---- patterns -----------------------------------------------------------------------------

_NOT_DIGIT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_DIGIT_AFTER = r"(?![0-9A-Za-z])"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_ID = re.compile(_NOT_DIGIT_BEFORE + r"[1-9]\d{16}[0-9Xx]" + _NOT_DIGIT_AFTER)
# 13–19 digits, optionally in groups separated by single spaces or hyphens
_CARD = re.compile(_NOT_DIGIT_BEFORE + r"\d{4}(?:[ \-]?\d{2,4}){2,4}(?:[ \-]?\d{1,3})?"
                   + _NOT_DIGIT_AFTER)
_CN_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?![0-9])"
)
_CN_LANDLINE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[ \-—]?)"
    r"[2-9]\d{6,7}(?:[\-转]\d{1,5})?(?![0-9])"
)
_US_PHONE = re.compile(
    r"(?<![0-9])(?:\+?1[ \-.]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ \-.])[2-9]\d{2}[ \-.]\d{4}"
    r"(?![0-9])"
    r"|(?<![0-9])\+1[2-9]\d{2}[2-9]\d{6}(?![0-9])"
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"[{_PROVINCES}][A-HJ-NP-Z][·•\- ]?(?:[A-HJ-NP-Z0-9]{{5,6}}|[A-HJ-NP-Z0-9]{{4}}[挂学警港澳])"
    r"(?![0-9A-Za-z])"
)

# Order, tracking and reference numbers are not card numbers even when they pass Luhn.
_REFERENCE_CUE = re.compile(
    r"(订单|单号|编号|运单|快递|工单|流水|发票|合同|批次|order|tracking|reference|ref|case|invoice"
    r"|ticket|no\.|#)[^0-9，,。；;！!？?]{0,5}$",
    re.IGNORECASE,
)

# The most common Chinese surnames (general knowledge; compound surnames first).
_COMPOUND_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|令狐|夏侯|端木|独孤"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# Characters that do not start a given name but often follow a cue ("本人于上周", "我是王府小区").
_NOT_GIVEN = "上下去今昨前后年月日在已也都多一不没被把对的是了们区市县镇村"
# Characters that end a name because they start the next words of the sentence.
_AFTER_NAME = (
    "是住在的了，,。.;；:：、！!？?（(）) \n\t"
    "电手联家今我从于向和与及因为要想反映投诉请男女先老师身表说称"
)
_ZH_NAME = re.compile(
    r"(?P<cue>我叫|我的名字是|我的名字叫|本人(?:叫)?|联系人(?:是|为)?[:：]?|姓名(?:是|为)?[:：]?"
    r"|名字[:：]|我是|(?:家长|业主代表|业主|车主|举报人|投诉人|反映人|申请人|代理人|户主)"
    r"(?:是|为)?[:：]?)\s*"
    rf"(?P<name>(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])[^{_NOT_GIVEN}\W\d_A-Za-z]"
    r"[\u4e00-\u9fff]??)"
    rf"(?=[{re.escape(_AFTER_NAME)}]|先生|女士|$)"
)
_EN_NAME = re.compile(
    r"(?:\b[Mm]y name is|\bI am|\bI'm|\bThis is|\b[Nn]ame\s*:|\b[Cc]ontact(?: person)?\s*:"
    r"|\b[Cc]ontact\s+(?=[A-Z]))\s*"
    r"(?P<name>(?:Mr\.?|Mrs\.?|Ms\.?|Dr\.?)?\s?[A-Z][a-z]+(?:['\-][A-Z]?[a-z]+)*(?:\s[A-Z]\.)?"
    r"(?:\s[A-Z][a-z]*(?:['\-][A-Z]?[a-z]+)*){0,2})"
)
# Capitalised words after "I am"/"This is" that are not names.
_EN_NOT_NAME = re.compile(
    r"^(?:The|A|An|Very|Not|So|Writing|Calling|Here|Still|Again|Really|Concerned|Tired|Sick|Just"
    r"|Also|Sorry|Unable|Going|Living|Your|My|Our|Their|This|That|It|In|On|At)\b"
)


class Redactor:
    """Finds personal data in text; stateless and safe to share between threads."""

    def find(self, text: str) -> list[Span]:
        found: list[Span] = []

        def take(start: int, end: int, kind: str) -> None:
            if start >= end:
                return
            for s in found:
                if start < s.end and s.start < end:
                    return
            found.append(Span(start, end, kind))

        for m in _EMAIL.finditer(text):
            take(m.start(), m.end(), "email")
        for m in _ID.finditer(text):
            if valid_resident_id(m.group()):
                take(m.start(), m.end(), "id_number")
        for m in _CARD.finditer(text):
            digits = re.sub(r"[ \-]", "", m.group())
            if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
                continue
            if _REFERENCE_CUE.search(text[max(0, m.start() - 12) : m.start()]):
                continue
            take(m.start(), m.end(), "bank_card")
        for pattern in (_CN_MOBILE, _CN_LANDLINE, _US_PHONE):
            for m in pattern.finditer(text):
                if not _REFERENCE_CUE.search(text[max(0, m.start() - 12) : m.start()]):
                    take(m.start(), m.end(), "phone")
        for m in _PLATE.finditer(text):
            take(m.start(), m.end(), "plate")
        for m in _ZH_NAME.finditer(text):
            take(m.start("name"), m.end("name"), "name")
        for m in _EN_NAME.finditer(text):
            name = m.group("name")
            if _EN_NOT_NAME.match(name):
                continue
            start = m.start("name") + (len(name) - len(name.lstrip()))
            take(start, m.end("name"), "name")
        found.sort(key=lambda s: s.start)
        return found

    def redact(self, text: str) -> Redacted:
        spans = self.find(text)
        parts: list[str] = []
        at = 0
        for s in spans:
            parts.append(text[at : s.start])
            parts.append(PLACEHOLDER[s.kind])
            at = s.end
        parts.append(text[at:])
        return Redacted("".join(parts), spans)


def redact(text: str) -> Redacted:
    """Redact with the default rules."""
    return Redactor().redact(text)
