"""Colour means one thing on the map (issue 13, item 7): one sequential hue for every shading figure
with class breaks fixed per figure and level (not drawn from the values shown), never the SLA's
yellow and red; the legend draws what the map draws; a strong keyboard focus ring; urgency chips
not in the SLA's yellow."""

from __future__ import annotations

import colorsys
import re

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from callbacks.map_view import SHADE_KEYS, SHADED_LEVEL, shaded_breaks
from layouts.map import (
    FILL_OPACITY,
    NO_DATA,
    PALETTE,
    alert_symbol,
    legend,
    street_map,
    swatch_colour,
)

from .test_contrast import CSS, css_rules, luminance, parse_colour, resolve, variables
from .wall_browser_support import dispose, set_screen, start_wall, synthetic_county


def _hue(colour: str) -> float:
    r, g, b, _ = parse_colour(colour)
    return colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[0] * 360


def _css_vars() -> dict[str, str]:
    return variables(css_rules(CSS.read_text(encoding="utf-8")))


def test_the_palette_is_one_blue_hue_growing_brighter():
    hues = [_hue(c) for c in PALETTE]
    assert max(hues) - min(hues) < 15 and all(195 <= h <= 225 for h in hues), hues
    lum = [luminance(parse_colour(c)) for c in PALETTE]
    assert lum == sorted(lum) and len(set(lum)) == len(lum)


def test_the_palette_and_no_data_are_not_the_sla_colours():
    vars_ = _css_vars()
    sla = {resolve(vars_[name], vars_).lower() for name in ("--warn", "--bad", "--alert", "--bad-chip")}
    assert not sla & {c.lower() for c in PALETTE + [NO_DATA]}
    for colour in PALETTE + [NO_DATA]:
        assert not 0 <= _hue(colour) <= 60 or colour == NO_DATA  # no reds, oranges or yellows


@pytest.mark.parametrize("shade", SHADE_KEYS)
@pytest.mark.parametrize("level", sorted(SHADED_LEVEL))
def test_breaks_are_fixed_per_figure_and_level(shade, level):
    breaks = shaded_breaks(shade, level)
    assert len(breaks) == len(PALETTE) - 1  # always every class: no 4 live and 6 in history
    assert breaks == sorted(breaks) and len(set(breaks)) == len(breaks)
    assert shaded_breaks(shade, level) == breaks  # a new list each time, the same bounds


def test_breaks_differ_by_level_for_counts_but_not_from_the_values():
    assert shaded_breaks("open", "county") != shaded_breaks("open", "community")
    assert shaded_breaks("online_rate", "county") == shaded_breaks("online_rate", "grid")


def _swatches(rows) -> list[str]:
    return [kid.style["background"] for row in rows if getattr(row, "className", "") == "legend-row"
            for kid in row.children if getattr(kid, "className", "") == "legend-swatch"]


def test_legend_swatches_are_the_fills_as_drawn():
    rows = legend("open", shaded_breaks("open", "county"))
    assert _swatches(rows) == [swatch_colour(c) for c in PALETTE]
    assert all(s.endswith(f", {FILL_OPACITY})") for s in _swatches(rows))
    texts = [row.children[1].children for row in rows if getattr(row, "className", "") == "legend-row"]
    assert texts[0] == "0 – 10" and texts[-2] == "> 200" and texts[-1] == "无数据"  # a county: its streets


def test_the_key_draws_alert_markers_with_the_markers_markup():
    symbol = alert_symbol("critical")
    assert symbol.className == "alert-marker"
    assert symbol.children.className == "am am--critical" and symbol.children.children.children == "!"
    text = str(street_map().to_plotly_json())
    assert "am am--warning" in text and "key-alert" not in text


def test_urgency_and_alert_warnings_are_not_sla_yellow():
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    vars_ = variables(rules)
    warn = resolve(vars_["--warn"], vars_)
    for selector, decls in rules:
        if re.search(r"case-urgency|case--urgent|case--critical|alert-sev--warning|am--warning|alert--warning",
                     selector):
            for key in ("color", "background", "border-color", "border-left-color"):
                if key in decls:
                    assert resolve(decls[key], vars_) != warn, f"{selector} {key}"


def test_a_strong_focus_ring_is_declared():
    rules = dict(css_rules(CSS.read_text(encoding="utf-8")))
    ring = rules[":focus-visible"]
    width = re.match(r"([\d.]+)rem solid", ring["outline"])
    assert width and float(width.group(1)) >= 0.15
    assert "box-shadow" in ring  # a dark halo: the white ring shows on light and dark alike


# --- in the browser ------------------------------------------------------------------------------

FILLS_JS = """
const fills = [...document.querySelectorAll('#map path.leaflet-interactive')]
    .map(p => p.getAttribute('fill')).filter(Boolean);
const dot = getComputedStyle(document.querySelector('.key-dot--n')).backgroundColor;
const cases = [...document.querySelectorAll('#map path:not(.leaflet-interactive)')].map(p => p.getAttribute('fill'));
const swatches = [...document.querySelectorAll('#map-legend .legend-swatch:not(.legend-swatch--none)')]
    .map(s => getComputedStyle(s).backgroundColor);
const chip = document.querySelector('.case--urgent .case-urgency, .case--critical .case-urgency');
return {fills: fills, dot: dot, cases: cases, swatches: swatches,
        chip: chip ? getComputedStyle(chip).backgroundColor + ' ' + getComputedStyle(chip).color : null,
        caseVar: getComputedStyle(document.documentElement).getPropertyValue('--case').trim(),
        warnVar: getComputedStyle(document.documentElement).getPropertyValue('--warn').trim(),
        badVar: getComputedStyle(document.documentElement).getPropertyValue('--bad').trim()};
"""


def _rgb(colour: str) -> str:
    r, g, b, _ = parse_colour(colour)
    return f"rgb({int(r)}, {int(g)}, {int(b)})"


@pytest.mark.browser
def test_the_map_shades_in_blues_its_key_matches_the_markers_and_focus_shows(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    dash_duo.wait_for_element("#map-legend .legend-swatch", timeout=20)

    def drawn(driver):
        found = driver.execute_script(FILLS_JS)
        return found if len(found["fills"]) >= 8 and found["swatches"] else False

    got = WebDriverWait(dash_duo.driver, 20).until(drawn)
    # Regions are filled from the blue ramp (or the no-data grey): never the SLA's yellow or red.
    allowed = {c.lower() for c in PALETTE + [NO_DATA]}
    assert {f.lower() for f in got["fills"]} <= allowed, got["fills"]
    # The legend's swatches are the ramp at the fill's opacity.
    assert got["swatches"] == [f"rgba({', '.join(str(int(v)) for v in parse_colour(c)[:3])}, {FILL_OPACITY})"
                               for c in PALETTE]
    # The key's dot for an open case is the colour of the case points on the map.
    assert got["dot"] == _rgb(got["caseVar"])
    # Every case point is in one of the SLA state colours; many open cases (the synthetic county seeded in
    # the morning, after a night of reports) are drawn as cluster markers instead of points.
    states = {v.lower() for v in (got["caseVar"], got["warnVar"], got["badVar"])}
    clustered = dash_duo.driver.execute_script("return document.querySelectorAll('#map .leaflet-marker-icon').length")
    assert got["cases"] or clustered, "no case on the map"
    assert {c.lower() for c in got["cases"] if c} <= states, (got["cases"][:5], states)
    # A keyboard user sees where the focus is: a ring at least 3 px wide.
    dash_duo.find_element("body").send_keys(Keys.TAB)
    ring = WebDriverWait(dash_duo.driver, 10).until(lambda d: d.execute_script(
        "const el = document.activeElement; if (!el || el === document.body) return false;"
        "const s = getComputedStyle(el); return [el.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]"))
    assert ring[1] == "solid" and ring[2] >= 3, ring
    if got["chip"]:
        vars_ = _css_vars()
        assert _rgb(resolve(vars_["--warn"], vars_)) not in got["chip"], got["chip"]
    assert dash_duo.get_logs() == []
    dispose(url)
