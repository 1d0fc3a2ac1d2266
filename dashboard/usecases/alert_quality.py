"""Each detector's record from the duty officers' dispositions (预警研判质量): of the alerts a kind
raised in a period, how many were judged 属实, 误报 or 已知, and its precision.

Precision = (属实 + 已知) / judged: an alert the center already knew about was still right. The share
of 误报 is its complement. Unjudged alerts (acknowledged through the API without a body, or never
acknowledged) count in ``raised`` only. With fewer than ``MIN_JUDGED`` judgements the precision is
left out (None): two judgements make no rate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from data_access.dispositions import detector_judgements
from data_access.scope import Scope

MIN_JUDGED = 3


def detector_quality(conn: Connection, scope: Scope, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = detector_judgements(conn, scope, start, end)
    for row in rows:
        judged = row["judged"]
        row["precision"] = (row["confirmed"] + row["known"]) / judged if judged >= MIN_JUDGED else None
        row["judged_share"] = judged / row["raised"] if row["raised"] else None
    return rows
