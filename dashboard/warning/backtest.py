"""``gridwall backtest``: the engine's forecast and hotspots replayed week by week over the database's history.

Reads the daily counts of the span once (``data_access.backtest``), then for each week from
``--from`` (weeks start on its weekday; the last one ends by ``--to``, or by the day of the latest
case when that is earlier: later days are not history yet) runs what the engine's daily
run on that day would have run, with the engine's own settings (``case_detectors.FORECAST_MEMORIES``,
``FORECAST_DAYS``, ``HOTSPOT_PARAMS``, ``FACT_DAYS``), and scores it against the week that followed
and against naive rules (``dashboard.analytics.backtest`` says how).

Levels: the region itself (its cases x major category; hotspots: the top 5 % of all its grids) and,
for a region above the streets, its streets (each street x major; hotspots: each street's own top
5 %). The JSON's required keys hold the street level of the forecast (the finest the engine
forecasts; the region's own level when it has no streets) and the region level of the hotspots
(the engine's one list); every level is under ``levels``.
"""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from data_access import backtest as reads
from data_access.scope import Scope, code_level

from ..analytics import backtest as bt
from ..analytics.spikes import count_cube
from . import case_detectors

REQUIRED_FORECAST = ("gridwall", "last_week", "mean_4w", "seasonal")
REQUIRED_HOTSPOTS = ("gridwall", "naive_1w", "naive_4w", "naive_12w")


def _round(x, digits: int = 4):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), digits)


def run_backtest(engine: Engine, scope: Scope, tz: ZoneInfo, first: date, last: date,
                 params: bt.BacktestParams | None = None) -> dict:
    """The backtest of ``scope`` over the weeks from ``first`` to ``last`` (local days), as the JSON
    ``gridwall backtest --json`` prints."""
    started = time.perf_counter()
    params = params or bt.BacktestParams(history_days=case_detectors.FORECAST_DAYS,
                                         hotspot_days=case_detectors.FACT_DAYS)
    with engine.connect() as conn:
        earliest, latest = reads.case_span(conn, scope)
    asked = last
    if latest is not None:
        last = min(last, latest.astimezone(tz).date())   # days after the last case are not history yet
    read_first = first - timedelta(days=max(params.history_days, params.hotspot_days))
    with engine.connect() as conn:
        days, counts = reads.street_major_day_counts(conn, scope, tz, read_first, last)
        gdays, gcounts = reads.grid_day_counts(conn, scope, tz, read_first, last)
        grids = reads.grid_areas(conn, scope)
    read_s = time.perf_counter() - started
    origins = bt.weekly_origins(days, first, last, params.horizon)
    region_level = code_level(scope.region)
    levels = [(region_level, None)] + ([("street", "street")] if len(scope.region) < 9 else [])

    total = np.zeros(len(days))
    if len(counts):
        d_idx = (counts["day"].values.astype("datetime64[D]") - days[0]).astype(np.int64)
        np.add.at(total, d_idx, counts["n"].to_numpy(dtype=float))
    forecast_levels = {}
    for name, col in levels:
        frame = counts.assign(region=scope.region) if col is None else counts
        keys, y = count_cube(frame, [col or "region", "major"], days, "n")
        if not keys:
            y = np.zeros((0, len(days)))
        res = bt.forecast_backtest(y, days, keys, total, origins, case_detectors.FORECAST_MEMORIES, params)
        forecast_levels[name] = _forecast_json(res)

    codes = grids["grid_code"].tolist()
    yg = bt.grid_day_matrix(codes, gdays, gcounts)
    g_origins = bt.weekly_origins(gdays, first, last, params.horizon)
    areas = grids["area_km2"].to_numpy(dtype=float) if len(grids) else None
    hotspot_levels = {}
    for name, col in levels:
        groups = None if col is None else [c[:9] for c in codes]
        res = bt.hotspot_backtest(yg, gdays, codes, g_origins, areas, groups, case_detectors.HOTSPOT_PARAMS, params) \
            if len(codes) else None
        hotspot_levels[name] = _hotspot_json(res, name, col)

    fc_top = forecast_levels.get("street") or forecast_levels[region_level]
    hs_top = hotspot_levels[region_level]
    note = _why_no_week(earliest, tz, first, last, params) if not fc_top["weeks"] else None
    if note:
        for level in hotspot_levels.values():
            if "note" in level:
                level["note"] = note
    return {
        "weeks": fc_top["weeks"],
        "region": scope.region,
        "from": str(first), "to": str(last), "to_asked": str(asked), "timezone": str(tz),
        "forecast": {"mae": fc_top["mae"], "level": "street" if "street" in forecast_levels else region_level,
                     **{k: v for k, v in fc_top.items() if k not in ("mae",)},
                     "levels": forecast_levels},
        "hotspots": {"hit_rate": hs_top["hit_rate"], "pai": hs_top["pai"], "level": region_level,
                     **{k: v for k, v in hs_top.items() if k not in ("hit_rate", "pai")},
                     "levels": hotspot_levels},
        "seconds": {"read": round(read_s, 2), "total": round(time.perf_counter() - started, 2)},
        **({"note": note} if note else {}),
    }


def _why_no_week(earliest, tz: ZoneInfo, first: date, last: date, params: bt.BacktestParams) -> str:
    """Why no week could be scored: where the data begin, and the first week that could be."""
    if earliest is None:
        return "the database has no case in this region"
    start = earliest.astimezone(tz).date()
    ready = start + timedelta(days=params.min_history_days)
    return (f"a week is scored with {params.min_history_days} days of data before it; the data begin {start}, "
            f"so the first week that can be scored starts on or after {ready} "
            f"(asked: {first} .. {last})")


def _forecast_json(res: bt.ForecastBacktest) -> dict:
    mae = {k: _round(res.mae.get(k)) for k in REQUIRED_FORECAST}
    mae.update({k: _round(v) for k, v in res.mae.items() if k not in mae})
    return {"mae": mae, "weeks": res.weeks, "skipped_weeks": res.skipped_weeks, "points": res.points,
            "series": res.series, "best_naive": res.best_naive, "gain_vs_best_naive": _round(res.gain),
            "seasonal_weeks": res.seasonal_weeks,
            "seasonal_partial": ({k: _round(v) if k != "weeks" else v for k, v in res.seasonal_partial.items()}
                                 if res.seasonal_partial else None),
            "memories": res.memories,
            "weekly": [{k: (_round(v) if isinstance(v, float) else v) for k, v in w.items()} for w in res.weekly]}


def _hotspot_json(res: bt.HotspotBacktest | None, name: str, col: str | None) -> dict:
    if res is None:
        why = (f"no {name} has {bt.BacktestParams().min_grids} grids or more: its top 5 % would not be a hotspot set"
               if col else "no grid or no week with a case before it")
        return {"hit_rate": {k: None for k in REQUIRED_HOTSPOTS}, "pai": {k: None for k in REQUIRED_HOTSPOTS},
                "note": why}
    return {"hit_rate": {k: _round(res.hit_rate.get(k)) for k in REQUIRED_HOTSPOTS},
            "pai": {k: _round(res.pai.get(k), 3) for k in REQUIRED_HOTSPOTS},
            "pai_by_grid_share": {k: _round(res.pai_grids.get(k), 3) for k in REQUIRED_HOTSPOTS},
            "area_basis": res.area_basis, "weeks": res.weeks, "cases": res.cases, "grids": res.grids,
            "top_n": res.top_n, "groups": res.groups, "left_out_groups": res.left_out_groups,
            "gain_vs_best_naive": _round(res.ratio("hit_rate"), 3),
            "hindsight": {"hit_rate": _round(res.hit_rate.get("hindsight")), "pai": _round(res.pai.get("hindsight"), 3)}}


def render(result: dict) -> str:
    """The readable table ``gridwall backtest`` prints."""
    fc = result["forecast"]
    lines = [f"backtest {result['region']} {result['from']} .. {result['to']} ({result['timezone']}): "
             f"{result['weeks']} weeks scored" + (f": {result['note']}" if result.get("note") else ""),
             "", "forecast: MAE per series and day (gridwall: the median; naive rules on the same series)"]
    names = list(fc["levels"][next(iter(fc["levels"]))]["mae"])
    head = f"{'level':<10}{'series':>7}{'weeks':>6}" + "".join(f"{n:>18}" for n in names) + f"{'best naive':>20}{'gain':>8}"
    lines.append(head)
    for level, res in fc["levels"].items():
        gain = res["gain_vs_best_naive"]
        lines.append(f"{level:<10}{res['series']:>7}{res['weeks']:>6}"
                     + "".join(f"{_fmt(res['mae'].get(n)):>18}" for n in names)
                     + f"{res['best_naive'] or '-':>20}{('%+.1f%%' % (100 * gain)) if gain is not None else '-':>8}")
        if res.get("seasonal_partial"):
            p = res["seasonal_partial"]
            lines.append(f"{'':<10}seasonal only on {p['weeks']} weeks with a year before them: "
                         f"seasonal {_fmt(p['seasonal'])}, gridwall {_fmt(p['gridwall'])}")
    hs = result["hotspots"]
    lines += ["", "hotspots: share of next week's cases in the predicted top 5 % of grids (PAI in brackets; "
                  "hindsight: the week's own top grids, the ceiling)"]
    lines.append(f"{'level':<10}{'grids':>7}{'top':>6}{'weeks':>6}" + "".join(f"{n:>18}" for n in REQUIRED_HOTSPOTS)
                 + f"{'gain':>8}  area   hindsight")
    for level, res in hs["levels"].items():
        if res.get("note"):
            lines.append(f"{level:<10} n/a: {res['note']}")
            continue
        gain = res["gain_vs_best_naive"]
        lines.append(f"{level:<10}{res['grids']:>7}{res['top_n']:>6}{res['weeks']:>6}"
                     + "".join(f"{_fmt(res['hit_rate'][n]) + ' (' + _fmt(res['pai'][n], 2) + ')':>18}"
                               for n in REQUIRED_HOTSPOTS)
                     + f"{('%.2fx' % gain) if gain is not None else '-':>8}  {res['area_basis']:<6} "
                     + f"{_fmt((res.get('hindsight') or {}).get('hit_rate'))}")
    return "\n".join(lines)


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"
