"""Build the 1,000,000-case benchmark database on SQLite and/or PostgreSQL.

    .venv/bin/python bench/load_1m.py [--backend both|sqlite|postgresql] [--cases 1000000]

The geography (regions, ~800 grids, orgs, staff, shifts, pings) comes from
``dashboard.synth.seed.seed_county`` when that module exists, run over the last ``--recent-days``;
otherwise from a minimal generator here. The history before that window is bulk-generated with
numpy (about 400 cases a day over 6-7 years: almost all closed, a few thousand open now, deadlines
from the category tiers) and written with PostgreSQL COPY / one SQLite transaction. Both backends
get the same rows, so the benchmark can check that they agree.

The targets are dedicated: PostgreSQL database `gridwall_bench` (created when missing) and
`var/bench_1m.db`. Both are wiped first.
"""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (  # noqa: E402
    NAT, PG_URL, REPO, SQLITE_PATH, SQLITE_URL, backend_url, ensure_pg_database, read_meta, us_to_text,
    write_meta,
)
from sqlalchemy import text  # noqa: E402

from data_access.db import init_db, make_engine  # noqa: E402
from data_access.writes import sync_sequences  # noqa: E402
from data_access.models import (  # noqa: E402
    Alert, Base, Case, CaseAction, Category, Grid, Org, Region, Staff, StaffPing, StaffShift,
)

UTC = timezone.utc
US_MIN = 60_000_000
US_HOUR = 60 * US_MIN
US_DAY = 24 * US_HOUR
LOCAL_OFFSET = 8 * US_HOUR  # Asia/Shanghai: UTC+8 all year (no DST since 1991)

STREETS = [  # 太仓市's towns and sub-districts; codes are illustrative
    ("320585001", "娄东街道"), ("320585002", "陆渡街道"), ("320585100", "城厢镇"), ("320585101", "沙溪镇"),
    ("320585102", "浏河镇"), ("320585103", "浮桥镇"), ("320585104", "璜泾镇"), ("320585105", "双凤镇"),
]
SOURCES = ["patrol", "hotline", "resident", "video", "sensor", "department", "superior", "other"]
SOURCE_P = [0.55, 0.20, 0.09, 0.07, 0.02, 0.03, 0.02, 0.02]
HOUR_PROFILE = np.array([.2, .15, .1, .1, .15, .3, .5, .9, 1.6, 1.7, 1.7, 1.5, 1.0, 1.1,
                         1.6, 1.6, 1.5, 1.3, .9, .8, .7, .5, .4, .3])
HEAVY_CATEGORIES = {"0201": 14, "0103": 10, "0301": 10, "0101": 9, "0102": 5, "0303": 5, "0302": 4,
                    "0104": 3, "0603": 3, "0402": 3, "0901": 2, "1006": 2}


def local_midnight_us(us: int) -> int:
    return (us + LOCAL_OFFSET) // US_DAY * US_DAY - LOCAL_OFFSET


# --- geography ---------------------------------------------------------------------------------

@dataclass
class Geo:
    """What the case generator needs to know about the county."""

    county: str
    grids: pd.DataFrame      # code, community_code, street_code, lon, lat, weight, worker_id
    community_names: dict[str, str]
    street_names: dict[str, str]
    org_of_region: dict[str, int]
    org_of_dept: dict[str, int]
    center_org: int
    categories: pd.DataFrame  # minor categories: code, name, accept_minutes, dispatch_minutes, resolve_hours, dept_type


def load_categories() -> pd.DataFrame:
    df = pd.read_csv(REPO / "dashboard" / "resources" / "categories.csv", dtype=str)
    df = df[["code", "parent_code", "name", "tier", "accept_minutes", "dispatch_minutes", "resolve_hours", "dept_type"]]
    for col in ("accept_minutes", "dispatch_minutes", "resolve_hours"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    return df


def minimal_geography(rng: np.random.Generator, county: str, now_us: int, ping_days: int) -> dict[str, pd.DataFrame]:
    """Regions, grids, orgs, staff, a few days of shifts and pings: enough for every staffing figure."""
    regions = [("3205", "苏州市", "city", None), (county, "太仓市", "county", "3205")]
    grids = []
    cell = 0
    side = 30  # the grids sit on a 30 x 30 lattice over the county
    for street_code, street_name in STREETS:
        street_code = county + street_code[6:]
        regions.append((street_code, street_name, "street", county))
        for k in range(1, rng.integers(12, 16)):
            comm_code = f"{street_code}{k:03d}"
            regions.append((comm_code, f"{street_name[:2]}{k:02d}社区", "community", street_code))
            for j in range(1, rng.integers(8, 11)):
                x, y = cell % side, cell // side
                cell += 1
                lon0, lat0 = 120.98 + x * 0.0125, 31.40 + y * 0.0115
                ring = [[lon0, lat0], [lon0 + 0.0125, lat0], [lon0 + 0.0125, lat0 + 0.0115], [lon0, lat0 + 0.0115], [lon0, lat0]]
                households = int(rng.integers(150, 600))
                grids.append((f"{comm_code}{j:03d}", comm_code, f"第{j}网格",
                               "special" if rng.random() < 0.05 else "basic",
                               json.dumps({"type": "Polygon", "coordinates": [[[round(a, 5), round(b, 5)] for a, b in ring]]}),
                               households, int(households * rng.uniform(2.2, 3.2))))
    regions_df = pd.DataFrame(regions, columns=["code", "name", "level", "parent_code"]).assign(boundary=None)
    grids_df = pd.DataFrame(grids, columns=["code", "community_code", "name", "kind", "boundary", "households", "population"])

    orgs = [(1, "太仓市社会治理联动指挥中心", "center", county, None)]
    for code, name, level, _ in regions:
        if level in ("street", "community"):
            orgs.append((len(orgs) + 1, f"{name}{'分中心' if level == 'street' else '网格工作站'}", level, code, None))
    cats = load_categories()
    for dept in sorted(cats["dept_type"].dropna().unique()):
        orgs.append((len(orgs) + 1, f"{dept} 部门", "department", county, dept))
    orgs_df = pd.DataFrame(orgs, columns=["id", "name", "kind", "region_code", "dept_type"])
    org_of = dict(zip(orgs_df["region_code"].where(orgs_df["kind"] != "department"), orgs_df["id"]))

    staff = []
    for code, comm in zip(grids_df["code"], grids_df["community_code"]):
        n = rng.choice([0, 1, 2], p=[0.03, 0.85, 0.12])
        for _ in range(n):
            staff.append((len(staff) + 1, f"网格员{len(staff) + 1:04d}", "grid_worker", org_of[comm], code,
                          bool(rng.random() < 0.8), bool(rng.random() > 0.04)))
    for code, _, level, _ in regions:
        if level == "community":
            staff.append((len(staff) + 1, f"网格长{len(staff) + 1:04d}", "grid_leader", org_of[code], None, True, True))
    for _ in range(6):
        staff.append((len(staff) + 1, f"调度员{len(staff) + 1:04d}", "dispatcher", 1, None, True, True))
    staff_df = pd.DataFrame(staff, columns=["id", "name", "role", "org_id", "grid_code", "full_time", "active"])

    shifts_df, pings_df = _shifts_and_pings(rng, staff_df, grids_df, now_us, ping_days)
    return {"regions": regions_df, "grids": grids_df, "orgs": orgs_df, "staff": staff_df, "categories": cats,
            "staff_shifts": shifts_df, "staff_pings": pings_df}


def _shifts_and_pings(rng, staff_df, grids_df, now_us, ping_days):
    workers = staff_df[(staff_df["role"] == "grid_worker") & staff_df["active"]]
    today = local_midnight_us(now_us)
    rows = []  # staff_id, starts_at, ends_at
    for d in range(ping_days, -1, -1):
        day = today - d * US_DAY
        weekday = ((day + LOCAL_OFFSET) // US_DAY + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        p_day = 0.92 if weekday < 5 else 0.35
        for sid in workers["id"]:
            if rng.random() < p_day:
                rows.append((sid, day + 8 * US_HOUR + 30 * US_MIN, day + 17 * US_HOUR + 30 * US_MIN))
            if rng.random() < 0.18:
                rows.append((sid, day + 17 * US_HOUR + 30 * US_MIN, day + 21 * US_HOUR + 30 * US_MIN))
            if rng.random() < 0.04:
                rows.append((sid, day + 21 * US_HOUR + 30 * US_MIN, day + 32 * US_HOUR + 30 * US_MIN))
    sh = np.array(rows, dtype=np.int64)
    shifts = pd.DataFrame({"id": np.arange(1, len(sh) + 1), "staff_id": sh[:, 0], "starts_at": sh[:, 1], "ends_at": sh[:, 2]})

    # One ping a minute while on duty (about 10 % missing), up to now.
    minutes = np.clip((np.minimum(sh[:, 2], now_us) - sh[:, 1]) // US_MIN, 0, None)
    which = np.repeat(np.arange(len(sh)), minutes)
    k = np.arange(len(which)) - np.repeat(np.cumsum(minutes) - minutes, minutes)
    ts = sh[which, 1] + k * US_MIN + rng.integers(0, 45_000_000, len(which))
    keep = (rng.random(len(which)) > 0.10) & (ts <= now_us)
    which, ts = which[keep], ts[keep]
    staff_id = sh[which, 0]
    centre = _grid_centres(grids_df).set_index("code")
    grid_of = staff_df.set_index("id")["grid_code"]
    lon = centre["lon"].reindex(grid_of.reindex(staff_id).to_numpy()).to_numpy() + rng.normal(0, 0.003, len(ts))
    lat = centre["lat"].reindex(grid_of.reindex(staff_id).to_numpy()).to_numpy() + rng.normal(0, 0.003, len(ts))
    pings = pd.DataFrame({"staff_id": staff_id, "ts": ts, "lon": lon.round(6), "lat": lat.round(6)})
    return shifts, pings


def _grid_centres(grids_df: pd.DataFrame) -> pd.DataFrame:
    from shapely.geometry import shape

    lon, lat = [], []
    for b in grids_df["boundary"]:
        try:
            c = shape(json.loads(b)).centroid
            lon.append(c.x)
            lat.append(c.y)
        except Exception:  # NULL or invalid GeoJSON: bad rows exist
            lon.append(121.15)
            lat.append(31.55)
    return pd.DataFrame({"code": grids_df["code"].to_numpy(), "lon": lon, "lat": lat})


def geo_from_frames(county: str, f: dict[str, pd.DataFrame], rng: np.random.Generator) -> Geo:
    grids = f["grids"][f["grids"]["code"].str.startswith(county, na=False)].copy()
    grids = grids.merge(_grid_centres(grids), on="code")
    grids["street_code"] = grids["code"].str[:9]
    grids["weight"] = rng.lognormal(0, 0.6, len(grids))
    staff = f["staff"]
    workers = staff[(staff["role"] == "grid_worker") & staff["grid_code"].notna()].drop_duplicates("grid_code")
    grids = grids.merge(workers[["grid_code", "id"]].rename(columns={"grid_code": "code", "id": "worker_id"}),
                        on="code", how="left")
    regions, orgs = f["regions"], f["orgs"]
    non_dept = orgs[orgs["kind"] != "department"]
    depts = orgs[orgs["kind"] == "department"].dropna(subset=["dept_type"]).drop_duplicates("dept_type")
    centers = orgs[orgs["kind"] == "center"]["id"]
    cats = f["categories"]
    return Geo(
        county=county,
        grids=grids.reset_index(drop=True),
        community_names=dict(zip(regions["code"], regions["name"])),
        street_names=dict(zip(regions["code"], regions["name"])),
        org_of_region=dict(zip(non_dept["region_code"], non_dept["id"])),
        org_of_dept=dict(zip(depts["dept_type"], depts["id"])),
        center_org=int(centers.iloc[0]) if len(centers) else int(orgs["id"].min()),
        categories=cats[cats["code"].str.len() == 4].reset_index(drop=True),
    )


# --- the case history --------------------------------------------------------------------------

def bulk_cases(rng: np.random.Generator, geo: Geo, *, n: int, per_day: int, until_us: int, now_us: int,
               first_id: int, first_action_id: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` cases reported before ``until_us``, as they stand at ``now_us``, and their flow logs
    (``case_actions``, ids from ``first_action_id``). Timestamps: int64 epoch us."""
    days = int(np.ceil(n / per_day))
    first_day = local_midnight_us(until_us - 1) - (days - 1) * US_DAY  # local midnight, as UTC us

    # Day weights: adoption grows over the years, weekends are quiet, summer busier.
    d = np.arange(days)
    day_us = first_day + d * US_DAY
    weekday = ((day_us + LOCAL_OFFSET) // US_DAY + 3) % 7
    doy = ((day_us + LOCAL_OFFSET) // US_DAY) % 365
    w = np.linspace(0.6, 1.3, days) * np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.65, 0.55))
    w = w * (1 + 0.15 * np.sin(2 * np.pi * (doy - 110) / 365))
    hour_p = HOUR_PROFILE / HOUR_PROFILE.sum()
    last_day_share = np.concatenate([[0], np.cumsum(hour_p)])[min(24, (until_us - day_us[-1]) // US_HOUR)]
    w[-1] *= max(last_day_share, 0.01)
    day_idx = np.repeat(d, rng.multinomial(n, w / w.sum()))
    rep = (day_us[day_idx] + rng.choice(24, n, p=hour_p) * US_HOUR
           + rng.integers(0, US_HOUR // 1_000_000, n) * 1_000_000)
    late = rep >= until_us
    rep[late] = rng.integers(day_us[-1], until_us, late.sum()) // 1_000_000 * 1_000_000
    rep.sort()

    cats = geo.categories
    cw = np.array([HEAVY_CATEGORIES.get(c, 0.3 if t == "U" else 1.0) for c, t in zip(cats["code"], cats["tier"])])
    ci = rng.choice(len(cats), n, p=cw / cw.sum())
    cat_code = cats["code"].to_numpy(dtype=object)[ci]
    tier = cats["tier"].to_numpy(dtype=object)[ci]
    acc_min = cats["accept_minutes"].fillna(60).to_numpy(dtype=np.int64)[ci]
    dis_min = cats["dispatch_minutes"].fillna(60).to_numpy(dtype=np.int64)[ci]
    res_h = cats["resolve_hours"].fillna(24).to_numpy(dtype=np.int64)[ci]
    unknown_cat = rng.random(n) < 0.001  # bad rows: a code the category tree does not know
    cat_code[unknown_cat] = "9999"

    gw = geo.grids["weight"].to_numpy()
    gi = rng.choice(len(geo.grids), n, p=gw / gw.sum())
    unlocated = rng.random(n) < 0.005  # 未定位
    grid_code = geo.grids["code"].to_numpy(dtype=object)[gi]
    grid_code[unlocated] = None

    source = np.array(SOURCES, dtype=object)[rng.choice(len(SOURCES), n, p=SOURCE_P)]
    urgent_tier = tier == "U"
    u = rng.random(n)
    urgency = np.where(urgent_tier, np.where(u < 0.4, "critical", "urgent"),
                       np.where(u < 0.005, "critical", np.where(u < 0.055, "urgent", "normal"))).astype(object)

    # Deadlines as the platform set them at intake.
    accept_due = rep + acc_min * US_MIN
    dispatch_due = rep + (acc_min + dis_min) * US_MIN
    resolve_due = rep + res_h * US_HOUR
    no_due = unknown_cat | (rng.random(n) < 0.002)
    accept_due[unknown_cat] = NAT
    dispatch_due[unknown_cat] = NAT
    resolve_due[no_due] = NAT

    # The life of each case, as it would run to the end.
    accepted = rep + (rng.exponential(0.35, n) * acc_min * US_MIN).astype(np.int64) + 10_000_000
    dispatched = accepted + (rng.exponential(0.35, n) * dis_min * US_MIN).astype(np.int64) + 15_000_000
    ratio = rng.lognormal(np.log(0.45), 0.5, n)
    closed = np.maximum(rep + (ratio * res_h * US_HOUR).astype(np.int64), dispatched + 5 * US_MIN)
    fate = rng.random(n)
    rejected = fate < 0.035
    merged = (fate >= 0.035) & (fate < 0.055)
    closed[rejected] = rep[rejected] + (rng.exponential(30, rejected.sum()) * US_MIN).astype(np.int64) + US_MIN
    closed[merged] = rep[merged] + (rng.exponential(60, merged.sum()) * US_MIN).astype(np.int64) + US_MIN
    age_days = (now_us - rep) / US_DAY
    stuck = ~rejected & ~merged & (rng.random(n) < np.where(age_days < 365, 0.008, 0.0002))  # 挂账, never closed
    closed[stuck] = NAT
    status = np.where(rejected, "rejected", np.where(merged, "merged", "closed")).astype(object)

    # What is known at now: later steps have not happened yet.
    future_close = closed > now_us
    planned_close = closed.copy()
    closed[future_close] = NAT
    accepted[rejected | (accepted > now_us)] = NAT
    dispatched[rejected | merged | (dispatched > now_us) | (accepted == NAT)] = NAT
    is_open = closed == NAT
    progress = np.where(planned_close == NAT, 0.5,
                        (now_us - dispatched) / np.maximum(planned_close - dispatched, 1))
    open_status = np.where(accepted == NAT, "reported", np.where(dispatched == NAT, "accepted",
                           np.where(progress < 0.05, "dispatched", np.where(progress < 0.85, "handling", "verifying"))))
    status[is_open] = open_status[is_open]

    # Where it sits, and the side paths it took.
    self_resolvable = (source == "patrol") & np.isin(tier, ["A", "B"])
    lv = rng.random(n)
    level = np.where(self_resolvable & (lv < 0.45), "grid",
                     np.where(lv < 0.6, "community", np.where(lv < 0.88, "street", "county"))).astype(object)
    escalations = np.where(level == "county", 1 + rng.poisson(0.3, n),
                           np.where(level == "street", rng.poisson(0.4, n), rng.poisson(0.05, n)))
    escalations[level == "grid"] = 0
    overdue_close = (planned_close != NAT) & (resolve_due != NAT) & (planned_close > resolve_due)
    urges = rng.poisson(0.01, n) + overdue_close * rng.poisson(0.5, n)  # drawn; the flow log writes those due by now
    rated = (status == "closed") & (rng.random(n) < 0.55)
    satisfaction = pd.array(np.where(rated, rng.choice([1, 2, 3, 4, 5], n, p=[.01, .025, .065, .2, .7]), 0),
                            dtype="Int16")
    satisfaction[~rated] = pd.NA

    comm = geo.grids["community_code"].to_numpy(dtype=object)[gi]
    street = geo.grids["street_code"].to_numpy(dtype=object)[gi]
    region_org = pd.Series(geo.org_of_region)
    dept = cats["dept_type"].to_numpy(dtype=object)[ci]
    handler = np.where(np.isin(level, ["grid", "community"]), region_org.reindex(comm).to_numpy(),
                       np.where(level == "street", region_org.reindex(street).to_numpy(),
                                pd.Series(geo.org_of_dept).reindex(dept).to_numpy()))
    handler = np.where(pd.isna(handler), geo.center_org, handler).astype(np.int64)

    # The flow log (case_actions) of each case, and the case columns it decides.
    accepted[merged] = NAT  # a duplicate is merged instead of accepted
    intake = np.where(source == "patrol", region_org.reindex(comm).to_numpy(), np.nan)
    intake = np.where(pd.isna(intake), geo.center_org, intake).astype(np.int64)
    flow = bulk_flow_logs(rng, n=n, now_us=now_us, first_case_id=first_id, first_action_id=first_action_id,
                          rep=rep, accepted=accepted, dispatched=dispatched, closed=closed,
                          planned_close=planned_close, resolve_due=resolve_due, window=res_h * US_HOUR,
                          slow=~np.isin(tier, ["U", "A"]), status=status, intake=intake, handler=handler,
                          dept_orgs=np.array(sorted(set(geo.org_of_dept.values())), dtype=np.int64),
                          center=geo.center_org, rated=rated, escalations=escalations, urges=urges)
    resolve_due, escalations, returns, reworks, urges = (flow.counters[k] for k in (
        "resolve_due", "escalations", "returns", "reworks", "urges"))
    satisfaction[~flow.counters["rated"]] = pd.NA
    handler = pd.array(handler, dtype="Int64")

    reporter = pd.array(geo.grids["worker_id"].to_numpy(dtype="float64")[gi], dtype="Int64")
    reporter[(source != "patrol") | unlocated] = pd.NA

    lon = geo.grids["lon"].to_numpy()[gi] + rng.normal(0, 0.004, n)
    lat = geo.grids["lat"].to_numpy()[gi] + rng.normal(0, 0.004, n)
    no_xy = unlocated | (rng.random(n) < 0.02)
    lon, lat = np.where(no_xy, np.nan, lon.round(6)), np.where(no_xy, np.nan, lat.round(6))

    local_day = pd.to_datetime((rep + LOCAL_OFFSET) // US_DAY * US_DAY, unit="us").strftime("%Y%m%d").to_numpy()
    day_key = (rep + LOCAL_OFFSET) // US_DAY
    _, first = np.unique(day_key, return_index=True)
    seq = np.arange(n) - np.repeat(first, np.diff(np.append(first, n))) + 1
    code = pd.Series([f"{geo.county}-"] * n) + pd.Series(local_day) + "-" + pd.Series(seq).astype(str).str.zfill(5)

    title = cats["name"].to_numpy(dtype=object)[ci]
    address = (pd.Series(comm).map(geo.community_names).fillna("")
               + pd.Series(rng.integers(1, 300, n)).astype(str) + "号附近")
    address[unlocated | (rng.random(n) < 0.1)] = None
    description = np.where(rng.random(n) < 0.1, np.char.add("群众反映：", title.astype(str)), None)

    ids = np.arange(first_id, first_id + n)
    merged_into = pd.array(np.where(merged, np.maximum(ids - rng.integers(1, 200, n), first_id), 0), dtype="Int64")
    merged_into[~merged] = pd.NA
    updated = np.maximum(np.maximum.reduce([rep, accepted, dispatched, closed]), flow.last_ts)  # NAT is the smallest

    # Bad rows the platform really has: a few cases timestamped in the future, a few with none.
    future = rng.choice(n, 10, replace=False)
    rep[future] = now_us + rng.integers(1, 30, 10) * US_DAY
    updated[future] = rep[future]

    return pd.DataFrame({
        "id": ids, "code": code.to_numpy(), "title": title, "description": description, "category_code": cat_code,
        "source": source, "urgency": urgency, "reported_at": rep, "lon": lon, "lat": lat, "grid_code": grid_code,
        "address": address.to_numpy(), "reporter_staff_id": reporter, "status": status, "level": level,
        "handler_org_id": handler, "accept_due_at": accept_due, "dispatch_due_at": dispatch_due,
        "resolve_due_at": resolve_due, "accepted_at": accepted, "dispatched_at": dispatched, "closed_at": closed,
        "escalations": escalations, "returns": returns, "reworks": reworks, "urges": urges,
        "satisfaction": satisfaction, "merged_into": merged_into, "updated_at": updated,
    }), flow.actions


@dataclass
class FlowLogs:
    actions: pd.DataFrame        # case_actions rows
    counters: dict[str, np.ndarray]  # the case columns the flow log decides
    last_ts: np.ndarray          # each case's last step (NAT when none)


ACTION_NOTES = {"report": "上报", "accept": "受理立案", "reject": "不予立案", "merge": "与在办事件重复，合并办理",
                "escalate": "超出处置权限，提请上级派遣", "dispatch": "派遣处置", "return": "非本单位职责，申请退回",
                "sign": "签收", "extend": "申请延期，已批准", "urge": "超期督办", "handle": "处置完毕，反馈结果",
                "rework": "核查未通过，返工", "verify": "核查通过", "close": "结案", "comment": "回访"}


def bulk_flow_logs(rng: np.random.Generator, *, n: int, now_us: int, first_case_id: int, first_action_id: int,
                   rep, accepted, dispatched, closed, planned_close, resolve_due, window, slow, status, intake,
                   handler, dept_orgs, center: int, rated, escalations, urges) -> FlowLogs:
    """The case_actions of the bulk cases, vectorised, in the synthetic county's proportions
    (dashboard/synth/lifecycle.py; per case: ~1 dispatch, 3.3 % returned, 1.2 % bounced at least
    twice, 3.8 % reworked, 1.7 % extended, 3 % urged, 0.4 escalations, comments on rated cases).

    Steps after ``now_us`` are not written (the case is still in progress); the case's counters,
    its deadline (an extension moves it later) and its rating follow the steps written. The
    handling steps sit at fixed fractions of the time from the first dispatch to the planned close,
    so each case's steps are strictly increasing.
    """
    idx_all = np.arange(n)
    NONE = np.full(n, -1, dtype=np.int64)
    parts: list[tuple] = []

    def add(mask, ts, action, from_org=NONE, to_org=NONE):
        ts = np.broadcast_to(ts, (n,))
        ok = mask & (ts != NAT) & (ts <= now_us)
        i = idx_all[ok]
        f = np.broadcast_to(from_org, (n,))[ok]
        t = np.broadcast_to(to_org, (n,))[ok]
        parts.append((i, ts[ok].astype(np.int64), action, f, t))
        return ok

    live = (status != "rejected") & (status != "merged")
    dispatched_ok = live & (dispatched != NAT)
    stuck = planned_close == NAT
    end = np.where(stuck, dispatched + 3 * window, planned_close)
    span = np.where(dispatched_ok, end - dispatched, 0).astype(np.float64)

    def at(frac):
        return np.where(dispatched_ok, dispatched + (span * frac).astype(np.int64), NAT)

    add(np.ones(n, bool), rep, "report", to_org=intake)
    add(status == "rejected", closed, "reject", from_org=intake)
    add(status == "merged", closed, "merge", from_org=intake)
    add(live & (accepted != NAT), accepted, "accept", to_org=intake)

    # Escalations before the dispatch, up the chain to the centre.
    n_esc = np.where(dispatched_ok & (accepted != NAT), np.minimum(escalations, 3), 0)
    for j in range(3):
        gap = np.where(n_esc > j, dispatched - accepted, 0)
        ts = np.where(n_esc > j, accepted + (gap * (j + 1) / (n_esc + 1)).astype(np.int64), NAT)
        add(n_esc > j, ts, "escalate", from_org=intake, to_org=center)

    # Dispatch, returns (回退) and re-dispatch; two or three returns bounce between two departments.
    u = rng.random(n)
    k = np.where(dispatched_ok, np.where(u < 0.004, 3, np.where(u < 0.012, 2, np.where(u < 0.033, 1, 0))), 0)
    ia = rng.integers(0, len(dept_orgs), n)
    pair = (dept_orgs[ia], dept_orgs[(ia + 1 + rng.integers(0, len(dept_orgs) - 1, n)) % len(dept_orgs)])
    dispatcher = np.where(np.isin(handler, dept_orgs), center, intake)
    for j in range(4):
        to = np.where(k == j, handler, pair[j % 2])
        add(dispatched_ok & (k >= j), at(0.06 * j), "dispatch", from_org=dispatcher, to_org=to)
        if j < 3:
            add(k > j, at(0.06 * j + 0.03), "return", from_org=pair[j % 2], to_org=dispatcher)
    add(dispatched_ok, at(0.2), "sign", to_org=handler)

    # Extension (延期): asked before the deadline by a slow case's handler who will overrun.
    ts_ext = at(rng.uniform(0.3, 0.5, n))
    wants = (dispatched_ok & slow & ~stuck & (resolve_due != NAT) & (planned_close > rep + 0.8 * window)
             & (rng.random(n) < 0.27) & (ts_ext < resolve_due))
    extended = add(wants, ts_ext, "extend", from_org=handler, to_org=center)
    covers = rng.random(n) < 0.8
    more = (window * rng.uniform(0.1, 0.5, n)).astype(np.int64)
    granted = np.where(covers, np.maximum(resolve_due, planned_close) + more, resolve_due + (planned_close - resolve_due) // 2)
    granted = -(-granted // US_HOUR) * US_HOUR
    resolve_due = np.where(extended, np.maximum(granted, resolve_due), resolve_due)

    # Urges (督办) while it is handled, from the centre.
    n_urge = np.where(dispatched_ok, np.minimum(urges, 3), 0)
    for j in range(3):
        add(n_urge > j, at(0.6 + 0.08 * j), "urge", from_org=center, to_org=handler)

    # Handle, verify (返工 rework), close, and the rating call.
    done = dispatched_ok & ~stuck
    rework = done & (status == "closed") & (rng.random(n) < 0.04)
    add(done, at(np.where(rework, 0.84, 0.9)), "handle", from_org=handler)
    add(rework, at(0.87), "rework", from_org=intake, to_org=handler)
    add(rework, at(0.92), "handle", from_org=handler)
    add(done, at(0.96), "verify")
    add(done & (status == "closed"), closed, "close")
    called = add(rated, closed + (rng.lognormal(np.log(5.0), 0.8, n) * US_HOUR).astype(np.int64), "comment",
                 from_org=np.full(n, center))

    idx = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    action = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
    from_org = np.concatenate([p[3] for p in parts])
    to_org = np.concatenate([p[4] for p in parts])
    order = np.lexsort((ts, idx))
    idx, ts, action, from_org, to_org = idx[order], ts[order], action[order], from_org[order], to_org[order]
    count = {a: np.bincount(idx[action == a], minlength=n) for a in ("escalate", "return", "rework", "urge")}
    last_ts = np.full(n, NAT, dtype=np.int64)
    np.maximum.at(last_ts, idx, ts)

    def org(x):
        out = pd.array(x, dtype="Int64")
        out[x < 0] = pd.NA
        return out

    actions = pd.DataFrame({
        "id": np.arange(first_action_id, first_action_id + len(idx)), "case_id": first_case_id + idx, "ts": ts,
        "action": action, "from_org_id": org(from_org), "to_org_id": org(to_org), "actor_staff_id": pd.NA,
        "note": pd.Series(action).map(ACTION_NOTES).to_numpy(),
    })
    return FlowLogs(actions, {"resolve_due": resolve_due, "escalations": count["escalate"], "returns": count["return"],
                              "reworks": count["rework"], "urges": count["urge"], "rated": called}, last_ts)


def bulk_alerts(rng: np.random.Generator, geo: Geo, *, n: int, now_us: int, first_id: int) -> pd.DataFrame:
    """Alert history: recent ones still new or acknowledged, older ones resolved or dismissed."""
    created = np.sort(now_us - (rng.exponential(200, n) * US_DAY).astype(np.int64))
    codes = np.concatenate([geo.grids["code"].to_numpy(dtype=object), geo.grids["community_code"].unique(),
                            geo.grids["street_code"].unique(), [geo.county]])
    region = codes[rng.integers(0, len(codes), n)]
    kind = np.array(["spike", "cluster", "repeat", "sla", "staffing", "underreport", "sensitive", "stale"],
                    dtype=object)[rng.integers(0, 8, n)]
    age = (now_us - created) / US_DAY
    s = rng.random(n)
    status = np.where(age < 2, np.where(s < 0.6, "new", "acknowledged"),
                      np.where(s < 0.02, "new", np.where(s < 0.05, "acknowledged",
                               np.where(s < 0.8, "resolved", "dismissed")))).astype(object)
    ack_at = np.where(status != "new", created + (rng.exponential(30, n) * US_MIN).astype(np.int64), NAT)
    ack_at = np.where(ack_at > now_us, NAT, ack_at)
    resolved = np.where(np.isin(status, ["resolved", "dismissed"]), ack_at + US_DAY, NAT)
    resolved = np.where((resolved > now_us) | (ack_at == NAT), NAT, resolved)
    ids = np.arange(first_id, first_id + n)
    return pd.DataFrame({
        "id": ids, "created_at": created, "kind": kind,
        "severity": np.array(["info", "warning", "critical"], dtype=object)[rng.choice(3, n, p=[.3, .55, .15])],
        "region_code": region, "category_code": None, "title": np.char.add("bench ", kind.astype(str)), "detail": "{}",
        "status": status, "ack_by": np.where(ack_at != NAT, "duty", None), "ack_at": ack_at,
        "resolved_at": resolved, "source": "gridwall", "dedup_key": "bench:" + pd.Series(ids).astype(str).to_numpy(),
    })


# --- writing -----------------------------------------------------------------------------------

TS_COLUMNS = {t.name: [c.name for c in t.columns if c.type.__class__.__name__ == "UTCDateTime"]
              for t in Base.metadata.sorted_tables}
MODELS = {m.__tablename__: m for m in (Region, Grid, Org, Staff, StaffShift, StaffPing, Category, Case, CaseAction,
                                       Alert)}


def _prepared(table: str, df: pd.DataFrame, *, sqlite: bool) -> pd.DataFrame:
    """The frame in the table's column order, timestamps as the backend stores them."""
    cols = [c.name for c in MODELS[table].__table__.columns if c.name in df.columns]
    out = df[cols].copy()
    for col in TS_COLUMNS[table]:
        if col in out.columns and out[col].dtype == np.int64:
            out[col] = us_to_text(out[col].to_numpy(), sqlite=sqlite)
    return out


def write_pg(engine, table: str, df: pd.DataFrame, chunk: int = 200_000) -> None:
    out = _prepared(table, df, sqlite=False)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute("SET synchronous_commit = off")
            with cur.copy(f"COPY {table} ({', '.join(out.columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, len(out), chunk):
                    buf = io.StringIO()
                    out.iloc[start:start + chunk].to_csv(buf, index=False, header=False)
                    copy.write(buf.getvalue())
        conn.commit()
    finally:
        raw.close()


def write_sqlite(path: Path, table: str, df: pd.DataFrame, chunk: int = 100_000) -> None:
    out = _prepared(table, df, sqlite=True)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA synchronous=OFF")
        sql = f"INSERT INTO {table} ({', '.join(out.columns)}) VALUES ({', '.join('?' * len(out.columns))})"
        with con:
            for start in range(0, len(out), chunk):
                part = out.iloc[start:start + chunk].astype(object)
                part = part.where(part.notna(), None)
                con.executemany(sql, part.itertuples(index=False, name=None))
    finally:
        con.close()


def reset(backend: str):
    """A wiped bench database with every table; returns its engine."""
    if backend == "sqlite":
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        engine = make_engine(SQLITE_URL)
    else:
        ensure_pg_database()
        engine = make_engine(PG_URL)
        Base.metadata.drop_all(engine)
    init_db(engine)
    return engine


def bulk_write(engine, backend: str, table: str, df: pd.DataFrame) -> None:
    """Write ``df`` with the table's secondary indexes dropped, then rebuild them."""
    indexes = list(MODELS[table].__table__.indexes)
    with engine.begin() as conn:
        for idx in indexes:
            idx.drop(conn)
    if backend == "sqlite":
        engine.dispose()
        write_sqlite(SQLITE_PATH, table, df)
    else:
        write_pg(engine, table, df)
    with engine.begin() as conn:
        for idx in indexes:
            idx.create(conn)


def analyze(engine, backend: str) -> None:
    if backend == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return
    # VACUUM too: autovacuum would have set the visibility map on a live platform database.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def seed_module():
    try:
        from dashboard.synth.seed import seed_county
    except ImportError:
        return None
    return seed_county


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--cases", type=int, default=1_000_000, help="cases in total (bulk history + seeded window)")
    ap.add_argument("--per-day", type=int, default=400)
    ap.add_argument("--recent-days", type=int, default=3,
                    help="days written by seed_county (or of shifts/pings by the minimal generator)")
    ap.add_argument("--alerts", type=int, default=3000)
    ap.add_argument("--county", default="320585")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--now", help="ISO moment the data ends at (default: now, whole seconds)")
    ap.add_argument("--minimal-geography", action="store_true", help="ignore dashboard.synth.seed even if present")
    args = ap.parse_args(argv)

    now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else datetime.now(UTC).replace(microsecond=0)
    now_us = int(now.timestamp()) * 1_000_000 + now.microsecond
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    seed_county = None if args.minimal_geography else seed_module()
    meta = read_meta()
    meta.update({"now": now.isoformat(), "seed": args.seed, "county": args.county,
                 "geography": "dashboard.synth.seed.seed_county" if seed_county else "bench minimal generator"})
    meta.setdefault("loaded", {})

    frames = None
    for backend in backends:
        t0 = time.perf_counter()
        engine = reset(backend)
        rng = np.random.default_rng(args.seed)
        if seed_county is not None:
            stats = seed_county(engine, county=args.county, days=args.recent_days, seed=args.seed, now=now)
            print(f"[{backend}] seed_county({args.recent_days} days): {stats}  {time.perf_counter() - t0:.1f}s", flush=True)
            with engine.connect() as conn:
                f = {name: pd.read_sql_table(name, conn) for name in ("regions", "grids", "orgs", "staff", "categories")}
                seeded = conn.execute(text("SELECT count(*), coalesce(max(id), 0) FROM cases")).one()
                first_alert = conn.execute(text("SELECT coalesce(max(id), 0) FROM alerts")).scalar_one() + 1
                first_action = conn.execute(text("SELECT coalesce(max(id), 0) FROM case_actions")).scalar_one() + 1
            until_us = local_midnight_us(now_us) - (args.recent_days - 1) * US_DAY  # where the seed's days begin
            n_bulk, first_id = args.cases - int(seeded[0]), int(seeded[1]) + 1
        else:
            f = minimal_geography(rng, args.county, now_us, args.recent_days)
            for table in ("regions", "grids", "orgs", "staff", "categories", "staff_shifts", "staff_pings"):
                bulk_write(engine, backend, table, f[table])
            until_us, n_bulk, first_id, first_alert, first_action = now_us, args.cases, 1, 1, 1
        t_geo = time.perf_counter()

        if frames is None:  # the same rows for every backend
            geo = geo_from_frames(args.county, f, rng)
            cases, actions = bulk_cases(rng, geo, n=n_bulk, per_day=args.per_day, until_us=until_us, now_us=now_us,
                                        first_id=first_id, first_action_id=first_action)
            frames = (cases, bulk_alerts(rng, geo, n=args.alerts, now_us=now_us, first_id=first_alert), actions)
            print(f"generated {len(frames[0]):,} cases, {len(frames[2]):,} case actions, {len(frames[1]):,} alerts in "
                  f"{time.perf_counter() - t_geo:.1f}s", flush=True)
        t_gen = time.perf_counter()
        bulk_write(engine, backend, "cases", frames[0])
        bulk_write(engine, backend, "alerts", frames[1])
        bulk_write(engine, backend, "case_actions", frames[2])
        with engine.begin() as conn:
            sync_sequences(conn)
        t_write = time.perf_counter()
        analyze(engine, backend)
        t_end = time.perf_counter()
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in ("grids", "staff", "staff_shifts", "staff_pings", "cases", "case_actions", "alerts")}
            open_now = conn.execute(
                text("SELECT count(*) FROM cases WHERE closed_at IS NULL AND reported_at <= :t"),
                {"t": now if backend == "postgresql" else now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")},
            ).scalar_one()
        engine.dispose()
        timing = {"geography_s": round(t_geo - t0, 1), "cases_write_s": round(t_write - t_gen, 1),
                  "analyze_s": round(t_end - t_write, 1), "total_s": round(t_end - t0, 1)}
        print(f"[{backend}] {counts} open_now={open_now} {timing}", flush=True)
        meta["loaded"][backend] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": counts,
                                   "open_now": open_now, **timing}
    write_meta(meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
