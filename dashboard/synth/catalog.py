"""The event categories (事件分类) from the packaged ``categories.csv`` and how often each occurs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

# Relative frequency of each minor category in a county's reports. City appearance and street
# order dominate (digital city management data: a few categories make most cases); disputes and
# emergencies are rare.
CATEGORY_WEIGHTS: dict[str, float] = {
    "0101": 14, "0102": 6, "0103": 9, "0104": 2, "0105": 1.5,
    "0201": 7, "0202": 2, "0203": 1,
    "0301": 9, "0302": 7, "0303": 8, "0304": 0.5,
    "0401": 1.5, "0402": 1.5, "0403": 1.5, "0404": 1,
    "0501": 0.6, "0502": 1.5, "0503": 2, "0504": 0.5, "0505": 2,
    "0601": 0.6, "0602": 1.2, "0603": 1.5, "0604": 0.1,
    "0701": 2, "0702": 2.5, "0703": 0.6, "0704": 1, "0705": 0.7, "0706": 0.5,
    "0801": 1.2, "0802": 0.4, "0803": 0.5, "0804": 1, "0805": 0.4, "0806": 0.1, "0807": 0.05,
    "0901": 0.8, "0902": 0.05, "0903": 0.1, "0904": 0.4, "0905": 0.3,
    "1001": 1, "1002": 0.5, "1003": 0.4, "1004": 0.3, "1005": 0.8, "1006": 1.2,
    "1101": 0.1, "1102": 0.2, "1103": 0.3, "1104": 0.02,
}
DEFAULT_WEIGHT = 0.3

# Defaults for a category row that lacks them (tier C).
FALLBACK_LIMITS = {"tier": "C", "accept_minutes": 60, "dispatch_minutes": 120, "resolve_hours": 168}


@dataclass(frozen=True)
class Category:
    code: str
    parent_code: str | None
    name: str
    tier: str | None
    accept_minutes: int | None
    dispatch_minutes: int | None
    resolve_hours: int | None
    dept_type: str | None

    @property
    def major(self) -> str:
        return self.code[:2]

    @property
    def is_minor(self) -> bool:
        return len(self.code) == 4

    def limits(self) -> tuple[str, int, int, int]:
        """(tier, accept minutes, dispatch minutes, resolve hours), with defaults for gaps."""
        return (self.tier or FALLBACK_LIMITS["tier"],
                self.accept_minutes or FALLBACK_LIMITS["accept_minutes"],
                self.dispatch_minutes or FALLBACK_LIMITS["dispatch_minutes"],
                self.resolve_hours or FALLBACK_LIMITS["resolve_hours"])

    def as_row(self) -> dict:
        return {"code": self.code, "parent_code": self.parent_code, "name": self.name, "tier": self.tier,
                "accept_minutes": self.accept_minutes, "dispatch_minutes": self.dispatch_minutes,
                "resolve_hours": self.resolve_hours, "dept_type": self.dept_type}


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text else None


def load_categories() -> list[Category]:
    """Every row of the packaged categories.csv (the runtime copy in dashboard/resources)."""
    source = resources.files("dashboard").joinpath("resources/categories.csv")
    with source.open(encoding="utf-8") as fh:
        return [Category(code=row["code"].strip(), parent_code=(row.get("parent_code") or "").strip() or None,
                         name=row["name"].strip(), tier=(row.get("tier") or "").strip() or None,
                         accept_minutes=_int(row.get("accept_minutes")),
                         dispatch_minutes=_int(row.get("dispatch_minutes")),
                         resolve_hours=_int(row.get("resolve_hours")),
                         dept_type=(row.get("dept_type") or "").strip() or None)
                for row in csv.DictReader(fh)]


def minor_categories(categories: list[Category]) -> list[Category]:
    return [c for c in categories if c.is_minor]
