"""Sensitive signs (重大风险苗头): a new case whose text or category suggests collective action,
petitions, self-harm threats or wage protests raises an immediate critical alert, one per case.

The word list is deliberately plain and auditable (duty officers can read why a case was flagged).
Negated or historical mentions are not understood: a case saying "无人聚集" is still flagged; the
cost of one needless look is small against a missed 群体性事件.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# Categories that are sensitive by definition (categories.csv): 0807 群体性矛盾苗头,
# 0902 涉黄赌毒/黑恶线索, 0903 重点人员异常动态.
SENSITIVE_CATEGORIES = frozenset({"0807", "0902", "0903"})

# theme -> words. Themes are reported as evidence.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "collective": ("群体", "聚集", "聚众", "集体", "围堵", "堵路", "堵门", "静坐", "拉横幅", "打横幅", "示威", "游行",
                   "串联", "闹事", "冲击"),
    "petition": ("上访", "信访", "进京", "越级访", "缠访", "闹访"),
    "self_harm": ("跳楼", "跳河", "自杀", "轻生", "自残", "割腕", "服毒", "喝农药", "寻死", "不想活", "以死相逼", "爬塔吊"),
    "wage": ("讨薪", "欠薪", "讨要工资", "讨要工钱", "追讨工资", "农民工工资"),
    "violence": ("持刀", "报复社会", "扬言", "纵火", "爆炸", "同归于尽"),
}
_PATTERNS = {theme: re.compile("|".join(map(re.escape, words))) for theme, words in KEYWORDS.items()}


@dataclass(frozen=True)
class Sign:
    case_id: int
    case_code: str | None
    category_code: str | None
    grid_code: str | None
    themes: tuple[str, ...]
    words: tuple[str, ...]
    by_category: bool


def match_text(text) -> dict[str, list[str]]:
    """Themes found in ``text`` and the words that matched them."""
    if not isinstance(text, str) or not text:
        return {}
    found = {}
    for theme, pattern in _PATTERNS.items():
        words = sorted(set(pattern.findall(text)))
        if words:
            found[theme] = words
    return found


def find_signs(frame: pd.DataFrame) -> list[Sign]:
    """Cases (rows with id, code, title, description, category_code, grid_code) that show a sensitive sign."""
    out: list[Sign] = []
    for row in frame.itertuples(index=False):
        text = " ".join(t for t in (row.title, row.description) if isinstance(t, str))
        found = match_text(text)
        by_cat = isinstance(row.category_code, str) and row.category_code in SENSITIVE_CATEGORIES
        if not found and not by_cat:
            continue
        out.append(Sign(int(row.id), row.code, row.category_code, row.grid_code, tuple(sorted(found)),
                        tuple(w for ws in found.values() for w in ws), by_cat))
    return out
