"""The wall's figure tiles, each defined once.

An entry says everything about a tile: its element id, its label, the figure it shows (a group
and a key of the figures bundle, ``callbacks.reads.figures_bundle``), how the figure is written,
whether it shows its change against yesterday and the same time last week (and whether a rise is
bad, good or neither news), its unit (件/人/个, shown beside the figure, never inside it), a target
for a rate (coloured good/warn/bad, with a word) and its colour. The layout (layouts/tiles.py), the figures callback (callbacks/wall.py), yesterday's
figures (callbacks/panels.py), the ▲/▼ clientside callback (callbacks/nav.py), the push frames
(callbacks/live/push.py) and the browser (assets/gridwall.js, through the ``tile-catalogue``
store) all read it: adding a tile is one entry here (and CSS if it wants a colour of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import i18n

COUNT, PERCENT, NOTE = "count", "percent", "note"
# Where a tile sits: the big tiles of the top row, the 7-day rates block at its end, the small
# figures of the staffing panel, or beside another tile's figure (a note: "9 · 严重 1"; the figure
# element keeps its plain digits).
ROW, RATES, STAFFING, BESIDE = "row", "rates", "staffing", "beside"
# Yesterday's and last week's figures are read for the case figures only (callbacks.reads.yesterday).
DELTA_GROUPS = ("cases",)
# A rate this close below its target (percentage points) is "接近" (warn), further below "未达标"
# (bad); at or above it "达标" (good). assets/gridwall.js (rateTargets) colours the rates by it.
TARGET_MARGIN = 5.0


@dataclass(frozen=True)
class Tile:
    id: str
    label: str
    figure: tuple[str, str]  # (group, key) in the figures bundle
    format: str = COUNT  # COUNT, PERCENT or NOTE ("· <label> <n>", nothing for 0)
    tone: str = "info"  # the colour: CSS class tile--<tone> (assets/wall.css)
    delta: str | None = None  # None, or what a rise against yesterday means: "bad", "good" or "neutral"
    place: str = ROW
    of: str | None = None  # BESIDE: the id of the tile it annotates
    unit: str = ""  # shown in a sibling of the value element (件, 人, 个, 条)
    # A rate's target in percent (the contract's default score rules), or None.
    target: float | None = None


TILES: tuple[Tile, ...] = (
    Tile("kpi-open", "在办事件", ("cases", "open"), tone="info", delta="bad", unit="件"),
    # The SLA tiles count the resolve stage (the contract's overdue and warning), as the SLA board's
    # 处置 chip does; the label says so (accept and dispatch are on the board).
    Tile("kpi-overdue", "处置超期", ("cases", "overdue"), tone="bad", delta="bad", unit="件"),
    Tile("kpi-warning", "处置临期", ("cases", "warning"), tone="warn", delta="bad", unit="件"),
    Tile("kpi-new-today", "今日新增", ("cases", "new_today"), tone="info", delta="neutral", unit="件"),
    Tile("kpi-closed-today", "今日结案", ("cases", "closed_today"), tone="good", delta="good", unit="件"),
    Tile("kpi-alerts-new", "新预警", ("alerts", "new"), tone="alert", unit="条"),
    # Targets: the contract's default score rules (on_time_rate 0.95, closed_rate 0.98, satisfied_rate 0.95).
    Tile("rate-on-time", "按期结案率", ("rates", "on_time"), PERCENT, tone="rate", place=RATES, target=95.0),
    Tile("rate-closed", "结案率", ("rates", "closed"), PERCENT, tone="rate", place=RATES, target=98.0),
    Tile("rate-satisfied", "满意率", ("rates", "satisfied"), PERCENT, tone="rate", place=RATES, target=95.0),
    Tile("rate-self-resolved", "自办结率", ("rates", "self_resolved"), PERCENT, tone="rate", place=RATES),
    Tile("staff-grids", "网格", ("staffing", "grids"), tone="staff", place=STAFFING, unit="个"),
    Tile("staff-vacant", "空缺网格", ("staffing", "vacant"), tone="staff", place=STAFFING, unit="个"),
    Tile("staff-patrolled", "今日已巡", ("staffing", "patrolled_today"), tone="staff", place=STAFFING, unit="个"),
    Tile("staff-workers", "网格员", ("staffing", "workers"), tone="staff", place=STAFFING, unit="人"),
    Tile("staff-on-duty", "在岗", ("staffing", "on_duty"), tone="staff", place=STAFFING, unit="人"),
    # Online on duty: who can be dispatched now (an aggregate; no page names or ranks workers by it).
    Tile("staff-online", "可调度", ("staffing", "online"), tone="staff", place=STAFFING, unit="人"),
    # How many of the new alerts are critical, beside 新预警 (callbacks.reads: the wall's alert read).
    Tile("kpi-alerts-critical", "严重", ("alert_list", "new_critical"), NOTE, tone="bad", place=BESIDE,
         of="kpi-alerts-new"),
)


def _vacant_grids(staffing: dict[str, Any]) -> int:
    return max(0, (staffing.get("grids") or 0) - (staffing.get("grids_staffed") or 0))


# Figures the bundle does not hold as such, computed from their group.
DERIVED: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    ("staffing", "vacant"): _vacant_grids,
}

FORMATS: dict[str, Callable[[Any], str]] = {COUNT: i18n.count, PERCENT: i18n.pct}


def tiles(place: str | None = None) -> tuple[Tile, ...]:
    """The tiles in the order shown (those of one place, or all)."""
    return tuple(t for t in TILES if place is None or t.place == place)


def notes_of(tile_id: str) -> tuple[Tile, ...]:
    """The notes drawn beside a tile's figure."""
    return tuple(t for t in TILES if t.place == BESIDE and t.of == tile_id)


def ids() -> list[str]:
    """Every tile's value element id, in the order of the figure outputs."""
    return [t.id for t in TILES]


def delta_tiles() -> tuple[Tile, ...]:
    return tuple(t for t in TILES if t.delta)


def figure_value(tile: Tile, bundle: dict[str, Any]) -> Any:
    """The raw figure of ``tile`` in a figures bundle; None when the bundle lacks it."""
    group, key = tile.figure
    values = bundle.get(group) or {}
    derive = DERIVED.get(tile.figure)
    return derive(values) if derive else values.get(key)


def formatted(tile: Tile, bundle: dict[str, Any]) -> str:
    """The tile's text: the figure alone, as its format writes it ("—" when unknown); a note's text
    ("· 严重 1"), empty when its figure is 0 or unknown."""
    value = figure_value(tile, bundle)
    if tile.format == NOTE:
        return f"· {tile.label} {int(value)}" if value else ""
    return FORMATS[tile.format](value)


def values(bundle: dict[str, Any]) -> list[str]:
    """Every tile's text, in the order of ``ids()``."""
    return [formatted(t, bundle) for t in TILES]


def yesterday_figures(cases_before: dict[str, Any]) -> dict[str, int]:
    """The figures 24 h (or, given last week's figures, 7 days) earlier by tile id, for the tiles
    that show a change (and have one)."""
    bundle = {"cases": cases_before}
    out = {}
    for tile in delta_tiles():
        if tile.figure[0] not in DELTA_GROUPS:
            continue
        value = figure_value(tile, bundle)
        if value is not None:
            out[tile.id] = int(value)
    return out


def browser_rules() -> dict[str, Any]:
    """What assets/gridwall.js needs (the ``tile-catalogue`` store): the delta tiles in the order of
    the ``deltas`` callback's outputs, with what a rise means."""
    return {"deltas": [{"id": t.id, "tone": t.delta} for t in delta_tiles()]}
