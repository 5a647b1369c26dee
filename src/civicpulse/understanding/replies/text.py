"""What a reply assessment reads out of a text: terms, sentences, quotes, addressee, places.

Everything here is about how Chinese and English write, not about any city's data:

* **Terms** are what relevance compares. Chinese is read as character bigrams inside runs of
  Chinese characters (no segmenter needed, and "潇楚南路" still meets "潇楚南路洋湖段"); Latin
  script as lower-cased words with a plural "s" taken off, digits as numbers. Measured on the
  message board (bench/README.md, "Replies: relevance"), bigrams separated real from
  borrowed replies better than jieba's words, trigrams or both together, and cost no
  segmenter call.
* **Quotes** and the **addressee**: official replies restate what they answer ("关于您反映的
  “A3区潇楚南路洋湖段怎么还没修好”的问题") and greet the person they answer ("网友“A0001”您好",
  "Dear Ms Lee"). A restatement the message does not contain, or a greeting to somebody
  else, says the reply was written for another message.
* **Places** are the "where" of a message: Chinese place-like words found with jieba's words
  and the endings places are named with (路, 街, 小区, 村, 县 ...); English street addresses
  by their street-type word.

A reply is read in well under a millisecond: ``civicpulse audit replies`` must assess 1,000
pairs a second on one core, so what costs (jieba's segmentation) is done once per text and
shared (:mod:`.views`), and normalising folds only what matching needs.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from operator import add

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_HAN}]+|[a-z0-9]+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
#: a run of Chinese characters (the term keys read titles with it)
HAN_RUN = _HAN_RUN
_LATIN_RUN = re.compile(r"[a-z0-9]+")
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_DIGITS = re.compile(r"[0-9]+")
_NOT_TEXT = re.compile(rf"[^{_HAN}a-z0-9]+")

#: English function words: in a reference corpus of Chinese replies every English word is
#: rare, so these would otherwise weigh as much as a street name
def word_set(words: str) -> frozenset[str]:
    """The words of a list written as text, one space apart (easier to read and to edit)."""
    return frozenset(words.split())


_ENGLISH_STOP = word_set(
    """a an the and or of to in on at by for from with as is are was were be been being it
    its this that these those we you your our they their he she his her i me my us them
    not no but if so than then there here have has had do does did will would can could
    should shall may might must please thank thanks dear hello hi"""
)

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+")

_QUOTE = re.compile(r"[“「『\"]([^”」』\"\n]{1,120})[”」』\"]")

#: a year as dates write it: "2019年", "2019-05-02", "2019.5.2", "二〇一九年" (as replies sign
#: off), "may 2, 2019", "in 2019"; a bare four-digit number ("2000元") is no year. Four digits
#: that may be a year are found in one pass and what is around them decides (one alternation
#: with look-behinds cost 30 µs a text, a dozen times this)
_YEAR = re.compile(r"(?:19[89]|20[0-4])[0-9](?:(?=年|[-/.][0-9])|\b)")
_HAN_YEAR = re.compile(r"[一二][〇零○][〇零○一二三四五六七八九]{2}(?=年)")
#: English words that date the year after them
_DATES_YEAR = re.compile(
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{1,2},? |\bin )$"
)
_HAN_DIGITS = str.maketrans("〇零○一二三四五六七八九", "000123456789")

#: how official replies greet the person they answer: 网友“X”您好, “X”您反映的…, Dear X,
_GREETING = re.compile(
    r"(?:网友|网民|市民|居民|尊敬的)\s*[“「\"]([^”」\"\n]{1,40})[”」\"]"
    r"|[“「\"]([^”」\"\n]{1,40})[”」\"]\s*(?:网友|网民)?\s*[:：,，]?\s*(?:您好|你好)"
    r"|^\s*[“「\"]([^”」\"\n]{1,40})[”」\"]\s*[:：,，]?\s*(?=您|你)"
    r"|\b(?:dear|hello|hi)\s+([a-z][\w.'-]*(?:\s+[a-z][\w.'-]*){0,2})\s*[,:]",
    re.IGNORECASE,
)

#: last characters of Chinese place names: administrative units, roads, estates, sites
_PLACE_END = frozenset("省市区县镇乡村组路街巷弄道苑园湾城庄坪寨桥湖港站场馆院校厦楼墅居")
#: the general word a place name often ends with: the name before it belongs to it
_SUFFIX_WORDS = word_set("街道 小区 社区 大道 花园 广场 公园 新村 家园 村委 市场")
#: a district written as a code ("a3区", "k4县") ends a place of its own
_CODED_DISTRICT = re.compile(r"(?<=[a-z0-9][省市区县])")
#: one Chinese character and nothing to name it by: "2楼" and "3号楼" are not places,
#: "a2区" and "桂花坪" are
_ONE_HAN_NAME = re.compile(rf"[0-9]*[{_HAN}][0-9]*[{_HAN}]?")
#: a word that can be part of a name: Chinese characters, letters and digits
_NAME_LIKE = re.compile(rf"[{_HAN}a-z0-9]+")
#: words that begin no place name: pronouns, particles, prepositions, and the verbs and
#: nouns a message puts before a place ("位于", "反映")
_NOT_NAMES = word_set(
    """的 了 在 于 是 和 与 及 或 对 向 从 到 把 被 就 也 都 而 请 我 你 您 他 她
    它 们 这 那 该 其 此 有 无 不 没 很 又 再 还 要 会 能 可 将 已 等 个 各 每
    为 因 所 以 但 并 且 如 若 由 给 让 使 至 近 原 本 全 整 新 老 住 去 来 号
    到了 我们 你们 他们 位于 地处 处于 反映 关于 请求 建议 希望 要求 投诉
    举报 咨询 问题 情况 附近 周边 门口 旁边 对面 以及 还有 居住 家住 前往
    一个 这个 那个 每个 两个 一些 一座 一条"""
)
#: a place as general as these says nothing about where
_GENERIC_PLACES = word_set("小区 社区 街道 村里 县城 市区 城区 本市 全市")

_EN_STREET_HINT = re.compile(r"[A-Z]")
_EN_STREET = re.compile(
    r"\b(?:\d+[a-z]?\s+)?(?:[A-Z][\w'.-]*\s+){1,3}"
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Way|Lane|Ln|Dr|Drive|Pl|Place|Ct|Court|"
    r"Sq|Square|Park|Hwy|Highway|Ter|Terrace|Pkwy|Parkway|Row|Wharf|Bridge)\b"
)


#: full-width letters and digits (as Chinese input methods type them) to ASCII
_FULL_WIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FOLD = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B)}


def normalise(text: str) -> str:
    """Lower-case text with full-width letters and digits made ASCII ("Ａ３区" → "a3区"), the
    ideographic space a plain one, and without the ``_x000D_`` an Excel export leaves for
    each carriage return. Length is kept (each change is one character for one), so offsets
    in it are offsets in the text; NFKC did the same for these characters at twice the
    cost."""
    text = text.replace("\u3000", " ").lower()
    if _FULL_WIDTH.search(text):
        text = text.translate(_FOLD)
    return text.replace("_x000d_", "\n      ") if "_x000" in text else text


def digest(text: str) -> str:
    """A reply's fingerprint: its text without blanks, hashed (a reference keeps these, to
    know the replies it counted)."""
    flat = "".join(text.split())
    return hashlib.blake2b(flat.encode("utf-8"), digest_size=8).hexdigest()


def has_han(text: str) -> bool:
    return _HAN_CHAR.search(text) is not None


def stem(word: str) -> str:
    """A plural's singular, roughly ("lights" → "light", "bodies" → "body")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(normalised: str) -> frozenset[str]:
    """Chinese character bigrams (a lone character as itself), English word stems, numbers."""
    out: set[str] = set()
    for run in _HAN_RUN.findall(normalised):
        if len(run) == 1:
            out.add(run)
        else:
            out.update(map(add, run, run[1:]))  # the bigrams, paired at C speed
    out.update(latin_terms(normalised))
    return frozenset(out)


def latin_terms(normalised: str) -> list[str]:
    """The English word stems and numbers of a text, stop words and single letters left
    out."""
    return [stem(run) if len(run) > 3 and run[-1] == "s" else run
            for run in _LATIN_RUN.findall(normalised)
            if run not in _ENGLISH_STOP and not (len(run) == 1 and run.isalpha())]


def template_units(normalised: str, chinese: bool | None = None) -> str | list[str]:
    """What template phrases are made of, every number made "0" (a date or a case number
    does not make a sentence new): for a text with Chinese, its Chinese characters, letters
    and digits as one string (a phrase is a run of characters); otherwise its words.
    ``chinese`` says which, for a sentence read as part of a longer text."""
    if has_han(normalised) if chinese is None else chinese:
        return _DIGITS.sub("0", _NOT_TEXT.sub("", normalised))
    return [_DIGITS.sub("0", run) for run in _RUN.findall(normalised)]


def sentences(text: str) -> list[str]:
    """Sentences, split after Chinese and English end marks and line breaks; blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def latest_year(normalised: str) -> int | None:
    """The latest year the text writes as part of a date, or None. A reply signs off with
    the day it was written, and a message's events happened before it was sent: a reply whose
    latest year is before the message's was written for an earlier message."""
    found = []
    for m in _YEAR.finditer(normalised):
        at, end = m.start(), m.end()
        if at and normalised[at - 1] in "0123456789.":
            continue  # part of a longer number
        after = normalised[end : end + 2]
        if (after[:1] == "年" or (after[:1] in ("-", "/", ".") and after[1:].isdigit())
                or _DATES_YEAR.search(normalised, max(0, at - 16), at)):
            found.append(int(m.group()))
    if "〇" in normalised or "零" in normalised or "○" in normalised:
        found += [int(y.translate(_HAN_DIGITS)) for y in _HAN_YEAR.findall(normalised)]
    return max(found) if found else None


def quotes(normalised: str) -> list[str]:
    """What the text puts between quotation marks."""
    return [q.strip() for q in _QUOTE.findall(normalised) if q.strip()]


def addressee(normalised: str) -> str | None:
    """Whom the reply greets in its first lines, as written ("a0001", "ms lee"), or None."""
    found = _GREETING.search(normalised[:200])
    if found is None:
        return None
    name = next(g for g in found.groups() if g)
    return name.strip() or None


def segment(normalised: str) -> list[str]:
    """jieba's words of a text that contains Chinese; none for one that does not."""
    if not has_han(normalised):
        return []
    import rjieba  # imported on first use: nothing is loaded at import time

    return list(rjieba.cut(normalised))


def places(text: str, words: list[str] | None = None) -> list[str]:
    """Place-like names in ``text``, normalised, in order of first mention, without repeats;
    ``words`` are its :func:`segment` when already cut."""
    found = _chinese_places(segment(normalise(text)) if words is None else words)
    if not words and _EN_STREET_HINT.search(text):
        found += [m.group().lower() for m in _EN_STREET.finditer(text)]
    kept = list(dict.fromkeys(
        p for p in found
        if len(p) >= 3 and p not in _GENERIC_PLACES and not _ONE_HAN_NAME.fullmatch(p)))
    # "桂花坪" is part of "桂花坪街道": name the place once, in full
    joined = "\x00".join(kept)
    return [p for p in kept if joined.count(p) == 1]


def _chinese_places(words: list[str]) -> list[str]:
    """Each word that ends like a place ("街道", "南路", "金润村"), with up to two name-like
    words before it: "位于a市a2区桂花坪街道" gives "a2区" and "桂花坪街道". A lone character
    joins only a short ending ("坪" + "街道", not "建" + "养猪场"), and a coded district
    ("a3区") is cut from the name after it. jieba's plain segmentation is used, not its
    part-of-speech tagger, which cost ten times as much (0.3 ms for a 450-character reply)."""
    out: list[str] = []
    ends = [k for k, word in enumerate(words) if word[-1] in _PLACE_END]
    for k in ends:
        word = words[k]
        if not _NAME_LIKE.fullmatch(word):
            continue
        start = k
        while start > 0 and k - start < 2:
            before = words[start - 1]
            if (not _NAME_LIKE.fullmatch(before) or before in _NOT_NAMES
                    or (before[-1] in _PLACE_END and word not in _SUFFIX_WORDS)
                    or (len(before) == 1 and has_han(before) and len(words[start]) > 2)):
                break
            start -= 1
        while start < k and len(words[start]) == 1:
            start += 1  # a lone character left in front is a verb's or a preposition's
        name = "".join(words[start : k + 1])
        if len(name) > 3 and name[-1] == name[-2]:
            name = name[:-1]  # "桃子湖路路灯" cut as "桃子湖/路路/灯": the road is "桃子湖路"
        out.extend(_CODED_DISTRICT.split(name))
    return out


@lru_cache(maxsize=4096)
def place_terms(place: str) -> frozenset[str]:
    return terms(place)


@lru_cache(maxsize=4096)
def place_words(place: str) -> tuple[str, ...]:
    """The words a place name is made of ("桃子湖路" → "桃子湖", "路"; "12 elm street" → "12",
    "elm", "street"), without its general ending words ("街道", "小区")."""
    words = segment(place) or place.split()
    return tuple(w for w in words if w.strip() and w not in _SUFFIX_WORDS)


def named_in(place: str, normalised: str) -> bool:
    """Whether ``normalised`` names ``place``: verbatim, or three quarters of its terms (a
    reply may drop the district or shorten an estate's name). A Chinese bigram is in a text
    exactly when it is a substring of it, so no set of the text's terms is needed."""
    if place in normalised:
        return True
    own = place_terms(place)
    return bool(own) and sum(t in normalised for t in own) >= 0.75 * len(own)
