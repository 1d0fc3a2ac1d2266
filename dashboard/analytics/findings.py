"""What a detector reports: one situation, identified by its dedup key, with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("spike", "cluster", "repeat", "sla", "staffing", "underreport", "sensitive", "stale", "external")
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Finding:
    """One situation a detector sees as of a moment.

    ``dedup_key`` names the situation, not the moment: the same situation seen again on the next run
    has the same key, so it raises one alert; when a run no longer reports a key whose alert is open,
    the engine resolves that alert. ``detail`` is the evidence, JSON-serialisable: at least
    ``observed``, ``expected`` (where it applies), ``score`` or ``p_value``, ``window`` and
    ``case_ids`` (the cases involved, bounded).
    """

    kind: str
    severity: str
    region_code: str
    title: str
    dedup_key: str
    detail: dict[str, Any] = field(default_factory=dict)
    category_code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
