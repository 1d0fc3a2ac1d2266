"""How the review page words its figures (pure functions, no Dash): a figure with its denominator,
a comparison (环比 / 同比) with its direction and verdict, a rank change, a window's dates.

The rules (contract.md, "Period figures"; issue 14):
- a rate shows the absolute numbers beside it, "92.3%（120/130）"; an empty denominator shows "—";
- no percentage change on a denominator under 10: the counts are shown instead;
- better or worse is said by a glyph and a word (▲/▼, 好转/变差), never by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from .i18n import SOURCE

NONE = "—"
MIN_DENOMINATOR = 10  # under this, a change is shown in counts, not in per cent
UP, DOWN = "▲", "▼"

# The figures in the contract's order, with their names on the page.
LABELS = {
    "reported": "上报", "by_source": "来源构成", "patrol_share": "巡查发现占比", "accepted": "立案",
    "rejected": "不予立案", "closed": "办结", "due": "应结案", "on_time_rate": "按期结案率",
    "closed_rate": "结案率", "overdue_at_end": "期末超期", "median_close_hours": "办结时长中位数",
    "satisfied_rate": "满意率", "self_resolved_rate": "自办结率", "return_rate": "退单率",
    "rework_rate": "返工率", "extension_rate": "延期率", "urged": "督办件", "workers": "网格员",
    "reports_per_worker": "人均巡查发现",
}
HEADLINE_KEYS = tuple(LABELS)

# Counts, with their unit.
COUNTS = {"reported": "件", "accepted": "件", "rejected": "件", "closed": "件", "due": "件",
          "overdue_at_end": "件", "urged": "件", "workers": "人"}
# Rates (fractions): the key of F holding the denominator, and what the numerator counts.
RATE_DENOMINATORS = {
    "patrol_share": "reported", "on_time_rate": "due", "closed_rate": "due", "satisfied_rate": "rated",
    "self_resolved_rate": "patrol_closed", "return_rate": "dispatched", "rework_rate": "closed",
    "extension_rate": "due",
}
# Ratios that are not shares: (the key of F holding the denominator, unit of the value, decimals).
RATIOS = {"median_close_hours": ("closed", "小时", 1), "reports_per_worker": ("workers", "件/人", 2)}
# Which way is better; a figure not listed is neither (a count of work, not a result).
BETTER = {
    "patrol_share": "higher", "on_time_rate": "higher", "closed_rate": "higher", "satisfied_rate": "higher",
    "self_resolved_rate": "higher", "reports_per_worker": "higher",
    "overdue_at_end": "lower", "median_close_hours": "lower", "return_rate": "lower", "rework_rate": "lower",
    "extension_rate": "lower", "urged": "lower",
}
VERDICT_WORDS = {"better": "好转", "worse": "变差", "same": "持平"}
BETTER_WORDS = {"higher": "越高越好", "lower": "越低越好"}
# The region's counts that no listed child holds (outside_text).
OUTSIDE_KEYS = (("reported", "上报"), ("due", "应结案"), ("overdue_at_end", "期末超期"))
# Under the compare line when the data has no flow log (data_access.review.FLOW_FIGURES are None).
NO_FLOW_LOG = "数据不含流转记录（导入的事件导出）：自办结率、退单率、返工率、延期率、督办件无从计算，显示为 —，不计入综合得分"


def outside_text(region: Mapping[str, Any], children: Sequence[Mapping[str, Any] | None]) -> str:
    """The region's counts that none of ``children`` (their figures) holds: cases without a grid, or on
    a grid under no child in the region table (contract.md), so that the children's sums meet the
    region's; "" when they hold every case."""
    parts = []
    for key, label in OUTSIDE_KEYS:
        n = (region.get(key) or 0) - sum((f or {}).get(key) or 0 for f in children)
        if n > 0:
            parts.append(f"{label} {n} 件")
    if not parts:
        return ""
    return f"未落入下级：{'、'.join(parts)}（无网格，或网格不属于任何下级区域），计入核心指标合计，不参与排名"


# --- one figure -----------------------------------------------------------------------------------

def denominator(key: str, f: Mapping[str, Any]) -> int | None:
    """The denominator of a rate or ratio figure in ``f`` (None for a count)."""
    den_key = RATE_DENOMINATORS.get(key) or (RATIOS[key][0] if key in RATIOS else None)
    return None if den_key is None else int(f.get(den_key) or 0)


def numerator(key: str, f: Mapping[str, Any]) -> int | None:
    """The count a rate is made of (a rate is num / den exactly, so rounding recovers it); None when
    the rate has no value. For patrol_share, the patrol count of ``by_source``."""
    if key == "patrol_share":
        return int((f.get("by_source") or {}).get("patrol", 0))
    den = denominator(key, f)
    value = f.get(key)
    if value is None or not den:
        return None
    return int(round(value * den))


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def sources_text(by_source: Mapping[str, int] | None) -> str:
    """"网格员巡查 3 · 12345热线 2" (largest first), "—" when nothing was reported."""
    if not by_source:
        return NONE
    items = sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))
    return " · ".join(f"{SOURCE.get(src, src or '未知')} {n}" for src, n in items)


def figure_text(key: str, f: Mapping[str, Any] | None) -> str:
    """A figure as shown: counts with their unit, "92.3%（120/130）", "42.0 小时（5件）",
    "1.00 件/人（2件/2人）"; "—" for an empty denominator or a missing window."""
    if f is None:
        return NONE
    if key == "by_source":
        return sources_text(f.get("by_source"))
    value = f.get(key)
    if key in COUNTS:
        return NONE if value is None else f"{int(value)} {COUNTS[key]}"
    if value is None:
        return NONE
    den = denominator(key, f)
    if key in RATE_DENOMINATORS:
        return f"{percent(value)}（{numerator(key, f)}/{den}）"
    _, unit, decimals = RATIOS[key]
    if key == "reports_per_worker":
        return f"{number(value, decimals)} {unit}（{numerator(key, f)}件/{den}人）"
    return f"{number(value, decimals)} {unit}（{den}件）"


def cell_parts(key: str, f: Mapping[str, Any] | None) -> tuple[str, str]:
    """A figure in a table cell, as (value, counts): ("92.3%", "（120/130）") for a rate, ("1.76", "（75人）")
    for reports per worker, ("12", "") for a count, ("—", "") without a value."""
    if f is None or f.get(key) is None:
        return NONE, ""
    value = f[key]
    if key in COUNTS:
        return str(int(value)), ""
    if key in RATE_DENOMINATORS:
        return percent(value), f"（{numerator(key, f)}/{denominator(key, f)}）"
    if key == "reports_per_worker":
        return number(value, RATIOS[key][2]), f"（{denominator(key, f)}人）"
    return number(value, RATIOS[key][2]), ""


def short_text(key: str, f: Mapping[str, Any] | None) -> str:
    """A figure in a table cell: the value alone for a count, "92.3%（120/130）" for a rate."""
    return "".join(cell_parts(key, f))


def value_text(key: str, value: float | None) -> str:
    """A bare value of a figure (a score rule's target): "95.0%", "0.50", "12"."""
    if value is None:
        return NONE
    if key in RATE_DENOMINATORS:
        return percent(value)
    if key in RATIOS:
        return number(value, RATIOS[key][2])
    return number(value, 0) if float(value).is_integer() else number(value, 2)


# --- a comparison ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """A figure now against a comparison window: ``text`` ("▲3.2个百分点", "▲2 件", "持平", "—"),
    ``verdict`` ("better", "worse", "same" or None when the figure has no better side or the two
    cannot be compared) and its ``word`` (好转/变差/持平 or "")."""

    text: str
    verdict: str | None = None

    @property
    def word(self) -> str:
        return VERDICT_WORDS.get(self.verdict or "", "")


def _verdict(key: str, diff: float) -> str | None:
    better = BETTER.get(key)
    if better is None:
        return None
    if diff == 0:
        return "same"
    return "better" if (diff > 0) == (better == "higher") else "worse"


def _glyph(diff: float) -> str:
    return UP if diff > 0 else DOWN


def _shown(value: float, decimals: int) -> float:
    """A value as the table shows it: a change is the difference of the two numbers a reader sees
    (3.84% and 3.76% both read 3.8%, and their change then reads 持平, not ▼0.1个百分点)."""
    return float(f"{value:.{decimals}f}")


def change(key: str, now: Mapping[str, Any] | None, then: Mapping[str, Any] | None) -> Change:
    """``key`` in ``now`` against ``then`` (the previous period or the same period last year).

    - counts: "▲12.5%（+5 件）" when the earlier count is at least 10, else "▲2 件";
    - rates: the difference in percentage points when both denominators are at least 10, else the
      counts of both ("2/5 对 1/3"); "—" when either denominator is empty;
    - ratios (median hours, reports per worker): the difference in the figure's unit, with the
      change in per cent only when both denominators are at least 10.
    Equal values are "持平".
    """
    if now is None or then is None or key == "by_source":
        return Change(NONE)
    a, b = now.get(key), then.get(key)
    if a is None or b is None:
        return Change(NONE)
    if key in COUNTS:
        diff = int(a) - int(b)
        if diff == 0:
            return Change("持平", _verdict(key, 0))
        unit = COUNTS[key]
        if int(b) >= MIN_DENOMINATOR:
            return Change(f"{_glyph(diff)}{abs(diff) / int(b) * 100:.1f}%（{diff:+d} {unit}）", _verdict(key, diff))
        return Change(f"{_glyph(diff)}{abs(diff)} {unit}", _verdict(key, diff))
    den_a, den_b = denominator(key, now), denominator(key, then)
    if key in RATE_DENOMINATORS:
        if den_a < MIN_DENOMINATOR or den_b < MIN_DENOMINATOR:
            # Too few to speak of a change in per cent: the counts, and no verdict.
            return Change(f"{numerator(key, now)}/{den_a} 对 {numerator(key, then)}/{den_b}")
        points = round(_shown(a * 100, 1) - _shown(b * 100, 1), 1)  # the difference of the values shown
        if points == 0:
            return Change("持平", _verdict(key, 0))
        return Change(f"{_glyph(points)}{abs(points):.1f}个百分点", _verdict(key, points))
    _, unit, decimals = RATIOS[key]
    diff = round(_shown(a, decimals) - _shown(b, decimals), decimals)
    if diff == 0:
        return Change("持平", _verdict(key, 0))
    text = f"{_glyph(diff)}{abs(diff):.{decimals}f} {unit}"
    if den_a >= MIN_DENOMINATOR and den_b >= MIN_DENOMINATOR and b:
        text += f"（{(a - b) / b * 100:+.1f}%）"
    return Change(text, _verdict(key, diff))


# --- ranks, scores, parts ----------------------------------------------------------------------------

def rank_text(rank: int | None) -> str:
    return "样本不足" if rank is None else str(rank)


def rank_change_text(rank: int | None, rank_change: int | None, compared: bool = True) -> str:
    """Since the previous period: "▲2" (up two places), "▼1", "—" (same place), "新" (ranked now, not
    then); "" for an unranked sibling, and for all when the previous period is not compared (the
    history does not cover it: the page's compare line says so)."""
    if rank is None or not compared:
        return ""
    if rank_change is None:
        return "新"
    if rank_change == 0:
        return NONE
    return f"{_glyph(rank_change)}{abs(rank_change)}"


def score_text(score: float | None) -> str:
    return NONE if score is None else f"{score:.1f}"


def part_text(part: float | None) -> str:
    """A rule's part as the share of its target reached: "125%" (capped), "80%", "—"."""
    return NONE if part is None else f"{part * 100:.0f}%"


def target_text(rule: Mapping[str, Any]) -> str:
    """A score rule's target as shown: "95.0%", or "同级中位数（本期 0.50）" for siblings_median."""
    value = value_text(rule["figure"], rule.get("target"))
    if rule.get("target_rule") == "siblings_median":
        return f"同级中位数（本期 {value}）"
    return value


# --- windows --------------------------------------------------------------------------------------

def window_text(first_day: date, last_day: date, until: datetime, tz: ZoneInfo) -> str:
    """A window's dates: "2026-11-09 至 2026-11-15" when whole; cut short (a partial period and its
    like-for-like comparisons) "2026-11-09 至 2026-11-11 12:00"."""
    whole_end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=tz)
    if until >= whole_end:
        return f"{first_day.isoformat()} 至 {last_day.isoformat()}"
    local = until.astimezone(tz)
    return f"{first_day.isoformat()} 至 {local.strftime('%Y-%m-%d %H:%M')}"
