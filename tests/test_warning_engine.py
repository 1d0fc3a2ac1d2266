"""The early-warning engine on SQLite and PostgreSQL: episodes (raise once, update, resolve when
cleared, acknowledged and dismissed alerts), families that skip or fail, replay idempotency, and
the operational detector families on a hand-built county and on a small synthetic one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from dashboard.analytics.findings import Finding
from dashboard.synth.seed import seed_county
from dashboard.warning import EngineState, run_engine, run_once
from dashboard.warning import families as fam
from dashboard.warning.replay import replay
from data_access import alerts_write
from data_access.alerts import ack_alert
from data_access.models import Alert, Case
from data_access.moment import Moment
from data_access.scope import Scope

from . import ops_county as oc

SCOPE = Scope(oc.ROOT, oc.ROOT)
T = oc.T


def moment(at: datetime) -> Moment:
    return Moment(at, oc.SHANGHAI)


class Fake(fam.Family):
    """A family whose findings the test sets: a list, None (did not run) or an exception."""

    def __init__(self, name: str, prefix: str):
        self.name, self.prefixes = name, (prefix,)
        self.findings: list | None | Exception = []
        self.calls = 0

    def run(self, conn, ctx):
        self.calls += 1
        if isinstance(self.findings, Exception):
            raise self.findings
        return self.findings


def finding(key: str, severity: str = "warning", region: str = oc.ROOT, **detail) -> Finding:
    return Finding(kind="sla", severity=severity, region_code=region, title=f"标题{key}", dedup_key=key,
                   detail={"observed": 1, **detail})


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(Alert.__table__).order_by(Alert.id)).mappings()]


def test_a_situation_raises_one_alert_updates_it_and_resolves_when_cleared(engine):
    a = Fake("a", "a:")
    state = EngineState(families=[a])
    a.findings = [finding("a:1", observed=3)]
    raised = run_once(engine, SCOPE, moment(T), state)
    assert [r["dedup_key"] for r in raised] == ["a:1@20261125T023000Z"]
    assert raised[0]["created_at"] == T and raised[0]["detail"]["observed"] == 3
    [row] = rows(engine)
    assert (row["status"], row["source"], row["kind"], row["created_at"]) == ("new", "gridwall", "sla", T)

    a.findings = [finding("a:1", severity="critical", observed=5)]
    assert run_once(engine, SCOPE, moment(T + oc.MIN), state) == []
    [row] = rows(engine)
    assert row["severity"] == "critical" and alerts_write.load_detail(row["detail"])["observed"] == 5
    assert row["created_at"] == T and row["status"] == "new"

    a.findings = []
    report = run_engine(engine, SCOPE, moment(T + 2 * oc.MIN), state=state)
    assert report.resolved == 1 and report.raised == []
    [row] = rows(engine)
    assert row["status"] == "resolved" and row["resolved_at"] == T + 2 * oc.MIN

    # the situation comes back: a new episode, a new alert
    a.findings = [finding("a:1")]
    raised = run_once(engine, SCOPE, moment(T + 10 * oc.MIN), state)
    assert [r["dedup_key"] for r in raised] == ["a:1@20261125T024000Z"]
    assert [r["status"] for r in rows(engine)] == ["resolved", "new"]


def test_an_acknowledged_alert_stays_acknowledged_until_cleared(engine):
    a = Fake("a", "a:")
    state = EngineState(families=[a])
    a.findings = [finding("a:1", observed=1)]
    [alert] = run_once(engine, SCOPE, moment(T), state)
    with engine.begin() as conn:
        ack_alert(conn, SCOPE, alert["id"], "duty", T + oc.MIN)
    a.findings = [finding("a:1", observed=2)]
    assert run_once(engine, SCOPE, moment(T + 2 * oc.MIN), state) == []
    [row] = rows(engine)
    assert row["status"] == "acknowledged" and alerts_write.load_detail(row["detail"])["observed"] == 2
    a.findings = []
    run_once(engine, SCOPE, moment(T + 3 * oc.MIN), state)
    [row] = rows(engine)
    assert row["status"] == "resolved" and row["ack_by"] == "duty"


def test_a_dismissed_alert_never_re_raises_while_its_situation_lasts(engine):
    a = Fake("a", "a:")
    state = EngineState(families=[a])
    a.findings = [finding("a:1", observed=1)]
    [alert] = run_once(engine, SCOPE, moment(T), state)
    with engine.begin() as conn:
        conn.execute(update(Alert).where(Alert.id == alert["id"]).values(status="dismissed"))
    a.findings = [finding("a:1", severity="critical", observed=9)]
    for k in range(1, 4):
        assert run_once(engine, SCOPE, moment(T + k * oc.MIN), state) == []
    [row] = rows(engine)
    assert row["status"] == "dismissed" and row["severity"] == "warning"  # muted: not even updated
    a.findings = []
    run_once(engine, SCOPE, moment(T + 5 * oc.MIN), state)
    [row] = rows(engine)
    assert row["status"] == "dismissed" and row["resolved_at"] == T + 5 * oc.MIN
    a.findings = [finding("a:1")]
    assert len(run_once(engine, SCOPE, moment(T + 6 * oc.MIN), state)) == 1


def test_a_family_that_did_not_run_or_failed_resolves_nothing_and_stops_no_other(engine, caplog):
    a, b, c = Fake("a", "a:"), Fake("b", "b:"), Fake("c", "c:")
    state = EngineState(families=[a, b, c])
    a.findings, b.findings = [finding("a:1")], [finding("b:1")]
    assert len(run_once(engine, SCOPE, moment(T), state)) == 2
    a.findings, b.findings, c.findings = None, RuntimeError("detector bug"), [finding("c:1")]
    report = run_engine(engine, SCOPE, moment(T + oc.MIN), state=state)
    assert report.skipped == ["a"] and report.failed == ["b"] and report.ran == ["c"]
    assert [r["dedup_key"].split("@")[0] for r in report.raised] == ["c:1"]
    assert [r["status"] for r in rows(engine)] == ["new", "new", "new"]
    assert "detector bug" in caplog.text
    # once it runs again and no longer reports, its alert is resolved
    a.findings, b.findings = [], []
    run_once(engine, SCOPE, moment(T + 2 * oc.MIN), state)
    assert [r["status"] for r in rows(engine)] == ["resolved", "resolved", "new"]


def test_findings_are_stored_inside_the_root(engine):
    a = Fake("a", "a:")
    a.findings = [finding("a:out", region="320586100"), finding("a:bad", region="xx"),
                  finding("a:in", region="320585100")]
    raised = run_once(engine, SCOPE, moment(T), EngineState(families=[a]))
    assert [r["region_code"] for r in raised] == [oc.ROOT, oc.ROOT, "320585100"]


def test_an_existing_key_is_not_inserted_twice(engine):
    with engine.begin() as conn:
        kw = dict(dedup_key="k@1", created_at=T, kind="sla", severity="info", region_code=oc.ROOT, category_code=None,
                  title="t", detail={})
        assert alerts_write.insert_alert(conn, **kw) is not None
        assert alerts_write.insert_alert(conn, **kw) is None
        assert conn.execute(select(func.count()).select_from(Alert)).scalar() == 1


class Schedule(fam.Family):
    """Reports situation s:<h % 3> at hours h of the day divisible by 2 or 3: a known pattern."""

    name, prefixes = "sched", ("s:",)

    def run(self, conn, ctx):
        hour = ctx.m.at.astimezone(oc.SHANGHAI).hour
        return [finding(f"s:{hour % 3}", hour=hour)] if hour % 2 == 0 or hour % 3 == 0 else []


def snapshot(engine) -> list[tuple]:
    return [(r["dedup_key"], r["status"], r["created_at"], r["resolved_at"], r["severity"], r["detail"])
            for r in rows(engine)]


def test_replay_twice_raises_nothing_new(engine):
    start, end = T.replace(hour=0, minute=0), T.replace(hour=23, minute=0)

    def again(a, b, step):
        return replay(engine, SCOPE, a, b, step, oc.SHANGHAI, families=[Schedule()])

    first = again(start, end, timedelta(hours=1))
    assert len(first) == 24 and sum(len(r.raised) for r in first) > 5
    assert all(r.raised[0]["created_at"] == r.at for r in first if r.raised)
    before = snapshot(engine)
    second = again(start, end, timedelta(hours=1))
    assert sum(len(r.raised) for r in second) == 0
    assert snapshot(engine) == before
    # a replay over part of the span, at other steps, is just as quiet
    assert sum(len(r.raised) for r in again(start + timedelta(hours=5), end, timedelta(hours=2))) == 0


# --- the operational families on the hand-built county ---------------------------------------

def test_sla_risk_family_rolls_up_and_resolves_on_progress(engine):
    with engine.begin() as conn:
        oc.build_map(conn)
        # org 2 holds three 24-hour cases with 90 % used and nothing done for 20 hours, two of them overdue
        oc.case(conn, 1, reported=T - timedelta(hours=21.6), resolve_hours=24, holder=2, last=T - 20 * oc.H)
        oc.case(conn, 2, reported=T - 30 * oc.H, resolve_hours=24, holder=2, last=T - 20 * oc.H)
        oc.case(conn, 3, reported=T - 40 * oc.H, resolve_hours=24, holder=2, last=T - 20 * oc.H)
        # org 3: one such case (below the roll-up threshold); org 4: fresh cases
        oc.case(conn, 4, reported=T - 30 * oc.H, resolve_hours=24, holder=3, last=T - 20 * oc.H)
        oc.case(conn, 5, reported=T - oc.H, resolve_hours=24, holder=4)
        # handled by org 2 just now: not stuck
        oc.case(conn, 6, reported=T - 30 * oc.H, resolve_hours=24, holder=2, last=T - 10 * oc.MIN)
    state = EngineState(families=[fam.SlaRisk()])
    [alert] = run_once(engine, SCOPE, moment(T), state)
    assert alert["kind"] == "sla" and alert["region_code"] == oc.ROOT and alert["severity"] == "warning"
    assert alert["title"] == "3件事件临期无进展，其中2件已超期 · 太仓市城市管理局"
    assert alert["dedup_key"].startswith("sla:risk:org:2@")
    assert sorted(alert["detail"]["case_ids"]) == [1, 2, 3] and alert["detail"]["overdue"] == 2
    # two of them move: one case at risk is left, below the threshold that keeps the alert open
    with engine.begin() as conn:
        oc.action(conn, 1, T + oc.MIN)
        oc.action(conn, 2, T + oc.MIN)
    report = run_engine(engine, SCOPE, moment(T + 2 * oc.MIN), state=state)
    assert report.resolved == 1 and report.raised == []
    # the moment is honoured: as of T the same cases were still stuck
    assert run_engine(engine, SCOPE, moment(T + oc.MIN / 2), state=state).findings == 1


def test_staffing_families_on_a_hand_built_roster(engine):
    with engine.begin() as conn:
        oc.build_map(conn)
        oc.roster(conn, until=T.replace(hour=12, minute=30))
    state = EngineState(families=[fam.Offline(), fam.Uncovered(), fam.Patrol(), fam.Stale()])
    report = run_engine(engine, SCOPE, moment(T), state=state)
    found = {r["dedup_key"].split("@")[0]: r for r in report.raised}
    assert set(found) == {"staffing:offline:320585101", "staffing:uncovered:320585100002"}
    offline = found["staffing:offline:320585101"]
    assert offline["kind"] == "staffing" and offline["severity"] == "critical"  # 3 of 5 on duty
    assert offline["title"] == "3名在岗网格员离线超过30分钟 · 浏河镇" and offline["region_code"] == "320585101"
    assert sorted(w["staff_id"] for w in offline["detail"]["workers"]) == [12, 13, 14]
    uncovered = found["staffing:uncovered:320585100002"]
    assert uncovered["severity"] == "warning" and uncovered["title"] == "3个网格无人在岗 · 城西社区"
    # no case history to learn the usual gaps from; the ping feed (11 on duty) is judged and flows
    assert "stale" in report.ran
    assert "staffing.patrol" in report.ran  # before noon it runs and finds nothing to say

    report = run_engine(engine, SCOPE, moment(T.replace(hour=12, minute=30)), state=state)
    [patrol] = report.raised
    assert patrol["dedup_key"].startswith("staffing:patrol:320585100@")
    assert patrol["title"] == "今日巡查覆盖67%（4/6个网格），低于预期 · 城厢镇"
    assert sorted(patrol["detail"]["unpatrolled"]) == ["320585100001005", "320585100001006"]

    # after working hours: the roster is over, every staffing alert is resolved
    report = run_engine(engine, SCOPE, moment(T.replace(hour=18)), state=state)
    assert report.resolved == 3 and all(r["status"] == "resolved" for r in rows(engine))


def test_offline_family_skips_coarse_pings(engine):
    with engine.begin() as conn:
        oc.build_map(conn)
        oc.shifts(conn, [10, 11, 12])
        for sid in (10, 11, 12):  # one ping an hour, like the seed's older days
            for h in (9, 10):
                oc.pings(conn, sid, oc.DAY + timedelta(hours=h, minutes=5), oc.DAY + timedelta(hours=h, minutes=6))
    report = run_engine(engine, SCOPE, moment(T), state=EngineState(families=[fam.Offline()]))
    assert report.skipped == ["staffing.offline"] and report.raised == []


def test_stale_family_raises_when_the_feeds_stop_and_resolves_when_they_flow(engine):
    with engine.begin() as conn:
        oc.build_map(conn)
        # five weeks of a case (and its report step) every 30 minutes, then nothing for the last 2 hours
        t, k = T - timedelta(days=35), 100
        while t < T - 2 * oc.H:
            oc.case(conn, k, reported=t, resolve_hours=24, holder=4)
            t, k = t + 30 * oc.MIN, k + 1
    state = EngineState(families=[fam.Stale()])
    [alert] = run_once(engine, SCOPE, moment(T), state)
    assert alert["kind"] == "stale" and alert["region_code"] == oc.ROOT and alert["severity"] == "critical"
    assert alert["dedup_key"].startswith("stale:feed@")
    assert alert["title"].startswith("数据中断：新事件上报已") and "事件流转" in alert["title"]
    assert alert["detail"]["feeds"] == ["cases", "actions"] and alert["detail"]["expected"]["cases"] <= 31
    assert run_once(engine, SCOPE, moment(T + oc.MIN), state) == []
    # after working hours the silence is not judged, but the open alert waits for data to flow
    evening = T.replace(hour=20)
    report = run_engine(engine, SCOPE, moment(evening), state=state)
    assert report.skipped == ["stale"] and report.resolved == 0
    with engine.begin() as conn:
        oc.case(conn, 99999, reported=evening + 2 * oc.MIN, resolve_hours=24, holder=4)
    report = run_engine(engine, SCOPE, moment(evening + 3 * oc.MIN), state=state)
    assert report.resolved == 1 and report.ran == ["stale"]
    assert run_once(engine, SCOPE, moment(evening + 4 * oc.MIN), state) == []
    # in working hours it resolves as soon as data flows
    assert len(run_once(engine, SCOPE, moment(T + timedelta(days=1)), state)) == 1
    with engine.begin() as conn:
        oc.case(conn, 99998, reported=T + timedelta(days=1, minutes=1), resolve_hours=24, holder=4)
    assert run_engine(engine, SCOPE, moment(T + timedelta(days=1, minutes=2)), state=state).resolved == 1


# --- a small synthetic county ------------------------------------------------------------------

def test_seeded_county_runs_every_family_and_replays_idempotently(engine):
    seed_county(engine, days=3, now=T, full_ping_days=1, seed=5)
    report = run_engine(engine, SCOPE, moment(T))
    assert not report.failed
    assert {"sla.risk", "sla.backlog", "staffing.offline", "staffing.uncovered", "staffing.patrol",
            "cases"} <= set(report.ran)
    assert all(r["created_at"] == T for r in report.raised)
    assert report.forecast == "written"  # once a local day ...
    assert run_engine(engine, SCOPE, moment(T + oc.MIN)).forecast == "done"  # ... not again that day
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Case)).scalar() > 100
    start = T - timedelta(days=2)
    first = replay(engine, SCOPE, start, T - timedelta(hours=1), timedelta(hours=6), oc.SHANGHAI, forecast=False)
    assert all(not r.failed for r in first)
    # the older days keep one ping an hour: the offline detector does not judge them
    assert "staffing.offline" in first[1].skipped  # 2 days before T, 06:30 + 6 h = 16:30 (on duty)
    before = snapshot(engine)
    second = replay(engine, SCOPE, start, T - timedelta(hours=1), timedelta(hours=6), oc.SHANGHAI, forecast=False)
    assert sum(len(r.raised) for r in second) == 0 and snapshot(engine) == before
