"""Scope: the region a query may see. Every query function takes one; there is no "everything".

A thing belongs to region R exactly when its code starts with R's code (contract.md). Cases with
a NULL grid code ("未定位") count only in the deployment's root region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlalchemy.sql import ColumnElement

REGION_CODE = re.compile(r"[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15}")

LEVEL_BY_LENGTH = {4: "city", 6: "county", 9: "street", 12: "community", 15: "grid"}


class ScopeError(PermissionError):
    """A region outside the caller's scope was asked for."""


class BadRegionCode(ValueError):
    """A malformed region code."""


def validate_code(code: str | None) -> str:
    if not isinstance(code, str) or not REGION_CODE.fullmatch(code):
        raise BadRegionCode(f"malformed region code: {code!r} (4, 6, 9, 12 or 15 digits)")
    return code


def code_level(code: str) -> str:
    return LEVEL_BY_LENGTH[len(validate_code(code))]


def _upper_bound(code: str) -> str | None:
    """The smallest code of the same length after every code with this prefix, or None."""
    nxt = str(int(code) + 1)
    return nxt.zfill(len(code)) if len(nxt) <= len(code) else None


def prefix_match(column, code: str) -> ColumnElement[bool]:
    """``column`` starts with ``code``, written as a range so that a B-tree index serves it."""
    upper = _upper_bound(code)
    cond = column >= code
    return and_(cond, column < upper) if upper is not None else cond


@dataclass(frozen=True)
class Scope:
    """What a query may see: ``region`` (a region or grid code) inside the deployment ``root``."""

    region: str
    root: str

    def __post_init__(self) -> None:
        validate_code(self.region)
        validate_code(self.root)
        if not self.region.startswith(self.root):
            raise ScopeError(f"region {self.region} is outside the root {self.root}")

    @property
    def includes_unlocated(self) -> bool:
        return self.region == self.root

    @property
    def level(self) -> str:
        return code_level(self.region)

    def contains(self, code: str) -> bool:
        return code.startswith(self.region)

    def narrow(self, code: str | None) -> "Scope":
        """The scope of ``code`` inside this one; ScopeError when it lies outside."""
        if code is None or code == "":
            return self
        validate_code(code)
        if not code.startswith(self.region):
            raise ScopeError(f"region {code} is outside the scope {self.region}")
        return Scope(region=code, root=self.root)

    def case_filter(self, grid_code_column) -> ColumnElement[bool]:
        """Cases in this scope: grid code inside the region, plus unlocated ones at the root."""
        inside = prefix_match(grid_code_column, self.region)
        if self.includes_unlocated:
            return or_(inside, grid_code_column.is_(None))
        return inside

    def code_filter(self, code_column) -> ColumnElement[bool]:
        return prefix_match(code_column, self.region)
