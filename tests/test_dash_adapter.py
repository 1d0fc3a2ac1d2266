"""assets/dash_adapter.js (window.gridwallDash) still finds the Dash internals it relies on.

Without a browser: the installed Dash lies in the range pyproject.toml pins, and the renderer bundle
it serves still holds each internal (this is what fails first when a Dash upgrade breaks one); the
adapter loads before the scripts that use it. In the browser: ``check()`` finds nothing missing, the
undo trim shortens the renderer's history, the fetch watch sees the wall's ticks, and ``toNode`` draws
component JSON as text through its allow-list.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

import dash
import pytest
from dash import html
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from plotly.utils import PlotlyJSONEncoder

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import init_db, make_engine

from .wall_browser_support import dispose, start_wall
from .wall_fixtures import seed_small_county

ROOT = Path(__file__).resolve().parents[1]
ADAPTER = ROOT / "assets" / "dash_adapter.js"
DASH_DIR = Path(dash.__file__).resolve().parent


def _pinned(extra: str | None = None) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return next(r for r in map(Requirement, listed) if r.name == "dash")


def test_the_installed_dash_lies_in_the_range_pyproject_pins():
    pinned = _pinned()
    assert pinned.specifier, "pyproject.toml must pin dash to the range the adapter was checked with"
    assert version("dash") in pinned.specifier, f"dash {version('dash')} is outside {pinned.specifier}"
    assert _pinned("test").specifier == pinned.specifier  # dash[testing] follows the same range
    # The adapter's header names the range it was checked with.
    named = re.search(r"\(dash([<>=!~][^)\s]*)\)", ADAPTER.read_text(encoding="utf-8"))
    assert named and SpecifierSet(named.group(1)) == pinned.specifier


def _renderer_bundles() -> dict[str, str]:
    """The renderer's JS as Dash serves it: the production bundle, and the dev one (debug mode)."""
    from dash import _dash_renderer

    entry = next(e for e in _dash_renderer._js_dist if e["relative_package_path"].endswith("dash_renderer.min.js"))
    return {name: (DASH_DIR / entry[key]).read_text(encoding="utf-8")
            for name, key in (("min", "relative_package_path"), ("dev", "dev_package_path"))}


# What each gridwallDash function relies on, as it reads in the renderer bundle.
INTERNALS = {
    # trimUndoHistory and check(): the renderer's Redux store on window.store ...
    "window.store": r"window\.store\s*=",
    # ... whose history reducer holds {past, present, future} ...
    "history {past, present, future}": r"past:\s*\[\],\s*present:\s*\{\},\s*future:\s*\[\]",
    # ... and appends to history.past.
    "history.past": r"history\.past",
    # setProps: set_props on window.dash_clientside, put there by the bundle.
    "dash_clientside object": r"window\.dash_clientside\s*=\s*window\.dash_clientside\s*\|\|\s*\{\}",
    "dash_clientside.set_props": r"(\.set_props|\[['\"]set_props['\"]\])\s*=",
    # watchCallback: callbacks go out through the global fetch as POSTs to _dash-update-component.
    "callback path": r"_dash-update-component",
    "global fetch": r"return fetch\(",
    "POST": r"method:\s*['\"]POST['\"]",
}


@pytest.mark.parametrize("internal", sorted(INTERNALS))
def test_the_renderer_bundle_still_has_what_the_adapter_relies_on(internal):
    for name, text in _renderer_bundles().items():
        assert re.search(INTERNALS[internal], text), \
            f"{internal}: not in dash_renderer ({name} bundle, dash {version('dash')}): see assets/dash_adapter.js"


def test_components_travel_as_the_json_the_adapter_draws():
    """toNode reads {type, namespace, props} with children nested the same way."""
    entry = html.Div(className="case", title="t", children=[html.Span("12:00"), "text"])
    sent = json.loads(json.dumps(entry, cls=PlotlyJSONEncoder))
    assert sent["type"] == "Div" and sent["namespace"] == "dash_html_components"
    assert sent["props"]["className"] == "case" and sent["props"]["title"] == "t"
    assert sent["props"]["children"][0] == {"type": "Span", "namespace": "dash_html_components",
                                            "props": {"children": "12:00"}}


def test_the_adapter_loads_before_the_scripts_that_use_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key="adapter-test"), auth=False)
    page = app.server.test_client().get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="[^"]*/assets/([a-z_]+\.js)', page)
    assert "dash_adapter.js" in scripts and "live.js" in scripts
    assert scripts.index("dash_adapter.js") < scripts.index("live.js")
    assert scripts.index("dash_adapter.js") < scripts.index("gridwall.js")


# --- in the browser --------------------------------------------------------------------------------

TRIM_JS = """
for (var i = 0; i < 60; i += 1) { window.dash_clientside.set_props('kpi-open', {children: String(i)}); }
var before = window.store.getState().history.past.length;
var dropped = window.gridwallDash.trimUndoHistory(20);
return {before: before, dropped: dropped, after: window.store.getState().history.past.length};
"""

TO_NODE_JS = """
var node = window.gridwallDash.toNode({type: 'Span', namespace: 'dash_html_components',
    props: {children: ['<b>x</b>', {type: 'Em', namespace: 'dash_html_components', props: {children: 1}}],
            title: 't', onclick: 'alert(1)', 'data-case-code': 'C1', id: 'not-kept'}});
var other = window.gridwallDash.toNode({type: 'Graph', namespace: 'dash_core_components', props: {}});
return {html: node.outerHTML, other: other};
"""


@pytest.fixture
def county_url(tmp_path):
    """The small county on SQLite (the subject here is the page, not the backend)."""
    url = f"sqlite:///{tmp_path / 'wall.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    engine.dispose()
    yield url
    dispose(url)


@pytest.mark.browser
def test_the_adapter_finds_every_internal_in_the_running_wall(dash_duo, county_url):
    url = county_url
    # Push off: the page ticks, so that the fetch watch has the tick's requests to see.
    start_wall(dash_duo, url, push=False)
    dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=30)
    driver = dash_duo.driver

    driver.execute_script(
        "window.__gwTicks = 0; window.gridwallDash.watchCallback('live-poke',"
        " {answered: function (ok) { if (ok) { window.__gwTicks += 1; } }});")
    deadline = time.time() + 15
    while driver.execute_script("return window.__gwTicks") < 2:
        assert time.time() < deadline, "the fetch watch saw no tick"
        time.sleep(0.2)

    assert driver.execute_script("return window.gridwallDash.check()") == []
    assert driver.execute_script("return window.gridwallDash.requestsSeen()") >= 2

    trim = driver.execute_script(TRIM_JS)
    assert trim["before"] >= 60 and trim["after"] == 20 and trim["dropped"] == trim["before"] - 20

    drawn = driver.execute_script(TO_NODE_JS)
    assert drawn["html"] == '<span title="t" data-case-code="C1">&lt;b&gt;x&lt;/b&gt;<em>1</em></span>'
    assert drawn["other"] is None
    assert dash_duo.get_logs() == []
