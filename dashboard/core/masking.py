"""Masking of personal data in free text shown on the wall and in the API (脱敏).

``mask_text`` is pure and best effort: it hides mobile and landline numbers, 18-digit ID numbers
(身份证号, GB 11643; also written in groups 6-8-4 when the check character is right), bank-card-length
digit runs, e-mail addresses, licence plates and Chinese personal names that follow a cue such as
姓名/联系人/居民 or open a sentence before 反映/投诉/举报. Codes gridwall itself shows (15-digit grid
codes, region codes, case codes with dashes) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

# 18-digit resident ID: 17 digits and a digit or X check character.
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")
# The same written in groups (320585 19900101 1234): masked only when the check character is right.
_ID18_GROUPED = re.compile(r"(?<![0-9A-Za-z])(\d{3})(\d{3})([\s-])(\d{8})([\s-])(\d{3})([\dXx])(?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Bank cards: 16, 17 or 19 digits (18 is an ID number; 15 and fewer are gridwall's own codes).
_CARD = re.compile(r"(?<!\d)(\d{4})(?:\d{8,9}|\d{11})(\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<![\d+])((?:\+?86[-\s]?)?1[3-9]\d)[-\s]?\d{4}[-\s]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d-])(0\d{2,3})([-\s]?)\d{3,4}(\d{4})(?!\d)")
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


def _mask_grouped_id(m: re.Match) -> str:
    head, area, sep1, birth, sep2, seq, check = m.groups()
    if not id18_valid(head + area + birth + seq + check):
        return m.group(0)
    return f"{head}***{sep1}{'*' * 8}{sep2}*{seq[1:]}{check}"


# Words like 车主/路人/商户/司机/房东/方便 start with a surname character but are not names.
_ROLE_ENDINGS = set("主人户生东机便体边员长工家民众方面")


def _mask_name_before_verb(m: re.Match) -> str:
    start, surname, given = m.groups()
    if given.startswith("某") or given[-1] in _STOP_AFTER_NAME or given[-1] in _ROLE_ENDINGS:
        return m.group(0)
    return f"{start}{surname}{'*' * len(given)}"


def _mask_name(m: re.Match) -> str:
    cue, sep, surname, given = m.groups()
    if given.startswith("某"):  # already anonymised (张某, 李某某)
        return m.group(0)
    if len(given) == 2 and given[1] in _STOP_AFTER_NAME:
        return f"{cue}{sep}{surname}*{given[1]}"
    return f"{cue}{sep}{surname}{'*' * len(given)}"


def _mask_landline(m: re.Match) -> str:
    area, sep, last4 = m.groups()
    return f"{area}{sep or '-'}****{last4}"


def _mask_plate(m: re.Match) -> str:
    head, sep, middle, tail = m.groups()
    return f"{head}{sep}{'*' * len(middle)}{tail}"


def mask_text(text: str | None) -> str | None:
    """``text`` with personal data hidden; None and empty strings pass through."""
    if not text:
        return text
    out = _ID18.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)
    out = _ID18_GROUPED.sub(_mask_grouped_id, out)
    out = _CARD.sub(lambda m: f"{m.group(1)}{'*' * (len(m.group(0)) - 8)}{m.group(2)}", out)
    out = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", out)
    out = _LANDLINE.sub(_mask_landline, out)
    out = _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", out)
    out = _PLATE.sub(_mask_plate, out)
    out = _NAME_AFTER_CUE.sub(_mask_name, out)
    out = _NAME_BEFORE_VERB.sub(_mask_name_before_verb, out)
    return out


def mask_strings(value: Any) -> Any:
    """``mask_text`` applied to every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v) for v in value]
    return value
