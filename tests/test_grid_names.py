"""Grids are named one way everywhere (issue 13): by their own name, and a grid the platform left
unnamed as 第N网格 from the sequence ending its code (第四网格, never "网格004"), through one helper
(``layouts.i18n.grid_name``); the name lists that the review and the alert titles use hold the grids.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from plotly.utils import PlotlyJSONEncoder

from callbacks.review_core import child_name
from data_access.feeds_cases import region_and_category_names
from data_access.scope import Scope
from layouts import i18n
from layouts.regions import children_table, grid_profile
from layouts.sla import place as sla_place
from layouts.staffing import grid_place
from layouts.stream import place as stream_place

from .wall_fixtures import COUNTY, grid_codes, seed_small_county

GRID = "320585100001004"  # sequence 004 of community 320585100001


def _text(component) -> str:
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_an_unnamed_grid_is_named_by_its_sequence_in_chinese_numerals():
    assert i18n.grid_name(GRID) == "第四网格"
    assert i18n.grid_name("320585100001012") == "第十二网格"
    assert i18n.grid_name("320585100001040") == "第四十网格"
    assert i18n.grid_name(GRID, "东林第一网格") == "东林第一网格"  # its own name first
    assert i18n.grid_name(GRID, GRID) == "第四网格"  # the data layer's stand-in for a missing name
    assert i18n.grid_name("320585100001000") is None and i18n.grid_name("320585100") is None
    assert i18n.place_name("320585100", "城厢镇") == "城厢镇"
    assert i18n.place_name("320585100", "320585100") == "320585100" and i18n.place_name(None) == i18n.NONE


def test_every_panel_names_an_unnamed_grid_the_same_way():
    at = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    case = {"grid_code": GRID, "grid_name": None, "community_name": "某社区", "street_name": "某街道"}
    shown = {
        "stream": stream_place(case),
        "sla": sla_place(case),
        "staffing": grid_place({"code": GRID, "grid_name": None, "community_name": "某社区"}),
        "region table": _text(children_table([{"code": GRID, "name": GRID}], "320585100001", "网格")),
        "grid profile": _text(grid_profile({"code": GRID, "name": None, "workers": []}, at, ZoneInfo("Asia/Shanghai"))),
        "review": child_name({"code": GRID, "name": GRID}),
    }
    assert shown["stream"] == "某街道 · 某社区 · 第四网格"
    assert shown["sla"] == "第四网格 · 某社区 · 某街道"
    assert shown["staffing"] == "某社区 · 第四网格"
    assert shown["review"] == "第四网格"
    for where, text in shown.items():
        assert "第四网格" in text and "网格004" not in text, where


def test_the_name_lists_hold_the_grids_in_scope(engine):
    seed_small_county(engine)
    street = "320585100"
    with engine.connect() as conn:
        county = region_and_category_names(conn, Scope(COUNTY, COUNTY))
        own = region_and_category_names(conn, Scope(street, COUNTY))
    grids = grid_codes()
    assert {code: county[code] for code in grids[:2]} == {grids[0]: "第1网格", grids[1]: "第2网格"}
    assert set(grids) <= set(county)
    assert {c for c in own if len(c) == 15} == {c for c in grids if c.startswith(street)}
    assert county[street] == "城厢镇" and county["cat:0101"]  # regions and categories as before
