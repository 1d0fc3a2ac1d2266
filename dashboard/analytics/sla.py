"""超期风险: cases about to breach with no progress, rolled up by the org holding them; and a
sudden growth of one org's backlog (积压骤增).

Pure functions over the frames of ``data_access.feeds_ops``; times are aware UTC pandas Timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import stats

from .findings import Finding

UNKNOWN_ORG = "未明确承办单位"


@dataclass(frozen=True)
class SlaRules:
    used_share: float = 0.8                         # yellow light: 80 % of the resolve time used (domain.md)
    due_soon: timedelta = timedelta(minutes=15)     # acceptance / dispatch due within this
    # "No progress": no action for a quarter of the case's resolve time, between these bounds
    # (a 4-hour case idle for an hour is stuck; a 15-day case may rest for a day).
    stall_share: float = 0.25
    stall_min: timedelta = timedelta(minutes=30)
    stall_max: timedelta = timedelta(hours=24)
    min_cases: int = 3          # cases at risk that raise an org's alert ...
    keep_cases: int = 2         # ... and keep an open one open (hysteresis against flapping)
    critical_overdue: int = 3   # already overdue among them: critical
    max_listed: int = 20        # case ids kept in the evidence


def at_risk_cases(cases: pd.DataFrame, at: pd.Timestamp, rules: SlaRules = SlaRules()) -> pd.DataFrame:
    """The cases about to breach (or breached) with no progress, as of ``at``.

    A case is at risk in its resolve phase when at least ``used_share`` of its resolve time is
    used and it has had no progress for its stall time; in its accept (dispatch) phase when it is
    not accepted (dispatched) by ``at`` and that is due within ``due_soon`` or overdue: pending is
    itself no progress. Adds columns phase, due_at, used, overdue, idle_hours; most urgent first.
    """
    if cases.empty:
        return cases.assign(phase=[], due_at=[], used=[], overdue=[], idle_hours=[])
    at = pd.Timestamp(at)
    df = cases.copy()
    span = df["resolve_due_at"] - df["reported_at"]
    span_s = span.dt.total_seconds()
    used = (at - df["reported_at"]).dt.total_seconds() / span_s.where(span_s > 0)
    idle = at - df["last_progress_at"]
    stall = (span * rules.stall_share).clip(lower=pd.Timedelta(rules.stall_min), upper=pd.Timedelta(rules.stall_max))
    stall = stall.fillna(pd.Timedelta(rules.stall_max))
    resolve_risk = (used >= rules.used_share) & (idle >= stall)
    soon = at + pd.Timedelta(rules.due_soon)
    accept_risk = df["accepted_at"].isna() & (df["accept_due_at"] <= soon)
    dispatch_risk = df["dispatched_at"].isna() & (df["dispatch_due_at"] <= soon) & ~accept_risk

    df["phase"] = np.select([resolve_risk, accept_risk, dispatch_risk], ["resolve", "accept", "dispatch"], "")
    df["due_at"] = df["resolve_due_at"].where(df["phase"] == "resolve",
                                              df["accept_due_at"].where(df["phase"] == "accept", df["dispatch_due_at"]))
    df["used"] = used.round(3)
    df["overdue"] = df["due_at"] < at
    df["idle_hours"] = (idle.dt.total_seconds() / 3600).round(1)
    out = df[df["phase"] != ""]
    return out.sort_values(["overdue", "due_at"], ascending=[False, True], kind="stable")


def sla_risk_findings(risky: pd.DataFrame, orgs: pd.DataFrame, at: pd.Timestamp, root: str,
                      open_keys: frozenset[str] = frozenset(), rules: SlaRules = SlaRules()) -> list[Finding]:
    """One finding per holding org with at least ``min_cases`` cases at risk (``keep_cases`` when
    its alert is already open); critical when ``critical_overdue`` of them are already overdue."""
    names = _org_index(orgs)
    out = []
    holders = pd.array(risky["holder_org_id"], dtype="Int64").fillna(-1).astype(int)
    for org_id, group in risky.groupby(np.asarray(holders), sort=True):
        org_id = int(org_id)
        key = f"sla:risk:org:{org_id if org_id >= 0 else 'none'}"
        n = len(group)
        if n < (rules.keep_cases if key in open_keys else rules.min_cases):
            continue
        overdue = int(group["overdue"].sum())
        name, kind, region = names.get(org_id, (UNKNOWN_ORG, None, None))
        title = f"{n}件事件临期无进展" + (f"，其中{overdue}件已超期" if overdue else "") + f" · {name}"
        listed = group.head(rules.max_listed)
        out.append(Finding(
            kind="sla", severity="critical" if overdue >= rules.critical_overdue else "warning",
            region_code=_region_in(region, root), title=title, dedup_key=key,
            detail={
                "observed": n, "overdue": overdue, "expected": 0, "threshold": rules.min_cases,
                "score": n, "window": {"to": at.isoformat()},
                "org": {"id": org_id if org_id >= 0 else None, "name": name, "kind": kind},
                "phases": {k: int(v) for k, v in group["phase"].value_counts().items()},
                "case_ids": [int(i) for i in listed["id"]],
                "cases": [{"id": int(r.id), "code": r.code, "phase": r.phase, "due_at": _iso(r.due_at),
                           "used": None if pd.isna(r.used) else float(r.used), "idle_hours": float(r.idle_hours)}
                          for r in listed.itertuples()],
            }))
    return out


@dataclass(frozen=True)
class BacklogRules:
    p_value: float = 0.001          # upper tail of the 4-week distribution (negative binomial)
    min_increase: int = 5           # cases above the 4-week mean ...
    min_ratio: float = 1.5          # ... and this many times it
    min_history: int = 14           # days of history needed


def backlog_growth(backlog: pd.DataFrame, rules: BacklogRules = BacklogRules()) -> pd.DataFrame:
    """Orgs whose open count now (column 0) is far above their counts at the same time on the
    previous days (columns 1..n): a negative binomial fitted to those by moments (Poisson when
    they are not overdispersed); flagged when P(X >= now) < p_value and the growth is material.

    Returns one row per flagged org: observed, expected (mean), sd, z, p_value.
    """
    cols = ["observed", "expected", "sd", "z", "p_value"]
    if backlog.empty or backlog.shape[1] - 1 < rules.min_history:
        return pd.DataFrame(columns=cols)
    now = backlog[0].to_numpy(dtype=float)
    hist = backlog.drop(columns=[0]).to_numpy(dtype=float)
    mean = hist.mean(axis=1)
    var = hist.var(axis=1, ddof=1)
    p_val = np.array([_upper_tail(x, mu, v) for x, mu, v in zip(now, mean, var)])
    sd = np.sqrt(var)
    z = np.where(sd > 0, (now - mean) / np.where(sd > 0, sd, 1), np.inf)
    flag = ((p_val < rules.p_value) & (now - mean >= rules.min_increase) & (now >= rules.min_ratio * mean))
    out = pd.DataFrame({"observed": now.astype(int), "expected": mean.round(1), "sd": sd.round(2),
                        "z": np.round(z, 2), "p_value": p_val}, index=backlog.index)
    return out[flag]


def _upper_tail(x: float, mu: float, var: float) -> float:
    """P(X >= x) for X negative binomial with this mean and variance (Poisson when var <= mean)."""
    if mu <= 0:
        return 0.0 if x > 0 else 1.0
    if var > mu:
        r = mu * mu / (var - mu)
        return float(stats.nbinom.sf(x - 1, r, r / (r + mu)))
    return float(stats.poisson.sf(x - 1, mu))


def backlog_findings(flagged: pd.DataFrame, orgs: pd.DataFrame, at: pd.Timestamp, root: str,
                     days: int) -> list[Finding]:
    names = _org_index(orgs)
    out = []
    for org_id, r in flagged.iterrows():
        name, kind, region = names.get(int(org_id), (UNKNOWN_ORG, None, None))
        out.append(Finding(
            kind="sla", severity="warning", region_code=_region_in(region, root),
            title=f"积压骤增：在办{int(r.observed)}件，近{days // 7}周同期通常{r.expected:.0f}件 · {name}",
            dedup_key=f"sla:backlog:org:{int(org_id)}",
            detail={"observed": int(r.observed), "expected": float(r.expected), "sd": float(r.sd),
                    "score": None if not np.isfinite(r.z) else float(r.z), "p_value": float(r.p_value),
                    "window": {"from": (at - pd.Timedelta(days=days)).isoformat(), "to": at.isoformat()},
                    "org": {"id": int(org_id), "name": name, "kind": kind}, "case_ids": []}))
    return out


def _org_index(orgs: pd.DataFrame) -> dict[int, tuple[str, str | None, str | None]]:
    return {int(r.id): (r.name or f"单位{int(r.id)}", r.kind, r.region_code) for r in orgs.itertuples()}


def _region_in(region: str | None, root: str) -> str:
    """The org's jurisdiction when it is a well-formed code inside the root, else the root."""
    if isinstance(region, str) and region.isdigit() and len(region) in (2, 4, 6, 9, 12) and region.startswith(root):
        return region
    return root


def _iso(ts) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()
