"""``gridwall import``: a CSV/XLSX case export into the contract's tables of a standalone database.

The route for a county whose vendor can give only an export, and for trying gridwall on real data
before a DBA builds views. A TOML mapping file (docs/interfaces.md, "The import mapping file") says
which file column fills which contract column, how the file's values become contract values, how
its categories become category codes, the timezone of naive timestamps, and how places become the
region hierarchy (by a district column with a name table, or point in polygon with GeoJSON, with
generated areas and square grid cells where there are no official codes).

Layers: ``mapping`` (the file format, pydantic), ``reading`` (CSV/XLSX in chunks), ``geography``
(the hierarchy and point location, shapely), ``categories`` (category codes), ``rows`` (a chunk to
case rows, skip reasons, cleared values), ``run`` (the whole run and its report). All SQL is in
``data_access.imports``. Idempotent: cases are upserted by code, regions and grids by code.
"""

from .mapping import Mapping, MappingError, load_mapping, parse_mapping
from .run import ImportReport, SourceError, run_import

__all__ = ["ImportReport", "Mapping", "MappingError", "SourceError", "load_mapping", "parse_mapping", "run_import"]
