"""Text on the wall has a WCAG contrast of at least 4.5:1 against what it is drawn on.

The colours are read from assets/wall.css itself: its ``:root`` variables, and every rule that sets a
text ``color``. Text is measured against the lightest surface it can sit on: its own rule's solid
background (a chip) composited over a panel row, or else a panel row (``--row`` over ``--panel``
over the page, where the page's top glow is brightest); the tinted rows and the map's labels are
measured against their tints. Text is never faded with ``opacity`` (a faded 已确认 was 2.75:1).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layouts.map import PALETTE

CSS = Path(__file__).resolve().parents[1] / "assets" / "wall.css"
MINIMUM = 4.5

# Rules whose colour is not text on a panel: gradient-clipped title text (color: transparent is
# skipped anyway), and the map's labels, measured against the map's fills below.
MAP_LABELS = re.compile(r"region-label|\.cl\b|case-cluster")
# Rules that may set opacity: not text, or text that is also shown unfaded.
OPACITY_ALLOWED = re.compile(r"alert-marker|::after|@keyframes|stale-blink|critical-glow|alert-pulse")
# The page under the panels where the body's top glow is strongest (assets/wall.css, body).
GLOW = (38, 110, 220, 0.28)
# The tints a row of text sits on besides --row (selector: the tint's rule); their text is --text
# and --dim.
TINTED_ROWS = (".case--critical", ".alert--critical", ".offline-row", ".case.case--fresh")
# The map's label text sits on a region filled with a palette colour at this opacity over the map
# background (assets/gridwall.js, map.style: fillOpacity; wall.css .map-frame .leaflet-container).
MAP_FILL_OPACITY = 0.55
MAP_BACKGROUND = "#061127"


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)


def css_rules(text: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every plain rule, @media blocks flattened, @keyframes skipped."""
    text = _strip_comments(text)
    text = re.sub(r"@keyframes[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", text)
    text = re.sub(r"@(media|supports)[^{]*\{", "", text)  # their rules stand alone; the extra "}" is skipped
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        decls = {}
        for part in body.split(";"):
            if ":" in part:
                key, value = part.split(":", 1)
                decls[key.strip().lower()] = value.strip()
        rules.append((" ".join(selector.split()), decls))
    return rules


def variables(rules) -> dict[str, str]:
    found: dict[str, str] = {}
    for selector, decls in rules:
        if selector == ":root":
            found.update({k: v for k, v in decls.items() if k.startswith("--")})
    return found


def resolve(value: str, vars_: dict[str, str], depth: int = 0) -> str:
    if depth > 10:
        raise ValueError(f"variable loop in {value}")
    match = re.fullmatch(r"var\(\s*(--[\w-]+)\s*(?:,\s*(.+))?\)", value.strip())
    if not match:
        return value.strip()
    name, fallback = match.groups()
    if name in vars_:
        return resolve(vars_[name], vars_, depth + 1)
    if fallback is not None:
        return resolve(fallback, vars_, depth + 1)
    raise KeyError(name)


def parse_colour(value: str) -> tuple[float, float, float, float] | None:
    """(r, g, b, alpha) of a hex, rgb() or rgba() colour; None for anything else."""
    value = value.strip().lower()
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return tuple(int(c * 2, 16) for c in value[1:]) + (1.0,)
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5)) + (1.0,)
    match = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)", value)
    if match:
        r, g, b, a = match.groups()
        return float(r), float(g), float(b), float(a) if a is not None else 1.0
    if value == "white":
        return 255.0, 255.0, 255.0, 1.0
    return None


def over(top, bottom) -> tuple[float, float, float, float]:
    """``top`` composited over an opaque ``bottom``."""
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3)) + (1.0,)


def luminance(colour) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def solid_background(decls: dict[str, str], vars_: dict[str, str]):
    for key in ("background-color", "background"):
        if key in decls:
            try:
                return parse_colour(resolve(decls[key], vars_))
            except KeyError:
                return None
    return None


@pytest.fixture(scope="module")
def sheet():
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    vars_ = variables(rules)
    page = over(GLOW, parse_colour(vars_["--bg"]))
    panel = over(parse_colour(vars_["--panel"]), page)
    row = over(parse_colour(vars_["--row"]), panel)
    return rules, vars_, panel, row


def text_pairs(rules, vars_, row):
    """(selector, text colour, background, ratio) of every rule that sets a text colour."""
    pairs = []
    for selector, decls in rules:
        if "color" not in decls or MAP_LABELS.search(selector) or selector == ":root":
            continue
        try:
            fg = parse_colour(resolve(decls["color"], vars_))
        except KeyError:
            fg = None
        if fg is None or fg[3] == 0:  # transparent, currentColor, inherit
            continue
        own = solid_background(decls, vars_)
        bg = over(own, row) if own is not None and own[3] > 0 else row
        fg = over(fg, bg)
        pairs.append((selector, fg, bg, contrast(fg, bg)))
    return pairs


def test_the_css_parser_reads_the_variables_and_rules(sheet):
    rules, vars_, _panel, row = sheet
    assert parse_colour(vars_["--text"])[:3] == (0xee, 0xf4, 0xff)
    assert len(rules) > 100
    assert contrast((0, 0, 0, 1), (255, 255, 255, 1)) == pytest.approx(21.0)
    assert contrast(row, row) == pytest.approx(1.0)


def test_every_text_colour_is_at_least_4_5_to_1_on_its_background(sheet):
    rules, vars_, _panel, row = sheet
    pairs = text_pairs(rules, vars_, row)
    assert len(pairs) > 60  # the wall's text rules were all found
    low = [f"{sel}: {ratio:.2f}" for sel, _fg, _bg, ratio in pairs if ratio < MINIMUM]
    assert low == []


def test_dim_and_plain_text_read_on_the_tinted_rows(sheet):
    rules, vars_, _panel, row = sheet
    tints = {sel: solid_background(decls, vars_) for sel, decls in rules if sel in TINTED_ROWS}
    assert set(tints) == set(TINTED_ROWS)
    low = []
    for selector, tint in tints.items():
        surface = over(tint, row)
        for name in ("--text", "--dim"):
            ratio = contrast(parse_colour(resolve(vars_[name], vars_)), surface)
            if ratio < MINIMUM:
                low.append(f"{name} on {selector}: {ratio:.2f}")
    assert low == []


def test_map_labels_read_on_the_brightest_fill(sheet):
    rules, vars_, _panel, _row = sheet
    brightest = max((parse_colour(c) for c in PALETTE), key=luminance)
    fill = over(brightest[:3] + (MAP_FILL_OPACITY,), parse_colour(MAP_BACKGROUND))
    labels = [(sel, decls) for sel, decls in rules if "region-label" in sel and "color" in decls]
    assert labels
    low = []
    for selector, decls in labels:
        fg = parse_colour(resolve(decls["color"], vars_))
        if fg is not None and fg[3] > 0 and contrast(fg, fill) < MINIMUM:
            low.append(f"{selector}: {contrast(fg, fill):.2f}")
    assert low == []


def test_no_text_is_faded_with_opacity(sheet):
    rules, _vars, _panel, _row = sheet
    faded = [sel for sel, decls in rules
             if "opacity" in decls and not sel.startswith("@") and not OPACITY_ALLOWED.search(sel)
             and decls["opacity"] not in ("1", "0")]
    assert faded == []
