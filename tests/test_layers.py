"""The layers are visible in the folders and kept: what each package may import, where SQL and Dash may
appear, and no import cycle between modules (docs/architecture.md states the same rules).

The checks read the source (ast), so a violation fails here before it can hide behind a lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.ast_support import parse_source

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("dashboard", "callbacks", "layouts", "data_access")

# package prefix -> first-party packages it may import (besides itself). The most specific prefix wins.
ALLOWED = {
    "data_access": (),
    "dashboard.analytics": (),
    "dashboard.core": ("data_access",),
    "dashboard.identity": ("dashboard.core", "data_access"),
    # analytics: the review routes' bodies (usecases/review_bodies.py), shared by the API and the pack.
    # the page's words (layouts.i18n, layouts.alert_text: plain Python, no Dash) for the alert view
    "dashboard.usecases": ("dashboard.analytics", "dashboard.core", "dashboard.identity", "data_access",
                           "layouts.i18n", "layouts.alert_text"),
    # the meeting pack (PDF, workbook): the review bodies, no SQL, no Dash, no Flask; the page's words
    # (layouts.review_format and layouts.i18n are plain Python: no Dash import)
    "dashboard.pack": ("dashboard.usecases", "dashboard.analytics", "dashboard.core", "data_access",
                       "layouts.review_format", "layouts.i18n"),
    "dashboard.warning": ("dashboard.analytics", "dashboard.core", "data_access"),
    "dashboard.synth": ("dashboard.analytics", "dashboard.core", "data_access"),
    # gridwall worker: the duties (the engine's loop and lock, the scheduled packs, push) wired in one process
    "dashboard.worker": ("dashboard.warning", "dashboard.pack", "dashboard.push", "dashboard.rollup",
                         "dashboard.analytics", "dashboard.core", "data_access"),
    # gridwall rollup: the commands, the bundled GB/T 2260 names, the county's heartbeat duty; SQL in data_access.rollup
    "dashboard.rollup": ("dashboard.core", "dashboard.importer", "data_access"),
    # alert push: routes, messages (the page's words, layouts.i18n: plain Python), senders, the dispatcher
    "dashboard.push": ("dashboard.core", "data_access", "layouts.i18n", "layouts.alert_text"),
    # gridwall import: parsing and mapping (pandas, shapely), its SQL in data_access.imports
    "dashboard.importer": ("data_access",),
    # analytics: the review's composite score and ranking (pure functions) for /api/v1/review.
    "dashboard.web": ("dashboard.analytics", "dashboard.core", "dashboard.identity", "dashboard.usecases",
                      "dashboard.pack", "data_access"),
    "layouts": (),
    "callbacks": ("layouts", "data_access", "dashboard.core", "dashboard.identity", "dashboard.usecases",
                  "dashboard.analytics"),
    # Entry points: the app factory, the WSGI module, the CLI and the gunicorn settings wire everything.
    "dashboard.app": FIRST_PARTY,
    "dashboard.wsgi": FIRST_PARTY,
    "dashboard.cli": FIRST_PARTY,
    "dashboard.gunicorn_conf": (),
    "dashboard": (),
}

# Where Dash may be imported: what is on screen, the callbacks, and the app factory.
DASH_ALLOWED = ("layouts", "callbacks", "dashboard.app")
# SQLAlchemy constructs that build or run SQL (types, exceptions and Engine annotations are fine).
SQL_NAMES = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "not_", "exists", "case",
             "literal", "bindparam", "union_all", "Table", "MetaData", "column", "table"}


def modules() -> dict[str, Path]:
    found = {}
    for package in FIRST_PARTY:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path) -> list[tuple[str, int, list[str]]]:
    """(imported module, line, imported names) for every import in the file, at any depth."""
    tree = parse_source(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno, [alias.name for alias in node.names]))
    return out


def first_party_targets(target: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """The first-party modules an import statement loads ("from pkg import mod" loads pkg.mod)."""
    if target.split(".")[0] not in FIRST_PARTY:
        return []
    found = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
    return found or [target]


def rule_for(module: str) -> tuple[str, tuple[str, ...]]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return best, ALLOWED[best]


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_package_imports_only_the_layers_below_it():
    known = modules()
    wrong = []
    for name, path in known.items():
        own, allowed = rule_for(name)
        for target, line, names in imports_of(name, path):
            for mod in first_party_targets(target, names, known):
                if within(mod, (own,)) or within(mod, allowed):
                    continue
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_dash_is_imported_only_by_layouts_callbacks_and_the_app_factory():
    wrong = []
    for name, path in modules().items():
        if within(name, DASH_ALLOWED):
            continue
        for target, line, _ in imports_of(name, path):
            if target == "dash" or target.startswith("dash.") or target.startswith("dash_"):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_sql_is_built_only_in_data_access():
    wrong = []
    for name, path in modules().items():
        if within(name, ("data_access",)):
            continue
        for target, line, names in imports_of(name, path):
            if target.startswith("sqlalchemy") and not target.startswith("sqlalchemy.exc"):
                bad = sorted(set(names) & SQL_NAMES)
                if bad:
                    wrong.append(f"{path.relative_to(REPO)}:{line} imports {', '.join(bad)} from {target}")
        text = path.read_text(encoding="utf-8")
        for needle in ("exec_driver_sql(", "pg_advisory", ".execute(", "cursor("):
            if needle in text:
                wrong.append(f"{path.relative_to(REPO)} contains {needle!r}")
    assert not wrong, "SQL outside data_access:\n" + "\n".join(wrong)


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target, _, names in imports_of(name, path):
            for mod in first_party_targets(target, names, known):
                # "import a.b.c" also runs a/__init__ and a/b/__init__; the edge that matters is to the module.
                if mod in known and mod != name and not name.startswith(mod + "."):
                    graph[name].add(mod)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["dashboard/core", "dashboard/web", "dashboard/identity", "dashboard/analytics",
                                     "dashboard/warning", "dashboard/synth", "callbacks/live"])
def test_the_layer_folders_exist(package):
    assert (REPO / package / "__init__.py").is_file()
