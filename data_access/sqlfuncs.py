"""Small SQL constructs that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class epoch_seconds(FunctionElement):
    """Seconds since 1970-01-01 UTC of a timestamp column, as a float."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return "EXTRACT(EPOCH FROM %s)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # julianday() is exact to well under a millisecond for these dates; round away its noise.
    return "ROUND((julianday(%s) - 2440587.5) * 86400.0, 3)" % compiler.process(element.clauses, **kw)


class no_index(FunctionElement):
    """A column's value that SQLite will not look up through an index (unary ``+``); unchanged elsewhere.

    SQLite plans without value statistics and would drive a statement by a wide region-code range
    over narrow time windows; PostgreSQL weighs both and needs no hint.
    """

    type = String()
    inherit_cache = True
    name = "no_index"


@compiles(no_index)
def _no_index_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(no_index, "sqlite")
def _no_index_sqlite(element, compiler, **kw):
    return "+%s" % compiler.process(element.clauses, **kw)
