"""The one exit point for data leaving gridwall: every free-text field masked (脱敏).

Every outward path passes its rows through ``outward`` once before they are rendered or encoded:
the wall's reads (``callbacks.reads``: stream, alerts, SLA board; the push channel sends the same
stream rows), the API's JSON and its CSV export (``dashboard.web.api``). Layouts and encoders see
masked rows only and never mask themselves.

Fields are picked by name: the free text people type or systems write (a case's title, address,
description, an action's note, an alert's detail). A free-text field holding JSON (an alert's
``detail`` as stored) is masked inside and stays JSON text; a dict or list in such a field has every
string in it masked. Other fields (codes, ids, numbers, times, region and org names) are left alone;
dicts and lists under them are walked for free-text fields.
"""

from __future__ import annotations

import json
from typing import Any

from dashboard.core.masking import mask_strings, mask_text

FREE_TEXT = frozenset(("title", "address", "description", "note", "detail", "evidence"))


def outward(value: Any) -> Any:
    """``value`` (a row, a list of rows, a nested bundle of them) with every free-text field masked.

    A new value is returned; the argument is not changed (it may be a shared cached object).
    """
    if isinstance(value, dict):
        return {k: _masked(v) if k in FREE_TEXT else outward(v) for k, v in value.items()}
    if isinstance(value, list):
        return [outward(v) for v in value]
    if isinstance(value, tuple):
        return tuple(outward(v) for v in value)
    return value


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _masked_json_text(value) if value.lstrip()[:1] in ("{", "[") else mask_text(value)
    return mask_strings(value)


def _masked_json_text(text: str) -> str:
    """JSON text with every string in it masked (escaped characters included); other text as text."""
    try:
        parsed = json.loads(text)
        masked = mask_strings(parsed)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to walk: masked as text
        return mask_text(text)
    return text if masked == parsed else json.dumps(masked, ensure_ascii=False)
