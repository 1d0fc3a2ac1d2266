"""Map labels stay on their regions: a label the declutter cuts to its figure (a long name that
collides with a neighbour) is centred again where its region is, not left where the name began.

Found on Los Angeles' neighbourhood councils, whose names run to 90 characters: the figures of the
compacted labels sat far out in the sea. Here the synthetic county's streets get names as long.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from data_access.db import make_engine
from data_access.models import Region

from .wall_browser_support import dispose, next_frames, set_screen, start_wall, synthetic_county, wait_until

pytestmark = pytest.mark.browser

LONG = "社区网格化联动综合治理与基层公共服务协同示范区"

# Keep a handle on the Leaflet map the page makes (before any script of the page runs).
HOOK_JS = """
(function () {
    var lib;
    Object.defineProperty(window, 'L', {configurable: true, get: function () { return lib; }, set: function (v) {
        lib = v;
        try { v.Map.addInitHook(function () { window.__testMap = this; }); } catch (e) { /* not Leaflet */ }
    }});
})();
"""

# Each shown label's centre against the point Leaflet anchors its tooltip to (the region's centre).
OFFSETS_JS = """
var map = window.__testMap, out = [];
var box = map.getContainer().getBoundingClientRect();
map.eachLayer(function (layer) {
    var tip = layer.getTooltip && layer.getTooltip();
    var el = tip && tip.getElement && tip.getElement();
    if (!el || !el.classList.contains('region-label') || el.classList.contains('rl-hidden')) { return; }
    var p = map.latLngToContainerPoint(tip.getLatLng());
    var r = el.getBoundingClientRect();
    out.push({compact: el.classList.contains('rl-compact'), text: el.textContent,
              dx: r.left + r.width / 2 - (box.left + p.x), dy: r.top + r.height / 2 - (box.top + p.y)});
});
return out;
"""


def test_a_compacted_label_is_centred_on_its_region(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Region).where(Region.level == "street").values(name=Region.name + LONG))
    engine.dispose()
    # 16:10, so the map has the room for some compacted labels to show: at 16:9 the declutter hides
    # these long-named streets' compacted figures too, and there would be nothing to measure.
    set_screen(dash_duo, 1920, 1200)
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK_JS})
    start_wall(dash_duo, url)
    dash_duo.wait_for_page(dash_duo.server_url + "/")
    dash_duo.wait_for_element("#map .region-label", timeout=45)
    # declutter runs in an animation frame after the labels open, and a live update may replace the
    # layers in between: wait until the map's own labels show some compacted and some whole
    def settled():
        labels = dash_duo.driver.execute_script(OFFSETS_JS)
        compact = [lab for lab in labels if lab["compact"]]
        return labels if compact and len(compact) < len(labels) else None

    wait_until(dash_duo.driver, settled, timeout=30)
    next_frames(dash_duo.driver)
    labels = settled()
    assert labels, "the labels changed again after settling"
    off = [lab for lab in labels if abs(lab["dx"]) > 2 or abs(lab["dy"]) > 2]
    assert off == [], off
    dispose(url)
