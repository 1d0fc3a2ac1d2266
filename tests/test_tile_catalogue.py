"""The tile catalogue (layouts/tile_catalogue.py) is the one place a figure tile is defined: the
layout draws every entry once, the tick callback answers every one with its formatted figure,
yesterday's figures and the ▲/▼ callback follow its delta rules, the browser script names no tile,
and a new entry shows up everywhere without another edit."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from callbacks import wall
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.moment import Moment
from data_access.scope import Scope
from layouts import tile_catalogue
from layouts.tile_catalogue import Tile
from layouts.wall import layout

from .wall_fixtures import COUNTY

GRIDWALL_JS = Path(__file__).resolve().parent.parent / "assets" / "gridwall.js"

BUNDLE = {
    "cases": {"open": 256, "overdue": 5, "warning": 0, "new_today": 386, "closed_today": 250, "returned": 4},
    "alerts": {"new": 3},
    "alert_list": {"rows": [], "new": 3, "new_critical": 1, "acknowledged": 2},
    "rates": {"on_time": 0.9174, "closed": 1.0, "satisfied": None, "self_resolved": 0.625},
    "staffing": {"grids": 820, "grids_staffed": 800, "patrolled_today": 766, "workers": 915, "on_duty": 876,
                 "online": 859},
}
# What each tile shows for BUNDLE, written out by hand.
SHOWN = {
    "kpi-open": "256", "kpi-overdue": "5", "kpi-warning": "0", "kpi-new-today": "386", "kpi-closed-today": "250",
    "kpi-alerts-new": "3",
    "rate-on-time": "91.7%", "rate-closed": "100%", "rate-satisfied": "—", "rate-self-resolved": "62.5%",
    "staff-grids": "820", "staff-vacant": "20", "staff-patrolled": "766", "staff-workers": "915",
    "staff-on-duty": "876", "staff-online": "859", "kpi-alerts-critical": "· 严重 1",
}
EXTRA = Tile("kpi-returned", "退回", ("cases", "returned"), tone="warn", delta="bad")


def ids_in(component) -> list[str]:
    """Every element id in a Dash component tree, once per element."""
    found = []
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not hasattr(node, "to_plotly_json"):
            continue
        if getattr(node, "id", None) is not None:
            found.append(node.id)
        children = getattr(node, "children", None)
        if children is not None:
            stack.append(children)
    return found


@pytest.fixture
def app(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'tiles.db'}", secret_key="tiles"), auth=False)
    app.server.config["GRIDWALL_LIVE_SIGNAL"] = "off"  # no shared cache: each call renders
    return app


def callback_outputs(app, containing: str) -> list[str]:
    keys = [k for k in app.callback_map if containing in k]
    assert len(keys) == 1, keys
    return keys[0].strip(".").split("...")


def tile_texts(monkeypatch, app) -> dict[str, str]:
    """The tick's figure outputs for BUNDLE, by output id."""
    view = SimpleNamespace(scope=Scope(COUNTY, COUNTY),
                           moment=lambda: Moment(datetime.now(UTC), Settings(secret_key="x").tz))
    monkeypatch.setattr(wall, "figures_bundle", lambda scope, m, version: BUNDLE)
    with app.server.test_request_context("/"):
        values, digests = wall.figure_outputs(view, "v1")
    outputs = [o.component_id for o in wall.figure_output_list()]
    assert len(values) == len(digests) == len(outputs) - 1 and outputs[-1] == "figures-state"
    return dict(zip(outputs, values))


def test_every_tile_is_drawn_once_and_answered_by_the_tick_with_its_figure(app, monkeypatch):
    ids = tile_catalogue.ids()
    assert len(set(ids)) == len(ids)
    drawn = ids_in(layout())
    for tile_id in ids:
        assert drawn.count(tile_id) == 1, tile_id
    for tile in tile_catalogue.delta_tiles():
        assert drawn.count(f"{tile.id}-delta") == 1
    assert not [i for i in drawn if i.endswith("-delta") and i[:-6] not in ids]

    tick = callback_outputs(app, "live-version.data")
    assert [f"{i}.children" for i in ids] == [o for o in tick if o.split(".")[0] in ids]
    assert tile_texts(monkeypatch, app) == SHOWN


def test_delta_rules_reach_yesterday_and_the_browser_from_the_catalogue(app):
    rules = tile_catalogue.browser_rules()["deltas"]
    assert rules == [{"id": t.id, "tone": t.delta} for t in tile_catalogue.TILES if t.delta]
    assert {r["id"]: r["tone"] for r in rules}["kpi-closed-today"] == "good"
    store = [c for c in layout().children if getattr(c, "id", None) == "tile-catalogue"]
    assert len(store) == 1 and store[0].data == tile_catalogue.browser_rules()
    deltas = callback_outputs(app, "kpi-open-delta.children")
    assert deltas == [f"{r['id']}-delta.{p}" for r in rules for p in ("children", "className")]
    assert tile_catalogue.yesterday_figures(BUNDLE["cases"]) == {
        "kpi-open": 256, "kpi-overdue": 5, "kpi-warning": 0, "kpi-new-today": 386, "kpi-closed-today": 250}


def test_the_browser_script_names_no_tile():
    js = GRIDWALL_JS.read_text(encoding="utf-8")
    for tile_id in tile_catalogue.ids():
        assert not re.search(rf"""["']{re.escape(tile_id)}(-delta)?["']""", js), tile_id
    assert "kpi-" not in js and ".tones" not in js  # nor the old per-tile tone table


def test_a_new_catalogue_entry_appears_in_layout_outputs_deltas_and_frames(monkeypatch, tmp_path):
    monkeypatch.setattr(tile_catalogue, "TILES", (*tile_catalogue.TILES, EXTRA))
    drawn = ids_in(layout())
    assert drawn.count("kpi-returned") == 1 and drawn.count("kpi-returned-delta") == 1
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'extra.db'}", secret_key="x"), auth=False)
    app.server.config["GRIDWALL_LIVE_SIGNAL"] = "off"
    assert "kpi-returned.children" in callback_outputs(app, "live-version.data")
    assert "kpi-returned-delta.className" in callback_outputs(app, "kpi-open-delta.children")
    assert tile_texts(monkeypatch, app) == {**SHOWN, "kpi-returned": "4"}
    assert tile_catalogue.yesterday_figures(BUNDLE["cases"])["kpi-returned"] == 4
    assert tile_catalogue.browser_rules()["deltas"][-1] == {"id": "kpi-returned", "tone": "bad"}
    assert tile_catalogue.ids()[-1] == "kpi-returned"  # the push frame's tiles (callbacks/live/push.py)


def test_a_note_sits_beside_its_tile_and_says_nothing_for_zero():
    """"9 · 严重 1": the note is a sibling of the figure, which stays plain digits (interfaces.md)."""
    tile = next(t for t in tiles_drawn() if "kpi-alerts-new" in ids_in(t))
    assert "kpi-alerts-critical" in ids_in(tile)
    note = next(t for t in tile_catalogue.TILES if t.id == "kpi-alerts-critical")
    assert tile_catalogue.formatted(note, {"alert_list": {"new_critical": 0}}) == ""
    assert tile_catalogue.formatted(note, {}) == ""
    assert note not in tile_catalogue.tiles(tile_catalogue.ROW)


def tiles_drawn() -> list:
    from layouts.tiles import case_tiles

    return case_tiles().children
