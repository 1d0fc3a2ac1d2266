"""The stylesheets parse as written: a stray brace makes the browser drop the rule after it without a
word (a leftover ``}`` once hid the stream's ``.case-time`` rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _blank_lines(match: re.Match) -> str:
    """A comment or string replaced by its newlines only, so that line numbers stay the file's."""
    return "\n" * match.group(0).count("\n")


@pytest.mark.parametrize("sheet", sorted(p.name for p in ASSETS.glob("*.css")))
def test_every_brace_in_the_stylesheet_is_matched(sheet):
    text = re.sub(r"/\*.*?\*/", _blank_lines, (ASSETS / sheet).read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", _blank_lines, text)   # braces inside strings do not count
    depth = 0
    for line_no, line in enumerate(text.splitlines(), 1):
        for ch in line:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, f"{sheet}: a }} with no {{ to close, line {line_no}"
    assert depth == 0, f"{sheet}: {depth} unclosed {{"
