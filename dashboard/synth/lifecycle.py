"""A case's life as a planned sequence of flow steps (case_actions) and the case row it leads to.

The plan is a pure function of the case's facts (code, report time, category, source, grid,
reporter, the case it duplicates), the Directory and the calendar; its randomness comes from a
numpy Generator keyed by those facts. The seed writes the steps up to its ``now``; the simulator
rebuilds the same plan from the database row and writes the later steps as their time comes.

Flow (domain.md): 上报 report -> 受理 accept (or 不予立案 reject / 重复合并 merge) -> [上报 escalate]
-> 派遣 dispatch -> [回退 return, re-dispatch] -> 签收 sign -> [督办 urge, 上报 escalate]
-> 处置 handle -> 核查 verify [返工 rework] -> 结案 close -> 回访 callback (a comment with the rating).
Grid workers close simple problems themselves (自处置, level ``grid``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

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
P_RETURN = 0.07
P_ESCALATE = 0.06
P_REWORK = 0.05

_normal = NormalDist()


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
    ref: int | None = None      # merge: merged_into; callback comment: the rating


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
    """Uniforms from a numpy Generator keyed by the case, drawn in blocks."""

    def __init__(self, key: int):
        self._g = np.random.default_rng([PLAN_SALT, key])
        self._buf: list[float] = []
        self._i = 0

    def u(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._g.random(32).tolist()
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return v

    def logn(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * _normal.inv_cdf(min(max(self.u(), 1e-9), 1 - 1e-9)))

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

    @property
    def last(self) -> int:
        return self.steps[-1].ts

    def add(self, ts: float, action: str, from_org=None, to_org=None, actor=None, note=None, *,
            status=None, holder=None, level=None, ref=None) -> int:
        t = int(ts)
        if self.steps and t <= self.last:
            t = self.last + 1
        self.steps.append(Step(t, action, from_org, to_org, actor, note, status, holder, level, ref))
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
          status="reported", holder=intake, level=d.level_of(intake))

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

    # 回退 return to the dispatcher, re-dispatch to the street office
    if route == "dept" and office is not None and r.u() < P_RETURN:
        b.add(b.last + r.logn(min(2 * HOUR, 0.1 * window), 0.8), "return", handler, dispatcher, d.actor(handler, r.u()),
              "非本单位职责，申请退回", status="accepted", holder=dispatcher, level=d.level_of(dispatcher))
        handler = office
        b.add(b.last + r.logn(min(40 * MINUTE, 0.05 * window), 0.6), "dispatch", dispatcher, handler,
              d.actor(dispatcher, r.u()), "重新派遣", status="dispatched", holder=handler, level=d.level_of(handler))

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

    # 督办 urges and 上报 escalation while it is being handled
    events: list[tuple[float, str]] = []
    if f_done > 0.8 and r.u() < 0.5:
        events.append((t0 + window * (0.8 + 0.15 * r.u()), "临期提醒督办"))
    if late and r.u() < 0.7:
        events.append((t0 + window * (1.0 + (f_done - 1.0) * 0.4 * r.u()), "超期黄牌督办"))
        if f_done > 1.6 and r.u() < 0.5:
            events.append((t0 + window * (1.0 + (f_done - 1.0) * 0.7), "超期红牌督办"))
    upper = office if route == "community" else (dept if route == "office" else None)
    if upper is not None and upper != handler and r.u() < P_ESCALATE:
        events.append((b.last + window * (0.15 + 0.25 * r.u()), "escalate"))
    for ts, what in sorted(events):
        ts = daytime(ts)  # supervisors urge in office hours (short-deadline tiers: any time)
        if ts >= t_handle_target:
            continue
        if what == "escalate":
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
    _callback(b, r, f, d, center, late=late or rework or b.last > t0 + window)
    return b.steps


def _callback(b: _Builder, r: Stream, f: CaseFacts, d: Directory, center: int | None, *, late: bool) -> None:
    """回访: a satisfaction rating some hours after closure (not every case is called back)."""
    if r.u() >= CALLBACK_P.get(f.source, 0.1):
        return
    rating = 1 + r.pick(RATING_P_BAD if late else RATING_P_GOOD)
    b.add(b.last + r.logn(5 * HOUR, 0.8), "comment", center, None, d.actor(center, r.u()),
          f"回访：{RATING_WORDS[rating]}（{rating}分）", ref=rating)


def state_after(steps: list[Step]) -> dict:
    """The mutable columns of the case row after ``steps`` (epoch seconds for times)."""
    st = {"status": None, "level": None, "handler_org_id": None, "accepted_at": None, "dispatched_at": None,
          "closed_at": None, "escalations": 0, "returns": 0, "reworks": 0, "urges": 0, "satisfaction": None,
          "merged_into": None, "updated_at": None}
    for s in steps:
        if s.status is not None:
            st["status"] = s.status
        if s.holder is not None:
            st["handler_org_id"] = s.holder
        if s.level is not None:
            st["level"] = s.level
        a = s.action
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
