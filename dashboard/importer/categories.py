"""The file's categories to the contract's 4-digit category codes.

A file value (``columns.category``, stripped; empty -> ``categories.blank_name``) gets its code by:

1. ``[categories.map]``: the value (exactly, else ignoring case) -> a minor code of the contract tree
   (``categories.csv``) or one already in the database;
2. with ``accept_codes``, a value that already is such a code;
3. otherwise it is **unknown** and keeps its name under a major: the major its group maps to
   (``columns.category_group`` through ``[categories.groups]``), else ``other_major`` (default 99,
   "其他(导入)"). Its code is the major + 2 digits: an unknown name already in the database under
   that major keeps its code (re-imports and later files agree); new names get the free numbers 01-98
   in natural order of their names (the whole file's unknown names are collected first, so the order
   of rows does not matter). When a major's 98 numbers are used up, further names share its ``99``
   ("其他(未列出)") and those rows count as ``cleared.category`` (the name is lost).

The contract tree's rows, the mapping's majors and the new unknown codes are written to
``categories`` where missing; existing rows are never changed.
"""

from __future__ import annotations

import csv
from importlib import resources

from .geography import natural_key
from .mapping import CategoriesSpec, MappingError

OVERFLOW_SUFFIX = "99"
OVERFLOW_NAME = "其他(未列出)"


def contract_tree() -> list[dict]:
    """The packaged default category tree (dashboard/resources/categories.csv) as table rows."""
    def num(text):
        text = (text or "").strip()
        return int(text) if text else None

    source = resources.files("dashboard").joinpath("resources/categories.csv")
    with source.open(encoding="utf-8") as fh:
        return [{"code": r["code"].strip(), "parent_code": (r.get("parent_code") or "").strip() or None,
                 "name": r["name"].strip(), "tier": (r.get("tier") or "").strip() or None,
                 "accept_minutes": num(r.get("accept_minutes")), "dispatch_minutes": num(r.get("dispatch_minutes")),
                 "resolve_hours": num(r.get("resolve_hours")), "dept_type": (r.get("dept_type") or "").strip() or None}
                for r in csv.DictReader(fh)]


class CategoryBook:
    """Resolves file values to codes; collects the rows to write."""

    def __init__(self, spec: CategoriesSpec, existing: list[dict]):
        self.spec = spec
        tree = contract_tree()
        self.known: dict[str, dict] = {r["code"]: r for r in tree}
        for row in existing:  # the database's own rows win (a DBA may have tuned limits)
            if row.get("code"):
                self.known[row["code"]] = row
        self.existing_codes = {r["code"] for r in existing if r.get("code")}
        self.to_write: list[dict] = [r for r in tree if r["code"] not in self.existing_codes]
        problems = [f"categories.map: {k!r} = {v!r} is not a known minor category code"
                    for k, v in spec.map.items() if v not in self.known or len(v) != 4]
        for key, major in spec.groups.items():
            if major not in self.known and major not in spec.majors and major != spec.other_major:
                problems.append(f"categories.groups: {key!r} = {major!r} is neither a major of the tree nor in "
                                f"categories.majors")
        if problems:
            raise MappingError("\n".join(problems))
        self.mapped = dict(spec.map)
        self.mapped_folded = {k.strip().casefold(): v for k, v in spec.map.items()}
        self.groups_folded = {k.strip().casefold(): v for k, v in spec.groups.items()}
        self.allocated: dict[tuple[str, str], str] = {}  # (major, name) -> code
        for row in existing:
            parent, name = row.get("parent_code"), row.get("name")
            if parent and name and len(row["code"]) == 4:
                self.allocated.setdefault((parent, name), row["code"])
        self.overflow: set[str] = set()  # the overflow codes handed out (rows using them count as cleared)

    # --- resolution ---------------------------------------------------------------------------
    def name_of(self, value: str) -> str:
        return value or self.spec.blank_name

    def known_code(self, value: str) -> str | None:
        code = self.mapped.get(value) or self.mapped_folded.get(value.casefold())
        if code:
            return code
        if self.spec.accept_codes and len(value) == 4 and value in self.known:
            return value
        return None

    def major_for(self, group: str) -> str:
        return self.groups_folded.get(group.casefold(), self.spec.other_major) if group else self.spec.other_major

    def plan(self, pairs: set[tuple[str, str]]) -> None:
        """Give a code to every unknown (value, group) pair of the whole file, before any row is mapped."""
        wanted: dict[str, set[str]] = {}
        for value, group in pairs:
            if self.known_code(value):
                continue
            wanted.setdefault(self.major_for(group), set()).add(self.name_of(value))
        for major, names in sorted(wanted.items()):
            self._ensure_major(major)
            used = {c for c in self.known if len(c) == 4 and c.startswith(major)}
            free = (f"{major}{i:02d}" for i in range(1, 99) if f"{major}{i:02d}" not in used)
            for name in sorted(names, key=natural_key):
                if (major, name) in self.allocated:
                    continue
                code = next(free, None)
                if code is None:
                    code = major + OVERFLOW_SUFFIX
                    self.overflow.add(code)
                    if code not in self.known:
                        self._add(code, major, OVERFLOW_NAME)
                    self.allocated[(major, name)] = code
                    continue
                self._add(code, major, name)
                self.allocated[(major, name)] = code

    def code(self, value: str, group: str) -> str:
        return self.known_code(value) or self.allocated[(self.major_for(group), self.name_of(value))]

    def resolve_hours(self, code: str) -> int | None:
        row = self.known.get(code)
        return row.get("resolve_hours") if row else None

    # --- rows -----------------------------------------------------------------------------------
    def _ensure_major(self, major: str) -> None:
        if major in self.known:
            return
        name = self.spec.majors.get(major) or (self.spec.other_name if major == self.spec.other_major else major)
        self._add(major, None, name)

    def _add(self, code: str, parent: str | None, name: str) -> None:
        row = {"code": code, "parent_code": parent, "name": name, "tier": None, "accept_minutes": None,
               "dispatch_minutes": None, "resolve_hours": None, "dept_type": None}
        self.known[code] = row
        if code not in self.existing_codes:
            self.to_write.append(row)

    def new_codes(self) -> list[str]:
        """Codes this import adds beyond the contract tree."""
        tree = {r["code"] for r in contract_tree()}
        return [r["code"] for r in self.to_write if r["code"] not in tree]
