"""A tiny county for the API and auth tests, and a Flask app serving it (no Dash).

太仓市 320585 with two towns, one community and one grid each; a handful of cases (open, overdue,
warning, closed, unlocated) and alerts; users of every role.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import flask
from argon2 import PasswordHasher
from sqlalchemy import insert

from dashboard.core.config import Settings
from data_access.models import Alert, Case, Category, Grid, Region

UTC = timezone.utc
# 2026-11-26 10:00 Asia/Shanghai.
T = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
T_LOCAL = "2026-11-26T10:00:00"

ROOT, TOWN_A, TOWN_B = "320585", "320585100", "320585101"
COMM_A, COMM_B = "320585100001", "320585101001"
GRID_A, GRID_B = "320585100001001", "320585101001001"
PASSWORD = "s3cret-密码"

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def seed(engine) -> None:
    regions = [
        (ROOT, "太仓市", "county", None), (TOWN_A, "城厢镇", "street", ROOT), (TOWN_B, "沙溪镇", "street", ROOT),
        (COMM_A, "东林村", "community", TOWN_A), (COMM_B, "归庄村", "community", TOWN_B),
    ]
    h = timedelta(hours=1)

    def case(code, grid, reported, due, closed=None, status="handling", **kw):
        return {"code": code, "title": kw.pop("title", f"事件{code}"), "category_code": "0101",
                "source": "patrol", "urgency": "normal", "reported_at": reported, "grid_code": grid,
                "status": status, "level": "community", "resolve_due_at": due, "closed_at": closed,
                "updated_at": closed or reported, "address": kw.pop("address", None), "satisfaction": None, **kw}

    cases = [
        # open, fresh; text with personal data to be masked
        case("A-1", GRID_A, T - 1 * h, T + 20 * h, title="居民张三反映噪音，电话13812345678",
             address="东林村8组 车牌苏E12345"),
        case("A-2", GRID_A, T - 30 * h, T - 2 * h),                      # overdue
        case("A-3", GRID_A, T - 9 * h, T + 1 * h),                       # warning (90 % used)
        case("A-4", GRID_A, T - 40 * h, T - 30 * h, T - 35 * h, "closed", satisfaction=5),
        case("B-1", GRID_B, T - 2 * h, T + 48 * h, category_code="9999"),  # unknown category
        case("U-1", None, T - 3 * h, T + 48 * h),                         # unlocated: root only
    ]
    alerts = [
        {"created_at": T - 2 * h, "kind": "spike", "severity": "warning", "region_code": TOWN_A,
         "title": "城厢镇 噪音 骤增", "detail": '{"observed": 9, "expected": 2.1}', "status": "new",
         "source": "gridwall", "dedup_key": "a1"},
        {"created_at": T - 1 * h, "kind": "sla", "severity": "critical", "region_code": GRID_B,
         "title": "沙溪镇 超期风险", "detail": "not json", "status": "acknowledged", "ack_by": "x",
         "ack_at": T - h / 2, "source": "gridwall", "dedup_key": "b1"},
        {"created_at": T - 3 * h, "kind": "stale", "severity": "info", "region_code": ROOT,
         "title": "数据中断", "detail": None, "status": "resolved", "source": "gridwall", "dedup_key": "r1"},
    ]
    with engine.begin() as conn:
        conn.execute(insert(Region), [dict(zip(("code", "name", "level", "parent_code"), r)) for r in regions])
        conn.execute(insert(Grid), [
            {"code": GRID_A, "community_code": COMM_A, "name": "东林第一网格", "kind": "basic"},
            {"code": GRID_B, "community_code": COMM_B, "name": "归庄第一网格", "kind": "basic"},
        ])
        conn.execute(insert(Category), [
            {"code": "01", "parent_code": None, "name": "城市管理", "tier": "C"},
            {"code": "0101", "parent_code": "01", "name": "噪音扰民", "tier": "B", "resolve_hours": 24},
        ])
        conn.execute(insert(Case), cases)
        # executemany takes its columns from the first row: give every row every key
        keys = {k for a in alerts for k in a}
        conn.execute(insert(Alert), [{k: a.get(k) for k in keys} for a in alerts])


def add_users(engine) -> dict[str, str]:
    """Users of every role; returns an API token per user name."""
    from dashboard.identity.users import create_token
    from dashboard.usecases.users import save_user as add_user

    add_user(engine, "center1", role="center", password=PASSWORD)
    add_user(engine, "leader1", role="leader", password=PASSWORD)
    add_user(engine, "street_a", role="street", region=TOWN_A, password=PASSWORD)
    add_user(engine, "wall_a", role="wall", region=TOWN_A)
    return {name: create_token(engine, name) for name in ("center1", "leader1", "street_a", "wall_a")}


def make_app(url: str, *, auth: bool = True, redis_url: str | None = None, **overrides) -> flask.Flask:
    """A bare Flask server with gridwall's auth and API, configured like the app factory does.

    ``overrides`` are further Settings (single sign-on, throttle limits ...).
    """
    from dashboard.web.api import register_api
    from dashboard.identity.auth import init_auth
    from dashboard.web.security import install_security

    settings = Settings(**{"database_url": url, "secret_key": "test-secret", "redis_url": redis_url, **overrides})
    server = flask.Flask(__name__)
    server.config.update(GRIDWALL_DATABASE_URL=url, GRIDWALL_ROOT=None, GRIDWALL_TIMEZONE="Asia/Shanghai",
                         GRIDWALL_REDIS_URL=redis_url, TESTING=True)
    init_auth(server, settings, enabled=auth)
    register_api(server)
    install_security(server, None, settings)

    @server.get("/")
    def index():  # stands in for the wall page
        return "wall"

    return server
