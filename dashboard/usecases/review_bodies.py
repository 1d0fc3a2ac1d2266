"""The bodies of the review routes, built in one place for the API and the meeting pack.

``/api/v1/review``, ``/review/hot-issues``, ``/review/trend``, ``/review/forecast``,
``/review/concealment`` and ``/api/v1/commitments`` answer exactly these dicts (after
``core.outward``), and ``dashboard.pack`` builds the PDF and the workbook from the same calls, so a
pack's figures equal the API's by construction. Each function takes what it works on explicitly
(engine, an already narrowed and checked scope, the region's name, the period, the moment, the
score rules) and reads no Flask globals, so the command line and the worker call it too.

The bodies are returned before masking: the caller passes them through ``core.outward`` once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from dashboard.analytics import concealment_watch, forecast_record, hot_issues, scoring
from dashboard.analytics.history_coverage import compared, review_coverage, week_gaps
from data_access import commitments as commitments_db
from data_access import concealment_watch as concealment_db
from data_access import forecast_record as forecast_db
from data_access import review, review_trends
from data_access.feeds_cases import region_and_category_names
from data_access.moment import Moment
from data_access.period import Period
from data_access.regions import children
from data_access.scope import Scope, code_level

CONCEALMENT_WORDING = "疑似瞒报漏报，建议核实：预警引擎的线索，不是结论"


def local(value: datetime | None, m: Moment) -> str | None:
    """A timestamp as the API writes it: ISO 8601 in the moment's calendar, to the second."""
    return value.astimezone(m.tz).isoformat(timespec="seconds") if value is not None else None


def _days(period: Period) -> dict:
    return {"start": period.first.isoformat(), "end": period.last.isoformat()}


def _period_days(period: Period, windows: dict, m: Moment) -> dict:
    """``period``, ``previous`` and ``last_year`` (first and last days, ``until`` = E' of each window
    cut like for like)."""
    return {"period": {**period.to_dict(m.at), "until": local(windows["current"][1], m)},
            "previous": {**_days(period.previous()), "until": local(windows["previous"][1], m)},
            "last_year": {**_days(period.last_year()), "until": local(windows["last_year"][1], m)}}


def review_body(engine: Engine, scope: Scope, name: str, period: Period, m: Moment,
                rules: list[scoring.Rule]) -> dict[str, Any]:
    """``/api/v1/review``: the period figures, the children ranked, departments, bounced cases, rules."""
    with engine.connect() as conn:
        rows = children(conn, scope) if len(scope.region) < 15 else []
    data, (departments, bounced) = review.review_reads(
        engine, scope, period, m.at,
        also=lambda conn: (review.departments(conn, scope, period, m.at), review.bounced_cases(conn, scope, period, m.at)))
    empty = review.empty_figures(flow_log=data["flow_log"])
    kids = {row["code"]: data["children"].get(row["code"], {}) for row in rows}
    current = {code: f.get("current") or empty for code, f in kids.items()}
    previous = {code: f.get("previous") or empty for code, f in kids.items()}
    windows = data["windows"]
    cover = review_coverage(windows, data["since"], data["region"])
    scored, goal = scoring.rank_siblings(current, previous if compared(cover["previous"]) else None, rules)
    body = {
        "region": scope.region, "name": name, "at": m.local_iso(),
        "period": {**period.to_dict(m.at), "until": local(windows["current"][1], m)},
        "previous": {**period.previous().to_dict(), "until": local(windows["previous"][1], m),
                     "coverage": cover["previous"]},
        "last_year": {**period.last_year().to_dict(), "until": local(windows["last_year"][1], m),
                      "coverage": cover["last_year"]},
        "data_from": local(data["since"], m),
        "flow_log": data["flow_log"],
        "figures": data["region"],
        "children": [{"code": row["code"], "name": row["name"], "level": code_level(row["code"]),
                      "figures": current[row["code"]], **scored[row["code"]]} for row in rows],
        "departments": departments,
        "bounced": bounced,
        "score_rules": scoring.rules_json(rules, goal),
    }
    for key in ("previous", "last_year"):
        body[key].pop("kind", None)
    return body


def hot_issues_body(engine: Engine, scope: Scope, name: str, period: Period, m: Moment) -> dict[str, Any]:
    """``/api/v1/review/hot-issues``: categories whose reported cases rose beyond chance (exact
    conditional binomial test, Holm-adjusted p < 0.01)."""
    with engine.connect() as conn:
        data = review_trends.category_counts(conn, scope, period, m.at)
        names = region_and_category_names(conn, scope)
        names.update({row["code"]: row["name"] for row in children(conn, scope)})
    found = hot_issues.find_hot_issues(data["counts"], data["places"], hot_issues.window_lengths(data["windows"]),
                                       covered=hot_issues.coverage(data["windows"], data["since"], data["counts"]))
    issues = []
    for issue in found.issues:
        row = issue.to_dict()
        row["name"] = names.get(f"cat:{issue.code}")
        row["places"] = [{**place, "name": names.get(place["code"])} for place in row["places"]]
        issues.append(row)
    return {"region": scope.region, "name": name, "at": m.local_iso(), **_period_days(period, data["windows"], m),
            "test": {"method": "exact conditional binomial, one-sided (rise)", "adjustment": "holm",
                     "alpha": found.alpha, "tests": found.tests},
            "hot_issues": issues}


def mark_gaps(weeks: list[dict]) -> list[dict]:
    """``weekly_figures`` rows with ``gap`` (``history_coverage.week_gaps``): a week inside the history
    with no case reported or closed while the usual week has many is no data (figures None), not 0."""
    gaps = week_gaps([(None if w["before_data"] else (w["figures"]["reported"] or 0) + (w["figures"]["closed"] or 0),
                       w["week"].partial) for w in weeks])
    return [{**w, "gap": gap, "figures": dict.fromkeys(w["figures"]) if gap else w["figures"]}
            for w, gap in zip(weeks, gaps)]


def trend_body(engine: Engine, scope: Scope, name: str, period: Period, m: Moment) -> dict[str, Any]:
    """``/api/v1/review/trend``: the main figures of the 26 ISO weeks up to the period's end."""
    with engine.connect() as conn:
        flow_log = review.flow_log_kept(conn, scope)
        weeks = mark_gaps(review_trends.weekly_figures(conn, scope, period, m.at, flow_log=flow_log))
    return {"region": scope.region, "name": name, "at": m.local_iso(),
            "period": {**period.to_dict(m.at), "until": local(period.as_of(m.at), m)},
            "figures": list(review_trends.TREND_KEYS), "flow_log": flow_log,
            "weeks": [{"start": row["week"].week.first.isoformat(), "end": row["week"].week.last.isoformat(),
                       "until": local(row["week"].until, m), "partial": row["week"].partial,
                       "in_period": row["week"].in_period, "before_data": row["before_data"], "gap": row["gap"],
                       "figures": row["figures"]} for row in weeks]}


def forecast_body(engine: Engine, scope: Scope, name: str, m: Moment, *, with_places: bool = False) -> dict[str, Any]:
    """``/api/v1/review/forecast``: the coming week from T, the hotspot grids and the forecasts' record.

    ``with_places``: also ``places`` ({grid code: name, geometry, point}) of the hotspot grids, for a
    map (the pack); the route leaves it out."""
    with engine.connect() as conn:
        with_record = len(scope.region) <= 9   # the engine forecasts streets and the county, not below
        inputs = forecast_db.section_inputs(conn, scope, m, forecast_record.record_days() if with_record else 0,
                                            forecast_record.hotspot_days())
        data = forecast_record.forecast_view(**inputs, today=m.at.astimezone(m.tz).date(), with_record=with_record)
        places = forecast_db.grid_places(conn, scope, [g["grid_code"] for g in data["hotspots"]["grids"]])
    for grid in data["hotspots"]["grids"]:
        grid["name"] = (places.get(grid["grid_code"]) or {}).get("name")
    data["forecast"]["made_at"] = local(data["forecast"]["made_at"], m)
    body = {"region": scope.region, "name": name, "at": m.local_iso(), **data}
    if with_places:
        body["places"] = places
    return body


def concealment_body(engine: Engine, scope: Scope, name: str, period: Period, m: Moment) -> dict[str, Any]:
    """``/api/v1/review/concealment``: communities flagged 疑似瞒报漏报 in the period, with evidence.
    Who may see it (center, leader) is decided by the caller."""
    with engine.connect() as conn:
        alerts, channels = concealment_db.watch_inputs(conn, scope, period, m.at, concealment_watch.BEFORE_WEEKS)
        names = region_and_category_names(conn, scope)
    rows = concealment_watch.watch_rows(alerts, channels)
    communities = [{**row, "name": names.get(row["community"]),
                    "alerts": [{**a, "created_at": local(a["created_at"], m), "ended_at": local(a["ended_at"], m)}
                               for a in row["alerts"]]} for row in rows]
    return {"region": scope.region, "name": name, "at": m.local_iso(),
            "period": {**period.to_dict(m.at), "until": local(period.as_of(m.at), m)},
            "before_weeks": concealment_watch.BEFORE_WEEKS,
            "wording": CONCEALMENT_WORDING,
            "communities": communities}


def commitment_json(row: dict, m: Moment) -> dict[str, Any]:
    """A commitment as ``/api/v1/commitments`` shows it (local times, ISO dates, its events)."""
    def day(d: date | None) -> str | None:
        return d.isoformat() if d is not None else None

    return {
        "id": row["id"], "region": row["region_code"], "text": row["text"], "status": row["status"],
        "meeting_date": day(row["meeting_date"]), "due_date": day(row["due_date"]),
        "period": {"kind": row["period_kind"], "start": day(row["period_start"]), "end": day(row["period_end"])},
        "owner_org_id": row["owner_org_id"], "case_codes": row["case_codes"], "alert_ids": row["alert_ids"],
        "created_by": row["created_by"], "created_at": local(row["created_at"], m),
        "events": [{"ts": local(e["ts"], m), "actor": e["actor"], "kind": e["kind"], "status": e["status"],
                    "due_date": day(e["due_date"]), "note": e["note"]} for e in row["events"]],
    }


def commitments_body(engine: Engine, scope: Scope, m: Moment, *, status: str | None = None,
                     until: datetime | None = None) -> list[dict[str, Any]]:
    """``/api/v1/commitments``: the scope's commitments, oldest meeting first, with their history."""
    with engine.connect() as conn:
        rows = commitments_db.list_commitments(conn, scope, statuses=[status] if status else None, until=until)
    return [commitment_json(r, m) for r in rows]
