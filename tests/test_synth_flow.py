"""The synthetic county's flow logs: every step names its orgs, the case row follows its log,
cases bounce between departments (推诿) and get extensions (延期), and the demo keeps 13 months."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from dashboard.cli import DEMO_DAYS
from dashboard.synth.catalog import load_categories
from dashboard.synth.lifecycle import BOUNCE_PARTNER
from dashboard.synth.seed import seed_county
from dashboard.synth.simulate import Simulator
from data_access.models import Case, CaseAction, Org

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)  # a Wednesday morning
TERMINAL = {"close", "reject", "merge"}
MOVES = {"report", "dispatch", "escalate", "return"}  # the steps that hand the case to ``to_org``
COUNTERS = {"escalate": "escalations", "return": "returns", "rework": "reworks", "urge": "urges"}


def _rows(conn, model, order):
    return [dict(r._mapping) for r in conn.execute(select(model.__table__).order_by(*order))]


def check_flows(engine) -> dict:
    """Every case's flow log is a valid sequence whose orgs chain up and whose result is the case row.

    Checked per case: the log starts with the report and is in time order; nothing follows the
    terminal step but the callback comment (回访) or a reopen; report/dispatch/escalate/return go
    from the current holder to the next (a return back to the org that dispatched it), and the
    steps of the holder (sign, urge, extend, handle, rework) name it; handler_org_id is the last
    holder; closed_at is the terminal step's time; the counters equal their steps; an extension is
    asked before the deadline it moves and resolve_due_at is the last one granted. Returns counts
    for the callers' rate checks."""
    cats = {c.code: c for c in load_categories()}
    with engine.connect() as conn:
        cases = _rows(conn, Case, [Case.id])
        orgs = {o["id"]: o for o in _rows(conn, Org, [Org.id])}
        actions = defaultdict(list)
        for a in _rows(conn, CaseAction, [CaseAction.case_id, CaseAction.ts, CaseAction.id]):
            actions[a["case_id"]].append(a)
    seen = Counter()
    for c in cases:
        acts, where = actions[c["id"]], f"case {c['code']}"
        assert acts and acts[0]["action"] == "report" and acts[0]["ts"] == c["reported_at"], where
        assert all(a["ts"] <= b["ts"] for a, b in zip(acts, acts[1:])), where
        base_due = c["reported_at"] + timedelta(hours=cats[c["category_code"]].resolve_hours)
        holder, dispatched_by, due, ended = None, {}, base_due, None
        for a in acts:
            kind, src, dst = a["action"], a["from_org_id"], a["to_org_id"]
            step = f"{where}: {kind} at {a['ts']}"
            if ended is not None:
                assert kind in ("comment", "reopen"), f"{step} after {ended}"
            if kind == "report":
                assert src is None and dst in orgs, step
            elif kind in ("dispatch", "escalate"):
                assert src == holder and dst in orgs, step
                if kind == "dispatch":
                    dispatched_by[dst] = src
            elif kind == "return":
                assert src == holder and dst == dispatched_by.get(src) and dst != src, step
            elif kind in ("sign", "urge", "rework"):
                assert dst == holder, step
            elif kind in ("handle", "extend"):
                assert src == holder, step
            if kind == "extend":
                assert due is None or a["ts"] < due, f"{step}: asked after the deadline {due}"
                due = None  # the deadline it grants is in the case row (the last one granted)
            if kind in MOVES:
                holder = dst
                if orgs[dst]["kind"] == "department" and kind != "report":
                    dept_type = cats[c["category_code"]].dept_type
                    assert orgs[dst]["dept_type"] in (dept_type, BOUNCE_PARTNER.get(dept_type)), step
            if kind in TERMINAL:
                ended = kind
                assert c["closed_at"] == a["ts"], step
        assert c["handler_org_id"] == holder, where
        if ended is None:
            assert c["closed_at"] is None and c["status"] not in ("closed", "rejected", "merged"), where
        else:
            assert c["status"] == {"close": "closed", "reject": "rejected", "merge": "merged"}[ended], where
        counts = Counter(a["action"] for a in acts)
        for action, column in COUNTERS.items():
            assert c[column] == counts[action], where
        if counts["extend"]:
            assert c["resolve_due_at"] > base_due, where
            seen["extended"] += 1
        else:
            assert c["resolve_due_at"] == base_due, where
        seen["cases"] += 1
        seen["returned"] += counts["return"] >= 1
        seen["bounced"] += counts["return"] >= 2
        seen["urged"] += counts["urge"] >= 1
        if counts["return"] >= 2:
            depts = {a["from_org_id"] for a in acts if a["action"] == "return"}
            seen["bounced_between_two"] += len(depts) == 2 and all(orgs[o]["kind"] == "department" for o in depts)
    return seen


def test_seeded_flows_chain_their_orgs_and_match_the_case_rows(engine):
    seed_county(engine, seed=20261126, days=14, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    seen = check_flows(engine)
    n = seen["cases"]
    assert n > 3000
    # realistic rates: a few % returned, 1-3 % bounced (推诿) between two departments, some extended and urged
    assert 0.01 * n <= seen["returned"] <= 0.08 * n
    assert 0.003 * n <= seen["bounced"] <= 0.03 * n and seen["bounced_between_two"] >= 0.8 * seen["bounced"]
    assert 0.005 * n <= seen["extended"] <= 0.06 * n
    assert 0.01 * n <= seen["urged"] <= 0.1 * n


def test_bounced_cases_show_as_returns_of_both_departments(engine):
    seed_county(engine, seed=5, days=10, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.connect() as conn:
        bounced = conn.execute(select(Case.id).where(Case.returns >= 2)).scalars().all()
        rows = conn.execute(select(CaseAction.case_id, CaseAction.action, CaseAction.from_org_id,
                                   CaseAction.to_org_id).where(CaseAction.case_id.in_(bounced))
                            .order_by(CaseAction.case_id, CaseAction.ts, CaseAction.id)).all()
    assert bounced
    by_case = defaultdict(list)
    for r in rows:
        by_case[r.case_id].append(r)
    for steps in by_case.values():
        flow = [(s.action, s.from_org_id, s.to_org_id) for s in steps if s.action in ("dispatch", "return")]
        # dispatch A, return A, dispatch B, return B, [dispatch A, return A,] then settled by one more dispatch
        returns = [f for f in flow if f[0] == "return"]
        assert flow[-1][0] == "dispatch" and len(returns) in (2, 3)
        assert returns[0][1] != returns[1][1] and len({r[2] for r in returns}) == 1  # back to one dispatcher


def test_the_simulator_writes_extensions_and_moves_the_deadline(engine):
    seed_county(engine, seed=3, days=10, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    sim = Simulator(engine, seed=4)
    t = int(NOW.timestamp())
    sim.load(t)
    end = t + 2 * 86400
    while t < end:  # two simulated days in hour ticks, pings every 2 hours
        sim.step(t, t + 3600, 120)
        t += 3600
    with engine.connect() as conn:
        live_extensions = conn.execute(select(CaseAction.case_id).where(
            CaseAction.action == "extend", CaseAction.ts > NOW)).scalars().all()
    assert live_extensions  # the simulator applied extensions as their time came
    check_flows(engine)  # and the rows it updated agree with their logs (resolve_due_at moved)


def test_the_simulator_leaves_alone_a_case_its_plan_does_not_reproduce(engine):
    seed_county(engine, seed=3, days=2, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.begin() as conn:
        open_ids = conn.execute(select(Case.id).where(Case.closed_at.is_(None)).order_by(Case.id)).scalars().all()
        changed = open_ids[0]  # e.g. seeded by an older generator, or returned by someone else
        conn.execute(update(Case).where(Case.id == changed).values(returns=Case.returns + 1))
    sim = Simulator(engine, seed=4)
    sim.load(int(NOW.timestamp()))
    assert changed not in sim.live and len(set(open_ids) & set(sim.live)) > 0.9 * len(open_ids)


def test_the_demo_history_covers_the_same_month_a_year_earlier():
    # the worst case is the last day of a long month: its month a year earlier began 13 months before
    for today in (date(2026, 12, 31), date(2027, 3, 31), date(2028, 2, 29), date(2026, 11, 25)):
        first_day = today - timedelta(days=DEMO_DAYS - 1)  # seed_county's first local day
        a_year_earlier = today.replace(year=today.year - 1, day=min(today.day, 28))
        assert first_day <= a_year_earlier.replace(day=1), today
