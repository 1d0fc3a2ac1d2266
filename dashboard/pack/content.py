"""What a meeting pack holds: every section of ``/review`` for a region, a period and a moment, read
through the same use-case functions as the API (``dashboard.usecases.review_bodies``) and masked once
through ``core.outward``, so a pack's values are the API's.

The concealment watch (疑似瞒报漏报) is only in packs for ``center`` and ``leader``, as on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Engine

from dashboard.analytics import scoring
from dashboard.analytics.history_coverage import compared
from dashboard.core.outward import outward
from dashboard.usecases import review_bodies as bodies
from dashboard.usecases.commitments import agenda_body
from data_access.geo import child_boundaries
from data_access.health import database_status
from data_access.moment import Moment
from data_access.period import Period
from data_access.regions import region_name
from data_access.scope import Scope

CONCEALMENT_ROLES = ("center", "leader")  # as dashboard/web/api.py and layouts/review_forecast.py
ROLE_NAMES = {"center": "指挥中心值班员", "leader": "领导", "street": "镇街", "wall": "大屏账号"}


@dataclass
class PackContent:
    region: str
    name: str
    role: str
    period: Period
    moment: Moment
    generated_at: datetime
    data_as_of: datetime | None
    public_url: str
    rules: list[dict[str, Any]]
    review: dict[str, Any]
    hot: dict[str, Any]
    trend: dict[str, Any]
    forecast: dict[str, Any]
    concealment: dict[str, Any] | None
    commitments: list[dict[str, Any]]
    outline: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def tz(self):
        return self.moment.tz


def collect(engine: Engine, scope: Scope, period: Period, m: Moment, *, role: str,
            rules: list[scoring.Rule], public_url: str = "") -> PackContent:
    """Every section of the pack for the (already checked) scope's region."""
    import time

    t0 = time.perf_counter()
    with engine.connect() as conn:
        name = region_name(conn, scope, scope.region) or scope.region
        outline = child_boundaries(conn, scope) if len(scope.region) < 15 else {}
    review = bodies.review_body(engine, scope, name, period, m, rules)
    hot = bodies.hot_issues_body(engine, scope, name, period, m)
    trend = bodies.trend_body(engine, scope, name, period, m)
    forecast = bodies.forecast_body(engine, scope, name, m, with_places=True)
    watch = bodies.concealment_body(engine, scope, name, period, m) if role in CONCEALMENT_ROLES else None
    today = m.at.astimezone(m.tz).date()
    # The agenda the page opens with (dashboard/usecases/commitments.py): open, overdue first, and
    # those closed since the period began, each with its changes since then and its cases' state.
    commitments = agenda_body(engine, scope, period, m)
    _ok, newest = database_status(engine, m.at)
    masked = outward({"review": review, "hot": hot, "trend": trend, "forecast": forecast, "watch": watch,
                      "commitments": commitments})
    return PackContent(
        region=scope.region, name=name, role=role, period=period, moment=m,
        generated_at=datetime.now(timezone.utc), data_as_of=newest, public_url=public_url,
        rules=review["score_rules"], review=masked["review"], hot=masked["hot"], trend=masked["trend"],
        forecast=masked["forecast"], concealment=masked["watch"], commitments=masked["commitments"],
        outline=outline, timings={"read": time.perf_counter() - t0})


FLOW_LOG_NOTE = "数据不含流转记录（导入的事件导出）：自办结率、退单率、返工率、延期率、督办件无从计算，表中留空，不计入综合得分；部门退单与推诿扯皮无从统计"


def cover_notes(review: dict) -> list[tuple[str, str]]:
    """The cover's rows about what the data cannot tell (the review page's notes under its compare line)."""
    return [("流转记录", FLOW_LOG_NOTE)] if review.get("flow_log") is False else []


def comparison_note(window: dict, review: dict) -> str:
    """The cover's note for a comparison window the history does not wholly cover (its figures are
    left blank in the tables, as the review page does not compare them)."""
    if compared(window.get("coverage")):
        return ""
    if window.get("coverage") == "gap":
        return "（该期库中没有任何事件：数据缺口，不作比较）"
    since = (review.get("data_from") or "")[:10]
    return f"（早于数据起点 {since}，不作比较）" if since else "（库中尚无事件，不作比较）"
