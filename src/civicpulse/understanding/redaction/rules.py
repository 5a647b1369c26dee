"""Rules for personal data that has a shape: numbers with checksums, phones, e-mails, plates,
and Chinese names introduced by a cue word.

Checksums do most of the work against false alarms: an order number, a date or a price does
not pass the ID or Luhn check, and numbers are only taken whole (never a run of digits cut out
of a longer one). A card-like or phone-like number right after an order/tracking cue is left
alone, since one random number in ten passes Luhn. The patterns are general knowledge about
these number formats, not learnt from any city's data. They cost about 0.1 ms a message, so
they run at intake.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

Take = Callable[[int, int, str], None]

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
_PLATE_BODY = r"[A-Z][·•\- \u00a0]?(?:[A-Z0-9]{5,6}|[A-Z0-9]{4}[挂学警港澳])(?![0-9A-Za-z\-—])"
_PLATE = re.compile(rf"[{_PROVINCES}]" + _PLATE_BODY)
# The same shape after any Chinese character: taken only beside a word for a vehicle (or in a
# run of such tokens), since texts also carry plates whose first character is not a current
# province (old or special plates, pseudonymised data) and bare codes like "GB8702" are not.
_ANY_PLATE = re.compile(r"[\u4e00-\u9fff]" + _PLATE_BODY)
_VEHICLE_BEFORE = re.compile(
    r"(?:车|牌|驾驶|司机|乘坐|搭乘)[^，。；;！!？?\d]{0,5}[为是：:（(\s，,]*$"
)
_VEHICLE_AFTER = re.compile(r"[）)]?[号的（(]?[\u4e00-\u9fff]{0,4}?(?:车|牌)")
_LIST_GAP = re.compile(r"[、，,.;；\s]{0,2}")

# Any 7–12 digit number right after a word for calling: local numbers without area code,
# hotlines, odd separators ("0746--2213405", "0731—96111"). Not when a unit follows (an amount).
_PHONE_CUE_NUMBER = re.compile(
    r"(?:电话|致电|拨打|热线|手机|座机|联系方式|号码|来电|打)[^0-9，,。；;！!？?]{0,4}?"
    r"(?P<number>(?<![0-9])(?:\+?86[ \-]?)?\d(?:[ \-—－]{0,2}\d){6,11})(?![0-9])"
    r"(?!\s*(?:元|万|亿|%|％|年|月|日|号|米|平|个|人|次|\.\d))"
)
_DATE_LIKE = re.compile(
    r"(?:19|20)\d{2}[\-—－/.](?:0?[1-9]|1[0-2])[\-—－/.](?:0?[1-9]|[12]\d|3[01])"
)
_SERVICE_NUMBER = re.compile(r"(?<![0-9])[48]00[ \-]?\d{3}[ \-]?\d{4}(?![0-9])")

# Order, tracking and reference numbers are not card numbers even when they pass Luhn.
_REFERENCE_CUE = re.compile(
    r"(订单|单号|编号|运单|快递|工单|流水|发票|合同|批次|order|tracking|reference|ref|case|invoice"
    r"|ticket|no\.|#)[^0-9，,。；;！!？?]{0,5}$",
    re.IGNORECASE,
)

# The most common Chinese surnames (general knowledge; compound surnames first). 和 is left
# out: as a surname it is rare, as the word "and" it follows "业主", "家长"… all the time.
_COMPOUND_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|令狐|夏侯|端木|独孤"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    "谌禹阙冼揭庹粟晋郁匡湛鄢旷"
)
# Characters that do not start a given name but often follow a cue ("本人于上周", "我是王府小区").
_NOT_GIVEN = "上下去今昨前后年月日在已也都多一不没被把对的是了们区市县镇村某"
# Characters that end a name because they start the next words of the sentence.
_AFTER_NAME = (
    "是住在的了，,。.;；:：、！!？?（(）) \n\t"
    "电手联家今我从于向和与及因为要想反映投诉请男女老师身表说称"
)
_SURNAME = rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])(?!先生|女士|[\u4e00-\u9fff]?族)"
SURNAME_START = re.compile(rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])")
COMPOUND_START = re.compile(_COMPOUND_SURNAMES)
_GIVEN_CHAR = rf"[^{_NOT_GIVEN}\W\d_A-Za-z]"
# Two or three characters; three when the third is followed by punctuation ("我叫龙国和，"),
# otherwise as few as the context allows.
_ZH_GIVEN = (
    rf"{_SURNAME}{_GIVEN_CHAR}(?:[\u4e00-\u9fff](?=[，,。；;：:、）)\s\u3000\u00a0])"
    r"|[\u4e00-\u9fff]??)"
)
# Exactly three characters: the commonest length of a full name, and the only one taken
# after generic nouns or titles or before "电话", where two characters are usually a word.
_ZH_FULL = rf"{_SURNAME}{_GIVEN_CHAR}[\u4e00-\u9fff]"
_ZH_NAME_END = rf"(?=[{re.escape(_AFTER_NAME)}\d\u3000\u00a0｛{{等]|先生|女士|$)"
_SPACE = r"[\s\u3000\u00a0]"
# Words that introduce a person: the writer, a contact, or a party in a complaint.
_ZH_PERSON_CUE = (
    r"我叫|我名叫|名字叫|我的名字是|我的名字叫|本人(?:叫|是)?|我是|联系人|姓名|名字[:：]|名叫"
    r"|(?:实名)?(?:举报|投诉|报告|控告|申请|申诉|诉求|求助|报案|留言|反映|信访|肇事|被举报|被投诉)人"
    r"|法定代表人|法人代表"
)
# Generic nouns for people ("业主", "家长") are followed by ordinary words as often as by a
# name, so after them a name needs a colon or "是/为", or must stand alone before punctuation.
_ZH_WEAK_CUE = (
    r"业主代表|业主|户主|屋主|房主|车主|家长|患者|村民|受害人|当事人|负责人|代表人|代理人|经办人"
    r"|权利人|妻子|丈夫|儿子|女儿|父亲|母亲|局长|院长|副院长|主席|副主席|董事长|总经理|经理|主任"
    r"|书记|村长|校长|民警|交警|警官"
)
_ZH_NAME = re.compile(
    rf"(?:(?:{_ZH_PERSON_CUE})(?:是|为|叫)?{_SPACE}*[:：]?{_SPACE}*(?P<name>{_ZH_GIVEN}){_ZH_NAME_END}"
    rf"|(?:{_ZH_WEAK_CUE})(?:(?:是|为)?{_SPACE}*[:：]|是|为){_SPACE}*(?P<named>{_ZH_GIVEN})"
    rf"{_ZH_NAME_END}"
    rf"|(?:{_ZH_WEAK_CUE})(?P<alone>{_ZH_FULL}){_ZH_NAME_END}"
    rf"|(?:{_ZH_WEAK_CUE})(?P<short>{_ZH_GIVEN})(?=[，,]?{_SPACE}*(?:手机|电话|联系|男|女|[0-9])))"
)
# A further name in a list after the first ("举报人：杨某某、李某某").
_ZH_NEXT_NAME = re.compile(rf"[、，,\s\u3000\u00a0]{{1,4}}(?P<name>{_ZH_GIVEN}){_ZH_NAME_END}")
# A name written right before its phone number ("王某某：138…", "王某某，电话：…").
_ZH_NAME_BEFORE_PHONE = re.compile(
    rf"(?<![\u4e00-\u9fff])(?:(?P<name>{_ZH_FULL})(?=[，,]?(?:联系电话|电话|手机))"
    rf"|(?P<named>{_ZH_GIVEN})(?=[:：]?[\s\u3000\u00a0｛{{（(]*[0-9][0-9\-—－ ]{{6,}}))"
)

# A surname with a title or kinship word ("陈局长", "胡书记", "黄老师", "欧总", "黄母")
# names an office or a role, as "X先生" does: the tagger marks them PER, we do not.
TITLED = re.compile(
    r"(?:局长|书记|厅长|市长|县长|区长|镇长|乡长|村长|主任|老师|校长|院长|科长|处长|部长|省长"
    r"|主席|委员|经理|老板|庭长|董事长|总监|队长|站长|所长|厂长|师傅|医生|律师|警官|先生|女士|同志|婆婆"
    r"|爷爷|奶奶|阿姨|叔叔|大爷|大妈|总|母|父|哥|姐|嫂|局|大)$"
)


def find_numbers(text: str, take: Take) -> None:
    """E-mails, resident IDs, bank cards and phones, most certain first."""
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
    for pattern in (_CN_MOBILE, _CN_LANDLINE, _US_PHONE, _SERVICE_NUMBER):
        for m in pattern.finditer(text):
            if not _REFERENCE_CUE.search(text[max(0, m.start() - 12) : m.start()]):
                take(m.start(), m.end(), "phone")
    for m in _PHONE_CUE_NUMBER.finditer(text):
        if _DATE_LIKE.fullmatch(m.group("number")):
            continue
        if not _REFERENCE_CUE.search(text[max(0, m.start() - 12) : m.start("number")]):
            take(m.start("number"), m.end("number"), "phone")


def find_plates(text: str, take: Take) -> None:
    """Plates with a province character anywhere; other plate-shaped tokens beside a
    vehicle word, or two or more in a row (a list of plates)."""
    for m in _PLATE.finditer(text):
        take(m.start(), m.end(), "plate")
    shaped = [m.span() for m in _ANY_PLATE.finditer(text)]
    for i, (start, end) in enumerate(shaped):
        before = _VEHICLE_BEFORE.search(text[max(0, start - 12) : start])
        after = _VEHICLE_AFTER.match(text, end)
        in_run = any(
            (j_end <= start and _LIST_GAP.fullmatch(text[j_end:start]))
            or (end <= j_start and _LIST_GAP.fullmatch(text[end:j_start]))
            for j_start, j_end in shaped[max(0, i - 1) : i + 2]
            if (j_start, j_end) != (start, end)
        )
        if before or after or in_run:
            take(start, end, "plate")


# "姓王名军利": the writer gives surname and given name apart; the given name is what
# identifies (the surname alone is shared by millions), so it is the span taken.
_SURNAME_THEN_GIVEN = re.compile(
    rf"姓(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])[，,]?名(?P<name>{_GIVEN_CHAR}[\u4e00-\u9fff]?)"
    rf"(?=[{re.escape(_AFTER_NAME)}\d\u3000\u00a0]|$)"
)
# A pronoun is never part of a name: "业主向您反映" is a cue word, a surname-like character
# (向) and a pronoun.
_PRONOUN = re.compile(r"[你您我他她它]")


# A full or given name right before an office ("，易炼红书记要求", "衡花书记、忠雄市长"): how
# residents address or quote officials. Only after a boundary, so the span is the whole
# run between it and the title; and only when the run is not a word of its own (区委, 支部),
# holds no character of an office, a cue or a function word, and does not end as "请张"
# (a cue and a surname: "请张书记" names an office).
_OFFICE = r"书记|市长|县长|区长|省长|局长|厅长|镇长|乡长|主任|主席|部长|处长|科长"
_BEFORE_OFFICE = re.compile(
    rf"(?:^|(?<=[，,。；;！!？?、：:\s\u3000（(“\"])|(?<=尊敬的)|(?<=亲爱的))"
    rf"(?P<name>[\u4e00-\u9fff]{{2,3}})(?P<office>{_OFFICE})"
)
_NOT_IN_NAME_BEFORE_OFFICE = frozenset(
    "委党局市区县镇乡村支部厂院校所站队处科组会办司厅省总副正常务书长主任领导同志老师"
    "我你他她您们的了在是和与及向给请望问求谢敬尊希恳盼乞致但而且要换一般不知道均见难当相信想"
    "多次特再并只如果那个该对被把让由从为有又原约推说某"
)


def find_titled_names(text: str, take: Take) -> None:
    """Names right before an office they hold ("易炼红书记", "炼红书记"): see above.

    jieba's dictionary (``rjieba``) tells a word from a name here: "班主任" is a word, so
    "班" is not a given name; "市委" is a word, so "市委书记" names no one."""
    import rjieba

    for m in _BEFORE_OFFICE.finditer(text):
        name = m.group("name")
        # a surname, a given character, then one that is often a function word ("唐阳向局长")
        checked = name[:2] if len(name) == 3 and SURNAME_START.match(name) else name
        if any(ch in _NOT_IN_NAME_BEFORE_OFFICE for ch in checked) or rjieba.has_word(name):
            continue
        if rjieba.has_word(name[-1] + m.group("office")):
            continue
        if len(name) == 3 and rjieba.has_word(name[:2]):
            continue
        if len(name) == 2 and SURNAME_START.fullmatch(name[1]):
            continue
        take(m.start("name"), m.end("name"), "name")


def find_cue_names(text: str, take: Take) -> None:
    """Chinese names after a word that introduces a person, and the names listed after it."""
    for m in _SURNAME_THEN_GIVEN.finditer(text):
        take(m.start("name"), m.end("name"), "name")
    for pattern in (_ZH_NAME, _ZH_NAME_BEFORE_PHONE):
        for m in pattern.finditer(text):
            group = next(g for g, v in m.groupdict().items() if v)
            if TITLED.search(m.group(group)):  # "书记：陈局长" names an office
                continue
            if _PRONOUN.search(m.group(group)):
                continue
            take(m.start(group), m.end(group), "name")
            at = m.end(group)
            while nxt := _ZH_NEXT_NAME.match(text, at):
                take(nxt.start("name"), nxt.end("name"), "name")
                at = nxt.end("name")
