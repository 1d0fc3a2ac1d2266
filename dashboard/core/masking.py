"""Masking of personal data in free text shown on the wall and in the API (脱敏).

``mask_text`` is pure and best effort: it hides mobile numbers (bare, with a country code, written
138-1234-5678, 138.1234.5678 or 138 1234 5678), landline numbers (0512-53521234, (0512)53512345,
0512 5351 2345), 18-digit ID numbers (身份证号, GB 11643; also written in groups of four, and in
groups 6-8-4 when the check character is right), 15-digit first-generation ID numbers (when their
birth date is a real date, see ``_mask_id15``), bank-card-length digit runs (also in groups of
four), e-mail addresses, licence plates and Chinese personal names that follow a cue such as
姓名/联系人/居民 or open a sentence before 反映/投诉/举报. Codes gridwall itself shows (15-digit grid
codes, region codes, case codes with dashes) are left alone.

Full-width characters (１３８１２３４５６７８, （0512）, ＋86) are matched as their ASCII forms: the
patterns run on a folded copy of the text in which every character whose NFKC form is one ASCII
character is replaced by it (so positions are the same in both), and the masks are cut from the
original text, whose characters stay as they were.

What leaves gridwall is masked at one exit point, ``dashboard.core.outward``, which picks the
free-text fields and calls these functions; pages, the API and exports do not call them directly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

# 18-digit resident ID: 17 digits and a digit or X check character.
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")
# The same written in groups (320585 19900101 1234): masked only when the check character is right.
_ID18_GROUPED = re.compile(r"(?<![0-9A-Za-z])(\d{3})(\d{3})([\s-])(\d{8})([\s-])(\d{3})([\dXx])(?![0-9A-Za-z])")
# The same in groups of four (3205 8519 9001 0112 34): nothing else gridwall shows looks like it.
_ID18_FOURS = re.compile(r"(?<![0-9A-Za-z])\d{4}([\s-])\d{4}\1\d{4}\1\d{4}\1\d[\dXx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First-generation ID: 6-digit area code, YYMMDD (19YY), 3-digit sequence; see _mask_id15.
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{3}(\d{2})(\d{2})(\d{2})(\d{3})(?![0-9A-Za-z])")
_ID15_FIRST_YEAR = 20  # born 1920 or later (see _mask_id15)
_ID_CUE = re.compile(r"(?:身份证|证件|身份号|证号|[Ii][Dd])(?:号码|号|码)?[:\s为是]{0,3}$")
_GRID_CUE = re.compile(r"网格(?:编码|编号|代码|号)?[:\s]{0,2}$")
# Bank cards: 16, 17 or 19 digits (18 is an ID number; 15 and fewer are gridwall's own codes) ...
_CARD = re.compile(r"(?<!\d)(\d{4})(?:\d{8,9}|\d{11})(\d{4})(?!\d)")
# ... and 16 or 19 written in groups of four (6222 0212 3456 7890 [123]).
_CARD_GROUPED = re.compile(r"(?<![0-9A-Za-z])\d{4}([\s-])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![\d+])((?:\+?86[-\s]?)?1[3-9]\d)[-\s.]?\d{4}[-\s.]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d-])(\(0\d{2,3}\)|0\d{2,3})([-\s]?)\d{3,4}[-\s]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"(?<![A-Za-z0-9])([{_PROVINCES}][A-HJ-NP-Z])([·•\s]?)([A-HJ-NP-Z0-9]{{3,4}})([A-HJ-NP-Z0-9]{{2}}|[A-HJ-NP-Z0-9][挂学警港澳])"
    r"(?![A-Za-z0-9挂学警港澳])"
)

# Cues after which a personal name usually follows in case texts.
_CUES = ("姓名", "联系人", "居民", "村民", "市民", "业主", "租户", "户主", "当事人", "报案人",
         "反映人", "投诉人", "举报人", "来电人", "求助人", "申请人", "网格员", "老人", "患者")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
                      "长孙", "宇文", "司徒", "夏侯", "端木", "澹台", "南宫")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦"
    "俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房"
    "滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟"
    "应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# A second given-name character that is more likely the start of the next word: stop before it.
_STOP_AFTER_NAME = set("反称说投举来家的在于等住门电手联表要向被和与及将把对从已正也都就是有发"
                       "夫妻女儿子父母先小同老")
_SEP = r"[:：\s]{0,2}"
_NAME_AFTER_CUE = re.compile(
    "(" + "|".join(_CUES) + ")(" + _SEP + ")("
    + "|".join(_COMPOUND_SURNAMES) + f"|[{_SURNAMES}])" + r"([\u4e00-\u9fff]{1,2})"
)


# A name opening a sentence (张三反映..., 。李四投诉...).
_NAME_BEFORE_VERB = re.compile(
    r"(^|[，。；：、！？,.;:!?\s（(])(" + "|".join(_COMPOUND_SURNAMES) + f"|[{_SURNAMES}])"
    + r"([\u4e00-\u9fff]{1,2})(?=反映|投诉|举报|来电|报称|求助)"
)


def id18_valid(number: str) -> bool:
    """Whether an 18-character resident ID number has the right check character (GB 11643-1999)."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


# --- matching on the folded copy, masking the original --------------------------------------------

@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Every character (of the BMP and the mathematical digits and letters) whose NFKC form is one
    ASCII character, to that character: full-width forms, the ideographic space, ... (about 1,100)."""
    table = {}
    for cp in (*range(0x80, 0x10000), *range(0x1D400, 0x1D800)):
        folded = unicodedata.normalize("NFKC", chr(cp))
        if len(folded) == 1 and folded.isascii():
            table[cp] = folded
    return table


def _fold(text: str) -> str:
    """``text`` with every character whose NFKC form is one ASCII character replaced by it (same length)."""
    return text if text.isascii() else text.translate(_fold_table())


class _Found:
    """A match on the folded copy, read back from the original text (the positions are the same)."""

    __slots__ = ("m", "text")

    def __init__(self, m: re.Match, text: str):
        self.m, self.text = m, text

    def __getitem__(self, group: int) -> str:
        """The original characters of ``group`` ("" when it took no part)."""
        start, end = self.m.span(group)
        return self.text[start:end] if start >= 0 else ""

    def folded(self, group: int = 0) -> str:
        return self.m.group(group) or ""

    def before(self, chars: int) -> str:
        """Up to ``chars`` folded characters before the match (for a cue)."""
        start = self.m.start()
        return self.m.string[max(0, start - chars):start]


def _apply(pattern: re.Pattern, mask: Callable[[_Found], str | None], text: str, folded: str) -> tuple[str, str]:
    """``pattern`` matched on ``folded``; the text ``mask`` returns for a match replaces the match's
    span in ``text`` (None leaves it). Returns the new text and its folded copy."""
    out: list[str] = []
    out_folded: list[str] = []
    pos = 0
    for m in pattern.finditer(folded):
        masked = mask(_Found(m, text))
        if masked is None:
            continue
        out += (text[pos:m.start()], masked)
        out_folded += (folded[pos:m.start()], _fold(masked))
        pos = m.end()
    if not out:
        return text, folded
    out.append(text[pos:])
    out_folded.append(folded[pos:])
    return "".join(out), "".join(out_folded)


def _star_inner(found: _Found, head: int, tail: int) -> str:
    """The match with its digits and letters starred but the first ``head`` and last ``tail``; separators stay."""
    folded, original = found.folded(), found[0]
    signs = [i for i, ch in enumerate(folded) if ch.isalnum()]
    hidden = set(signs[head:len(signs) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(original))


# --- the masks ------------------------------------------------------------------------------------

def _mask_id18(f: _Found) -> str:
    return f"{f[1]}{'*' * 11}{f[2]}"


def _mask_grouped_id(f: _Found) -> str | None:
    head, area, _, birth, _, seq, check = (f.folded(i) for i in range(1, 8))
    if not id18_valid(head + area + birth + seq + check):
        return None
    return f"{f[1]}***{f[3]}{'*' * 8}{f[5]}*{f[6][1:]}{f[7]}"


def _mask_id_in_fours(f: _Found) -> str:
    return _star_inner(f, 3, 4)


def _birth_date(yy: str, mm: str, dd: str) -> bool:
    try:
        date(1900 + int(yy), int(mm), int(dd))
    except ValueError:
        return False
    return True


def _mask_id15(f: _Found) -> str | None:
    """A 15-digit number is a first-generation ID when its YYMMDD is a real date (19YY) and either a
    cue (身份证, 证件号 ...) precedes it or the holder was born in 1920 or later.

    gridwall's own grid codes have the same length and start with the same county code; in them the
    "year" is the first two digits of the town's code: 00-09 for streets (街道 001-099), 10-19 for
    towns (镇 100-199), and a month and day made of town and community digits are often real
    (320585101001001 reads 1910-10-01). A holder born before 1920 would be over 106, so those
    "years" are taken for codes unless a cue says ID; a code after 网格 is never masked.
    """
    yy, mm, dd = f.folded(2), f.folded(3), f.folded(4)
    if not _birth_date(yy, mm, dd) or _GRID_CUE.search(f.before(8)):
        return None
    if int(yy) < _ID15_FIRST_YEAR and not _ID_CUE.search(f.before(10)):
        return None
    return f"{f[1]}{'*' * 9}{f[5]}"


def _mask_card(f: _Found) -> str:
    return f"{f[1]}{'*' * (len(f[0]) - 8)}{f[2]}"


def _mask_grouped_card(f: _Found) -> str:
    return _star_inner(f, 4, 4)


def _mask_mobile(f: _Found) -> str:
    return f"{f[1]}****{f[2]}"


def _mask_landline(f: _Found) -> str:
    area, sep, last4 = f[1], f[2], f[3]
    if not sep and not f.folded(1).startswith("("):
        sep = "-"
    return f"{area}{sep}****{last4}"


def _mask_email(f: _Found) -> str:
    return f"{f[1]}***{f[2]}"


def _mask_plate(f: _Found) -> str:
    return f"{f[1]}{f[2]}{'*' * len(f[3])}{f[4]}"


# Words like 车主/路人/商户/司机/房东/方便 start with a surname character but are not names.
_ROLE_ENDINGS = set("主人户生东机便体边员长工家民众方面")


def _mask_name_before_verb(f: _Found) -> str | None:
    given = f[3]
    if given.startswith("某") or given[-1] in _STOP_AFTER_NAME or given[-1] in _ROLE_ENDINGS:
        return None
    return f"{f[1]}{f[2]}{'*' * len(given)}"


def _mask_name(f: _Found) -> str | None:
    cue, sep, surname, given = f[1], f[2], f[3], f[4]
    if given.startswith("某"):  # already anonymised (张某, 李某某)
        return None
    if len(given) == 2 and given[1] in _STOP_AFTER_NAME:
        return f"{cue}{sep}{surname}*{given[1]}"
    return f"{cue}{sep}{surname}{'*' * len(given)}"


# In this order: the longer digit runs first, so that a part of one is never taken for a shorter one.
_RULES: tuple[tuple[re.Pattern, Callable[[_Found], str | None]], ...] = (
    (_ID18, _mask_id18),
    (_ID18_GROUPED, _mask_grouped_id),
    (_ID18_FOURS, _mask_id_in_fours),
    (_ID15, _mask_id15),
    (_CARD, _mask_card),
    (_CARD_GROUPED, _mask_grouped_card),
    (_MOBILE, _mask_mobile),
    (_LANDLINE, _mask_landline),
    (_EMAIL, _mask_email),
    (_PLATE, _mask_plate),
    (_NAME_AFTER_CUE, _mask_name),
    (_NAME_BEFORE_VERB, _mask_name_before_verb),
)


def mask_text(text: str | None) -> str | None:
    """``text`` with personal data hidden; None and empty strings pass through."""
    if not text:
        return text
    folded = _fold(text)
    for pattern, mask in _RULES:
        text, folded = _apply(pattern, mask, text, folded)
    return text


def mask_strings(value: Any) -> Any:
    """``mask_text`` applied to every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v) for v in value]
    return value
