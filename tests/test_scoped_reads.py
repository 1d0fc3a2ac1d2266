"""The scoped-query entry point (data_access/scoped.py) on both backends: the region filter per table,
its bound-parameter form, names above the scope, and the streets ``?rotate=`` cycles through."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from data_access.models import Alert, Case, Grid, Region, Staff
from data_access.regions import region_name, region_path, rotation_streets
from data_access.scope import Scope, ScopeError
from data_access.scoped import in_scope, in_scope_param, params_key, scope_params, select_in

from .wall_fixtures import COUNTY, seed_small_county

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
STREET, OTHER_STREET = "320585100", "320585101"
COMMUNITY = STREET + "001"
GRID = COMMUNITY + "001"
SCOPES = [Scope.whole_deployment(COUNTY), Scope(STREET, COUNTY), Scope(COMMUNITY, COUNTY), Scope(GRID, COUNTY)]


@pytest.fixture
def county(engine):
    seed_small_county(engine, now=NOW)
    return engine


def count(conn, table, where) -> int:
    return conn.execute(select(func.count()).select_from(table).where(where)).scalar()


def test_each_table_is_filtered_by_its_region_column(county):
    with county.connect() as conn:
        for scope in SCOPES:
            for model, column in ((Case, "grid_code"), (Grid, "code"), (Region, "code"), (Staff, "grid_code"),
                                  (Alert, "region_code")):
                table = model.__table__
                codes = conn.execute(select_in(scope, model, table.c[column])).scalars().all()
                everything = conn.execute(select(table.c[column])).scalars().all()
                expected = [c for c in everything if (c is None and scope.includes_unlocated)
                            or (c is not None and c.startswith(scope.region))]
                assert sorted(codes, key=str) == sorted(expected, key=str), (scope, model)


def test_unlocated_cases_count_only_at_the_root(county):
    unlocated = Case.__table__.c.grid_code.is_(None)
    with county.connect() as conn:
        assert count(conn, Case.__table__, unlocated) == 1
        assert count(conn, Case.__table__, (in_scope(SCOPES[0], Case)) & unlocated) == 1
        assert count(conn, Case.__table__, (in_scope(SCOPES[1], Case, index=False)) & unlocated) == 0


def test_the_bound_parameter_form_selects_what_in_scope_selects(county):
    cases = Case.__table__
    with county.connect() as conn:
        for scope in SCOPES + [Scope("999999999999999", "9999")]:  # 99..9: a range without an upper end
            for table in (cases, Grid.__table__, Staff.__table__.alias("s")):
                stmt = select(func.count()).select_from(table)
                plain = conn.execute(stmt.where(in_scope(scope, table))).scalar()
                bound = conn.execute(stmt.where(in_scope_param(params_key(scope), table)), scope_params(scope)).scalar()
                assert plain == bound, (scope, table)


def test_a_table_without_a_region_column_cannot_be_scoped():
    from data_access.models import Category

    with pytest.raises(LookupError):
        in_scope(SCOPES[0], Category)


def test_names_above_the_scope_are_visible_and_nothing_beside_it(county):
    street = Scope(STREET, COUNTY)
    with county.connect() as conn:
        assert region_name(conn, street, COUNTY) == "太仓市"  # the root, above the street
        assert region_name(conn, street, GRID) == "第1网格"
        assert region_name(conn, Scope(GRID, COUNTY), STREET) is not None
        with pytest.raises(ScopeError):
            region_name(conn, street, OTHER_STREET)
        with pytest.raises(ScopeError):
            region_name(conn, street, OTHER_STREET + "001")
        assert [code for code, _ in region_path(conn, street, GRID)] == [COUNTY, STREET, COMMUNITY, GRID]


def test_rotation_cycles_through_the_streets_inside_the_scope(county):
    with county.connect() as conn:
        assert rotation_streets(conn, Scope.whole_deployment(COUNTY)) == [
            "320585100", "320585101", "320585102", "320585103"]
        assert rotation_streets(conn, Scope(STREET, COUNTY)) == [STREET]
        assert rotation_streets(conn, Scope(COMMUNITY, COUNTY)) == []
