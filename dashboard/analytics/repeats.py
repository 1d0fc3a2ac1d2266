"""Repeats (重复多发) and rebounds (反弹): the same problem reported again and again at one place.

A place is a normalised address, or a grid and minor category. A *repeat* is a place with at
least ``n`` reports in the last ``m_days``; its episode is the chain of reports at that place whose
gaps are at most ``m_days``, and the episode's first report names the situation (stable while the
chain goes on). A *rebound* is a report of the same minor category at the same address within ``rebound_days``
after an earlier case there was closed (结案后反弹); a grid is too coarse a place for that (in a
busy grid the same kind of problem comes back within days by chance).

Cases merged as duplicates (重复合并) are one problem reported twice, not a recurrence: they are
left out. Inputs are frames of ``data_access.feeds_cases.repeat_cases``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

_NOISE = re.compile(r"[\s\-_,，.。;；:：/\\()（）\[\]【】'\"“”‘’·、]+")
_TRAILING = re.compile(r"(附近|旁边|旁|对面|门口|周边|一带|处)+$")


@dataclass(frozen=True)
class RepeatParams:
    n: int = 3
    m_days: float = 7.0
    grid_n: int = 5              # grid + minor category is a coarser place: a higher bar
    rebound_days: float = 7.0
    max_case_ids: int = 50


def normalise_address(text) -> str | None:
    """Address text folded for comparison (NFKC, no spaces or punctuation, no trailing 附近/旁...)."""
    if not isinstance(text, str):
        return None
    folded = _NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()
    folded = _TRAILING.sub("", folded)
    return folded if len(folded) >= 4 else None


@dataclass
class Repeat:
    place_kind: str        # "address" or "grid"
    place: str             # the normalised address, or "grid|minor"
    grid_code: str | None
    category_code: str | None
    first_id: int          # the episode's first report
    case_ids: list[int]    # reports in the last m_days
    count: int
    first_at: pd.Timestamp
    last_at: pd.Timestamp


def _places(frame: pd.DataFrame, params: RepeatParams) -> pd.DataFrame:
    f = frame[frame["status"].fillna("") != "merged"].copy()
    f["addr"] = f["address"].map(normalise_address)
    grid_ok = f["grid_code"].notna() & f["category_code"].notna()
    f["gridcat"] = np.where(grid_ok, f["grid_code"].astype(str) + "|" + f["category_code"].astype(str), None)
    addr_ok = f["addr"].notna() & f["category_code"].notna()
    f["addrcat"] = np.where(addr_ok, f["addr"].astype(str) + "|" + f["category_code"].astype(str), None)
    return f


def find_repeats(frame: pd.DataFrame, now, params: RepeatParams = RepeatParams()) -> list[Repeat]:
    """Places with at least n reports (grid + category: grid_n) in (now - m_days, now]."""
    if not len(frame):
        return []
    now = pd.Timestamp(now)
    window = pd.Timedelta(days=params.m_days)
    f = _places(frame, params)
    out: list[Repeat] = []
    covered: set[int] = set()
    for kind, col, need in (("address", "addr", params.n), ("grid", "gridcat", params.grid_n)):
        sub = f.dropna(subset=[col]).sort_values(["reported_at", "id"])
        recent = sub[sub["reported_at"] > now - window]
        counts = recent[col].value_counts()
        for place in counts[counts >= need].index:
            rows = sub[sub[col] == place]
            ids_recent = rows.loc[rows["reported_at"] > now - window, "id"].astype(int).tolist()
            if kind == "grid" and set(ids_recent) <= covered:
                continue  # the same reports already make an address repeat
            times = pd.to_datetime(rows["reported_at"], utc=True).dt.tz_convert(None).to_numpy()
            gaps = np.diff(times) > np.timedelta64(int(params.m_days * 86400), "s")
            start = int(np.nonzero(gaps)[0][-1]) + 1 if gaps.any() else 0
            first = rows.iloc[start]
            if kind == "address":
                covered.update(ids_recent)
            grid, cat = (place.split("|") if kind == "grid" else (first["grid_code"], first["category_code"]))
            out.append(Repeat(kind, place, grid, cat, int(first["id"]), ids_recent[-params.max_case_ids:],
                              len(ids_recent), rows["reported_at"].iloc[start], rows["reported_at"].iloc[-1]))
    return out


@dataclass
class Rebound:
    place_kind: str
    place: str
    closed_id: int             # the case that was closed
    closed_at: pd.Timestamp
    new_id: int                # the report after it
    new_at: pd.Timestamp
    grid_code: str | None
    category_code: str | None


def find_rebounds(frame: pd.DataFrame, now, params: RepeatParams = RepeatParams()) -> list[Rebound]:
    """Reports in (now - rebound_days, now] at a place where a case was closed at most rebound_days before them."""
    if not len(frame):
        return []
    now = pd.Timestamp(now)
    horizon = pd.Timedelta(days=params.rebound_days)
    f = _places(frame, params)
    closed = f[(f["status"] == "closed") & f["closed_at"].notna()]
    fresh = f[f["reported_at"] > now - horizon]
    out: list[Rebound] = []
    seen: set[int] = set()
    for kind, col in (("address", "addrcat"),):
        a = fresh.dropna(subset=[col])[["id", "reported_at", col, "grid_code", "category_code"]]
        b = closed.dropna(subset=[col])[["id", "closed_at", col]].rename(columns={"id": "closed_id"})
        pairs = a.merge(b, on=col)
        pairs = pairs[(pairs["closed_at"] <= pairs["reported_at"]) & (pairs["reported_at"] - pairs["closed_at"] <= horizon)
                      & (pairs["id"] != pairs["closed_id"])]
        # one rebound per closed case: its first report after closing
        pairs = pairs.sort_values(["reported_at", "id"]).drop_duplicates("closed_id")
        for row in pairs.itertuples(index=False):
            if int(row.closed_id) in seen:
                continue
            seen.add(int(row.closed_id))
            out.append(Rebound(kind, getattr(row, col), int(row.closed_id), row.closed_at, int(row.id), row.reported_at,
                               row.grid_code, row.category_code))
    return out
