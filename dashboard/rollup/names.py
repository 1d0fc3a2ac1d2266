"""The bundled Jiangsu GB/T 2260 list (province, cities, counties) a roll-up database is named from."""

from __future__ import annotations

import csv
from importlib import resources

from dashboard.importer.categories import contract_tree

LIST = "resources/jiangsu_gbt2260.csv"


def gbt2260_rows() -> list[dict[str, str]]:
    with resources.files("dashboard").joinpath(LIST).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def rollup_regions(root: str) -> list[dict]:
    """The rows from ``root`` (a province or city) down to the counties, and those above ``root`` (a
    city's province) for the breadcrumb. ValueError when ``root`` is not in the list."""
    out = [{"code": r["code"], "name": r["name"], "level": r["level"], "parent_code": r["parent_code"] or None,
            "boundary": None}
           for r in gbt2260_rows() if r["code"].startswith(root) or root.startswith(r["code"])]
    if not any(r["code"] == root for r in out):
        raise ValueError(f"{root} is not Jiangsu's province code (32) or one of its cities in the bundled GB/T 2260 list")
    return out


def default_categories() -> list[dict]:
    return contract_tree()
