"""The mapping file of ``gridwall import`` (TOML), read into pydantic models.

The format is documented for operators in docs/interfaces.md ("The import mapping file"); the
models below are its single source: unknown keys are errors (a typo must not silently drop a
column), and every value is checked before a row is read. A malformed mapping raises
``MappingError`` with one line per problem; the command exits 2 on it.

Paths in the mapping (GeoJSON files) are relative: they are looked up beside the imported FILE
first, then beside the mapping file. So a shipped mapping names ``boston_wards_22.geojson`` and the
data's folder is given on the command line with the FILE, never written into the mapping.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

STATUSES = ("reported", "accepted", "dispatched", "handling", "verifying", "closed", "rejected", "merged")
FINAL_STATUSES = ("closed", "rejected", "merged")
SOURCES = ("patrol", "hotline", "resident", "video", "sensor", "department", "superior", "other")
URGENCIES = ("normal", "urgent", "critical")
LEVELS = ("grid", "community", "street", "county")


class MappingError(ValueError):
    """The mapping file cannot be used; ``str()`` names every problem, one a line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Column = str | list[str]  # one file column, or several: text joined with " / " (blank parts left out), times the first given


def column_names(*specs: Column | None) -> list[str]:
    """The file columns that ``specs`` read, each once, in order (unmapped specs left out)."""
    out: list[str] = []
    for spec in specs:
        for name in ([spec] if isinstance(spec, str) else spec or []):
            if name not in out:
                out.append(name)
    return out


class FileSpec(_Strict):
    """``[file]``: how to read FILE. ``format`` defaults from the name (.csv, .csv.gz, .xlsx)."""

    format: Literal["csv", "xlsx"] | None = None
    encoding: str = "utf-8-sig"  # a BOM is dropped; Chinese exports are often "gb18030"
    delimiter: str = ","
    sheet: str | None = None  # xlsx: the sheet's name (default: the first)
    header_row: int = Field(1, ge=1, le=100)  # the row of the column names (1-based); rows above (a title) are skipped
    chunk_rows: int = Field(20_000, ge=100, le=1_000_000)


class RootSpec(_Strict):
    """``[root]``: the imported city becomes the deployment's county-level root region."""

    code: str
    name: str
    parent_code: str | None = None

    @field_validator("code")
    @classmethod
    def _six_digits(cls, v: str) -> str:
        if not re.fullmatch(r"\d{6}", v):
            raise ValueError("must be 6 digits (the county-level code of the contract)")
        return v


class ColumnsSpec(_Strict):
    """``[columns]``: contract column (left) = the file's column or columns (right)."""

    code: Column
    reported_at: Column
    closed_at: Column | None = None
    resolve_due_at: Column | None = None
    accepted_at: Column | None = None
    dispatched_at: Column | None = None
    accept_due_at: Column | None = None
    dispatch_due_at: Column | None = None
    title: Column | None = None
    description: Column | None = None
    address: Column | None = None
    lon: str | None = None
    lat: str | None = None
    status: Column | None = None
    source: Column | None = None
    urgency: Column | None = None
    satisfaction: Column | None = None
    category: Column | None = None
    category_group: Column | None = None
    district: Column | None = None
    area: Column | None = None   # the community (社区/村) by name, within its district; districts by name only
    grid: Column | None = None   # the grid (网格) by name, within its area

    @model_validator(mode="after")
    def _pairs(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat go together: map both or neither")
        return self

    def file_columns(self) -> list[str]:
        return column_names(*self.model_dump().values())


class ValuesSpec(_Strict):
    """``[values.*]``: the file's values (left) to contract values (right). Keys match exactly, then
    ignoring case and surrounding blanks."""

    status: dict[str, str] = {}
    source: dict[str, str] = {}
    urgency: dict[str, str] = {}
    satisfaction: dict[str, int] = {}

    @model_validator(mode="after")
    def _known(self):
        problems = []
        for name, allowed in (("status", STATUSES), ("source", SOURCES), ("urgency", URGENCIES)):
            for key, value in getattr(self, name).items():
                if value not in allowed:
                    problems.append(f"values.{name}: {key!r} = {value!r} is not one of {', '.join(allowed)}")
        for key, value in self.satisfaction.items():
            if not 1 <= value <= 5:
                problems.append(f"values.satisfaction: {key!r} = {value} is not 1 to 5")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class DefaultsSpec(_Strict):
    """``[defaults]``: values for what the file does not say."""

    source: Literal[SOURCES] = "other"  # a source value not in [values.source], or no source column
    open_status: Literal["reported", "accepted", "dispatched", "handling", "verifying"] = "handling"
    urgency: Literal[URGENCIES] = "normal"
    level: Literal[LEVELS] = "county"  # the tier holding the case: a city department by default
    # accepted_at when no column gives it: an exported case was accepted (立案) when it was opened;
    # "none" leaves it NULL. Rejected cases never get one.
    accepted_at: Literal["reported_at", "none"] = "reported_at"


class CategoriesSpec(_Strict):
    """``[categories]``: the file's categories (``columns.category``) to 4-digit category codes."""

    map: dict[str, str] = {}  # file value -> a minor code (contract tree or a code already in the database)
    # New majors this mapping adds (2 digits -> name), and file group values (columns.category_group)
    # -> a major under which that group's unknown categories get their codes.
    majors: dict[str, str] = {}
    groups: dict[str, str] = {}
    other_major: str = "99"  # unknown categories without a mapped group get codes here
    other_name: str = "其他(导入)"
    blank_name: str = "(未分类)"  # the name of the category of rows whose category is empty
    accept_codes: bool = True  # a file value that is already a known minor code is used as is
    # resolve_due_at, when the file gives none: reported_at + the category's resolve_hours (wall-clock
    # hours; only categories with limits, i.e. the contract tree's)
    due_from_category: bool = False

    @model_validator(mode="after")
    def _codes(self):
        problems = []
        for code, name in self.majors.items():
            if not re.fullmatch(r"\d{2}", code):
                problems.append(f"categories.majors: {code!r} is not a 2-digit major code")
        if not re.fullmatch(r"\d{2}", self.other_major):
            problems.append(f"categories.other_major: {self.other_major!r} is not a 2-digit major code")
        for key, code in self.groups.items():
            if not re.fullmatch(r"\d{2}", code):
                problems.append(f"categories.groups: {key!r} = {code!r} is not a 2-digit major code")
        for key, code in self.map.items():
            if not re.fullmatch(r"\d{4}", code):
                problems.append(f"categories.map: {key!r} = {code!r} is not a 4-digit category code")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class PointSpec(_Strict):
    lon: float
    lat: float


class LocationSpec(_Strict):
    """``[location]``: the coordinates' datum and the placeholder points that mean "no location"."""

    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"  # gcj02: AMap/Tencent, bd09: Baidu; converted to WGS-84
    polygons_crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"  # the same for the GeoJSON files the mapping names
    placeholders: list[PointSpec] = []  # in the file's own coordinates
    placeholder_radius_m: float = Field(5.0, ge=0)


class DistrictsSpec(_Strict):
    """``[districts]``: the street level (9-digit codes). From polygons (``geojson`` + ``name_property``),
    and/or from a column (``columns.district``) through the ``names`` table (file value -> district
    name: a polygon's name when there are polygons). Without polygons the names table's values are
    the districts."""

    geojson: str | None = None
    name_property: str | None = None
    names: dict[str, str] = {}
    name_format: str = "{}"  # the shown name, e.g. "Council District {}"

    @model_validator(mode="after")
    def _pairs(self):
        if (self.geojson is None) != (self.name_property is None):
            raise ValueError("districts.geojson and districts.name_property go together")
        _check_format(self.name_format, "districts.name_format")
        return self


class AreasSpec(_Strict):
    """``[areas]``: the community level (12 digits). With ``geojson``: the pieces of each district cut by
    these polygons (wards x neighbourhoods); pieces under ``min_area_m2`` join a neighbour. Without:
    one area per district, the whole district."""

    geojson: str | None = None
    name_property: str | None = None
    name_format: str = "{}"
    min_area_m2: float = Field(50_000, ge=0)
    # the catch-all area (and grid) of a district's cases without a point; "{}" is the district's name
    unlocated_name: str = "位置不详"

    @model_validator(mode="after")
    def _pairs(self):
        if (self.geojson is None) != (self.name_property is None):
            raise ValueError("areas.geojson and areas.name_property go together")
        _check_format(self.name_format, "areas.name_format")
        _check_format(self.unlocated_name, "areas.unlocated_name")
        return self


class GridsSpec(_Strict):
    """``[grids]``: the grid level (15 digits). ``cell_m``: square cells of that size, clipped to the
    areas; without it, one grid per area."""

    cell_m: float | None = Field(None, ge=50, le=20_000)
    origin: tuple[float, float] | None = None  # lon, lat of the cells' south-west anchor
    min_piece_share: float = Field(0.1, ge=0, le=1)  # clipped pieces under this share of a cell join a neighbour
    simplify_m: float = Field(5.0, ge=0)  # the stored boundaries' simplification
    # a cell's name: {row} and {col} of its cell from the origin, {n} its number in the area. The
    # wall shows it after the district's and area's names, so it need not repeat them.
    name_format: str = "网格 {row}-{col}"

    @field_validator("name_format")
    @classmethod
    def _cell_format(cls, v: str) -> str:
        try:
            v.format(row=1, col=2, n=3)
        except (IndexError, KeyError, ValueError) as exc:
            raise ValueError(f"{v!r}: only {{row}}, {{col}} and {{n}} may appear") from exc
        return v


class Mapping(_Strict):
    """The whole mapping file."""

    timezone: str = "Asia/Shanghai"  # of naive timestamps; values with an offset keep theirs
    date_only_time: str = "12:00"  # the local time given to a date without a time of day
    datetime_format: str | None = None  # strftime format when the file's timestamps are not ISO-like
    max_due_days: int = Field(1096, ge=1)  # a due time this far after reported_at (or before it) is absurd
    future_days: int = Field(1, ge=0)  # reported/closed later than now + this: the row is skipped
    code_prefix: str = ""  # put before every case code (two exports with overlapping ids)

    file: FileSpec = Field(default_factory=FileSpec)
    root: RootSpec
    columns: ColumnsSpec
    values: ValuesSpec = Field(default_factory=ValuesSpec)
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    categories: CategoriesSpec = Field(default_factory=CategoriesSpec)
    location: LocationSpec = Field(default_factory=LocationSpec)
    districts: DistrictsSpec = Field(default_factory=DistrictsSpec)
    areas: AreasSpec = Field(default_factory=AreasSpec)
    grids: GridsSpec = Field(default_factory=GridsSpec)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("date_only_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", v)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ValueError("must be HH:MM")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        if self.areas.geojson and not self.districts.geojson:
            problems.append("areas.geojson needs districts.geojson (areas are cut out of the districts)")
        if self.grids.cell_m and not self.districts.geojson:
            problems.append("grids.cell_m needs districts.geojson (cells are clipped to the areas)")
        if self.districts.names and not self.columns.district:
            problems.append("districts.names needs columns.district")
        if self.columns.district and not (self.districts.names or self.districts.geojson):
            problems.append("columns.district needs districts.names or districts.geojson")
        if self.columns.category_group and not self.categories.groups:
            problems.append("columns.category_group needs categories.groups")
        if self.columns.area and not (self.columns.district and self.districts.names and not self.districts.geojson):
            problems.append("columns.area needs columns.district with districts.names and no districts.geojson "
                            "(the areas are the file's names within each district)")
        if self.columns.grid and not self.columns.area:
            problems.append("columns.grid needs columns.area (a grid's name is read within its area)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _check_format(fmt: str, where: str) -> None:
    try:
        fmt.format("x")
    except (IndexError, KeyError, ValueError) as exc:
        raise ValueError(f"{where}: {fmt!r} is not a format with one {{}}") from exc


def parse_mapping(data: dict) -> Mapping:
    """The mapping from already-parsed TOML; MappingError names each problem."""
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"{where}: {err['msg']}")
        raise MappingError("\n".join(lines)) from None


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    return parse_mapping(data)


def resolve_path(name: str, data_file: Path, mapping_file: Path | None) -> Path:
    """A path named in the mapping: absolute as is; relative beside FILE first, then beside the mapping."""
    p = Path(name)
    if p.is_absolute():
        return p
    for base in (data_file.parent, mapping_file.parent if mapping_file else None):
        if base is not None and (base / p).exists():
            return base / p
    raise MappingError(f"{name}: not found beside {data_file}" + (f" nor beside {mapping_file}" if mapping_file else ""))
