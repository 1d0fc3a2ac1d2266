"""The OpenAPI 3 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from data_access.alerts import STATUSES as ALERT_STATUSES
from data_access.case_list import STATES as CASE_STATES
from data_access.figures import CASE_KEYS, RATE_KEYS, STAFFING_KEYS
from data_access.period import KINDS as PERIOD_KINDS
from data_access.review import FIGURE_KEYS as PERIOD_FIGURE_KEYS


def _ints(keys) -> dict:
    return {"type": "object", "required": list(keys), "properties": {k: {"type": "integer"} for k in keys}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


_REGION = _param("region", "query", {"type": "string", "pattern": r"^(\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$"},
                 "Region or grid code; default: the caller's own region.")
_AT = _param("at", "query", {"type": "string"},
             "ISO 8601 moment; without an offset it is Asia/Shanghai local time. Default: now.")
_LIMIT = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "At most this many rows.")
_TS = {"type": "string", "format": "date-time", "nullable": True}


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
                                 "level": {"type": "string"}, "cases": _ref("CaseFigures")}},
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
                           "token_create, token_revoke"},
                "detail": {"description": "JSON: client address, alert id, export size ...", "nullable": True},
            },
        },
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
        "PeriodFigures": {
            "type": "object", "required": list(PERIOD_FIGURE_KEYS),
            "description": "contract.md, Period figures: counts, rates as fractions (null on an empty "
                           "denominator), by_source an object; also the denominators dispatched, rated, "
                           "patrol_closed.",
            "properties": {k: ({"type": "object", "additionalProperties": {"type": "integer"}} if k == "by_source"
                               else {"type": "number", "nullable": True}) for k in PERIOD_FIGURE_KEYS}},
        "PeriodDays": {"type": "object", "required": ["start", "end"],
                       "properties": {"kind": {"type": "string", "enum": list(PERIOD_KINDS)},
                                      "start": {"type": "string", "format": "date"},
                                      "end": {"type": "string", "format": "date"},
                                      "partial": {"type": "boolean"},
                                      "until": {"type": "string", "format": "date-time",
                                                "description": "E': the end of the window read (like for like)"}}},
        "Review": {
            "type": "object",
            "required": ["region", "name", "at", "period", "previous", "last_year", "figures", "children",
                         "departments", "bounced", "score_rules"],
            "properties": {
                "region": {"type": "string"}, "name": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "period": _ref("PeriodDays"), "previous": _ref("PeriodDays"), "last_year": _ref("PeriodDays"),
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
        "/alerts/{id}/ack": {"post": {
            "summary": "Acknowledge an alert (duty officers, role center, only)",
            "parameters": [_param("id", "path", {"type": "integer"}, "Alert id", True)],
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
        "/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": _ok({"type": "object"}, "OpenAPI 3 document")}},
    }
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
