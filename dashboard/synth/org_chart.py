"""Orgs (the linkage chain and line departments) and staff; the Directory used to route cases.

The seed generates the rows; the simulator rebuilds the same Directory from the database, so a
case's planned lifecycle is the same function of the data in both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .geography import Geography
from .names import person_names

# County line departments (条线部门) by the dept_type values of categories.csv.
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("urban_management", "城市管理局"),
    ("environment", "生态环境局"),
    ("emergency", "应急管理局"),
    ("fire", "消防救援大队"),
    ("police", "公安局"),
    ("market", "市场监督管理局"),
    ("housing", "住房和城乡建设局"),
    ("water", "水务局"),
    ("civil_affairs", "民政局"),
    ("human_resources", "人力资源和社会保障局"),
    ("justice", "司法局"),
    ("health", "卫生健康委员会"),
    ("education", "教育局"),
    ("natural_resources", "自然资源和规划局"),
    ("transport", "交通运输局"),
    ("utilities", "公用事业服务中心"),
)

SHARE_TWO_WORKERS = 0.12   # grids with a second (part-time) worker
SHARE_VACANT = 0.02        # grids without an active worker


@dataclass
class OrgChart:
    orgs: list[dict]
    staff: list[dict]


def build_org_chart(geo: Geography, rng: np.random.Generator, first_org_id: int = 1,
                    first_staff_id: int = 1) -> OrgChart:
    profile = geo.profile
    orgs: list[dict] = []

    def org(name: str, kind: str, region: str, dept_type: str | None = None) -> int:
        oid = first_org_id + len(orgs)
        orgs.append({"id": oid, "name": name, "kind": kind, "region_code": region, "dept_type": dept_type})
        return oid

    center = org(profile.center_name or f"{profile.name}社会治理联动指挥中心", "center", profile.code)
    dept_ids = [org(f"{profile.name}{name}", "department", profile.code, dtype) for dtype, name in DEPARTMENTS]
    sub_ids, office_ids = [], []
    for region in geo.regions:
        if region["level"] == "street":
            sub_ids.append(org(f"{region['name']}社会治理联动分中心", "center", region["code"]))
            suffix = "办事处" if region["name"].endswith("街道") else "人民政府"
            office_ids.append(org(f"{region['name']}{suffix}", "street", region["code"]))
    community_org = {}
    for region in geo.regions:
        if region["level"] == "community":
            community_org[region["code"]] = org(f"{region['name']}网格工作站", "community", region["code"])

    # staff: (role, org, grid, full_time, active) first, names drawn in one go
    plan: list[tuple[str, int, str | None, bool, bool]] = []
    n_grids = len(geo.grid_rows)
    kind_draw = rng.random(n_grids)
    for grid, u in zip(geo.grid_rows, kind_draw):
        oid = community_org[grid["community_code"]]
        if u < SHARE_VACANT:
            if u < SHARE_VACANT / 2:  # the worker left: still listed, inactive
                plan.append(("grid_worker", oid, grid["code"], True, False))
            continue
        plan.append(("grid_worker", oid, grid["code"], bool(rng.random() < 0.9), True))
        if u > 1 - SHARE_TWO_WORKERS:
            plan.append(("grid_worker", oid, grid["code"], False, True))
    for oid in community_org.values():
        plan.append(("grid_leader", oid, None, True, True))
    plan += [("dispatcher", center, None, True, True)] * 12
    for oid in sub_ids:
        plan += [("dispatcher", oid, None, True, True)] * 3
    for oid in office_ids:
        plan += [("handler", oid, None, True, True)] * 5
    for oid in dept_ids:
        plan += [("handler", oid, None, True, True)] * int(rng.integers(4, 9))
    names = person_names(rng, len(plan))
    staff = [{"id": first_staff_id + i, "name": name, "role": role, "org_id": oid, "grid_code": grid,
              "full_time": full, "active": active}
             for i, ((role, oid, grid, full, active), name) in enumerate(zip(plan, names))]
    return OrgChart(orgs=orgs, staff=staff)


class Directory:
    """Who holds what: the orgs a case passes through and the staff who act for them."""

    def __init__(self, orgs: list[dict], staff: list[dict]):
        self.center: int | None = None
        self.subcenter: dict[str, int] = {}
        self.office: dict[str, int] = {}
        self.community: dict[str, int] = {}
        self.dept: dict[str, int] = {}
        self.level: dict[int, str] = {}
        for o in sorted(orgs, key=lambda o: o["id"]):
            kind, region, oid = o.get("kind"), o.get("region_code") or "", o["id"]
            self.level[oid] = {6: "county", 9: "street", 12: "community"}.get(len(region), "county")
            if kind == "center" and len(region) == 6 and self.center is None:
                self.center = oid
            elif kind == "center" and len(region) == 9:
                self.subcenter.setdefault(region, oid)
            elif kind == "street" and len(region) == 9:
                self.office.setdefault(region, oid)
            elif kind == "community" and len(region) == 12:
                self.community.setdefault(region, oid)
            elif kind == "department" and o.get("dept_type"):
                self.dept.setdefault(o["dept_type"], oid)
        self.members: dict[int, list[int]] = defaultdict(list)
        self.leader: dict[int, int] = {}
        self.workers: dict[str, list[int]] = defaultdict(list)
        for s in sorted(staff, key=lambda s: s["id"]):
            if not s.get("active"):
                continue
            if s.get("role") == "grid_worker" and s.get("grid_code"):
                self.workers[s["grid_code"]].append(s["id"])
            elif s.get("role") == "grid_leader" and s.get("org_id") is not None:
                self.leader.setdefault(s["org_id"], s["id"])
            elif s.get("org_id") is not None:
                self.members[s["org_id"]].append(s["id"])

    def actor(self, org_id: int | None, u: float) -> int | None:
        """A staff member acting for ``org_id`` (its leader for a community workstation)."""
        if org_id is None:
            return None
        if org_id in self.leader:
            return self.leader[org_id]
        people = self.members.get(org_id)
        return people[int(u * len(people)) % len(people)] if people else None

    def worker(self, grid_code: str | None) -> int | None:
        people = self.workers.get(grid_code or "")
        return people[0] if people else None

    def level_of(self, org_id: int | None) -> str:
        """The tier an org sits at: its jurisdiction's level (county departments: county)."""
        return self.level.get(org_id, "county")
