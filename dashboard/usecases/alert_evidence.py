"""An alert's evidence in the shape its kind needs (issue 17 §4), for the wall's evidence panel, the
phone page and ``GET /api/v1/alerts/<id>`` (``alert_view``'s ``evidence_detail``):

- ``spike`` (骤增): the series' daily counts from three weeks before the window to a week after it,
  with the expected level, its usual range and the count that would alarm, and the days that
  tripped it (``dashboard.analytics.spike_band``: the engine's stored band, recomputed where it has none);
- ``cluster`` (时空聚集): the circle (centre, radius), the outlines of its grids and its cases as points;
- ``repeat`` (重复多发 / 反弹): the address or grid, and the dates of its reports (or the closed case
  and the new one);
- ``underreport`` (疑似瞒报漏报): the community's patrol share in the flagged weeks against the other
  communities of its street and its own 12 weeks before, and week by week (the review's concealment
  watch numbers, ``dashboard.analytics.concealment_watch``);
- ``sla`` (超期风险): the cases at risk, their stage, due time, how late or how soon, and who holds them;
- ``staffing`` (在岗在线): the grids concerned with counts of offline workers; their names and last
  positions only where the deployment allows names and for ``center`` users (docs/security.md,
  "Staffing without surveillance"), listed by grid and name, never ranked;
- ``stale``, ``wall``, ``sensitive``, ``external`` and anything else: what the detail says, in words.

Each kind has a read (``data_access.alert_evidence``, the viewer's scope) and a pure shaping
function (``shape_*``). Anything missing or malformed in the detail leaves its part out; the view
never fails for it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from dashboard.analytics import concealment_watch, spike_band
from dashboard.analytics.concealment import PATROL, UNCONTROLLED
from dashboard.analytics.stale import FEED_NAMES
from dashboard.core.masking import mask_text
from data_access import alert_evidence as reads
from data_access.concealment_watch import community_channels
from data_access.period import local_midnight
from data_access.scope import Scope
from layouts.i18n import STAGE

log = logging.getLogger("gridwall.alert_evidence")
UTC = timezone.utc
MAX_ROWS = 30
MAX_FLAGGED_WEEKS = 26


# --- small readers of detail values ------------------------------------------------------------

def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    x = _num(value)
    return int(x) if x is not None else None


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _local(value: Any, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    at = _when(value)
    return at.astimezone(tz).strftime(fmt) if at else None


def _span(delta: timedelta) -> str:
    """A duration in words: 3天2小时, 5小时, 40分钟."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes >= 24 * 60:
        days, hours = divmod(minutes // 60, 24)
        return f"{days}天" + (f"{hours}小时" if hours else "")
    if minutes >= 60:
        return f"{minutes // 60}小时"
    return f"{max(minutes, 1)}分钟"


def _window(detail: dict) -> dict:
    return detail.get("window") if isinstance(detail.get("window"), dict) else {}


def _item(values: Any, i: int) -> Any:
    return values[i] if isinstance(values, list) and i < len(values) else None


def _ints(values: Any) -> list[int]:
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)] if isinstance(values, list) else []


# --- 1. rises ------------------------------------------------------------------------------------

def spike_range(detail: dict, today: date) -> tuple[date, date, date, date] | None:
    """(first shown day, window start, window end, last shown day) of a rise, or None when its
    window is unreadable: from ``DAYS_BEFORE`` days before the window to ``DAYS_AFTER`` after it,
    complete days only (today only when the window is today: a within-day rise)."""
    window = _window(detail)
    start, end = _day(window.get("start")), _day(window.get("end"))
    if start is None or end is None or end < start or end > today:
        return None
    last = min(end + timedelta(days=spike_band.DAYS_AFTER), today - timedelta(days=1))
    return start - timedelta(days=spike_band.DAYS_BEFORE), start, end, max(last, end)


def shape_spike(detail: dict, today: date, recomputed: dict | None) -> dict[str, Any] | None:
    """The rise's drawing from the engine's stored band (``detail.band``) and the ``recomputed`` band
    (``spike_band.series_band`` form) for the days it lacks. None when there is nothing to draw."""
    rng = spike_range(detail, today)
    if rng is None:
        return None
    first, start, end, last = rng
    names = ("observed", "expected", "lo", "hi", "alarm_at")
    by_day: dict[str, dict] = {}
    for band, source in ((recomputed, "recomputed"), (detail.get("band"), "engine")):  # the engine's win
        if not isinstance(band, dict):
            continue
        for i, day in enumerate(spike_band.band_days(band)):
            if first.isoformat() <= day <= last.isoformat():
                by_day[day] = {**{k: _item(band.get(k), i) for k in names}, "source": source}
    if not by_day:
        return None
    days = sorted(by_day)
    sources = {v["source"] for v in by_day.values()}
    series = detail.get("series") if isinstance(detail.get("series"), dict) else {}
    stored_band = detail.get("band") if isinstance(detail.get("band"), dict) else {}
    return {
        "kind": "spike",
        "days": days,
        **{k: [by_day[d][k] for d in days] for k in names},
        "tripped": [start.isoformat() <= d <= end.isoformat() for d in days],
        "after": [d > end.isoformat() for d in days],
        "source": "+".join(sorted(sources, key=lambda s: s != "engine")),
        "window": {"start": start.isoformat(), "end": end.isoformat(), "days": (end - start).days + 1},
        "intraday": bool(detail.get("intraday")),
        "region_code": series.get("region_code"), "category_code": series.get("category_code"),
        "usual": stored_band.get("usual") or spike_band.USUAL,
        "engine": {"observed": _num(detail.get("observed")), "expected": _num(detail.get("expected")),
                   "p_value": _num(detail.get("p_value")), "method": detail.get("method"),
                   "alpha_scale": _num(detail.get("alpha_scale"))},
    }


def _spike(conn: Connection, scope: Scope, detail: dict, tz: ZoneInfo, now: datetime, **_) -> dict | None:
    today = now.astimezone(tz).date()
    rng = spike_range(detail, today)
    series = detail.get("series") if isinstance(detail.get("series"), dict) else {}
    region, category = series.get("region_code"), series.get("category_code")
    if rng is None or not isinstance(region, str) or not isinstance(category, str):
        return None
    first, _start, end, last = rng
    stored = detail.get("band") if isinstance(detail.get("band"), dict) else None
    stored_days = set(spike_band.band_days(stored)) if stored else set()
    needed = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    recomputed = None
    if any(d.isoformat() not in stored_days for d in needed):
        counts = reads.series_day_counts(conn, scope, region, category,
                                         first - timedelta(days=spike_band.HISTORY_DAYS), last, tz)
        if counts is not None:
            alpha = spike_band.alpha_for(region, category, detail.get("alpha"))
            recomputed = spike_band.band_from_counts(counts["days"], counts["series"], counts["major"],
                                                     counts["minor"], np.datetime64(first), np.datetime64(last),
                                                     alpha, first_day=counts["first_day"])
    return shape_spike(detail, today, recomputed)


# --- 2. clusters ---------------------------------------------------------------------------------

def shape_cluster(detail: dict, points: list[dict], outlines: dict, unplaced: int = 0) -> dict[str, Any] | None:
    centre = detail.get("center") if isinstance(detail.get("center"), dict) else {}
    lon, lat, radius = _num(centre.get("lon")), _num(centre.get("lat")), _num(detail.get("radius_km"))
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    window = _window(detail)
    return {
        "kind": "cluster", "center": {"lat": lat, "lon": lon},
        "radius_m": round(max(radius or 0.0, 0.0) * 1000),
        "observed": _int(detail.get("observed")), "expected": _num(detail.get("expected")),
        "window": {"start": window.get("start"), "end": window.get("end"), "days": _int(window.get("days"))},
        "grid_count": len(detail.get("grids") or []) if isinstance(detail.get("grids"), list) else 0,
        "outlines": outlines,
        "points": [{"code": p["code"], "lat": p["lat"], "lon": p["lon"]} for p in points],
        "unplaced": max(unplaced, 0),
    }


def _cluster(conn: Connection, scope: Scope, detail: dict, case_ids: list[int], cases: list[dict], **_) -> dict | None:
    grids = [x for x in detail.get("grids") or [] if isinstance(x, str)] if isinstance(detail.get("grids"), list) else []
    points = reads.case_points(conn, scope, case_ids)
    placed = {p["code"] for p in points}
    unplaced = len([c for c in cases if c.get("code") not in placed])
    return shape_cluster(detail, points, reads.grid_outlines(conn, scope, grids), unplaced)


# --- 3. repeats ----------------------------------------------------------------------------------

def shape_repeat(detail: dict, cases: list[dict], places: dict[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """The place of a repeat (its address: the one most of its cases carry; or its grid) and the
    dates of its reports, oldest first; for a rebound, when the case was closed and when it came back."""
    addresses = [c.get("address") for c in cases if isinstance(c.get("address"), str) and c.get("address").strip()]
    address = max(set(addresses), key=lambda a: (addresses.count(a), a)) if addresses else None
    grids = sorted({c.get("grid_code") for c in cases if isinstance(c.get("grid_code"), str)})
    when = sorted(c["reported_at"] for c in cases if isinstance(c.get("reported_at"), datetime))
    out = {
        "kind": "repeat",
        "mode": "rebound" if "closed_case_id" in detail else ("grid" if detail.get("place_kind") == "grid" else "address"),
        "address": address,
        "place": "、".join(places.get(x, x) for x in grids[:3]) or None,
        "dates": [_local(t, tz, "%m-%d %H:%M") for t in when],
        "observed": _int(detail.get("observed")), "threshold": _int(detail.get("threshold")),
        "window_days": _int(_window(detail).get("days")),
    }
    if out["mode"] == "rebound":
        out.update({"closed_at": _local(detail.get("closed_at"), tz), "reported_at": _local(detail.get("reported_at"), tz),
                    "gap_days": _num(detail.get("gap_days"))})
    return out


def _repeat(conn: Connection, scope: Scope, detail: dict, cases: list[dict], tz: ZoneInfo, **_) -> dict:
    places = reads.grid_places(conn, scope, [c.get("grid_code") for c in cases])
    return shape_repeat(detail, cases, places, tz)


# --- 6. concealment ------------------------------------------------------------------------------

def _share(p: int, u: int) -> float | None:
    return round(p / (p + u), 4) if p + u > 0 else None


def shape_underreport(detail: dict, community: str, mondays: list[date], channels: pd.DataFrame,
                      flagged_weeks: int) -> dict[str, Any]:
    """The watch's numbers for one flagged community (``concealment_watch.watch_rows``: the period,
    the peers, the weeks before) and the same shares week by week. ``channels``: community, window
    (index of ``mondays``), source, n; the last ``flagged_weeks`` windows are the flagged period."""
    before_windows = len(mondays) - flagged_weeks
    pooled = channels.assign(window=(channels["window"] >= before_windows).astype(int)) if len(channels) else channels
    rows = concealment_watch.watch_rows([{"id": 0, "region_code": community, "created_at": None, "detail": detail}],
                                        pooled)
    row = rows[0]
    weeks = []
    for i, monday in enumerate(mondays):
        sub = channels[channels["window"] == i] if len(channels) else channels
        own = sub[sub["community"] == community] if len(sub) else sub
        peers = sub[sub["community"] != community] if len(sub) else sub

        def split(frame):
            if not len(frame):
                return 0, 0
            return (int(frame.loc[frame["source"] == PATROL, "n"].sum()),
                    int(frame.loc[frame["source"].isin(UNCONTROLLED), "n"].sum()))

        p, u = split(own)
        pp, pu = split(peers)
        weeks.append({"week": monday.isoformat(), "patrol": p, "other": u, "share": _share(p, u),
                      "peer_share": _share(pp, pu), "flagged": i >= before_windows})
    before = dict(row["before"], weeks=before_windows)
    return {"kind": "underreport", "test": row["alerts"][0]["evidence"]["test"], "period": row["period"],
            "peers": row["peers"], "before": before, "weeks": weeks,
            "engine": row["alerts"][0]["evidence"]}


def _underreport(conn: Connection, scope: Scope, detail: dict, region_code: str | None, tz: ZoneInfo,
                 **_) -> dict | None:
    window = _window(detail)
    start, end = _day(window.get("start")), _day(window.get("end"))
    if not isinstance(region_code, str) or len(region_code) != 12 or start is None or end is None or end < start:
        return None
    start = start - timedelta(days=start.weekday())
    weeks = max((end - start).days // 7 + 1, 1)
    if weeks > MAX_FLAGGED_WEEKS:  # a long own-history decline: its last half year
        start, weeks = start + timedelta(weeks=weeks - MAX_FLAGGED_WEEKS), MAX_FLAGGED_WEEKS
    mondays = [start - timedelta(weeks=concealment_watch.BEFORE_WEEKS - i)
               for i in range(concealment_watch.BEFORE_WEEKS + weeks)]
    bounds = [local_midnight(d, tz) for d in mondays] + [local_midnight(start + timedelta(weeks=weeks), tz)]
    street = region_code[:9]
    peers_scope = scope.narrow(street) if scope.contains(street) else scope   # its street's communities
    channels = community_channels(conn, peers_scope, bounds)
    return shape_underreport(detail, region_code, mondays, channels, weeks)


# --- 4. SLA --------------------------------------------------------------------------------------

def shape_sla(detail: dict, cases: list[dict], tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The cases at risk as the detector listed them (stage, due), those in the viewer's scope only,
    with who holds them and how late (or how soon) they are; for a backlog, its counts."""
    org = detail.get("org") if isinstance(detail.get("org"), dict) else {}
    by_id = {c["id"]: c for c in cases if isinstance(c.get("id"), int)}
    rows = []
    listed = detail.get("cases") if isinstance(detail.get("cases"), list) else []
    for item in listed:
        if not isinstance(item, dict) or item.get("id") not in by_id:
            continue
        case = by_id[item["id"]]
        due = _when(item.get("due_at")) or case.get("resolve_due_at")
        due = _when(due)
        late = due is not None and due < now
        rows.append({"code": case.get("code"), "title": case.get("title") or case.get("category_name"),
                     "phase": item.get("phase"), "phase_label": STAGE.get(item.get("phase"), item.get("phase") or "—"),
                     "due_at": _local(due, tz), "late": late,
                     "left": None if due is None else (f"已超期{_span(now - due)}" if late else f"剩{_span(due - now)}"),
                     "idle_hours": _num(item.get("idle_hours")),
                     "holder": case.get("handler_name") or org.get("name")})
    if not listed:  # a backlog alert, or another system's: the cases it names, as they stand
        for case in cases[:MAX_ROWS]:
            due = _when(case.get("resolve_due_at"))
            late = due is not None and due < now and case.get("closed_at") is None
            rows.append({"code": case.get("code"), "title": case.get("title") or case.get("category_name"),
                         "phase": None, "phase_label": "—", "due_at": _local(due, tz), "late": late,
                         "left": None if due is None or case.get("closed_at") is not None
                         else (f"已超期{_span(now - due)}" if late else f"剩{_span(due - now)}"),
                         "idle_hours": None, "holder": case.get("handler_name")})
    return {"kind": "sla", "mode": "backlog" if "sd" in detail and not listed else "risk", "org": org.get("name"), "observed": _int(detail.get("observed")),
            "overdue": _int(detail.get("overdue")), "expected": _num(detail.get("expected")),
            "listed": len([i for i in listed if isinstance(i, dict)]), "rows": rows[:MAX_ROWS]}


def _sla(conn: Connection, scope: Scope, detail: dict, cases: list[dict], tz: ZoneInfo, now: datetime, **_) -> dict:
    return shape_sla(detail, cases, tz, now)


# --- 5. staffing ---------------------------------------------------------------------------------

def shape_staffing(detail: dict, scope: Scope, places: dict[str, str], workers: list[dict] | None,
                   tz: ZoneInfo) -> dict[str, Any]:
    """The grids an offline / uncovered / patrol alert names (in the scope), by grid code: counts of
    offline workers per grid; ``workers`` (names and last positions) only when the caller may show
    them (``None`` otherwise). Nothing is ordered by any worker's figure."""
    def grid_rows(codes, **extra):
        return [{"code": x, "place": places.get(x, x), **extra} for x in sorted(set(codes)) if scope.contains(x)]

    out: dict[str, Any] = {"kind": "staffing", "names": workers is not None}
    if isinstance(detail.get("workers"), list):
        counts: dict[str, int] = {}
        for w in detail["workers"]:
            code = w.get("grid_code") if isinstance(w, dict) else None
            if isinstance(code, str) and scope.contains(code):
                counts[code] = counts.get(code, 0) + 1
        out.update(mode="offline", observed=_int(detail.get("observed")), on_duty=_int(detail.get("on_duty")),
                   grids=[{"code": x, "place": places.get(x, x), "offline": counts[x]} for x in sorted(counts)])
        if workers is not None:
            out["workers"] = [{"name": w.get("name") or "—", "grid_code": w.get("grid_code"),
                               "place": places.get(w.get("grid_code"), w.get("grid_code")),
                               "last_ping": _local(w.get("last_ping"), tz, "%H:%M") if w.get("last_ping") else None,
                               "lat": w.get("lat"), "lon": w.get("lon")} for w in workers]
    elif "vacant" in detail or "absent" in detail:
        vacant = [x for x in detail.get("vacant") or [] if isinstance(x, str)]
        absent = [x for x in detail.get("absent") or [] if isinstance(x, str)]
        out.update(mode="uncovered", observed=_int(detail.get("observed")), total=_int(detail.get("grids")),
                   grids=grid_rows(vacant, state="vacant") + grid_rows(absent, state="absent"))
    elif "unpatrolled" in detail:
        codes = [x for x in detail.get("unpatrolled") or [] if isinstance(x, str)]
        out.update(mode="patrol", patrolled=_int(detail.get("patrolled")), rostered=_int(detail.get("rostered")),
                   grids=grid_rows(codes, state="unpatrolled"))
    else:
        out.update(mode="other", observed=_int(detail.get("observed")), grids=[])
    return out


def _staffing(conn: Connection, scope: Scope, detail: dict, now: datetime, tz: ZoneInfo, names_shown: bool,
              **_) -> dict:
    codes = []
    for key in ("vacant", "absent", "unpatrolled"):
        codes += [x for x in detail.get(key) or [] if isinstance(x, str)]
    listed = [w for w in detail.get("workers") or [] if isinstance(w, dict)] if isinstance(detail.get("workers"), list) else []
    codes += [w.get("grid_code") for w in listed if isinstance(w.get("grid_code"), str)]
    places = reads.grid_places(conn, scope, codes)
    workers = None
    if names_shown and listed:
        workers = reads.worker_positions(conn, scope, _ints([w.get("staff_id") for w in listed]), now)
    return shape_staffing(detail, scope, places, workers, tz)


# --- stale, dark walls, sensitive signs, other systems -------------------------------------------

LABELS = {"observed": "实际", "expected": "以往", "threshold": "阈值", "score": "评分", "p_value": "p 值",
          "source": "来源", "system": "系统", "level": "级别", "message": "说明", "reason": "原因",
          "on_duty": "在岗", "share": "占比"}


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, str) and value.strip():
        return mask_text(value.strip()[:120])   # another system's free text: masked like a case's
    return None


def shape_words(kind: str | None, detail: dict, tz: ZoneInfo) -> dict[str, Any]:
    """``facts``: (label, value) pairs of what the detail says, in words."""
    facts: list[tuple[str, str]] = []
    if kind == "stale":
        for feed in detail.get("feeds") or [] if isinstance(detail.get("feeds"), list) else []:
            age = _num((detail.get("observed") or {}).get(feed)) if isinstance(detail.get("observed"), dict) else None
            usual = _num((detail.get("expected") or {}).get(feed)) if isinstance(detail.get("expected"), dict) else None
            limit = _num((detail.get("threshold") or {}).get(feed)) if isinstance(detail.get("threshold"), dict) else None
            label = FEED_NAMES.get(feed, str(feed))
            if age is None:
                facts.append((label, "无数据"))
            else:
                facts.append((label, f"已{age:.0f}分钟无更新" + (f"（通常{usual:.0f}分钟内" if usual is not None else "（")
                              + (f"，超过{limit:.0f}分钟即报警）" if limit is not None else "）")))
    elif kind == "wall":
        for key, label in (("username", "大屏账号"), ("last_seen_at", "最后心跳"), ("layout", "布局"), ("version", "版本")):
            value = _local(detail.get(key), tz) if key == "last_seen_at" else _text(detail.get(key))
            if value:
                facts.append((label, value))
    elif kind == "sensitive":
        words = [w for w in detail.get("words") or [] if isinstance(w, str)] if isinstance(detail.get("words"), list) else []
        themes = [w for w in detail.get("themes") or [] if isinstance(w, str)] if isinstance(detail.get("themes"), list) else []
        if words:
            facts.append(("关键词", "、".join(words[:10])))
        if themes:
            facts.append(("主题", "、".join(themes[:10])))
        if detail.get("by_category"):
            facts.append(("依据", "事件类别本身属重大风险"))
        if detail.get("reported_at"):
            facts.append(("上报", _local(detail.get("reported_at"), tz) or "—"))
    else:
        for key, value in detail.items():
            if key in ("case_ids", "cases", "as_of", "band") or isinstance(value, (dict, list)):
                continue
            text = _text(value)
            if text is not None:
                facts.append((LABELS.get(key, str(key)[:24]), text))
            if len(facts) >= 12:
                break
    return {"kind": kind or "other", "facts": [{"label": k, "value": v} for k, v in facts]}


# --- the entry point -----------------------------------------------------------------------------

READS: dict[str, Callable[..., dict | None]] = {
    "spike": _spike, "cluster": _cluster, "repeat": _repeat, "underreport": _underreport, "sla": _sla,
    "staffing": _staffing,
}


def evidence_detail(conn: Connection, scope: Scope, alert: dict, detail: dict, case_ids: list[int],
                    cases: list[dict], tz: ZoneInfo, now: datetime, names_shown: bool = False) -> dict[str, Any] | None:
    """The per-kind evidence of ``alert`` (a row of ``data_access.alerts.get_alert``) in the viewer's
    scope; ``cases`` the in-scope rows of ``data_access.alerts.alert_cases``; ``names_shown``: the
    caller may name workers (``[staffing] detail = "names"`` and a ``center`` user). Unmasked: the
    view masks it with everything else. None when nothing can be shown beyond the one-line evidence."""
    kind = alert.get("kind")
    read = READS.get(kind)
    try:
        if read is None:
            shaped = shape_words(kind, detail, tz)
            return shaped if shaped["facts"] else None
        return read(conn=conn, scope=scope, detail=detail, case_ids=case_ids, cases=cases, tz=tz, now=now,
                    names_shown=names_shown, region_code=alert.get("region_code"))
    except Exception:  # noqa: BLE001 - the panel shows the alert without its drawing rather than nothing
        log.exception("evidence of alert %s (%s) failed", alert.get("id"), kind)
        return None
