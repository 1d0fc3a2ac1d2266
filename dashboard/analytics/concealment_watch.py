"""The concealment watch of a review meeting (疑似瞒报漏报): the communities the engine flagged in the
period, each with the evidence a meeting can weigh. Pure functions over rows and frames.

The engine (``dashboard.analytics.concealment``, wired in ``dashboard.warning.case_detectors``)
flags a community when its grid workers' patrol reports (巡查上报) fell against its own history or
sit far below its peers' share while the channels it does not control (12345, 随手拍, video AI) held
up. A flag is a suspicion to verify, never a finding: honest communities are flagged too (about 2-4
in 100 a quarter, docs/benchmarks.md), so the page says 疑似 and 建议核实.

Beside the engine's own evidence (from the alert) the watch shows, for the period under review:
the community's patrol share (patrol reports over patrol + uncontrolled reports), the pooled share of
the other communities of the view (its peers here), and its own share over the weeks before the
period. The counts stand beside every share.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .concealment import PATROL, UNCONTROLLED

BEFORE_WEEKS = 12


def _share(patrol: int, other: int) -> float | None:
    return patrol / (patrol + other) if patrol + other > 0 else None


def _counts(frame: pd.DataFrame, window: int) -> dict[str, tuple[int, int]]:
    """{community: (patrol, uncontrolled)} of one window."""
    out: dict[str, list[int]] = {}
    sub = frame[frame["window"] == window] if len(frame) else frame
    for row in sub.itertuples(index=False):
        pair = out.setdefault(row.community, [0, 0])
        if row.source == PATROL:
            pair[0] += int(row.n)
        elif row.source in UNCONTROLLED:
            pair[1] += int(row.n)
    return {k: (v[0], v[1]) for k, v in out.items()}


def alert_evidence(detail: dict[str, Any]) -> dict[str, Any]:
    """The engine's evidence of one alert, as the watch shows it (missing keys are None)."""
    test = detail.get("test")
    window = detail.get("window") if isinstance(detail.get("window"), dict) else {}
    keys = ("observed", "expected", "gap", "ratio", "uncontrolled_ratio", "share", "peer_share", "p_value", "score")
    return {"test": test if test in ("own_history", "peers") else None,
            "weeks": window.get("weeks"), "start": window.get("start"), "end": window.get("end"),
            "flagged_since_week": detail.get("flagged_since_week"),
            **{k: detail.get(k) if isinstance(detail.get(k), (int, float)) else None for k in keys}}


def watch_rows(alerts: list[dict], channels: pd.DataFrame, period_window: int = 1,
               before_window: int = 0) -> list[dict]:
    """One row per flagged community (its alerts merged), in the order first flagged.

    ``alerts``: ``data_access.concealment_watch.flagged_communities``; ``channels``: its
    ``community_channels`` over [before, period) windows (indices ``before_window`` and ``period_window``).
    Row: community, alerts (id, created_at, ended_at, acknowledged, dismissed, evidence), period
    {patrol, other, share}, peers {patrol, other, share, communities}, before {patrol, other, share}.
    """
    period = _counts(channels, period_window)
    before = _counts(channels, before_window)
    rows: dict[str, dict] = {}
    for alert in alerts:
        code = alert["region_code"]
        row = rows.get(code)
        if row is None:
            p, u = period.get(code, (0, 0))
            peers = [(pp, uu) for other, (pp, uu) in period.items() if other != code]
            peer_p, peer_u = sum(x for x, _ in peers), sum(y for _, y in peers)
            b_p, b_u = before.get(code, (0, 0))
            row = rows[code] = {
                "community": code, "alerts": [],
                "period": {"patrol": p, "other": u, "share": _share(p, u)},
                "peers": {"patrol": peer_p, "other": peer_u, "share": _share(peer_p, peer_u),
                          "communities": len(peers)},
                "before": {"patrol": b_p, "other": b_u, "share": _share(b_p, b_u), "weeks": BEFORE_WEEKS},
            }
        row["alerts"].append({"id": alert["id"], "created_at": alert["created_at"], "ended_at": alert.get("ended_at"),
                              "acknowledged": bool(alert.get("acknowledged")), "dismissed": bool(alert.get("dismissed")),
                              "evidence": alert_evidence(alert.get("detail") or {})})
    return list(rows.values())
