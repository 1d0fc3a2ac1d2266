"""Callbacks of the review page's commitments (督办事项): the agenda of the URL's view and period
(``dashboard.usecases.commitments.meeting_agenda``), and the one write callback that records a new
commitment or closes, drops or annotates one.

Writes are for ``center`` and ``leader`` (``require_role``), in the user's scope from the server
session narrowed by ``?region=`` (``view_period``): a commitment outside it is refused by the data
layer (a ScopeError, or "not found" for an id of another region), whatever the browser sent. Writes
happen only on the live page, never while viewing the past (``?at=``). Each one is audited like the
API's (``commitment_create``/``commitment_update``).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from dash import ALL, Input, Output, State, ctx, no_update
from flask import current_app

from callbacks.live.outage import DataUnavailable, read
from callbacks.review_departments import names_of
from callbacks.review_view import view_period
from callbacks.view import checked_search
from dashboard.identity.auth import RoleRequired, audit, has_role, require_role
from dashboard.usecases.commitments import meeting_agenda
from data_access import commitments as db
from data_access.db import get_engine
from data_access.regions import children
from data_access.scope import BadRegionCode, ScopeError
from layouts import review_commitments as page

UNAVAILABLE = "数据库暂不可用"
CASE_SPLIT = re.compile(r"[\s,，;；、]+")


def register(app) -> None:
    app.callback(
        Output("review-commitments", "children"),
        Output("commitment-form", "hidden"),
        Output("commitment-region", "options"),
        Output("commitment-region", "value"),
        Output("commitment-owner", "options"),
        Input("url", "search"),
        Input("commitments-version", "data"),
    )(show_commitments)
    app.callback(
        Output("commitment-result", "children"),
        Output("commitments-version", "data"),
        Output("commitment-text", "value"),
        Output("commitment-cases", "value"),
        Input("commitment-create", "n_clicks"),
        Input({"type": "commitment-act", "cid": ALL, "act": ALL}, "n_clicks"),
        State("commitment-text", "value"),
        State("commitment-region", "value"),
        State("commitment-owner", "value"),
        State("commitment-due", "date"),
        State("commitment-cases", "value"),
        State({"type": "commitment-note", "cid": ALL}, "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )(write_commitment)


def show_commitments(search, _version=None):
    """The agenda; for writers on the live page also the form's choices (the view's region and its
    children; the orgs of the scope and above). One connection for all of it."""
    try:
        view, period, at, _notices = view_period(search)
        scope = view.scope
        writable = view.live and has_role(*page.WRITER_ROLES)

        def reads(conn):
            agenda = meeting_agenda(conn, scope, period, at, view.tz)
            if not writable:
                return agenda, [], []
            return agenda, children(conn, scope) if len(scope.region) < 12 else [], db.owner_orgs(conn, scope)

        agenda, kids, orgs = read(reads)
        names = names_of(scope)
    except DataUnavailable:
        return page.result(UNAVAILABLE, bad=True), True, [], None, []
    entries = page.commitment_list(agenda, names, view.tz, writable)
    if not writable:
        return entries, True, [], None, []
    regions = [(scope.region, names.get(scope.region))] + [(k["code"], k["name"]) for k in kids]
    return entries, False, page.region_options(regions), scope.region, page.owner_options(orgs)


def _case_codes(text) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return []
    return [c for c in CASE_SPLIT.split(text.strip()) if c]


def _note_of(cid: str) -> str | None:
    """The note typed beside commitment ``cid`` (its ``commitment-note`` input among the states)."""
    for group in ctx.states_list:
        for item in group if isinstance(group, list) else []:
            key = item.get("id") if isinstance(item, dict) else None
            if isinstance(key, dict) and key.get("type") == "commitment-note" and key.get("cid") == cid:
                value = item.get("value")
                return value if isinstance(value, str) else None
    return None


def write_commitment(_create, _acts, text, region, owner, due, cases, _notes, search):
    """Record a new commitment (登记督办) or act on one (记录进展 / 办结 / 撤销) as the session user."""
    checked_search(search)              # a query no page sends: 400, as for every callback of the page
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        return (no_update,) * 4         # a button drawn anew (n_clicks 0), not a click
    try:
        user = require_role(*page.WRITER_ROLES)
    except RoleRequired:
        return page.result("仅值班人员和领导可登记或办结督办事项", bad=True), no_update, no_update, no_update
    try:
        view, period, at, _notices = view_period(search)
    except DataUnavailable:
        return page.result(f"{UNAVAILABLE}，未保存", bad=True), no_update, no_update, no_update
    if not view.live:
        return page.result("查看历史时不能修改督办事项", bad=True), no_update, no_update, no_update
    actor = user.username if user is not None else None
    now = datetime.now(timezone.utc)
    engine = get_engine(current_app.config["GRIDWALL_DATABASE_URL"])
    if trigger == "commitment-create":
        values = {"text": text, "region_code": region or view.scope.region,
                  "meeting_date": now.astimezone(view.tz).date().isoformat(), "due_date": due,
                  "period": {"kind": period.kind, "start": period.first.isoformat(), "end": period.last.isoformat()},
                  "owner_org_id": owner if isinstance(owner, int) and not isinstance(owner, bool) else None,
                  "case_codes": _case_codes(cases)}
        if not isinstance(due, str):
            return page.result("请选择办结期限", bad=True), no_update, no_update, no_update
        try:
            new_id = read(lambda _c: _in_transaction(engine, lambda conn: db.create_commitment(
                conn, view.scope, values, actor, now)), connect=False)
        except db.CommitmentError as exc:
            return page.result(f"未保存：{exc}", bad=True), no_update, no_update, no_update
        except (ScopeError, BadRegionCode):
            return page.result("未保存：区域不在权限范围内", bad=True), no_update, no_update, no_update
        except DataUnavailable:
            return page.result(f"{UNAVAILABLE}，未保存", bad=True), no_update, no_update, no_update
        audit("commitment_create", {"id": new_id, "region": values["region_code"], "due": due, "via": "page"})
        return page.result("已登记督办事项"), time.monotonic_ns(), "", ""
    if not (isinstance(trigger, dict) and trigger.get("act") in ("note", "done", "dropped")
            and isinstance(trigger.get("cid"), str) and trigger["cid"].isdigit() and len(trigger["cid"]) <= 18):
        return page.result("无效的操作", bad=True), no_update, no_update, no_update
    act, cid = trigger["act"], int(trigger["cid"])
    note = _note_of(trigger["cid"])
    changes = {"note": note} if act == "note" else {"status": act, "note": note}
    try:
        found = read(lambda _c: _in_transaction(engine, lambda conn: db.update_commitment(
            conn, view.scope, cid, changes, actor, now)), connect=False)
    except db.CommitmentError as exc:
        return page.result(f"未保存：{'请填写进展说明' if act == 'note' else exc}", bad=True), no_update, no_update, no_update
    except DataUnavailable:
        return page.result(f"{UNAVAILABLE}，未保存", bad=True), no_update, no_update, no_update
    if not found:
        return page.result("督办事项不存在或不在权限范围内", bad=True), no_update, no_update, no_update
    audit("commitment_update", {"id": cid, **({"status": act} if act != "note" else {}), "via": "page"})
    return page.result({"note": "已记录进展", "done": "已办结", "dropped": "已撤销"}[act]), time.monotonic_ns(), no_update, no_update


def _in_transaction(engine, fn):
    with engine.begin() as conn:
        return fn(conn)
