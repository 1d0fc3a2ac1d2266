"""The review page's departments (部门退单) and bounced cases (推诿扯皮) on both backends, from the
hand-built county (tests/review_handbuilt.py) plus a few cases of its own: every org with a dispatch
or a return in the period is listed (nothing left out), worst bouncers first, the return rate with
its denominator (counts only under 10 receipts, "—" without any), returns against the previous
period like for like; the bounced cases with their chain of orgs, returns and days lost, each
linking to its flow log; and the flow log panel opened by ``?case=`` (order, scope, masking)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert

from dashboard.app import create_app, dash_apps
from dashboard.core.config import Settings
from dashboard.core.masking import mask_text
from data_access.db import dispose_all
from data_access.models import Case, CaseAction
from data_access.review_departments import departments_compared
from layouts.review_departments import return_rate_text, sort_departments, with_case

from .api_seed import FAST_HASHER, PASSWORD, add_users
from .review_handbuilt import A, B, C, D, E, G1, G4, S1, S2, T, T_PARTIAL, WEEK, L, _act, _case, load, scope

AT = "2026-11-26T10:00:00"
WEEK_SEARCH = f"?period=week&date=2026-11-18&at={AT}"

# Ten cases of S2 dispatched to E on 11-17 10:00, three of them returned by E on 11-18 10:00 (one
# return each: not bounced); K20 (S2) dispatched to B and returned by B on 11-12 (the previous week,
# after the point a partial week read at T_PARTIAL is cut at: 11-11 12:00). P01 (S1) carries
# personal data in its title, address and a note.
PHONE, ID_NUMBER = "13812345678", "320585199001011234"
PERSONAL_TITLE = f"居民张三反映漏水，电话{PHONE}"
EXTRA_CASES = [
    _case(40 + k, f"D{40 + k}", G4, "hotline", L("11-17 09:00") + timedelta(minutes=k), "handling",
          accepted_at=L("11-17 09:30"), dispatched_at=L("11-17 10:00"), resolve_due_at=L("11-30 10:00"))
    for k in range(10)
] + [
    _case(50, "K20", G4, "hotline", L("11-12 09:00"), "handling", accepted_at=L("11-12 09:30"),
          dispatched_at=L("11-12 10:00"), resolve_due_at=L("11-30 09:00")),
    _case(51, "P01", G1, "resident", L("11-18 08:00"), "handling", accepted_at=L("11-18 08:10"),
          dispatched_at=L("11-18 09:00"), resolve_due_at=L("11-30 09:00"), title=PERSONAL_TITLE,
          address=f"东林村8组 {PHONE}"),
]
EXTRA_ACTIONS = (
    [_act(40 + k, "11-17 10:00", "dispatch", to=E) for k in range(10)]
    + [_act(40 + k, "11-18 10:00", "return", frm=E) for k in range(3)]
    + [_act(50, "11-12 10:00", "dispatch", to=B), _act(50, "11-12 15:00", "return", frm=B)]
    + [_act(51, "11-18 08:00", "report"), _act(51, "11-18 09:00", "dispatch", to=C),
       {**_act(51, "11-18 11:00", "comment"), "note": f"联系人李四 身份证{ID_NUMBER}"}]
)


def load_extra(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Case), EXTRA_CASES)
        conn.execute(insert(CaseAction), [dict(id=1000 + i, **row) for i, row in enumerate(EXTRA_ACTIONS)])


@pytest.fixture
def county(engine):
    load(engine)
    load_extra(engine)
    return engine


# --- the reads ------------------------------------------------------------------------------------

def _rows(rows):
    return [(r["org_id"], r["received"], r["returned"], r["previous_returned"]) for r in rows]


def test_departments_with_nothing_left_out_and_returns_against_the_previous_week(county):
    with county.connect() as conn:
        root = departments_compared(conn, scope(), WEEK, T)
        s2 = departments_compared(conn, scope(S2), WEEK, T)
    # E: 10 received (D40..D49, P01 went to C), 3 returned; A: K01 K04 / K01 K04, previous K10;
    # B: K01 K02 / K01, previous K20; C: K01 P01 / -; D: - / K10 (received the week before). No org
    # without a dispatch or return in the week is listed; none with one is missing.
    assert _rows(sort_departments(root)) == [(E, 10, 3, 0), (A, 2, 2, 1), (B, 2, 1, 1), (D, 0, 1, 0), (C, 2, 0, 0)]
    assert {r["org_id"] for r in root} == {A, B, C, D, E}
    assert [r["name"] for r in sort_departments(root)] == ["交通运输局", "城市管理局", "生态环境局", "水务局",
                                                           "住房和城乡建设局"]
    # S2 alone: E's ten, D's return of K10; K20's return was in the previous week (B: nothing this week).
    assert _rows(sort_departments(s2)) == [(E, 10, 3, 0), (D, 0, 1, 0)]


def test_a_partial_week_compares_returns_like_for_like(county):
    with county.connect() as conn:
        got = departments_compared(conn, scope(), WEEK, T_PARTIAL)
    # 11-16 00:00 .. 11-18 12:00 against 11-09 00:00 .. 11-11 12:00: K10's return by A (11-10 12:00)
    # counts, K20's by B (11-12 15:00) does not (it does for the whole week, above).
    assert _rows(sort_departments(got)) == [(E, 10, 3, 0), (A, 1, 1, 1), (B, 2, 1, 0), (D, 0, 1, 0), (C, 2, 0, 0)]


def test_return_rates_show_their_denominator_and_no_percentage_under_ten():
    assert return_rate_text(3, 10) == "30.0%（3/10）"
    assert return_rate_text(2, 9) == "2/9"
    assert return_rate_text(1, 0) == "—" and return_rate_text(0, 0) == "—"


def test_worst_bouncers_first_by_returns_then_rate():
    rows = [{"org_id": 1, "received": 20, "returned": 2, "return_rate": 0.1},
            {"org_id": 2, "received": 4, "returned": 2, "return_rate": 0.5},
            {"org_id": 3, "received": 0, "returned": 2, "return_rate": None},
            {"org_id": 4, "received": 3, "returned": 3, "return_rate": 1.0},
            {"org_id": 5, "received": 30, "returned": 0, "return_rate": 0.0}]
    assert [r["org_id"] for r in sort_departments(rows)] == [4, 2, 1, 3, 5]


def test_a_case_link_keeps_the_view_and_closing_drops_only_the_case():
    search = "?region=320585100&period=month&date=2026-11-01&at=2026-11-26T10:00:00"
    opened = with_case(search, "320585-20261117-00042")
    assert opened == ("?region=320585100&period=month&date=2026-11-01&at=2026-11-26T10%3A00%3A00"
                      "&case=320585-20261117-00042")
    assert with_case(with_case(opened, "K01"), None) == with_case(search, None)
    assert "case=" not in with_case(opened, None) and "period=month" in with_case(opened, None)


# --- the page's callbacks ---------------------------------------------------------------------------

@pytest.fixture
def site(county, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    tokens = add_users(county)
    app = create_app(Settings(database_url=backend_url, secret_key="departments-test"), auth=True)
    yield app, tokens
    dispose_all()


def login(app, who: str):
    client = app.server.test_client()
    assert client.post("/login", data={"username": who, "password": PASSWORD}).status_code == 302
    return client


def post(client, app, first_output: str, search: str, state=None):
    """POST the /review callback whose first output is ``first_output``; (status, {id: {prop: value}})."""
    dash_app = next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == "/review/")
    key, cb = next((k, cb) for k, cb in dash_app.callback_map.items()
                   if callable(cb.get("callback")) and k.lstrip(".").startswith(first_output))
    outputs = [{"id": o.component_id, "property": o.component_property} for o in cb["output"]]
    body = {"output": key, "outputs": outputs,
            "inputs": [{**d, "value": search} for d in cb["inputs"]],
            "state": [{**d, "value": state} for d in cb["state"]],
            "changedPropIds": ["url.search"]}
    resp = client.post("/review/_dash-update-component", json=body)
    return resp.status_code, (resp.get_json(silent=True) or {}).get("response", {})


def nodes(value, pred):
    """Every component (as Dash sends it) in ``value`` for which ``pred(props)`` holds, in order."""
    out = []
    if isinstance(value, dict):
        props = value.get("props")
        if isinstance(props, dict):
            if pred(props):
                out.append(value)
            out += nodes(props.get("children"), pred)
    elif isinstance(value, list):
        for item in value:
            out += nodes(item, pred)
    return out


def text(value) -> str:
    """The visible text of a component tree."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "".join(text(v) for v in value)
    if isinstance(value, dict):
        return text((value.get("props") or {}).get("children"))
    return ""


def cells(row) -> list[str]:
    return [text(td) for td in row["props"]["children"]]


def departments(client, app, search: str):
    status, values = post(client, app, "review-departments", search)
    assert status == 200, (search, status)
    return values


@pytest.mark.parametrize("who", ["leader1", "center1"])
def test_the_departments_table_lists_every_org_worst_first(site, who):
    app, _ = site
    values = departments(login(app, who), app, WEEK_SEARCH)
    rows = nodes(values["review-departments"]["children"], lambda p: "data-org-id" in p)
    assert [r["props"]["data-org-id"] for r in rows] == [str(E), str(A), str(B), str(D), str(C)]
    assert [cells(r) for r in rows] == [
        ["交通运输局", "10", "3", "30.0%（3/10）", "0+3"],
        ["城市管理局", "2", "2", "2/2", "1+1"],
        ["生态环境局", "2", "1", "1/2", "1持平"],
        ["水务局", "0", "1", "—", "0+1"],
        ["住房和城乡建设局", "2", "0", "0/2", "0持平"],
    ]
    assert values["review-departments-view"]["data"] == with_case(WEEK_SEARCH, None)


def test_the_bounced_cases_with_their_chain_returns_days_lost_and_flow_log_links(site):
    app, _ = site
    values = departments(login(app, "leader1"), app, WEEK_SEARCH)
    rows = nodes(values["review-bounced"]["children"], lambda p: "data-case-code" in p and "className" in p
                 and "bounced-row" in p["className"])
    assert [r["props"]["data-case-code"] for r in rows] == ["K01", "K10"]
    assert [cells(r) for r in rows] == [
        ["K01", "事件K01", "城厢镇 东林村", "城市管理局 → 生态环境局 → 住房和城乡建设局", "2", "11小时", "流转记录"],
        ["K10", "事件K10", "沙溪镇 印溪社区", "城市管理局 → 水务局", "2", "5.9天", "流转记录"],
    ]
    links = nodes(rows[0], lambda p: "href" in p)
    assert {link["props"]["href"] for link in links} == {with_case(WEEK_SEARCH, "K01")}
    assert all(link["type"] == "Link" for link in links)  # no reload: the page follows the URL


def test_a_street_user_sees_its_own_streets_departments_and_bounced_cases_only(site):
    app, _ = site
    values = departments(login(app, "street_a"), app, WEEK_SEARCH.replace("?", f"?region={S2}&"))
    rows = nodes(values["review-departments"]["children"], lambda p: "data-org-id" in p)
    # S1 only (the forged S2 is refused and the street shown): A K01 K04, B K01 K02, C K01 P01.
    assert [cells(r)[:3] for r in rows] == [["城市管理局", "2", "2"], ["生态环境局", "2", "1"],
                                            ["住房和城乡建设局", "2", "0"]]
    bounced = nodes(values["review-bounced"]["children"], lambda p: "data-case-code" in p)
    assert {b["props"]["data-case-code"] for b in bounced} == {"K01"}


def test_opening_a_case_does_not_read_the_departments_again(site):
    app, _ = site
    client = login(app, "leader1")
    shown = with_case(WEEK_SEARCH, None)
    status, _ = post(client, app, "review-departments", with_case(WEEK_SEARCH, "K01"), state=shown)
    assert status == 204
    status, values = post(client, app, "review-departments", WEEK_SEARCH.replace("week", "month"), state=shown)
    assert status == 200 and values["review-departments-view"]["data"] != shown


# --- the flow log panel ------------------------------------------------------------------------------

def flow(client, app, search: str):
    status, values = post(client, app, "review-case-flow", search)
    assert status == 200, (search, status)
    return values["review-case-flow"]


def test_the_flow_log_panel_shows_the_cases_actions_in_order(site):
    app, _ = site
    panel = flow(login(app, "leader1"), app, with_case(WEEK_SEARCH, "K01"))
    assert panel["hidden"] is False and panel["data-case-code"] == "K01"
    steps = nodes(panel["children"], lambda p: "data-action" in p)
    assert [s["props"]["data-action"] for s in steps] == ["report", "dispatch", "return", "dispatch", "return",
                                                          "dispatch", "close"]
    assert [cells(s) for s in steps] == [
        ["2026-11-16 09:00", "上报", "", "report 备注"],
        ["2026-11-16 10:00", "派遣", "→ 城市管理局", "dispatch 备注"],
        ["2026-11-16 12:00", "退回", "城市管理局", "return 备注"],
        ["2026-11-16 13:00", "派遣", "→ 生态环境局", "dispatch 备注"],
        ["2026-11-16 20:00", "退回", "生态环境局", "return 备注"],
        ["2026-11-16 21:00", "派遣", "→ 住房和城乡建设局", "dispatch 备注"],
        ["2026-11-17 09:00", "结案", "住房和城乡建设局", "close 备注"],
    ]
    counts = {c["props"]["data-count"]: text(c) for c in nodes(panel["children"], lambda p: "data-count" in p)}
    assert counts == {"退回": "退回2", "督办": "督办0", "延期": "延期0", "返工": "返工0", "升级": "升级0"}
    whole = text(panel["children"])
    assert "城市管理局 → 生态环境局 → 住房和城乡建设局" in whole and "已结案 2026-11-17 09:00" in whole
    close = nodes(panel["children"], lambda p: p.get("id") == "review-case-flow-close")[0]
    assert close["props"]["href"] == with_case(WEEK_SEARCH, None)


def test_the_flow_log_panel_counts_urges_extensions_and_reworks_as_of_the_views_moment(site):
    app, _ = site
    client = login(app, "center1")
    panel = flow(client, app, "?case=K02&at=2026-11-26T10:00:00")
    counts = {c["props"]["data-count"]: text(c) for c in nodes(panel["children"], lambda p: "data-count" in p)}
    assert counts == {"退回": "退回0", "督办": "督办1", "延期": "延期1", "返工": "返工1", "升级": "升级0"}
    # As of 11-19 10:00: dispatched, extended, urged; not yet reworked or closed.
    panel = flow(client, app, "?case=K02&at=2026-11-19T10:00:00")
    steps = nodes(panel["children"], lambda p: "data-action" in p)
    assert [s["props"]["data-action"] for s in steps] == ["dispatch", "extend", "urge"]
    assert "未结案（截至 2026-11-19 10:00）" in text(panel["children"])


def test_a_case_outside_the_view_is_not_found_like_an_unknown_one(site):
    app, _ = site
    street = login(app, "street_a")
    for search in ("?case=K10", f"?region={S2}&case=K10", "?case=K09", "?case=NO-SUCH"):
        panel = flow(street, app, search)
        assert panel["hidden"] is False and panel["data-case-code"] == ""
        assert "未找到该事件" in text(panel["children"]) and "K10" not in json.dumps(panel, ensure_ascii=False)
    assert flow(street, app, "?case=K01")["data-case-code"] == "K01"
    leader = login(app, "leader1")
    # The county leader narrowed to S1 does not open S2's case; at the county it does.
    assert flow(leader, app, f"?region={S1}&case=K10")["data-case-code"] == ""
    assert flow(leader, app, "?case=K10")["data-case-code"] == "K10"
    # K09 belongs to another county: never.
    assert flow(leader, app, "?case=K09")["data-case-code"] == ""


def test_no_case_keeps_the_panel_hidden_and_a_malformed_code_says_so(site):
    app, _ = site
    client = login(app, "leader1")
    assert flow(client, app, WEEK_SEARCH) == {"children": [], "hidden": True, "data-case-code": ""}
    panel = flow(client, app, "?case=K01%27%20OR%201%3D1")
    assert panel["data-case-code"] == "" and "事件编号无效" in text(panel["children"])


def test_the_flow_log_panel_is_masked_like_the_wall(site):
    app, _ = site
    panel = flow(login(app, "leader1"), app, f"?case=P01&at={AT}")
    whole = json.dumps(panel, ensure_ascii=False)
    assert PHONE not in whole and ID_NUMBER not in whole
    assert mask_text(PERSONAL_TITLE) in whole and mask_text(f"联系人李四 身份证{ID_NUMBER}") in whole


def test_a_long_departments_list_shows_the_worst_first_and_keeps_every_org_one_click_away():
    from layouts.review_departments import DEPARTMENT_ROWS, departments_table

    rows = [{"org_id": i, "name": f"单位{i}", "received": 20, "returned": 40 - i, "return_rate": (40 - i) / 20,
             "previous_returned": 0} for i in range(1, 41)]
    table = departments_table(rows).to_plotly_json()
    table = json.loads(json.dumps(table, default=lambda c: c.to_plotly_json()))
    every = nodes(table, lambda p: "data-org-id" in p)
    assert [r["props"]["data-org-id"] for r in every] == [str(i) for i in range(1, 41)]  # none left out
    details = nodes(table, lambda p: p.get("className") == "dept-more")
    hidden = nodes(details, lambda p: "data-org-id" in p)
    assert [r["props"]["data-org-id"] for r in hidden] == [str(i) for i in range(DEPARTMENT_ROWS + 1, 41)]
    assert "其余 25 个单位" in text(details)
