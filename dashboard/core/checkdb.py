"""``gridwall check-db``: the report on a platform database against the contract (contract.md).

The queries live in ``data_access.checks``; this module decides what each result means for a
deployment (its severity), words it for the DBA and renders the report:

- 致命 FATAL: gridwall cannot run (a contract table or a column the figures need is missing or,
  on PostgreSQL, of another type family; no root region). ``gridwall check-db`` exits 1.
- 警告 WARNING: bad rows or missing optional columns; gridwall runs, leaves the bad rows out of
  the figure they would corrupt and counts them as data-quality issues.
- 信息 INFO: row counts, the time range of the cases, the root region, indexes worth adding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from data_access import checks
from data_access.checks import Check, Context, Problem, Schema
from data_access.regions import NoRoot, find_root

UTC = timezone.utc

FATAL, WARNING, INFO = "fatal", "warning", "info"
SEVERITY_HEADINGS = {
    FATAL: "致命 FATAL — gridwall 无法运行 / gridwall cannot run on this database",
    WARNING: "警告 WARNING — 可运行，问题数据不计入相应指标 / runs; bad rows are left out of the figures they would corrupt",
    INFO: "信息 INFO",
}

# check id -> (severity, title, hint)
WORDING: dict[str, tuple[str, str, str | None]] = {
    "connect": (FATAL, "无法连接数据库 cannot connect to the database",
                "check GRIDWALL_DATABASE_URL, the network and the role's password"),
    "introspect": (FATAL, "无法读取库结构 cannot read the schema", None),
    "missing-table": (FATAL, "缺少契约表 missing contract table (or view)",
                      "create it with `gridwall init-db`, or expose the platform's data as a view of this name "
                      "with the contract's columns"),
    "unreadable-table": (FATAL, "表结构无法读取 table or view cannot be introspected", None),
    "missing-required-column": (FATAL, "缺少必需列 missing columns the figures need",
                                "add them to the table or view (contract.md lists name and type)"),
    "no-root": (FATAL, "无法确定根区划 no root region",
                "add the county to table regions (level 'county', 6-digit code) or set GRIDWALL_ROOT"),
    "missing-optional-column": (WARNING, "缺少可选列 missing optional columns",
                                "gridwall runs; the features that show these columns stay empty"),
    "type-mismatch": (WARNING, "列类型与契约不符 column type differs from the contract",
                      "queries on this column fail or compare wrongly; convert it, or CAST it in a view "
                      "(fatal when the figures read it)"),
    "naive-timestamp": (WARNING, "时间戳无时区 timestamp without time zone (contract: timestamptz)",
                        "values are read as UTC only if the session TimeZone is UTC; convert to timestamptz"),
    "root-unknown": (WARNING, "配置的根区划不在 regions 中 GRIDWALL_ROOT is not in table regions",
                     "the wall shows codes instead of names at the top; check the code"),
    "alerts-not-writable": (WARNING, "无权写入预警表 the role cannot INSERT/UPDATE alerts",
                            "GRANT INSERT, UPDATE ON alerts TO <role>; the early-warning engine needs it"),
    "orphan-grid": (WARNING, "孤立网格 grids whose community is not in regions",
                    "they still count by code prefix, but have no community name or parent on the wall"),
    "grid-code-mismatch": (WARNING, "网格编码与所属社区不符 grid code does not start with its community_code",
                           "a grid belongs where its code says (first 12 digits); fix community_code or the code"),
    "region-parent-missing": (WARNING, "上级区划缺失 regions whose parent_code is not in regions", None),
    "region-parent-not-prefix": (WARNING, "上级编码不是本级编码前缀 parent_code is not a prefix of code", None),
    "region-level-mismatch": (WARNING, "级别与编码长度不符 level does not match the code length",
                              "city 4, county 6, street 9, community 12 digits"),
    "geojson-json": (WARNING, "边界不是合法 JSON boundary is not valid JSON", "left off the map"),
    "geojson-type": (WARNING, "边界类型错误 boundary is not a Polygon/MultiPolygon geometry", "left off the map"),
    "geojson-invalid": (WARNING, "边界几何无效 invalid boundary geometry (shapely)",
                        "self-intersections and the like; repair with ST_MakeValid or shapely make_valid"),
    "geojson-coords": (WARNING, "边界坐标不是经纬度 boundary coordinates are not WGS-84 lon/lat in China",
                       "convert to WGS-84/CGCS2000 lon/lat; note GCJ-02 (AMap/Tencent) offsets of a few hundred "
                       "metres cannot be detected here"),
    "unknown-category": (WARNING, "未知事件分类 cases with a category code not in categories",
                         "they count in every figure but in no category breakdown"),
    "null-reported-at": (WARNING, "上报时间为空 cases with NULL reported_at", "they count in no figure"),
    "closed-before-reported": (WARNING, "结案早于上报 cases closed before they were reported", None),
    "terminal-without-closed-at": (WARNING, "已结案却无结案时间 status closed/rejected/merged with NULL closed_at",
                                   "the figures treat them as open (contract: open = closed_at NULL)"),
    "open-with-closed-at": (WARNING, "在办却有结案时间 open status but closed_at set",
                            "the figures treat them as closed at closed_at"),
    "open-without-due": (WARNING, "在办事件无处置时限 open cases with NULL resolve_due_at",
                         "never overdue or in warning; counted as data-quality issues"),
    "case-unknown-grid": (WARNING, "事件网格不存在 cases whose grid_code is not in grids",
                          "they count by code prefix but cannot be placed in a grid"),
    "case-outside-root": (WARNING, "事件不在根区划内 cases whose grid_code lies outside the root region",
                          "they count in no region of this deployment"),
    "case-outside-china": (WARNING, "事件坐标超出范围 case lon/lat outside China", "left off the map"),
    "staff-unknown-grid": (WARNING, "人员所属网格不存在 staff assigned to unknown grids",
                           "they count as workers of no grid"),
    "worker-without-grid": (WARNING, "网格员未分配网格 active grid workers with no grid_code",
                            "they count in no staffing figure"),
    "category-incomplete": (WARNING, "分类缺少等级或时限 minor categories missing tier or deadlines",
                            "tier must be U/A/B/C/D; accept_minutes, dispatch_minutes, resolve_hours set"),
    "unknown-value": (WARNING, "未知取值 values outside the contract's list", None),
    "future-timestamp": (WARNING, "未来时间 timestamps in the future", "check the platform's clock and time zone"),
    "malformed-code": (WARNING, "编码格式错误 malformed codes (not digits or wrong length)", None),
    "duplicate-key": (WARNING, "编码重复 duplicated keys (the database does not forbid them)",
                      "gridwall reads one row per key; duplicates inflate counts"),
    "root": (INFO, "根区划 root region", None),
    "row-counts": (INFO, "行数 row counts", None),
    "case-range": (INFO, "事件时间范围 cases reported_at range", None),
    "gw-tables-missing": (INFO, "gridwall 自有表尚未创建 gridwall's own gw_* tables are missing",
                          "`gridwall init-db` creates them (the role needs CREATE on the schema)"),
    "grid-without-boundary": (INFO, "无边界网格 grids without boundary", "not drawn on the map"),
    "missing-index": (INFO, "建议索引 recommended index missing", None),
    "index-on-view": (INFO, "视图的索引 recommended index (on a view)", None),
    "summary": (INFO, "检查项 checks", None),
}


@dataclass(frozen=True)
class Finding:
    severity: str
    check: str
    title: str
    subject: str
    count: int | None = None
    examples: tuple[str, ...] = ()
    hint: str | None = None
    note: str | None = None


@dataclass
class Report:
    database: str
    checked_at: datetime
    tz: ZoneInfo
    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> subjects not checked

    @property
    def fatal(self) -> bool:
        return any(f.severity == FATAL for f in self.findings)

    def by_severity(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    def add(self, check_id: str, subject: str, count: int | None = None, examples=(), note: str | None = None,
            severity: str | None = None) -> None:
        default, title, hint = WORDING[check_id]
        self.findings.append(Finding(severity or default, check_id, title, subject, count, tuple(examples), hint,
                                     note))

    def skip(self, subject: str, reason: str) -> None:
        subjects = self.skipped.setdefault(reason, [])
        if subject not in subjects:
            subjects.append(subject)

    def render(self) -> str:
        local = self.checked_at.astimezone(self.tz).isoformat(timespec="seconds")
        lines = [
            "gridwall check-db — 平台数据库契约检查 / platform database check against contract v1",
            f"数据库 database: {self.database}",
            f"检查时间 checked at: {local}",
            "",
        ]
        for severity in (FATAL, WARNING):
            found = self.by_severity(severity)
            if not found:
                continue
            lines.append(f"== {SEVERITY_HEADINGS[severity]} ({len(found)}) ==")
            for f in found:
                lines.extend(_render_finding(f))
            lines.append("")
        if self.skipped:
            n = sum(len(v) for v in self.skipped.values())
            lines.append(f"== 未检查 NOT CHECKED ({n}) ==")
            for reason, subjects in self.skipped.items():
                lines.append(f"  - not checked because {reason}:")
                lines.append(f"      {', '.join(subjects)}")
            lines.append("")
        if self.by_severity(INFO):
            lines.append(f"== {SEVERITY_HEADINGS[INFO]} ==")
            order = list(WORDING)
            for f in sorted(self.by_severity(INFO), key=lambda f: order.index(f.check)):
                lines.extend(_render_finding(f))
            lines.append("")
        n_fatal, n_warn = len(self.by_severity(FATAL)), len(self.by_severity(WARNING))
        verdict = "不通过 FAIL: gridwall cannot run (exit 1)" if self.fatal else "通过 OK: gridwall can run (exit 0)"
        lines.append(f"结论 RESULT: {verdict} — {n_fatal} fatal, {n_warn} warnings")
        return "\n".join(lines)


def _render_finding(f: Finding) -> list[str]:
    mark = {FATAL: "✗", WARNING: "!", INFO: "·"}[f.severity]
    head = f"  {mark} {f.title}: {f.subject}"
    if f.note and f.check == "malformed-code":
        head += f" (expected {f.note} digits)"
    elif f.note and f.check == "case-outside-root":
        head += f" (root {f.note})"
    elif f.note:
        head += f" ({f.note})"
    if f.count is not None:
        head += f" — {f.count} 行 rows" if f.check not in ("duplicate-key",) else f" — {f.count} 个重复值 duplicated values"
    out = [head]
    if f.examples:
        label = "例 e.g." if f.count is not None else " "
        if f.severity == INFO or f.count is None:
            out.extend(f"      {e}" for e in f.examples)
        else:
            out.append(f"      {label}: " + "; ".join(f.examples))
    if f.hint:
        out.append(f"      → {f.hint}")
    return out


_FROM_SETTINGS = object()


def run_check(engine: Engine, *, configured_root=_FROM_SETTINGS, now: datetime | None = None,
              tz: ZoneInfo | None = None) -> Report:
    """Check ``engine``'s database; never raises for what it finds, only reports it."""
    if configured_root is _FROM_SETTINGS or tz is None:
        from dashboard.core.config import get_settings

        settings = get_settings()
        if configured_root is _FROM_SETTINGS:
            configured_root = settings.root
        tz = tz or settings.tz
    now = now or datetime.now(UTC)
    report = Report(database=engine.url.render_as_string(hide_password=True), checked_at=now, tz=tz)

    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file:") \
            and not Path(database).exists():
        # Connecting would create an empty file; a check must not.
        report.add("connect", report.database, note="the SQLite file does not exist")
        return report
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - the report is the answer
        report.add("connect", report.database, note=checks.short_error(exc))
        return report
    try:
        schema = checks.read_schema(engine)
    except Exception as exc:  # noqa: BLE001
        report.add("introspect", report.database, note=checks.short_error(exc))
        return report

    _check_structure(report, schema)
    root = _check_root(report, engine, schema, configured_root)
    _check_privileges(report, engine, schema)
    ctx = Context(schema=schema, now=now, root=root)
    _run_data_checks(report, engine, schema, ctx, checks.data_checks())
    _info(report, engine, schema)
    return report


def _check_structure(report: Report, schema: Schema) -> None:
    for table in checks.CONTRACT_TABLE_NAMES:
        if table not in schema.relations:
            report.add("missing-table", table)
            continue
        if table in schema.errors:
            report.add("unreadable-table", table, note=schema.errors[table])
            continue
        present = schema.columns[table]
        required = checks.REQUIRED_COLUMNS[table]
        contract = [col.name for col in checks.MODEL_TABLES[table].columns]
        missing_required = [col for col in required if col not in present]
        missing_optional = [col for col in contract if col not in required and col not in present]
        if missing_required:
            report.add("missing-required-column", f"{table}: {', '.join(missing_required)}")
        if missing_optional:
            report.add("missing-optional-column", f"{table}: {', '.join(missing_optional)}")
    for p in checks.type_mismatches(schema):
        table, _, column = p.subject.partition(".")
        # On a column the figures read, a type from another family makes their queries fail.
        needed = p.id == "type-mismatch" and column in checks.REQUIRED_COLUMNS[table]
        report.add(p.id, p.subject, examples=p.examples, severity=FATAL if needed else None)
    gw_missing = [t for t in checks.GW_TABLE_NAMES if t not in schema.relations]
    if gw_missing:
        report.add("gw-tables-missing", ", ".join(gw_missing))


def _check_root(report: Report, engine: Engine, schema: Schema, configured: str | None) -> str | None:
    if not configured and not schema.has("regions", "level"):
        report.add("no-root", "regions", note="table regions (with code, level) is missing and GRIDWALL_ROOT is unset")
        return None
    try:
        with engine.connect() as conn:
            root = find_root(conn, configured)
            name = checks.region_label(conn, root) if schema.has("regions", "name") else None
    except NoRoot as exc:
        report.add("no-root", "regions", note=str(exc))
        return None
    except Exception as exc:  # noqa: BLE001
        report.skip("root region", f"the query failed: {checks.short_error(exc)}")
        return configured
    if configured and name is None and schema.has("regions", "name"):
        report.add("root-unknown", f"GRIDWALL_ROOT={configured}")
    how = "GRIDWALL_ROOT" if configured else "the single county in regions"
    report.add("root", f"{root} {name or '(no name)'}", note=f"from {how}")
    return root


def _check_privileges(report: Report, engine: Engine, schema: Schema) -> None:
    if "alerts" not in schema.relations:
        return
    try:
        with engine.connect() as conn:
            writable = checks.alerts_writable(conn)
    except Exception as exc:  # noqa: BLE001
        report.skip("alerts privileges", f"the query failed: {checks.short_error(exc)}")
        return
    if writable is False:
        report.add("alerts-not-writable", "alerts")


def _run_data_checks(report: Report, engine: Engine, schema: Schema, ctx: Context, data_checks: list[Check]) -> None:
    passed = 0
    for check in data_checks:
        missing = schema.missing(check.needs)
        if missing:
            tables = sorted({m.partition(".")[0] for m in missing if not schema.has(m.partition(".")[0])})
            if tables:
                reason = f"table {', '.join(tables)} is missing" if len(tables) == 1 else \
                    f"tables {', '.join(tables)} are missing"
            else:
                reason = f"column {', '.join(missing)} is missing"
            report.skip(check.subject, reason)
            continue
        try:
            with engine.connect() as conn:
                problems = check.run(conn, ctx)
        except Exception as exc:  # noqa: BLE001 - one failing check must not stop the others
            report.skip(check.subject, f"the query failed: {checks.short_error(exc)}")
            continue
        if not problems:
            passed += 1
        for p in problems:
            _add_problem(report, p)
    report.add("summary", f"{passed} of {len(data_checks)} data checks found nothing")


def _add_problem(report: Report, p: Problem) -> None:
    report.add(p.id, p.subject, count=p.count, examples=p.examples, note=p.note)


def _info(report: Report, engine: Engine, schema: Schema) -> None:
    counts = []
    for table in checks.CONTRACT_TABLE_NAMES + checks.GW_TABLE_NAMES:
        if table not in schema.relations:
            continue
        kind = " (view)" if schema.relations[table] == "view" else ""
        try:
            with engine.connect() as conn:
                n, exact = checks.row_count(conn, table, schema.dialect)
            counts.append(f"{table}{kind}: {n:,}{'' if exact else ' (estimate)'}")
        except Exception as exc:  # noqa: BLE001
            counts.append(f"{table}{kind}: not counted because the query failed: {checks.short_error(exc)}")
    report.add("row-counts", "per table", examples=counts)

    if schema.has("cases", "reported_at"):
        try:
            with engine.connect() as conn:
                first, last = checks.case_time_range(conn)
            if first is None:
                report.add("case-range", "no case has a reported_at")
            else:
                fmt = lambda v: v.astimezone(report.tz).isoformat(timespec="minutes")  # noqa: E731
                report.add("case-range", f"{fmt(first)} → {fmt(last)}")
        except Exception as exc:  # noqa: BLE001
            report.skip("cases reported_at range", f"the query failed: {checks.short_error(exc)}")

    for p in checks.missing_indexes(schema):
        report.add(p.id, p.subject, examples=p.examples)
