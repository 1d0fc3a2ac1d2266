"""A case's life as a planned sequence of flow steps (case_actions) and the case row it leads to.

The plan is a pure function of the case's facts (code, report time, category, source, grid,
reporter, the case it duplicates), the Directory and the calendar; its randomness comes from a
random stream keyed by those facts. The seed writes the steps up to its ``now``; the simulator
rebuilds the same plan from the database row and writes the later steps as their time comes.

Flow (domain.md): 上报 report -> 受理 accept (or 不予立案 reject / 重复合并 merge) -> [上报 escalate]
-> 派遣 dispatch -> [回退 return, re-dispatch] -> 签收 sign -> [延期 extend, 督办 urge, 上报 escalate]
-> 处置 handle -> 核查 verify [返工 rework] -> 结案 close -> 回访 callback (a comment with the rating).
Grid workers close simple problems themselves (自处置, level ``grid``).

Every step names the orgs it moves the case between: report/dispatch/escalate/return go to the
new holder (``to_org``) from the one that held it (``from_org``), so ``handler_org_id`` is the
last of them. A return goes back to the dispatcher; a share of department-bound cases bounce
between two departments two or three times (推诿) before the dispatcher settles who takes it. An
extension moves ``resolve_due_at`` later (the step's ``ref`` carries the new deadline).
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

from .local_calendar import HOUR, LocalCalendar
from .catalog import FALLBACK_LIMITS, Category
from .org_chart import Directory
from .profiles import street_profile

PLAN_SALT = 0x67726964  # "grid": fixes the per-case streams independently of the seed's own stream
TERMINAL = ("closed", "rejected", "merged")
MINUTE = 60

SOURCE_NOTES = {"patrol": "网格员巡查上报", "hotline": "12345热线转办", "resident": "居民随手拍上报",
                "video": "视频AI识别上报", "sensor": "物联感知告警", "department": "部门移交",
                "superior": "上级交办", "other": "其他渠道"}
REJECT_NOTES = ("不属于受理范围", "信息不全，无法核实", "经核实情况不存在")
RATING_WORDS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RATING_P_GOOD = (0.01, 0.02, 0.05, 0.22, 0.70)   # ratings 1..5
RATING_P_BAD = (0.06, 0.10, 0.14, 0.30, 0.40)    # after a late closure or rework
CALLBACK_P = {"hotline": 0.85, "resident": 0.85, "superior": 0.85, "other": 0.85, "department": 0.3,
              "patrol": 0.3, "video": 0.1, "sensor": 0.1}
# Share of cases a community workstation handles itself, by major category (default COMMUNITY_DEFAULT).
COMMUNITY_SHARE = {"08": 0.55, "10": 0.5, "01": 0.3, "02": 0.3, "03": 0.2, "07": 0.2}
COMMUNITY_DEFAULT = 0.08
# Share of the rest a county line department takes (the street office takes the others).
DEPT_SHARE = {"urban_management": 0.25, "civil_affairs": 0.3, "justice": 0.3}
DEPT_DEFAULT = 0.7
SELF_HANDLE_P = 0.55
P_LATE = 0.04
P_MERGE = {"patrol": 0.15}
P_MERGE_DEFAULT = 0.35
P_REJECT = 0.02
P_RETURN = 0.025         # a department sends a case back once; the street office takes it
P_BOUNCE = 0.07          # department-bound B/C/D cases bounced between two departments (推诿)
P_BOUNCE_THIRD = 0.35    # ... a third time
P_RETURN_OFFICE = 0.02   # a street office sends back a case a line department should take
P_EXTEND = 0.5           # B/C/D cases running late (or about to) whose handler asks for more time (延期)
P_ESCALATE = 0.06
P_REWORK = 0.05
# How prone a line's cases are to be sent back (x P_RETURN and P_BOUNCE): where duties overlap
# (illegal building, pollution, property) far more than where they are plain (police, fire, health).
RETURN_PRONE = {"urban_management": 1.6, "housing": 1.6, "natural_resources": 1.4, "environment": 1.2,
                "water": 1.2, "market": 1.0, "human_resources": 1.0, "civil_affairs": 0.8, "justice": 0.8,
                "transport": 0.8, "utilities": 0.8}
RETURN_PRONE_DEFAULT = 0.3
# The department a bounced case is pushed to: the one whose duties overlap (default: none, no bounce).
BOUNCE_PARTNER = {"urban_management": "housing", "housing": "urban_management", "environment": "water",
                  "water": "environment", "market": "urban_management", "civil_affairs": "human_resources",
                  "human_resources": "justice", "justice": "civil_affairs", "natural_resources": "housing",
                  "emergency": "fire", "fire": "emergency", "transport": "urban_management",
                  "utilities": "housing", "health": "market", "education": "police", "police": "urban_management"}

try:  # the standard normal quantile without NormalDist.inv_cdf's checks (the seed asks it ~900,000 times)
    from statistics import _normal_dist_inv_cdf as _inv_cdf
except ImportError:  # pragma: no cover - a Python without the helper
    def _inv_cdf(p: float, mu: float, sigma: float) -> float:
        return NormalDist(mu, sigma).inv_cdf(p)


class Step(NamedTuple):
    ts: int
    action: str
    from_org: int | None
    to_org: int | None
    actor: int | None
    note: str | None
    status: str | None = None   # the case's status after this step (None: unchanged)
    holder: int | None = None   # handler_org_id after this step (None: unchanged)
    level: str | None = None    # level after this step (None: unchanged)
    ref: int | None = None      # merge: merged_into; comment: the rating; report/extend: resolve_due_at


@dataclass(frozen=True)
class CaseFacts:
    code: str
    reported: int
    category: str
    source: str
    grid_code: str | None
    reporter: int | None
    dup_of: int | None = None   # the earlier case this one repeats (see duplicate rule in seed/sim_reads)


def case_key(f: CaseFacts) -> int:
    return zlib.crc32(f"{f.code}|{f.reported}|{f.category}|{f.grid_code}|{f.source}".encode())


class Stream:
    """Uniforms from a Mersenne Twister keyed by the case (cheaper to start than a numpy Generator,
    and a case draws only a few dozen)."""

    def __init__(self, key: int):
        self.u = random.Random((PLAN_SALT << 32) | key).random

    def logn(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * _inv_cdf(min(max(self.u(), 1e-9), 1 - 1e-9), 0.0, 1.0))

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def pick(self, probs: tuple[float, ...]) -> int:
        u, acc = self.u(), 0.0
        for i, p in enumerate(probs):
            acc += p
            if u < acc:
                return i
        return len(probs) - 1


class _Builder:
    """Appends steps keeping timestamps strictly increasing (so "steps up to T" is well defined)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.last: int | None = None  # the time of the last step

    def add(self, ts: float, action: str, from_org=None, to_org=None, actor=None, note=None, *,
            status=None, holder=None, level=None, ref=None) -> int:
        t = int(ts)
        if self.last is not None and t <= self.last:
            t = self.last + 1
        self.steps.append(Step(t, action, from_org, to_org, actor, note, status, holder, level, ref))
        self.last = t
        return t


def plan_case(f: CaseFacts, cat: Category | None, d: Directory, cal: LocalCalendar) -> list[Step]:
    """The whole planned life of a case (steps may lie in the future)."""
    r = Stream(case_key(f))
    tier, acc_min, disp_min, res_h = cat.limits() if cat else (
        FALLBACK_LIMITS["tier"], FALLBACK_LIMITS["accept_minutes"], FALLBACK_LIMITS["dispatch_minutes"],
        FALLBACK_LIMITS["resolve_hours"])
    dept_type = cat.dept_type if cat else None
    major = f.category[:2] if f.category else ""
    urgent = tier == "U"
    t0, window = f.reported, res_h * HOUR
    grid = f.grid_code or ""
    comm, sub, office = d.community.get(grid[:12]), d.subcenter.get(grid[:9]), d.office.get(grid[:9])
    center = d.center if d.center is not None else sub
    dept = d.dept.get(dept_type or "")
    b = _Builder()

    def daytime(ts: float, latest: float = 21.0) -> float:
        # short-deadline tiers are worked around the clock; longer ones wait for the morning
        return ts if tier in ("U", "A") else max(ts, cal.to_daytime(int(ts), 8.0, latest, r.u()))

    # 上报 report
    if f.source == "patrol" and comm is not None:
        intake = comm
    elif f.source in ("resident", "video", "sensor") and sub is not None:
        intake = sub
    else:
        intake = center if center is not None else (sub or comm)
    b.add(t0, "report", None, intake, f.reporter if f.source == "patrol" else None, SOURCE_NOTES.get(f.source),
          status="reported", holder=intake, level=d.level_of(intake), ref=t0 + window)

    # 受理 accept / 不予立案 reject / 重复合并 merge
    late_accept, u_merge, u_reject = r.u() < 0.04, r.u(), r.u()
    if late_accept:
        delay = acc_min * MINUTE * (1.05 + 1.5 * r.u())
    else:
        delay = min(0.9, r.logn(0.15, 0.8)) * acc_min * MINUTE
    t_acc = t0 + max(15.0, delay)
    intake_actor = d.actor(intake, r.u())
    if f.dup_of is not None and u_merge < P_MERGE.get(f.source, P_MERGE_DEFAULT):
        b.add(t_acc, "merge", intake, None, intake_actor, "与在办事件重复，合并办理", status="merged", ref=f.dup_of)
        return b.steps
    if u_reject < P_REJECT:
        b.add(t_acc, "reject", intake, None, intake_actor, REJECT_NOTES[int(r.u() * 3) % 3], status="rejected")
        return b.steps
    b.add(t_acc, "accept", None, intake, intake_actor, "受理立案", status="accepted")

    # route: who will handle it
    u_route, u_dept = r.u(), r.u()
    simple = (tier in ("A", "B") and major in ("01", "02", "03")) or f.category in ("0701", "0702")
    community_share = COMMUNITY_SHARE.get(major, COMMUNITY_DEFAULT)
    to_dept = dept is not None and u_dept < DEPT_SHARE.get(dept_type or "", DEPT_DEFAULT)
    route = None
    if intake == comm and simple:
        if u_route < SELF_HANDLE_P:
            route = "self"
        elif u_route < SELF_HANDLE_P + (1 - SELF_HANDLE_P) * community_share:
            route = "community"
    elif comm is not None and u_route < community_share:
        route = "community"
    if route is None:
        if dept is not None and (to_dept or office is None):
            route = "dept"
        else:
            route = "office" if office is not None else "community"
    handler = {"self": comm, "community": comm, "office": office, "dept": dept}[route]
    if handler is None:
        handler, route = intake, "community"
    laggard = bool(getattr(street_profile(grid[:9]) if len(grid) >= 9 else None, "laggard", False))

    # 派遣 dispatch (after escalating up the chain when the holder cannot dispatch that far)
    late_dispatch = r.u() < 0.04
    frac = (1.05 + 1.5 * r.u()) if late_dispatch else min(0.9, r.logn(0.35, 0.5))
    t_disp = max(b.last + 30, t0 + frac * disp_min * MINUTE)
    holder = intake
    if route == "self":
        worker = d.worker(grid)
        b.add(b.last + 30 + 90 * r.u(), "dispatch", comm, comm, worker, "网格员自行处置",
              status="dispatched", holder=comm, level="grid")
        t_handle = b.last + r.logn(20 * MINUTE, 0.6)
        b.add(t_handle, "sign", None, comm, worker, "网格员签收", status="handling")
        b.add(b.last + r.logn(15 * MINUTE, 0.6), "handle", comm, None, worker, "已现场处置", status="verifying")
        b.add(b.last + r.logn(25 * MINUTE, 0.7), "verify", None, None, d.actor(comm, 0.0), "核查通过")
        b.add(b.last + 60 + 540 * r.u(), "close", None, None, d.actor(comm, 0.0), "结案", status="closed")
        return b.steps
    chain: list[int] = []
    if holder == comm and route in ("office", "dept") and sub is not None:
        chain.append(sub)
    if route == "dept" and (chain[-1] if chain else holder) != center and center is not None:
        chain.append(center)
    for i, up in enumerate(chain):
        t_up = b.last + (t_disp - b.last) * (i + 1) / (len(chain) + 1)
        b.add(t_up, "escalate", holder, up, d.actor(holder, r.u()), "超出处置权限，提请上级派遣",
              status="accepted", holder=up, level=d.level_of(up))
        holder = up
    b.add(t_disp, "dispatch", holder, handler, d.actor(holder, r.u()), "派遣处置",
          status="dispatched", holder=handler, level=d.level_of(handler))
    dispatcher = holder

    # 回退 return to the dispatcher and re-dispatch; 推诿: bounced between two departments first
    u_return = r.u()
    partner = d.dept.get(BOUNCE_PARTNER.get(dept_type or "", ""))
    prone = RETURN_PRONE.get(dept_type or "", RETURN_PRONE_DEFAULT)
    slow = tier not in ("U", "A")
    if route == "dept" and slow and partner not in (None, handler) and u_return < P_BOUNCE * prone:
        pair, n = (handler, partner), 2 + (r.u() < P_BOUNCE_THIRD)
        for k in range(n):
            _return(b, r, d, handler, dispatcher, window, daytime)
            if k < n - 1:
                handler = pair[(k + 1) % 2]
                _dispatch(b, r, d, dispatcher, handler, window, "改派", daytime)
        u_settle = r.u()
        handler = office if office is not None and u_settle < 0.4 else pair[int(u_settle * 2) % 2]
        route = "office" if handler == office else "dept"
        _dispatch(b, r, d, dispatcher, handler, window, "协调明确责任单位，指定承办", daytime)
    elif route == "dept" and office is not None and u_return < (P_BOUNCE + P_RETURN) * prone:
        _return(b, r, d, handler, dispatcher, window, None)
        handler, route = office, "office"
        _dispatch(b, r, d, dispatcher, handler, window, "重新派遣", None)
    elif route == "office" and dept is not None and slow and u_return < P_RETURN_OFFICE:
        _return(b, r, d, handler, dispatcher, window, daytime)
        handler, route = dept, "dept"
        _dispatch(b, r, d, dispatcher, handler, window, "重新派遣", daytime)

    # 签收 sign
    sign_median = min(15 * MINUTE, 0.05 * window)
    b.add(daytime(b.last + r.logn(sign_median, 1.0), 20.0), "sign", None, handler, d.actor(handler, r.u()),
          "签收", status="handling")

    # when it will be done: most well before the deadline, some late
    p_late = P_LATE * (2.5 if laggard else 1.0) * (1.5 if d.level_of(handler) == "county" else 1.0)
    p_late *= 0.5 if urgent else 1.0
    late = r.u() < p_late
    verify_gap = min(r.logn(HOUR, 0.7), 0.1 * window)
    close_gap = max(30.0, min(r.logn(10 * MINUTE, 0.6), 0.02 * window))
    earliest = (b.last + 10 * MINUTE + verify_gap + close_gap - t0) / window
    f_done = 1.0 + r.expo(0.35) if late else min(0.95, r.logn(0.4, 0.5))
    f_done = max(f_done, earliest + 0.02 * r.u())
    t_handle_target = t0 + f_done * window - verify_gap - close_gap

    # 延期 extension: asked before the deadline by a handler who will overrun; mostly long enough
    events: list[tuple[float, str, int | None]] = []
    due = t0 + window
    if slow and f_done > 0.8 and r.u() < P_EXTEND:
        t_ext = daytime(max(b.last + 10 * MINUTE, t0 + window * (0.55 + 0.35 * r.u())))
        covers, u_extra = r.u() < 0.8, r.u()
        extra = (f_done - 1.0 + 0.1 + 0.4 * u_extra) if covers else 0.5 * (f_done - 1.0)
        new_due = due + max(0.25, extra) * window
        new_due = int(math.ceil(new_due / HOUR) * HOUR)  # granted to a whole hour
        if t_ext < min(due, t_handle_target):
            events.append((t_ext, "extend", new_due))
            due = new_due

    # 督办 urges and 上报 escalation while it is being handled (against the deadline in force)
    span = due - t0
    overrun = t0 + f_done * window - due
    if t0 + f_done * window > t0 + 0.8 * span and r.u() < 0.5:
        events.append((t0 + span * (0.8 + 0.15 * r.u()), "临期提醒督办", None))
    if overrun > 0 and r.u() < 0.7:
        events.append((due + overrun * 0.4 * r.u(), "超期黄牌督办", None))
        if overrun > 0.6 * window and r.u() < 0.5:
            events.append((due + overrun * 0.7, "超期红牌督办", None))
    upper = office if route == "community" else (dept if route == "office" else None)
    if upper is not None and upper != handler and r.u() < P_ESCALATE:
        events.append((b.last + window * (0.15 + 0.25 * r.u()), "escalate", None))
    for ts, what, new_due in sorted(events, key=lambda e: e[0]):
        ts = ts if what == "extend" else daytime(ts)  # supervisors urge in office hours (short tiers: any time)
        if ts >= t_handle_target:
            continue
        if what == "extend":
            if max(ts, b.last + 1) >= t0 + window:  # an escalation took the time: asked too late, not granted
                due = t0 + window
                continue
            b.add(ts, "extend", handler, center, d.actor(handler, r.u()), f"申请延期至{_local_day(cal, new_due)}，已批准",
                  ref=new_due)
        elif what == "escalate":
            b.add(ts, "escalate", handler, upper, d.actor(handler, r.u()), "处置难度大，上报上级",
                  status="dispatched", holder=upper, level=d.level_of(upper))
            handler = upper
            b.add(daytime(b.last + r.logn(min(30 * MINUTE, 0.05 * window), 0.8), 20.0), "sign", None, handler,
                  d.actor(handler, r.u()), "签收", status="handling")
        else:
            b.add(ts, "urge", center, handler, d.actor(center, r.u()), what)

    # 处置 handle, 核查 verify (返工 rework), 结案 close
    b.add(daytime(max(t_handle_target, b.last + 10 * MINUTE)), "handle", handler, None, d.actor(handler, r.u()),
          "处置完毕，反馈结果", status="verifying")
    checker = d.worker(grid) or d.actor(intake, r.u())
    rework = r.u() < P_REWORK
    if rework:
        b.add(daytime(b.last + verify_gap), "rework", intake, handler, checker, "核查未通过，返工", status="handling")
        b.add(daytime(b.last + r.logn(min(0.3 * window, 24 * HOUR), 0.6)), "handle", handler, None,
              d.actor(handler, r.u()), "返工处置完毕", status="verifying")
    b.add(daytime(b.last + verify_gap), "verify", None, None, checker, "核查通过")
    b.add(b.last + close_gap, "close", None, None, d.actor(dispatcher, r.u()), "结案", status="closed")
    _callback(b, r, f, d, center, late=late or rework or b.last > due)
    return b.steps


def _return(b: _Builder, r: Stream, d: Directory, holder: int, dispatcher: int, window: float, daytime) -> None:
    """回退: the holder sends the case back to the dispatcher (not its duty)."""
    ts = b.last + r.logn(min(2 * HOUR, 0.1 * window), 0.8)
    b.add(daytime(ts, 20.0) if daytime else ts, "return", holder, dispatcher, d.actor(holder, r.u()),
          "非本单位职责，申请退回", status="accepted", holder=dispatcher, level=d.level_of(dispatcher))


def _dispatch(b: _Builder, r: Stream, d: Directory, dispatcher: int, to: int, window: float, note: str,
              daytime) -> None:
    ts = b.last + r.logn(min(40 * MINUTE, 0.05 * window), 0.6)
    b.add(daytime(ts, 20.0) if daytime else ts, "dispatch", dispatcher, to, d.actor(dispatcher, r.u()), note,
          status="dispatched", holder=to, level=d.level_of(to))


def _local_day(cal: LocalCalendar, ts: int) -> str:
    day = cal.local_date(ts)
    return f"{day.month}月{day.day}日"


def _callback(b: _Builder, r: Stream, f: CaseFacts, d: Directory, center: int | None, *, late: bool) -> None:
    """回访: a satisfaction rating some hours after closure (not every case is called back)."""
    if r.u() >= CALLBACK_P.get(f.source, 0.1):
        return
    rating = 1 + r.pick(RATING_P_BAD if late else RATING_P_GOOD)
    b.add(b.last + r.logn(5 * HOUR, 0.8), "comment", center, None, d.actor(center, r.u()),
          f"回访：{RATING_WORDS[rating]}（{rating}分）", ref=rating)


def state_after(steps: list[Step]) -> dict:
    """The mutable columns of the case row after ``steps`` (epoch seconds for times; ``resolve_due_at``
    None when ``steps`` is empty)."""
    st = {"status": None, "level": None, "handler_org_id": None, "accepted_at": None, "dispatched_at": None,
          "closed_at": None, "escalations": 0, "returns": 0, "reworks": 0, "urges": 0, "satisfaction": None,
          "merged_into": None, "resolve_due_at": None, "updated_at": None}
    for s in steps:
        if s.status is not None:
            st["status"] = s.status
        if s.holder is not None:
            st["handler_org_id"] = s.holder
        if s.level is not None:
            st["level"] = s.level
        a = s.action
        if a in ("report", "extend"):
            st["resolve_due_at"] = s.ref
        if a == "accept" and st["accepted_at"] is None:
            st["accepted_at"] = s.ts
        elif a == "dispatch" and st["dispatched_at"] is None:
            st["dispatched_at"] = s.ts
        elif a in ("close", "reject", "merge"):
            st["closed_at"] = s.ts
            if a == "merge":
                st["merged_into"] = s.ref
        elif a == "escalate":
            st["escalations"] += 1
        elif a == "return":
            st["returns"] += 1
        elif a == "rework":
            st["reworks"] += 1
        elif a == "urge":
            st["urges"] += 1
        elif a == "comment" and s.ref is not None:
            st["satisfaction"] = s.ref
        st["updated_at"] = s.ts
    return st


def deadlines(reported: int, cat: Category | None) -> tuple[int, int, int]:
    """(accept_due_at, dispatch_due_at, resolve_due_at) from the category's tier limits."""
    _, a, dsp, h = cat.limits() if cat else (None, FALLBACK_LIMITS["accept_minutes"],
                                             FALLBACK_LIMITS["dispatch_minutes"], FALLBACK_LIMITS["resolve_hours"])
    return reported + a * MINUTE, reported + dsp * MINUTE, reported + h * HOUR


def steps_until(steps: list[Step], t: int) -> int:
    """How many steps happen at or before ``t``."""
    n = 0
    for s in steps:
        if s.ts > t:
            break
        n += 1
    return n
