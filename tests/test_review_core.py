"""The review page's core callback (callbacks/review_core.py) on both backends: the children's scores,
ranks, rank changes and 红黑榜 with the figure that lifted or sank each, the score rules of the
configuration, the drill-down links, a grid without children, and the scope of a street user."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert

from callbacks.live.outage import DataUnavailable
from dashboard.app import create_app
from dashboard.core.config import ReviewSettings, ScoreRuleSetting, Settings
from data_access.db import dispose_all
from data_access.models import Case

from .api_seed import FAST_HASHER, add_users
from .review_handbuilt import C1, COUNTY, G1, R1, R2, R3, R4, S1, S2, L, _case, load, load_ranking
from .test_pages import call, client_for

AT = "2026-11-26T10:00:00"
WEEK = f"period=week&date=2026-11-18&at={AT}"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def core(client, app, search: str) -> dict:
    status, values = call(client, app, "/review/", "review-compare", {"url.search": search})
    assert status == 200, (search, status, values)
    return {output: props["children"] for output, props in values.items() if "children" in props}


def text_of(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def props_with(node, attr: str) -> list[dict]:
    """The props of every element carrying ``attr`` in a Dash component tree, in order."""
    if isinstance(node, list):
        return [r for item in node for r in props_with(item, attr)]
    if not isinstance(node, dict):
        return []
    props = node.get("props", {})
    own = [props] if attr in props else []
    return own + [r for value in props.values() for r in props_with(value, attr)]


def rows_of(node) -> list[dict]:
    """The props of every element carrying data-region, in order."""
    return props_with(node, "data-region")


def texts(node) -> list[str]:
    """Every string in a component tree, in order."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    if isinstance(node, dict):
        return texts(node.get("props", {}).get("children"))
    return []


def table_rows(values) -> list[tuple[str, str, list[str]]]:
    """(data-region, data-rank, cell texts) of each row of the children table."""
    return [(r["data-region"], r["data-rank"], texts(r["children"])) for r in rows_of(values["review-children"])
            if "data-rank" in r]


def previous_week_cases() -> list[dict]:
    """The ranking county's week before (11-09 .. 11-15): R2, R3 and R4 with 10 due cases closed on
    time (rank 1 together), R1 with 5 of 10 open and overdue (rank 4)."""
    rows, n = [], 5000
    plan = {R1: (5, 5), R2: (10, 0), R3: (10, 0), R4: (10, 0)}
    for street, (closed, open_) in plan.items():
        for k in range(closed + open_):
            n += 1
            reported = L("11-10 09:00") + timedelta(minutes=k)
            extra = dict(status="closed", closed_at=reported + timedelta(hours=5), satisfaction=5) if k < closed \
                else dict(status="handling")
            status = extra.pop("status")
            rows.append(_case(n, f"P{n}", street + "001001", "hotline", reported, status, accepted_at=reported,
                              resolve_due_at=reported + timedelta(hours=24), **extra))
    # The history begins before that week (a case closed the day before it), so it is a whole week
    # to compare ranks with (a partly covered one is not compared).
    early = L("11-08 09:00")
    rows.append(_case(n + 1, f"P{n + 1}", R2 + "001001", "hotline", early, "closed", accepted_at=early,
                      resolve_due_at=early + timedelta(hours=24), closed_at=early + timedelta(hours=1),
                      satisfaction=5))
    return rows


@pytest.fixture
def ranking(engine, backend_url):
    load_ranking(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case), previous_week_cases())
    return create_app(Settings(database_url=backend_url, secret_key="core-test"), auth=False)


def test_children_are_ranked_with_ties_rank_changes_and_the_unranked_marked(ranking):
    values = core(ranking.server.test_client(), ranking, f"?{WEEK}")
    rows = table_rows(values)
    assert [(code, rank) for code, rank, _ in rows] == [(R1, "1"), (R2, "1"), (R3, "3"), (R4, "")]
    cells = {code: cells for code, _, cells in rows}
    # rank, change since the week before, name, score, then the figures.
    assert cells[R1][:4] == ["1", "▲3", "街道0", "107.3"]
    assert cells[R2][:4] == ["1", "—", "街道1", "107.3"]
    assert cells[R3][:4] == ["3", "▼2", "街道2", "76.0"]
    assert cells[R4][:3] == ["样本不足", "", "街道3"]
    assert "50.0%" in cells[R3] and "（5/10）" in cells[R3]  # the on-time rate with its counts


def test_no_rank_change_against_a_week_the_history_only_partly_covers(ranking, engine):
    with engine.begin() as conn:  # the history now begins on the Tuesday of the week before
        conn.execute(delete(Case).where(Case.code == "P5041"))
    rows = table_rows(core(ranking.server.test_client(), ranking, f"?{WEEK}"))
    assert [(code, rank, cells[1]) for code, rank, cells in rows] == [
        (R1, "1", ""), (R2, "1", ""), (R3, "3", ""), (R4, "", "")]


def test_an_empty_week_inside_the_history_is_a_gap_not_a_week_of_zeros(ranking, engine):
    """The history begins before the week before (P5041 on 11-08), but that week now holds no case while
    this one holds 39: a gap in the data. It is not compared (无数据, no 环比, no rank changes) and the
    compare line says why; the API says "gap"."""
    with engine.begin() as conn:
        conn.execute(delete(Case).where(Case.code.like("P50%"), Case.code != "P5041"))
    values = core(ranking.server.test_client(), ranking, f"?{WEEK}")
    assert "上期库中没有任何事件（数据缺口），不作比较" in texts(values["review-compare"])
    assert [cells[1] for _, _, cells in table_rows(values)] == ["", "", "", ""]
    reported = rows_of_figures(values["review-headline"])[0]
    assert texts(reported["children"])[2] == "无数据"
    from .test_review_api import WEEK as API_WEEK

    body = ranking.server.test_client().get(f"/api/v1/review?{API_WEEK}").get_json()
    assert body["previous"]["coverage"] == "gap" and body["figures"]["previous"]["reported"] == 0
    assert all(c["rank_compared"] is False for c in body["children"])


def test_the_red_and_black_lists_name_the_figure_that_lifted_or_sank_each(ranking):
    values = core(ranking.server.test_client(), ranking, f"?{WEEK}")
    red, black = (rows_of(roll) for roll in values["review-rolls"])
    assert [r["data-region"] for r in red] == [R1] and [r["data-region"] for r in black] == [R3]
    assert texts(red[0]["children"]) == ["第1名", "街道0", "107.3 分", "拉动：返工率 0.0%，目标 5.0%（达成 125%）"]
    assert texts(black[0]["children"]) == ["第3名", "街道2", "76.0 分", "拖累：结案率 50.0%，目标 98.0%（达成 51%）"]


def test_the_score_rules_of_the_configuration_are_shown_with_the_siblings_median_resolved(engine, backend_url):
    load_ranking(engine)
    rules = {"on_time_rate": ScoreRuleSetting(weight=50, target=0.9, better="higher"),
             "reports_per_worker": ScoreRuleSetting(weight=50, target="siblings_median", better="higher")}
    app = create_app(Settings(database_url=backend_url, secret_key="core-test", review=ReviewSettings(score=rules)),
                     auth=False)
    values = core(app.server.test_client(), app, f"?{WEEK}")
    shown = [texts(r["children"]) for r in rows_of_figures(values["review-rules"])]
    assert shown == [["按期结案率", "50（50%）", "90.0%", "越高越好"],
                     ["人均巡查发现", "50（50%）", "同级中位数（本期 —）", "越高越好"]]  # no workers: no median
    assert "来源：配置文件 [review.score]" in text_of(values["review-rules"])


# --- the hand-built county: comparisons, drill-down links, a grid, a street user ------------------------

@pytest.fixture
def county(engine, backend_url):
    load(engine)
    tokens = add_users(engine)
    return create_app(Settings(database_url=backend_url, secret_key="core-test"), auth=True), tokens


def test_the_comparisons_are_labelled_with_their_dates_and_a_partial_week_is_cut_like_for_like(county):
    app, tokens = county
    client = client_for(app, tokens, "leader1")
    values = core(client, app, f"?{WEEK}")
    assert texts(values["review-compare"]) == ["环比", "上期 2026-11-09 至 2026-11-15", "同比",
                                               "去年同期 2025-11-16 至 2025-11-22"]
    partial = core(client, app, "?period=week&date=2026-11-18&at=2026-11-18T12:00:00")
    assert texts(partial["review-compare"]) == [
        "环比", "上期 2026-11-09 至 2026-11-11 12:00", "同比", "去年同期 2025-11-16 至 2025-11-18 12:00",
        "本期未结束：上期与去年同期截取到相同的已过时长（同口径比较）"]
    head = texts(partial["review-headline"]["props"]["children"][0])
    assert head[:4] == ["指标", "本期", "2026-11-16 至 2026-11-18 12:00", "上期"]


@pytest.mark.parametrize("search, figure, expected", [
    # November: the week's 7, K06 (11-15), K10 (11-10) and K12 (11-12).
    ("period=month&date=2026-11-18", "reported", "10 件"),
    ("period=quarter&date=2026-11-18", "reported", "10 件"),
    # 11-16 .. 11-19: K01, K02, K03, K04 and the unlocated K08.
    ("period=custom&date=2026-11-16&end=2026-11-19", "reported", "5 件"),
])
def test_month_quarter_and_custom_periods_are_read_from_the_url(county, search, figure, expected):
    app, tokens = county
    values = core(client_for(app, tokens, "center1"), app, f"?{search}&at={AT}")
    row = next(r for r in rows_of_figures(values["review-headline"]) if r["data-figure"] == figure)
    assert texts(row["children"])[1] == expected


def rows_of_figures(node) -> list[dict]:
    return props_with(node, "data-figure")


def test_a_comparison_before_the_history_is_not_compared(county):
    """S1's first case (K11, 2025-11-18) falls inside last year's week: 去年同期 shows its count marked
    incomplete and no 同比; the county's week of 2026-01-05 has last year's week wholly before its first
    case (2025-01-31): 无数据, not "0 件" and a rise against it."""
    app, tokens = county
    client = client_for(app, tokens, "leader1")
    values = core(client, app, f"?region={S1}&{WEEK}")
    assert texts(values["review-compare"])[-1] == "数据起于 2025-11-18：去年同期早于数据起点，不作比较"
    row = next(r for r in rows_of_figures(values["review-headline"]) if r["data-figure"] == "reported")
    assert texts(row["children"])[-2:] == ["1 件（不全）", "—"]
    values = core(client, app, f"?period=week&date=2026-01-05&at={AT}")
    row = next(r for r in rows_of_figures(values["review-headline"]) if r["data-figure"] == "reported")
    assert texts(row["children"])[-2:] == ["无数据", "—"]
    assert "去年同期早于数据起点" in texts(values["review-compare"])[-1]
    full = core(client, app, f"?{WEEK}")
    assert not any("数据起点" in t for t in texts(full["review-compare"]))


def test_a_childs_link_opens_the_same_page_for_it_keeping_period_moment_and_presentation(county):
    app, tokens = county
    values = core(client_for(app, tokens, "center1"), app, f"?{WEEK}&present=1&region={COUNTY}")
    links = [r["href"] for r in _links(values["review-children"])]
    assert links == [f"/review?period=week&date=2026-11-18&at=2026-11-26T10%3A00%3A00&present=1&region={S1}",
                     f"/review?period=week&date=2026-11-18&at=2026-11-26T10%3A00%3A00&present=1&region={S2}"]


def _links(node) -> list[dict]:
    if isinstance(node, list):
        return [r for item in node for r in _links(item)]
    if not isinstance(node, dict):
        return []
    props = node.get("props", {})
    own = [props] if node.get("type") == "Link" else []
    return own + [r for value in props.values() for r in _links(value)]


def test_a_grid_says_it_has_no_children_and_ranks_no_one(county):
    app, tokens = county
    values = core(client_for(app, tokens, "center1"), app, f"?{WEEK}&region={G1}")
    assert table_rows(values) == []
    assert "网格为最小管理单元，没有下级区域（不对网格员个人排名）。" in text_of(values["review-children"])
    assert "网格为最小管理单元" in text_of(values["review-rolls"])
    assert texts(rows_of_figures(values["review-headline"])[0]["children"])[1] == "6 件"  # K01..K07 but K06


def test_a_street_user_gets_its_own_street_whatever_region_it_forges(county):
    app, tokens = county
    client = client_for(app, tokens, "street_a")
    for forged in (S2, COUNTY, "320585101001001", "' OR 1=1", ""):
        values = core(client, app, f"?{WEEK}&region={forged}")
        assert [code for code, _, _ in table_rows(values)] == [C1], forged
        assert "沙溪镇" not in text_of(values) and "印溪社区" not in text_of(values), forged
        first = rows_of_figures(values["review-headline"])[0]
        assert texts(first["children"])[1] == "6 件", forged  # S1's week, not the county's 7
    # Inside its street it drills down like anyone.
    assert [code for code, _, _ in table_rows(core(client, app, f"?{WEEK}&region={C1}"))] == [G1]


def test_a_wall_user_is_refused_and_a_database_outage_keeps_the_page(county, monkeypatch):
    app, tokens = county
    status, _ = call(client_for(app, tokens, "wall_a"), app, "/review/", "review-compare", {"url.search": f"?{WEEK}"})
    assert status == 403

    def down(*_a, **_k):
        raise DataUnavailable("down")

    monkeypatch.setattr("callbacks.review_core.read", down)
    values = core(client_for(app, tokens, "center1"), app, f"?{WEEK}")
    assert "数据库暂不可用" in text_of(values["review-headline"]) and "数据库暂不可用" in text_of(values["review-children"])


def test_cases_under_no_child_are_said_below_the_children_so_the_sums_meet_the_headline(county):
    """K08 has no grid: it counts in the county's 7 reported and in no street's row (6 and 0); the
    table says so in a last row. A street whose cases all lie in its communities has no such row."""
    app, tokens = county
    client = client_for(app, tokens, "center1")
    values = core(client, app, f"?{WEEK}")
    assert [code for code, _, _ in table_rows(values)] == [S1, S2]
    outside = props_with(values["review-children"], "data-outside")
    assert len(outside) == 1 and texts(outside[0]["children"])[0].startswith("未落入下级：上报 1 件（无网格")
    assert props_with(core(client, app, f"?{WEEK}&region={S1}")["review-children"], "data-outside") == []
