"""The OpenAPI 3 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from data_access.alerts import STATUSES as ALERT_STATUSES
from data_access.commitments import STATUSES as COMMITMENT_STATUSES
from data_access.case_list import STATES as CASE_STATES
from data_access.figures import CASE_KEYS, RATE_KEYS, STAFFING_KEYS
from data_access.period import KINDS as PERIOD_KINDS
from data_access.review import FIGURE_KEYS as PERIOD_FIGURE_KEYS
from data_access.review_trends import TREND_COUNTS, TREND_KEYS


def _ints(keys) -> dict:
    return {"type": "object", "required": list(keys), "properties": {k: {"type": "integer"} for k in keys}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


_REGION = _param("region", "query", {"type": "string", "pattern": r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$"},
                 "Region or grid code; default: the caller's own region.")
_AT = _param("at", "query", {"type": "string"},
             "ISO 8601 moment; without an offset it is Asia/Shanghai local time. Default: now.")
_LIMIT = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "At most this many rows.")
_TS = {"type": "string", "format": "date-time", "nullable": True}
_FLOW_LOG = {"type": "boolean", "description": "whether the scope's cases carry the platform's flow log "
             "(case_actions); false for an imported case export, whose self_resolved_rate, return_rate, "
             "rework_rate, extension_rate and urged are then null (unknown, not 0) and whose departments "
             "and bounced cases cannot be told"}


def _errors(*codes: int) -> dict:
    text = {400: "Malformed parameter", 401: "Missing or invalid credentials",
            403: "Outside the caller's scope or role", 404: "Unknown region or alert",
            409: "Alert already resolved or dismissed", 503: "Database unavailable"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": _ref("Error")}}}
            for c in codes}


def _ok(schema: dict, description: str) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


def openapi_document() -> dict:
    read_errors = _errors(400, 401, 403, 404, 503)
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "CaseFigures": _ints(CASE_KEYS),
        "Rates7d": {"type": "object", "required": list(RATE_KEYS),
                    "properties": {k: {"type": "number", "nullable": True} for k in RATE_KEYS},
                    "description": "Shares in [0, 1]; null when the denominator is empty."},
        "Staffing": _ints(STAFFING_KEYS),
        "AlertFigures": _ints(("new", "acknowledged")),
        "Summary": {
            "type": "object", "required": ["region", "name", "at", "cases", "rates_7d", "staffing", "alerts"],
            "properties": {"region": {"type": "string"}, "name": {"type": "string"},
                           "at": {"type": "string", "format": "date-time"}, "cases": _ref("CaseFigures"),
                           "rates_7d": _ref("Rates7d"), "staffing": _ref("Staffing"),
                           "alerts": _ref("AlertFigures")},
        },
        "Child": {"type": "object", "required": ["code", "name", "cases"],
                  "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                 "level": {"type": "string"}, "cases": _ref("CaseFigures"),
                                 "stale": {"type": "boolean", "description": "roll-up database only (contract "
                                           "1.1): the child's county feed is behind by more than 60 s (a city or "
                                           "the province: any of its subscribed counties; none subscribed: true)"},
                                 "data_as_of": {"type": "string", "nullable": True, "format": "date-time",
                                                "description": "roll-up database only: the moment up to which "
                                                               "this child's data has arrived (its oldest county "
                                                               "feed's last heartbeat); null: never connected"}}},
        "Case": {
            "type": "object",
            "description": "Text fields are masked (phone, ID, plate numbers, personal names).",
            "properties": {
                "code": {"type": "string"}, "title": {"type": "string", "nullable": True},
                "category_code": {"type": "string", "nullable": True},
                "category_name": {"type": "string", "nullable": True},
                "source": {"type": "string", "nullable": True}, "urgency": {"type": "string", "nullable": True},
                "status": {"type": "string", "nullable": True}, "reported_at": _TS,
                "grid_code": {"type": "string", "nullable": True}, "address": {"type": "string", "nullable": True},
                "resolve_due_at": _TS,
            },
        },
        "AuditRow": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"}, "ts": _TS, "username": {"type": "string", "nullable": True},
                "action": {"type": "string", "description": "login, login_failed, login_denied, logout, "
                           "kiosk_login, kiosk_failed, alert_ack, export, user_save, user_disable, "
                           "token_create, token_revoke, commitment_create, commitment_update"},
                "detail": {"description": "JSON: client address, alert id, export size ...", "nullable": True},
            },
        },
        "AlertView": {
            "type": "object",
            "required": ["id", "kind", "severity", "status", "title", "place", "since", "evidence", "cases"],
            "properties": {
                "id": {"type": "integer"}, "kind": {"type": "string"}, "kind_label": {"type": "string"},
                "severity": {"type": "string"}, "severity_label": {"type": "string"},
                "status": {"type": "string"}, "status_label": {"type": "string"},
                "title": {"type": "string"}, "region_code": {"type": "string", "nullable": True},
                "place": {"type": "string", "description": "the region's names below the root"},
                "since": {"type": "string", "nullable": True, "description": "local time, YYYY-MM-DD HH:MM"},
                "ack_by": {"type": "string", "nullable": True}, "ack_at": {"type": "string", "nullable": True},
                "resolved_at": {"type": "string", "nullable": True}, "source": {"type": "string", "nullable": True},
                "disposition": {"type": "object", "nullable": True, "description": "the duty officer's judgement",
                                "properties": {"value": {"type": "string", "enum": ["confirmed", "false_alarm", "known"]},
                                               "label": {"type": "string"}, "note": {"type": "string", "nullable": True},
                                               "by": {"type": "string", "nullable": True},
                                               "at": {"type": "string", "nullable": True}}},
                "evidence": {"type": "string", "description": "the evidence in one line (empty when none)"},
                "detail": {"type": "object", "description": "the alert's detail JSON as stored, masked"},
                "evidence_detail": {"type": "object", "nullable": True,
                                    "description": "issue 17: the evidence shaped for its kind (`kind` and per-kind keys: "
                                                   "docs/interfaces.md, \"The evidence of an alert\"); workers are never named here"},
                "case_count": {"type": "integer", "description": "cases the alert names (also outside the scope)"},
                "cases_shown_max": {"type": "integer"},
                "cases": {"type": "array", "items": {"type": "object", "properties": {
                    k: {"type": "string", "nullable": True} for k in (
                        "code", "title", "address", "category", "place", "reported_at", "due_at", "holder", "state")}}},
            }},
        "Alert": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"}, "created_at": _TS, "kind": {"type": "string"},
                "severity": {"type": "string"}, "region_code": {"type": "string"},
                "category_code": {"type": "string", "nullable": True}, "title": {"type": "string"},
                "detail": {"description": "The evidence (JSON), or text when it is not JSON", "nullable": True},
                "status": {"type": "string", "enum": list(ALERT_STATUSES)},
                "ack_by": {"type": "string", "nullable": True}, "ack_at": _TS, "resolved_at": _TS,
                "source": {"type": "string", "nullable": True},
            },
        },
        "CaseFlow": {
            "type": "object",
            "required": ["code", "at", "actions", "orgs", "returns", "urges", "extensions", "reworks", "escalations"],
            "description": "A case's flow log (case_actions) as it stood at `at`: the actions logged by then, in "
                           "order; the counts are of those actions. Text fields are masked.",
            "properties": {
                "code": {"type": "string"}, "title": {"type": "string", "nullable": True},
                "grid_code": {"type": "string", "nullable": True}, "reported_at": _TS,
                "status": {"type": "string", "nullable": True,
                           "description": "closed, rejected or merged once the case was by `at`; else null"},
                "closed_at": _TS, "at": {"type": "string", "format": "date-time"},
                "orgs": {"type": "array", "items": {"type": "string"},
                         "description": "The orgs that held it: each dispatch's receiver and each return's sender"},
                **{k: {"type": "integer"} for k in ("returns", "urges", "extensions", "reworks", "escalations")},
                "actions": {"type": "array", "items": {"type": "object", "properties": {
                    "ts": _TS, "action": {"type": "string", "description": "report, accept, dispatch, return, "
                                          "rework, extend, urge, escalate, close ... (contract.md, case_actions)"},
                    "from_org_id": {"type": "integer", "nullable": True},
                    "from_org": {"type": "string", "nullable": True},
                    "to_org_id": {"type": "integer", "nullable": True},
                    "to_org": {"type": "string", "nullable": True},
                    "note": {"type": "string", "nullable": True}}}},
            },
        },
        "PeriodFigures": {
            "type": "object", "required": list(PERIOD_FIGURE_KEYS),
            "description": "contract.md, Period figures: counts, rates as fractions (null on an empty "
                           "denominator), by_source an object; also the denominators dispatched, rated, "
                           "patrol_closed. Without a flow log (flow_log false) self_resolved_rate, "
                           "return_rate, rework_rate, extension_rate and urged are null: unknown, not 0.",
            "properties": {k: ({"type": "object", "additionalProperties": {"type": "integer"}} if k == "by_source"
                               else {"type": "number", "nullable": True}) for k in PERIOD_FIGURE_KEYS}},
        "PeriodDays": {"type": "object", "required": ["start", "end"],
                       "properties": {"kind": {"type": "string", "enum": list(PERIOD_KINDS)},
                                      "start": {"type": "string", "format": "date"},
                                      "end": {"type": "string", "format": "date"},
                                      "partial": {"type": "boolean"},
                                      "until": {"type": "string", "format": "date-time",
                                                "description": "E': the end of the window read (like for like)"},
                                      "coverage": {"type": "string", "enum": ["full", "partial", "none", "gap"],
                                                   "description": "/api/v1/review's comparisons: how much of the "
                                                   "window the database's history covers (its first case: "
                                                   "data_from); partial or none: the window's figures count only "
                                                   "what the history holds, not a period without cases; gap: the "
                                                   "history spans the window but it holds no case at all while "
                                                   "the current period holds 20 or more (a gap in the data). "
                                                   "Only full is compared"}}},
        "Review": {
            "type": "object",
            "required": ["region", "name", "at", "period", "previous", "last_year", "figures", "children",
                         "departments", "bounced", "score_rules"],
            "properties": {
                "region": {"type": "string"}, "name": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "period": _ref("PeriodDays"), "previous": _ref("PeriodDays"), "last_year": _ref("PeriodDays"),
                "data_from": {"type": "string", "format": "date-time", "nullable": True,
                              "description": "the scope's first case (reported_at): where its history begins"},
                "flow_log": _FLOW_LOG,
                "figures": {"type": "object", "properties": {
                    k: _ref("PeriodFigures") for k in ("current", "previous", "last_year")}},
                "children": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string", "nullable": True},
                    "level": {"type": "string"}, "figures": _ref("PeriodFigures"),
                    "score": {"type": "number", "nullable": True},
                    "rank": {"type": "integer", "nullable": True},
                    "unranked": {"type": "boolean", "description": "due < 10 (样本不足)"},
                    "rank_change": {"type": "integer", "nullable": True,
                                    "description": "previous rank minus this one (positive: moved up)"},
                    "rank_compared": {"type": "boolean", "description": (
                        "false when the history does not cover the whole previous period "
                        "(previous.coverage is not full): rank_change is then null for all")},
                    "parts": {"type": "object", "additionalProperties": {"type": "number", "nullable": True}}}}},
                "departments": {"type": "array", "items": {"type": "object", "properties": {
                    "org_id": {"type": "integer"}, "name": {"type": "string", "nullable": True},
                    "received": {"type": "integer"}, "returned": {"type": "integer"},
                    "return_rate": {"type": "number", "nullable": True}}}},
                "bounced": {"type": "array", "items": {"type": "object", "properties": {
                    "case_id": {"type": "integer"}, "code": {"type": "string"},
                    "title": {"type": "string", "nullable": True}, "grid_code": {"type": "string", "nullable": True},
                    "returns": {"type": "integer"}, "orgs": {"type": "array", "items": {"type": "string"}},
                    "days_lost": {"type": "number", "nullable": True}}}},
                "score_rules": {"type": "array", "items": {"type": "object", "properties": {
                    "figure": {"type": "string"}, "weight": {"type": "number"},
                    "target": {"type": "number", "nullable": True},
                    "better": {"type": "string", "enum": ["higher", "lower"]},
                    "target_rule": {"type": "string", "enum": ["fixed", "siblings_median"]}}}},
            },
        },
    }
    paths = {
        "/summary": {"get": {
            "summary": "The contract's figures for a region at a moment",
            "parameters": [_REGION, _AT],
            "responses": {**_ok(_ref("Summary"), "Figures"), **read_errors}}},
        "/regions/{code}/children": {"get": {
            "summary": "Case figures of each child region (or grid, below a community)",
            "parameters": [_param("code", "path", _REGION["schema"], "Region code", True), _AT],
            "responses": {**_ok({"type": "array", "items": _ref("Child")}, "One row per child"),
                          **read_errors}}},
        "/cases": {"get": {
            "summary": "Open, overdue or warning cases, newest first",
            "parameters": [_REGION, _param("state", "query", {"type": "string", "enum": list(CASE_STATES),
                                                              "default": "open"}, "Which cases"),
                           _param("format", "query", {"type": "string", "enum": ["json", "csv"], "default": "json"},
                                  "csv: a spreadsheet export (audited as `export`)"),
                           _LIMIT, _AT],
            "responses": {"200": {"description": "Cases", "content": {
                "application/json": {"schema": {"type": "array", "items": _ref("Case")}},
                "text/csv": {"schema": {"type": "string"}}}}, **read_errors}}},
        "/alerts": {"get": {
            "summary": "Alerts of a region, newest first",
            "parameters": [_REGION, _param("status", "query", {"type": "string", "enum": list(ALERT_STATUSES)},
                                           "Only alerts of this status"), _LIMIT, _AT],
            "responses": {**_ok({"type": "array", "items": _ref("Alert")}, "Alerts"), **read_errors}}},
        "/alerts/{id}": {"get": {
            "summary": "One alert as its evidence page shows it: what, where, since when, the evidence in "
                       "one line and the cases it names (in the caller's scope), masked",
            "parameters": [_param("id", "path", {"type": "integer"}, "Alert id", True)],
            "responses": {**_ok(_ref("AlertView"), "The alert with its cases"),
                          **_errors(400, 401, 404, 503)}}},
        "/alerts/{id}/ack": {"post": {
            "summary": "Acknowledge an alert (duty officers, role center, only), with the disposition "
                       "(研判结论) when given; acknowledging an acknowledged alert with one replaces the judgement",
            "parameters": [_param("id", "path", {"type": "integer"}, "Alert id", True)],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "disposition": {"type": "string", "enum": ["confirmed", "false_alarm", "known"],
                                    "description": "属实 / 误报 / 已知"},
                    "note": {"type": "string", "maxLength": 500, "description": "needs a disposition"}}}}}},
            "responses": {**_ok(_ref("Alert"), "The alert after acknowledgement"),
                          **_errors(400, 401, 403, 404, 409, 503)}}},
        "/audit": {"get": {
            "summary": "The audit log, newest first (duty officers, role center, only)",
            "parameters": [_param("action", "query", {"type": "string"}, "Only rows of this action"),
                           _param("user", "query", {"type": "string"}, "Only rows of this user name"),
                           _param("before", "query", {"type": "integer"}, "Only rows with a smaller id (paging)"),
                           _LIMIT],
            "responses": {**_ok({"type": "array", "items": _ref("AuditRow")}, "Audit rows"),
                          **_errors(400, 401, 403, 503)}}},
        "/review": {"get": {
            "summary": "The period figures of a region for a review meeting, with its children's scores and ranks, "
                       "departments and bounced cases",
            "parameters": [_REGION,
                           _param("period", "query", {"type": "string", "enum": list(PERIOD_KINDS)},
                                  "week/month/quarter: the one containing `date`; custom: `date` to `end`. "
                                  "Default: the last complete week."),
                           _param("date", "query", {"type": "string", "format": "date"}, "YYYY-MM-DD"),
                           _param("end", "query", {"type": "string", "format": "date"},
                                  "custom only: the last day (at most 366 days)"),
                           _AT],
            "responses": {**_ok(_ref("Review"), "Period figures"), **read_errors}}},
        "/cases/{code}/flow": {"get": {
            "summary": "A case's flow log: who held it and when, returns, urges, extensions (case_actions in order)",
            "parameters": [_param("code", "path", {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
                                  "Case code (事件编号)", True),
                           _param("at", "query", {"type": "string"},
                                  "ISO 8601 moment: the log as it stood then. Default: now.")],
            "responses": {**_ok(_ref("CaseFlow"), "The flow log"), **_errors(400, 401, 503),
                          "404": {"description": "No such case in the caller's scope (unknown and outside look "
                                                 "the same)",
                                  "content": {"application/json": {"schema": _ref("Error")}}}}}},
        "/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": _ok({"type": "object"}, "OpenAPI 3 document")}},
    }
    _review_sections(schemas, paths, read_errors)
    _forecast_sections(schemas, paths, read_errors)
    _commitment_sections(schemas, paths, read_errors)
    _pack_sections(schemas, paths, read_errors)
    return {
        "openapi": "3.0.3",
        "info": {"title": "gridwall API", "version": "1",
                 "description": "网格化联动指挥中心大屏 — figures, cases and alerts of the caller's scope."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from `gridwall token create NAME`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "gridwall_session"},
            },
        },
    }


def _review_sections(schemas: dict, paths: dict, read_errors: dict) -> None:
    """The review page's hot issues and 26-week trend: same parameters and errors as ``/review``."""
    params = paths["/review"]["get"]["parameters"]
    number = {"type": "number", "nullable": True}
    comparison = {"type": "object", "properties": {
        "count": {"type": "integer", "description": "cases of the comparison window"},
        "ratio": {**number, "description": "current / comparison per unit of time; null when the comparison is 0"},
        "p_value": {**number, "description": "one-sided exact conditional binomial test of the rise"},
        "p_adjusted": {**number, "description": "Holm-adjusted over the family; null when the test could "
                                                "not reach alpha at all and was left out of the family"},
        "significant": {"type": "boolean", "description": "p_adjusted < alpha"},
        "covered": {"type": "boolean", "description": "false: the window starts before the database's first "
                                                      "case, so it was not tested (p_value null)"}}}
    schemas["HotIssues"] = {
        "type": "object", "required": ["region", "name", "at", "period", "previous", "last_year", "test", "hot_issues"],
        "properties": {
            "region": {"type": "string"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "period": _ref("PeriodDays"), "previous": _ref("PeriodDays"), "last_year": _ref("PeriodDays"),
            "test": {"type": "object", "properties": {
                "method": {"type": "string"}, "adjustment": {"type": "string", "enum": ["holm"]},
                "alpha": {"type": "number"}, "tests": {"type": "integer", "description": "size of the family"}}},
            "hot_issues": {"type": "array", "description": "largest significant rise first", "items": {
                "type": "object", "properties": {
                    "category_code": {"type": "string"}, "name": {"type": "string", "nullable": True},
                    "level": {"type": "string", "enum": ["major", "minor"]},
                    "current": {"type": "integer"}, "previous": comparison, "last_year": comparison,
                    "places": {"type": "array", "description": "top 3 children (streets, communities or grids) "
                               "by current count", "items": {"type": "object", "properties": {
                                   "code": {"type": "string"}, "name": {"type": "string", "nullable": True},
                                   "count": {"type": "integer"}, "share": number}}}}}}}}
    schemas["ReviewTrend"] = {
        "type": "object", "required": ["region", "name", "at", "period", "figures", "weeks"],
        "properties": {
            "region": {"type": "string"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "period": _ref("PeriodDays"),
            "figures": {"type": "array", "items": {"type": "string", "enum": list(TREND_KEYS)}},
            "flow_log": _FLOW_LOG,
            "weeks": {"type": "array", "description": "26 ISO weeks, oldest first, the last holding the period's "
                      "last day (or T while the period runs)", "items": {"type": "object", "properties": {
                          "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
                          "until": {"type": "string", "format": "date-time", "description": "E' = min(E, T)"},
                          "partial": {"type": "boolean"}, "in_period": {"type": "boolean"},
                          "before_data": {"type": "boolean", "description": "the week ends before the region's "
                                          "first case: no data (every figure null), not a week without cases"},
                          "gap": {"type": "boolean", "description": "a whole week inside the history with no case "
                                  "reported or closed while the median week has 20 or more: a gap in the data "
                                  "(every figure null), not a week without cases"},
                          "figures": {"type": "object", "description": "as PeriodFigures for that week",
                                      "properties": {k: number for k in TREND_KEYS + TREND_COUNTS}}}}}}}
    paths["/review/hot-issues"] = {"get": {
        "summary": "Hot issues: categories whose reported cases rose against the previous period and last year "
                   "beyond chance (exact test, Holm-adjusted p < 0.01), with the places they concentrate",
        "parameters": params,
        "responses": {**_ok(_ref("HotIssues"), "Hot issues"), **read_errors}}}
    paths["/review/trend"] = {"get": {
        "summary": "The main period figures of each of the last 26 ISO weeks up to the period's end",
        "parameters": params,
        "responses": {**_ok(_ref("ReviewTrend"), "Weekly figures"), **read_errors}}}
    binary = {"type": "string", "format": "binary"}
    paths["/review/pack"] = {"get": {
        "summary": "The meeting pack (研判会商材料) of a region and period as a file: PDF (A4 landscape) or an "
                   "Excel workbook, from the same bodies as /review and its sections (the concealment watch "
                   "only for roles center and leader); Content-Disposition attachment",
        "parameters": params + [_param("format", "query", {"type": "string", "enum": ["pdf", "xlsx"], "default": "pdf"},
                                       "pdf or xlsx")],
        "responses": {"200": {"description": "The pack", "content": {
            "application/pdf": {"schema": binary},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": binary}}},
            **read_errors}}}


def _forecast_sections(schemas: dict, paths: dict, read_errors: dict) -> None:
    """The review page's forecast (预测研判: forecast, hotspots, record) and concealment watch (疑似瞒报漏报)."""
    number = {"type": "number", "nullable": True}
    total = {"type": "object", "description": "a weekly total: mean and its central 80 % interval", "properties": {
        "expected": {"type": "number"}, "lo80": {"type": "integer"}, "hi80": {"type": "integer"},
        "days": {"type": "integer", "description": "forecast days summed"}}}
    named = {"type": "string", "nullable": True}
    schemas["ReviewForecast"] = {
        "type": "object", "required": ["region", "name", "at", "interval", "forecast", "hotspots", "record"],
        "description": "dashboard/analytics/forecast_record.py. The interval of a sum is read off the daily 80 % "
                       "intervals (variance ((hi - lo) / 2z)^2, at least the mean) plus, for totals over several "
                       "series, the common variance measured on the 10 weeks before; negative-binomial quantiles.",
        "properties": {
            "region": {"type": "string"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "interval": {"type": "number", "description": "0.8"},
            "forecast": {"type": "object", "description": "the engine's stored forecast (gw_forecasts) from T's "
                         "date, as last made by T, summed over its days", "properties": {
                "made_at": _TS, "start": {"type": "string", "format": "date", "nullable": True},
                "end": {"type": "string", "format": "date", "nullable": True}, "days": {"type": "integer"},
                "rows": {"type": "array", "description": "per street x major category", "items": {
                    "type": "object", "properties": {"region_code": {"type": "string"}, "region_name": named,
                                                     "category_code": {"type": "string"}, "category_name": named,
                                                     **total["properties"]}}},
                "regions": {"type": "array", "description": "per street", "items": {"type": "object", "properties": {
                    "region_code": {"type": "string"}, "region_name": named, **total["properties"]}}},
                "categories": {"type": "array", "description": "per major category", "items": {
                    "type": "object", "properties": {"category_code": {"type": "string"}, "category_name": named,
                                                     **total["properties"]}}},
                "total": {**total, "nullable": True}}},
            "hotspots": {"type": "object", "description": "the grids with the most expected cases in the 7 days "
                         "from T's date (the engine's grid model, dashboard/analytics/hotspots.py), top 10 of the "
                         "region", "properties": {
                "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
                "top_n": {"type": "integer"},
                "grids": {"type": "array", "items": {"type": "object", "properties": {
                    "grid_code": {"type": "string"}, "name": named, "rank": {"type": "integer"},
                    "expected": {"type": "number"}}}},
                "record": {"type": "object", "description": "per past week: share of the predicted top grids "
                           "among the week's actual top grids; naive: last week's ranking", "properties": {
                    "top_n": {"type": "integer"}, "hit_rate": number, "naive_hit_rate": number,
                    "weeks": {"type": "array", "items": {"type": "object", "properties": {
                        "start": {"type": "string", "format": "date"}, "hit_rate": number,
                        "naive_hit_rate": number}}}}}}},
            "record": {"type": "object", "description": "the 8 complete weeks before T's week, each forecast by "
                       "the engine's model from the days before its Monday (memory chosen the engine's way), "
                       "against what happened; empty below a street", "properties": {
                "weeks": {"type": "array", "items": {"type": "object", "properties": {
                    "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
                    "memory": {"type": "string", "enum": ["weeks", "half-year", "year"]},
                    "expected": {"type": "number"}, "lo80": {"type": "integer"}, "hi80": {"type": "integer"},
                    "actual": {"type": "integer"}, "inside": {"type": "boolean"},
                    "series": {"type": "integer", "description": "street x major category series"},
                    "series_inside": {"type": "integer"}, "coverage": number,
                    "mae": {**number, "description": "mean absolute error of a series' weekly count"},
                    "naive_mae": {**number, "description": "the same for the week before's count"}}}},
                "regions": {"type": "array", "description": "per street over the weeks", "items": {
                    "type": "object", "properties": {
                        "region_code": {"type": "string"}, "region_name": named, "weeks": {"type": "integer"},
                        "inside": {"type": "integer"}, "coverage": number, "mae": number, "mean_actual": number}}},
                "overall": {"type": "object", "nullable": True, "properties": {
                    "weeks": {"type": "integer"}, "total_inside": {"type": "integer"},
                    "series_weeks": {"type": "integer"}, "series_inside": {"type": "integer"},
                    "coverage": number, "mae": number, "naive_mae": number, "mean_actual": number}}}},
        },
    }
    share = {"type": "object", "properties": {
        "patrol": {"type": "integer", "description": "patrol reports (巡查上报)"},
        "other": {"type": "integer", "description": "12345, resident photos and video reports"},
        "share": {**number, "description": "patrol / (patrol + other); null without reports"}}}
    schemas["ReviewConcealment"] = {
        "type": "object", "required": ["region", "name", "at", "period", "communities"],
        "description": "A suspicion to verify (疑似, 建议核实), never a finding.",
        "properties": {
            "region": {"type": "string"}, "name": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "period": _ref("PeriodDays"), "before_weeks": {"type": "integer"}, "wording": {"type": "string"},
            "communities": {"type": "array", "description": "in the order first flagged", "items": {
                "type": "object", "properties": {
                    "community": {"type": "string"}, "name": named,
                    "period": share,
                    "peers": {**share, "properties": {**share["properties"], "communities": {"type": "integer"}},
                              "description": "the other communities of the region, pooled, in the period"},
                    "before": {**share, "properties": {**share["properties"], "weeks": {"type": "integer"}},
                               "description": "the community itself over the weeks before the period"},
                    "alerts": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "created_at": _TS, "ended_at": _TS,
                        "acknowledged": {"type": "boolean"}, "dismissed": {"type": "boolean"},
                        "evidence": {"type": "object", "description": "the engine's: test own_history or peers, "
                                     "observed, expected, ratio, uncontrolled_ratio, share, peer_share ..."}}}}}}}}}
    paths["/review/forecast"] = {"get": {
        "summary": "The coming week from T (预测研判): the stored forecast per street x major category with 80 % "
                   "intervals, next week's hotspot grids, and the forecasts' record over the past 8 weeks",
        "parameters": [_REGION, _AT],
        "responses": {**_ok(_ref("ReviewForecast"), "Forecast, hotspots and record"), **read_errors}}}
    schemas["AlertQuality"] = {
        "type": "object", "required": ["region", "start", "end", "detectors"],
        "properties": {
            "region": {"type": "string"}, "name": {"type": "string", "nullable": True},
            "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
            "min_judged": {"type": "integer", "description": "fewer judgements give no precision"},
            "detectors": {"type": "array", "items": {"type": "object", "properties": {
                "kind": {"type": "string", "nullable": True},
                **{k: {"type": "integer"} for k in ("raised", "judged", "confirmed", "false_alarm", "known")},
                "precision": {"type": "number", "nullable": True,
                              "description": "(confirmed + known) / judged; null under min_judged"},
                "judged_share": {"type": "number", "nullable": True}}}}}}
    paths["/review/alert-quality"] = {"get": {
        "summary": "Each detector's alerts in the period and the duty officers' dispositions of them "
                   "(预警研判质量; roles center and leader only)",
        "parameters": paths["/review"]["get"]["parameters"],
        "responses": {**_ok(_ref("AlertQuality"), "Per alert kind"), **read_errors}}}
    paths["/review/concealment"] = {"get": {
        "summary": "Communities the engine flagged as 疑似瞒报漏报 in the period, with their evidence "
                   "(roles center and leader only)",
        "parameters": paths["/review"]["get"]["parameters"],
        "responses": {**_ok(_ref("ReviewConcealment"), "Flagged communities"), **read_errors}}}


def _commitment_sections(schemas: dict, paths: dict, read_errors: dict) -> None:
    """Commitments (督办事项): list (every review role, a street its own), create and update (center, leader)."""
    day = {"type": "string", "format": "date"}
    schemas["Commitment"] = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "region": {"type": "string"}, "text": {"type": "string"},
            "status": {"type": "string", "enum": list(COMMITMENT_STATUSES)},
            "meeting_date": day, "due_date": day,
            "period": {"type": "object", "properties": {
                "kind": {"type": "string", "nullable": True}, "start": {**day, "nullable": True},
                "end": {**day, "nullable": True}}},
            "owner_org_id": {"type": "integer", "nullable": True},
            "case_codes": {"type": "array", "items": {"type": "string"}},
            "alert_ids": {"type": "array", "items": {"type": "integer"}},
            "created_by": {"type": "string", "nullable": True}, "created_at": _TS,
            "events": {"type": "array", "description": "The dated history: created, status, due, note",
                       "items": {"type": "object", "properties": {
                           "ts": _TS, "actor": {"type": "string", "nullable": True},
                           "kind": {"type": "string", "enum": ["created", "status", "due", "note"]},
                           "status": {"type": "string", "nullable": True}, "due_date": {**day, "nullable": True},
                           "note": {"type": "string", "nullable": True}}}},
        },
    }
    schemas["CommitmentNew"] = {
        "type": "object", "required": ["text", "meeting_date", "due_date"],
        "properties": {
            "text": {"type": "string", "maxLength": 500}, "region": {"type": "string"},
            "meeting_date": day, "due_date": day,
            "period": {"type": "object", "properties": {"kind": {"type": "string", "enum": list(PERIOD_KINDS)},
                                                        "start": day, "end": day}},
            "owner_org_id": {"type": "integer"},
            "case_codes": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
            "alert_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 50},
        },
    }
    schemas["CommitmentChange"] = {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": list(COMMITMENT_STATUSES)}, "due_date": day,
                       "note": {"type": "string", "maxLength": 1000}},
    }
    body = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731
    paths["/commitments"] = {
        "get": {
            "summary": "Commitments (督办事项) of a region, oldest meeting first, with their dated history",
            "parameters": [_REGION, _param("status", "query", {"type": "string", "enum": list(COMMITMENT_STATUSES)},
                                           "Only commitments now in this status"),
                           _param("at", "query", {"type": "string"},
                                  "ISO 8601 moment: those created by then, as they stood then")],
            "responses": {**_ok({"type": "array", "items": _ref("Commitment")}, "Commitments"), **read_errors}},
        "post": {
            "summary": "Record a meeting's commitment (duty officers and leaders: roles center, leader)",
            "requestBody": body("CommitmentNew"),
            "responses": {"201": {"description": "The new commitment (status open)",
                                  "content": {"application/json": {"schema": _ref("Commitment")}}},
                          **_errors(400, 401, 403, 503)}},
    }
    paths["/commitments/{id}"] = {"patch": {
        "summary": "Change a commitment's status or due date, or add an evidence note (roles center, leader)",
        "parameters": [_param("id", "path", {"type": "integer"}, "Commitment id", True)],
        "requestBody": body("CommitmentChange"),
        "responses": {**_ok(_ref("Commitment"), "The commitment after the change"),
                      **_errors(400, 401, 403, 404, 503)}}}


def _pack_sections(schemas: dict, paths: dict, read_errors: dict) -> None:
    """The archive of meeting packs (周报归档) that gridwall worker makes each week."""
    day = {"type": "string", "format": "date"}
    schemas["Pack"] = {
        "type": "object",
        "required": ["id", "region", "audience", "format", "period", "url"],
        "properties": {
            "id": {"type": "integer"}, "region": {"type": "string"},
            "audience": {"type": "string", "enum": ["leader", "street"],
                         "description": "leader: the county's pack, with the concealment watch (roles center "
                                        "and leader only); street: a street's"},
            "format": {"type": "string", "enum": ["pdf", "xlsx"]},
            "period": {"type": "object", "properties": {"kind": {"type": "string"}, "start": day, "end": day}},
            "size": {"type": "integer", "nullable": True}, "filename": {"type": "string", "nullable": True},
            "made_at": _TS, "url": {"type": "string", "description": "The file: GET /api/v1/packs/{id}"},
        },
    }
    paths["/packs"] = {"get": {
        "summary": "Archived meeting packs of a region and the regions below it, newest week first",
        "parameters": [_REGION, _param("weeks", "query", {"type": "integer", "minimum": 1, "maximum": 520,
                                                          "default": 12}, "The last this many weeks")],
        "responses": {**_ok({"type": "array", "items": _ref("Pack")}, "Packs"), **read_errors}}}
    paths["/packs/{id}"] = {"get": {
        "summary": "An archived pack's file (Content-Disposition: attachment)",
        "parameters": [_param("id", "path", {"type": "integer"}, "Pack id", True)],
        "responses": {"200": {"description": "The PDF or the Excel workbook",
                              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                              {"schema": {"type": "string", "format": "binary"}}}},
                      **_errors(400, 401, 503),
                      "404": {"description": "No such pack in the caller's scope (unknown, outside, or the "
                                             "county's pack for a street: all look the same)",
                              "content": {"application/json": {"schema": _ref("Error")}}}}}}
