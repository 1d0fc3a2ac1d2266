"""Scope: the region a query may see. Every read of the wall, the pages and the API takes one.

A thing belongs to region R exactly when its code starts with R's code (contract.md). Cases with
a NULL grid code ("未定位") count only in the deployment's root region; on a roll-up database (a root
above the county: a city or the province, contract 1.1) they count in the county they came from and
above. ``data_access.scoped`` turns a
scope into SQL; a user's scope comes only from ``dashboard.identity``, and the whole deployment
(``Scope.whole_deployment``) is for the warning engine and the change poller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGION_CODE = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15}")

LEVEL_BY_LENGTH = {2: "province", 4: "city", 6: "county", 9: "street", 12: "community", 15: "grid"}


# The code length of a region's children (province → city → county → street → community → grid).
CHILD_LENGTH = {2: 4, 4: 6, 6: 9, 9: 12, 12: 15}
COUNTY_LENGTH = 6


class ScopeError(PermissionError):
    """A region outside the caller's scope was asked for."""


class BadRegionCode(ValueError):
    """A malformed region code."""


def validate_code(code: str | None) -> str:
    if not isinstance(code, str) or not REGION_CODE.fullmatch(code):
        raise BadRegionCode(f"malformed region code: {code!r} (2, 4, 6, 9, 12 or 15 digits)")
    return code


def code_level(code: str) -> str:
    return LEVEL_BY_LENGTH[len(validate_code(code))]


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

    @classmethod
    def whole_deployment(cls, root: str) -> "Scope":
        """Everything of the deployment rooted at ``root``: the warning engine's and the change poller's
        scope (never a user's: ``dashboard.identity`` makes those)."""
        return cls(region=root, root=root)

    @property
    def rollup(self) -> bool:
        """A root above the county is a roll-up database: many counties' platforms in one."""
        return len(self.root) < COUNTY_LENGTH

    @property
    def is_root(self) -> bool:
        return self.region == self.root

    @property
    def includes_unlocated(self) -> bool:
        """Cases with a NULL grid code count here: at the root of a county's database; on a roll-up
        database at every region from a county up (each such case in the county it came from)."""
        if self.rollup:
            return len(self.region) <= COUNTY_LENGTH
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
