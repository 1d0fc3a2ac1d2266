"""Chinese names: people, grids, places, for the synthetic county."""

from __future__ import annotations

import numpy as np

_DIGITS = "零一二三四五六七八九"

# Common surnames in southern Jiangsu, roughly by frequency.
SURNAMES = ("王", "张", "陈", "李", "刘", "周", "吴", "徐", "朱", "沈", "陆", "顾", "钱", "杨", "黄", "孙",
            "赵", "胡", "金", "蒋", "曹", "姚", "施", "邵", "范", "袁", "毛", "龚", "唐", "郭", "秦", "许",
            "严", "何", "高", "马", "汤", "俞", "倪", "夏", "殷", "邱", "浦", "季", "戴", "葛", "瞿", "缪")
_SURNAME_WEIGHTS = np.linspace(3.0, 0.6, len(SURNAMES))

GIVEN_MALE = "建国伟军强明华杰斌勇涛磊峰俊浩文辉志平春林东海波洪亮鑫宇晨刚德兴良荣忠新健振"
GIVEN_FEMALE = "秀英丽敏静芳燕红玲霞娟婷琴雪梅萍洁慧颖佳欣怡倩莉琳晓月云兰凤珍蓉菊芬雯"


def grid_ordinal_name(seq: int) -> str:
    """1 -> 第一网格, 12 -> 第十二网格, 23 -> 第二十三网格."""
    return f"第{chinese_number(seq)}网格"


def chinese_number(n: int) -> str:
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` Chinese full names (surname + one or two given characters)."""
    surnames = rng.choice(len(SURNAMES), size=n, p=_SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum())
    female = rng.random(n) < 0.45
    two = rng.random(n) < 0.72
    first = rng.random(n)
    second = rng.random(n)
    out = []
    for s, f, t, a, b in zip(surnames, female, two, first, second):
        pool = GIVEN_FEMALE if f else GIVEN_MALE
        given = pool[int(a * len(pool))] + (pool[int(b * len(pool))] if t else "")
        out.append(SURNAMES[s] + given)
    return out


def fake_phone(u: float, v: float) -> str:
    """A mobile-looking number (never a real allocation check: for masking tests)."""
    prefix = ("138", "139", "137", "150", "151", "152", "158", "159", "182", "187", "188", "136", "135", "189", "180")
    return prefix[int(u * len(prefix))] + f"{int(v * 1e8):08d}"


def fake_id_number(county: str, u: float, v: float) -> str:
    """An 18-character resident ID number shape: region + birth date + sequence + check char."""
    year = 1950 + int(u * 50)
    month = 1 + int(v * 12)
    day = 1 + int((u * 997) % 28)
    seq = int(v * 997) % 1000
    body = f"{county}{year:04d}{month:02d}{day:02d}{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(ch) * w for ch, w in zip(body, weights)) % 11]
    return body + check
