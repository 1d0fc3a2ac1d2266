"""``ast.parse`` for the tests that read the source (layers, scope entry, masking, usecases).

CPython 3.11 keeps the AST validator's recursion depth in interpreter-wide state (gh-106905, fixed in
3.12): while another thread of the test process compiles code (a test server rendering a Jinja
template, say), ``ast.parse`` can fail with "SystemError: AST constructor recursion depth mismatch"
(seen once in a CI run, in test_layers). The source is fine; parsing it again succeeds.
"""

from __future__ import annotations

import ast
import time


def parse_source(source: str) -> ast.Module:
    for attempt in range(5):
        try:
            return ast.parse(source)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")
