"""Scope cannot be skipped: every query function of ``data_access`` filters through the scoped-query
entry point (``data_access/scoped.py``), is named as the engine's (``engine_*``), or lives in a module
that serves the whole deployment by design; the raw region filters live only in the entry point; a
``Scope`` is made only by ``dashboard/identity`` (a user's) and the whole deployment only by the
warning engine, the change poller and check-db. A function that writes (SQLAlchemy's insert, update
or delete) is not a read: its rows are found by key, by the engine or inside a scoped read (an
acknowledgement reads the alert through the scope first).

The checks read the source (ast); each checker is also run on a module written here that bypasses
the rule, to show that it fails.
"""

from __future__ import annotations

import ast
from pathlib import Path
from tests.ast_support import parse_source

REPO = Path(__file__).resolve().parent.parent
DATA_ACCESS = REPO / "data_access"
ENTRY = "scoped"

# References that apply the region filter (in_scope_or_above also admits the regions above, for names).
APPLIES = {"in_scope", "select_in", "in_scope_param", "in_scope_or_above"}
# The raw filters: the old Scope methods the entry point replaced, and its private helpers.
RAW_FILTERS = {"case_filter", "code_filter", "prefix_match", "_upper_bound"}
ENGINE_PREFIX = "engine_"
CONNECTION_PARAMS = {"conn", "connection", "engine"}
CONNECTION_TYPES = {"Connection", "Engine"}
RUNS = {"execute", "exec_driver_sql", "scalar", "scalars"}
WRITES = {"insert", "update", "delete"}

# Modules that serve the whole deployment by design (no user's scope exists there), with the reason.
WHOLE_DEPLOYMENT_MODULES = {
    "sim_reads": "the live simulator reads the county it writes (its own code prefix), not a user's view",
    "writes": "the seed's and the simulator's writes of whole counties",
    "checks": "`gridwall check-db` examines the whole database against the contract",
    "privileges": "`grant-db` and check-db: the database role's privileges",
    "users": "users, tokens and the audit log: dashboard/identity turns them into a scope",
    "sessions": "server-side login sessions: identity data, read before any scope exists",
    "db": "the database lifecycle: engines, schema, transactions",
    "health": "/healthz: whether the database answers and the age of its newest case change",
    "locks": "the warning engine's session advisory lock; no rows are read",
    "imports": "`gridwall import` loads a whole export into a standalone database",
    "push": "the push dispatcher delivers the whole deployment's alerts, as the engine raises them",
    "duties": "worker duties' instances and last success: the deployment's processes, not a region's",
    "walls": "wall heartbeats by wall id (the region clamped by identity first) and the walls duty's whole-"
             "deployment reads; /ops lists them through recent_walls, which takes the officer's scope",
    "rollup": "`gridwall rollup`: publications, subscriptions, schemas and views of whole counties; a roll-up's "
              "feeds' freshness (a heartbeat per county, no case data)",
    "rollup_figures": "a roll-up's figures as the sum of its counties': it narrows the caller's scope to each "
                      "county inside it (county_scope) and calls figures' own scoped functions there",
    ENTRY: "the entry point itself",
}
# Single functions that run without a scope by design, with the reason.
ALLOWED_FUNCTIONS = {
    ("regions", "find_root"): "finds the deployment root that every scope is built from",
}

# Where a Scope may be constructed, and where the whole deployment may be taken (path prefixes).
# bench: harnesses time given scopes; rollup_figures: a county's scope inside the caller's (county_scope)
SCOPE_MAKERS = ("data_access/scope.py", "dashboard/identity/", "bench/", "data_access/rollup_figures.py")
# The engine, the change poller, the wall's feed age (the deployment-wide change that goes with the
# poller's version: a timestamp, no case data) and check-db read the whole deployment by design.
WHOLE_DEPLOYMENT_USERS = ("dashboard/warning/", "callbacks/live/signal.py", "callbacks/live/tick.py",
                          "data_access/checks.py")
APP_PACKAGES = ("data_access", "dashboard", "callbacks", "layouts", "bench")


# --- the checkers ------------------------------------------------------------------------------

def _name_of(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _sqlalchemy_writers(tree: ast.Module) -> set[str]:
    """The names insert/update/delete as the module imports them from SQLAlchemy (not dict.update)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            out |= {alias.asname or alias.name for alias in node.names if alias.name in WRITES}
    return out


def _data_access_names(tree: ast.Module, only: str | None = None) -> set[str]:
    """Names the module imports from data_access (functions, or modules such as ``feeds``); with
    ``only``, from that module of data_access (or the module itself, imported by name)."""
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if not (node.level or module.startswith("data_access")):
            continue
        for alias in node.names:
            if only is None or module.split(".")[-1] == only or (module in ("", "data_access") and alias.name == only):
                out.add(alias.asname or alias.name)
    return out


def _applies(node: ast.AST, entry: set[str]) -> bool:
    """``node`` names a filter of the entry point: ``in_scope`` imported from it, or ``scoped.in_scope``."""
    if isinstance(node, ast.Name):
        return node.id in APPLIES and node.id in entry
    return (isinstance(node, ast.Attribute) and node.attr in APPLIES and isinstance(node.value, ast.Name)
            and node.value.id in entry)


class _Facts:
    """What one top-level function does, before following its calls within the module."""

    def __init__(self, fn: ast.FunctionDef, module_functions: set[str], writers: set[str], imported: set[str],
                 entry: set[str]):
        args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
        self.params = {a.arg for a in args}
        conn_params = {a.arg for a in args if a.arg in CONNECTION_PARAMS
                       or (a.annotation is not None and _name_of(a.annotation) in CONNECTION_TYPES)}
        self.takes_scope = "scope" in self.params
        self.runs = self.writes = self.applies = False
        self.calls: set[str] = set()
        for node in ast.walk(fn):
            if _applies(node, entry):
                self.applies = True
            if not isinstance(node, ast.Call):
                continue
            name = _name_of(node.func)
            values = list(node.args) + [k.value for k in node.keywords]
            passed = {v.id for v in values if isinstance(v, ast.Name)}
            if isinstance(node.func, ast.Attribute) and name in RUNS:
                self.runs = True
            if isinstance(node.func, ast.Name) and name in module_functions:
                self.calls.add(name)
            elif passed & conn_params:
                self.runs = True  # hands its connection to a query elsewhere
                root = node.func
                while isinstance(root, ast.Attribute):
                    root = root.value
                if "scope" in passed and isinstance(root, ast.Name) and root.id in imported:
                    self.applies = True  # passes the scope on to another data_access query (checked there)
            if isinstance(node.func, ast.Name) and name in writers:
                self.writes = True


def _closure(facts: dict[str, _Facts], attr: str) -> dict[str, bool]:
    """``attr`` of each function, or of any function of the module it calls (transitively)."""
    out: dict[str, bool] = {}

    def visit(name: str, seen: frozenset) -> bool:
        if name in out:
            return out[name]
        f = facts[name]
        value = getattr(f, attr) or any(visit(c, seen | {name}) for c in f.calls if c not in seen and c != name)
        if not seen:
            out[name] = value
        return value

    for name in facts:
        visit(name, frozenset())
    return out


def scope_bypasses(source: str, module: str) -> list[str]:
    """The public query functions of a data_access module that skip the scoped entry point."""
    if module in WHOLE_DEPLOYMENT_MODULES:
        return []
    tree = parse_source(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    writers, imported, entry = _sqlalchemy_writers(tree), _data_access_names(tree), _data_access_names(tree, ENTRY)
    facts = {name: _Facts(fn, set(functions), writers, imported, entry) for name, fn in functions.items()}
    runs, writes, applies = (_closure(facts, a) for a in ("runs", "writes", "applies"))
    wrong = []
    for name, f in facts.items():
        if name.startswith("_") or not runs[name] or (module, name) in ALLOWED_FUNCTIONS:
            continue
        if writes[name] or name.startswith(ENGINE_PREFIX):
            continue  # a write (by key, inside what a scoped read found), or the engine's own read
        if not f.takes_scope:
            wrong.append(f"{module}.{name} runs SQL without a scope (take one and filter through "
                         f"data_access.{ENTRY}, or name it {ENGINE_PREFIX}* if only the engine calls it)")
        elif not applies[name]:
            wrong.append(f"{module}.{name} takes a scope but does not filter through data_access.{ENTRY}")
    return wrong


def raw_filter_uses(source: str, path: str) -> list[str]:
    """Uses of the raw region filters (or a hand-written LIKE prefix) outside the entry point."""
    if path == f"data_access/{ENTRY}.py":
        return []
    wrong = []
    for node in ast.walk(parse_source(source)):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if names & RAW_FILTERS or ((node.module or "").endswith(ENTRY) and any(n.startswith("_") for n in names)):
                wrong.append(f"{path}:{node.lineno} imports {sorted(names)} from {node.module}")
        elif isinstance(node, (ast.Name, ast.Attribute)) and _name_of(node) in RAW_FILTERS:
            wrong.append(f"{path}:{node.lineno} uses {_name_of(node)}")
        elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and isinstance(node.value, ast.Name)
              and node.value.id == ENTRY):
            wrong.append(f"{path}:{node.lineno} uses {ENTRY}.{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("like", "ilike")
              and path.startswith("data_access/") and Path(path).stem not in WHOLE_DEPLOYMENT_MODULES):
            wrong.append(f"{path}:{node.lineno} filters with {node.func.attr}() (a region prefix by hand?)")
    return wrong


def scope_constructions(source: str) -> tuple[list[int], list[int]]:
    """Lines that construct ``Scope(...)`` and lines that call ``Scope.whole_deployment(...)``."""
    made, whole = [], []
    for node in ast.walk(parse_source(source)):
        if isinstance(node, ast.Call):
            if _name_of(node.func) == "Scope":
                made.append(node.lineno)
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "whole_deployment":
                whole.append(node.lineno)
    return made, whole


def _sources(packages=APP_PACKAGES):
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8")


# --- the rules, on the repository ----------------------------------------------------------------

def test_every_query_function_of_data_access_goes_through_the_scoped_entry_point():
    wrong = []
    for path in sorted(DATA_ACCESS.glob("*.py")):
        wrong += scope_bypasses(path.read_text(encoding="utf-8"), path.stem)
    assert not wrong, "\n".join(wrong)


def test_the_allow_lists_name_what_exists():
    stems = {p.stem for p in DATA_ACCESS.glob("*.py")}
    assert set(WHOLE_DEPLOYMENT_MODULES) <= stems
    for module, function in ALLOWED_FUNCTIONS:
        tree = parse_source((DATA_ACCESS / f"{module}.py").read_text(encoding="utf-8"))
        assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, (module, function)


def test_raw_region_filters_live_only_in_the_entry_point():
    wrong = []
    for path, source in _sources(APP_PACKAGES + ("tests",)):
        if path != "tests/test_scope_entry.py":
            wrong += raw_filter_uses(source, path)
    assert not wrong, "\n".join(wrong)


def test_scopes_are_made_only_by_identity_and_the_whole_deployment_only_by_the_engine_and_the_poller():
    made_wrong, whole_wrong, whole_users = [], [], set()
    for path, source in _sources():
        made, whole = scope_constructions(source)
        if made and not path.startswith(SCOPE_MAKERS):
            made_wrong += [f"{path}:{line}" for line in made]
        if whole:
            whole_users.add(path)
            if not path.startswith(WHOLE_DEPLOYMENT_USERS):
                whole_wrong += [f"{path}:{line}" for line in whole]
    assert not made_wrong, "Scope(...) outside data_access/scope.py and dashboard/identity:\n" + "\n".join(made_wrong)
    assert not whole_wrong, "Scope.whole_deployment outside the engine and the poller:\n" + "\n".join(whole_wrong)
    assert "callbacks/live/signal.py" in whole_users and "dashboard/warning/lock.py" in whole_users


def test_the_engines_unscoped_reads_are_called_only_by_the_engine():
    wrong = []
    for path, source in _sources(("dashboard", "callbacks", "layouts")):
        if path.startswith("dashboard/warning/"):
            continue
        for node in ast.walk(parse_source(source)):
            if isinstance(node, (ast.Name, ast.Attribute)) and (_name_of(node) or "").startswith(ENGINE_PREFIX):
                wrong.append(f"{path}:{node.lineno} uses {_name_of(node)}")
    assert not wrong, "\n".join(wrong)


def test_a_user_scope_is_made_in_identity():
    made, _ = scope_constructions((REPO / "dashboard/identity/auth.py").read_text(encoding="utf-8"))
    assert made, "dashboard/identity/auth.py no longer makes the user's Scope: update SCOPE_MAKERS"


# --- the checkers catch what they are for ------------------------------------------------------------

BYPASSING = '''
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .models import Case
from .scope import Scope


def open_cases(conn: Connection, m) -> list:
    return conn.execute(select(Case.code).where(Case.closed_at.is_(None))).all()


def cases_of(conn: Connection, scope: Scope) -> list:
    return conn.execute(select(Case.code).where(Case.grid_code.like(scope.region + "%"))).all()


def _rows(conn, stmt):
    return conn.execute(stmt).all()


def through_a_helper(conn: Connection, scope: Scope) -> list:
    return _rows(conn, select(Case.code))
'''

FIXED = '''
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .models import Case
from .scope import Scope
from .scoped import in_scope, select_in
from .figures import case_figures


def engine_open_cases(conn: Connection, m) -> list:
    return conn.execute(select(Case.code).where(Case.closed_at.is_(None))).all()


def cases_of(conn: Connection, scope: Scope) -> list:
    return conn.execute(select_in(scope, Case, Case.code)).all()


def _in(scope):
    return in_scope(scope, Case)


def _rows(conn, scope):
    return conn.execute(select(Case.code).where(_in(scope))).all()


def through_a_helper(conn: Connection, scope: Scope) -> list:
    return _rows(conn, scope)


def delegated(conn: Connection, scope: Scope, m) -> dict:
    return case_figures(conn, scope, m)


def no_sql(rows) -> list:
    return sorted(rows)
'''


def test_the_checker_fails_a_module_that_bypasses_the_entry_point(tmp_path):
    module = tmp_path / "bypassing.py"
    module.write_text(BYPASSING, encoding="utf-8")
    wrong = scope_bypasses(module.read_text(encoding="utf-8"), "bypassing")
    assert [w.split(" ")[0] for w in wrong] == ["bypassing.open_cases", "bypassing.cases_of",
                                                "bypassing.through_a_helper"], wrong
    assert "without a scope" in wrong[0] and "does not filter" in wrong[1]
    assert raw_filter_uses(BYPASSING, "data_access/bypassing.py") == [
        "data_access/bypassing.py:14 filters with like() (a region prefix by hand?)"]

    fixed = tmp_path / "fixed.py"
    fixed.write_text(FIXED, encoding="utf-8")
    assert scope_bypasses(fixed.read_text(encoding="utf-8"), "fixed") == []
    assert raw_filter_uses(FIXED, "data_access/fixed.py") == []


def test_the_checker_fails_raw_filters_and_scopes_made_elsewhere(tmp_path):
    source = ("from data_access.scope import Scope\n"
              "def root(conn, code, c):\n"
              "    scope = Scope(code, code)\n"
              "    whole = Scope.whole_deployment(code)\n"
              "    return scope.case_filter(c.grid_code), whole\n")
    (tmp_path / "view.py").write_text(source, encoding="utf-8")
    text = (tmp_path / "view.py").read_text(encoding="utf-8")
    assert raw_filter_uses(text, "callbacks/view.py") == ["callbacks/view.py:5 uses case_filter"]
    assert scope_constructions(text) == ([3], [4])
    assert raw_filter_uses("from data_access.scoped import _upper_bound\n", "callbacks/x.py") == [
        "callbacks/x.py:1 imports ['_upper_bound'] from data_access.scoped"]
