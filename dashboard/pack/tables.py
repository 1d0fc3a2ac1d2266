"""The pack's sections as tables, shared by the PDF and the workbook: a title, a sheet name (at most
31 characters, Excel's limit), columns with a Chinese header and a kind, and rows of raw values as
the API gives them (rates as fractions, counts as integers, None for "no value").

Kinds: ``int``, ``percent`` (a fraction shown as "92.3%"), ``float``, ``text``, ``date`` (ISO text)
and ``figure`` (the row's own kind in ``row["_kind"]``: the headline table mixes counts and rates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.analytics import scoring
from dashboard.analytics.history_coverage import compared
from layouts.i18n import SOURCE
from layouts.review_format import BETTER_WORDS, LABELS, RATE_DENOMINATORS, RATIOS, outside_text

from .content import PackContent

KINDS = ("int", "percent", "float", "text", "date", "figure")
SHEET_MAX = 31
TREND_LABELS = {"reported": "上报", "closed": "办结", "on_time_rate": "按期结案率", "closed_rate": "结案率",
                "satisfied_rate": "满意率", "return_rate": "退单率", "overdue_at_end": "期末超期",
                "patrol_share": "巡查发现占比"}
CHILD_FIGURES = ("reported", "due", "on_time_rate", "closed_rate", "satisfied_rate", "return_rate", "rework_rate",
                 "overdue_at_end", "reports_per_worker")
STATUS_NAMES = {"open": "未办结", "done": "已办结", "dropped": "已撤销"}
EVENT_NAMES = {"created": "创建", "status": "状态", "due": "改期", "note": "进展"}
LEVEL_NAMES = {"major": "大类", "minor": "小类"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"
    width: int = 12  # characters, for the workbook

    def __post_init__(self):
        assert self.kind in KINDS, self.kind


@dataclass
class Table:
    key: str
    title: str
    sheet: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""
    section: str = ""  # the PDF section it belongs to
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        assert len(self.sheet) <= SHEET_MAX, self.sheet


def figure_kind(key: str) -> str:
    if key in RATE_DENOMINATORS:
        return "percent"
    if key in RATIOS:
        return "float"
    if key == "by_source":
        return "text"
    return "int"


def _sources(by_source: dict | None) -> str:
    if not by_source:
        return ""
    items = sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))
    return " · ".join(f"{SOURCE.get(src, src or '未知')} {n}" for src, n in items)


def _figure_value(key: str, f: dict | None):
    if f is None:
        return None
    return _sources(f.get("by_source")) if key == "by_source" else f.get(key)


def headline(c: PackContent) -> Table:
    figs = c.review["figures"]
    # a comparison window the history does not wholly cover is left blank (the cover says why)
    shown = {w: figs.get(w) if compared(c.review[w].get("coverage")) else None for w in ("previous", "last_year")}
    rows = [{"figure": LABELS[k], "key": k, "_kind": figure_kind(k),
             "current": _figure_value(k, figs.get("current")), "previous": _figure_value(k, shown["previous"]),
             "last_year": _figure_value(k, shown["last_year"])} for k in LABELS]
    return Table("headline", "核心指标", "核心指标", [
        Column("figure", "指标", "text", 16), Column("key", "代码", "text", 20),
        Column("current", "本期", "figure", 14), Column("previous", "环比期", "figure", 14),
        Column("last_year", "同比期", "figure", 14)], rows, section="headline")


def children(c: PackContent) -> Table:
    rows = []
    for kid in c.review["children"]:
        f = kid.get("figures") or {}
        rows.append({"rank": kid.get("rank"), "code": kid["code"], "name": kid["name"], "score": kid.get("score"),
                     "rank_change": kid.get("rank_change"), "unranked": "样本不足" if kid.get("unranked") else "",
                     **{k: f.get(k) for k in CHILD_FIGURES}})
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    cols = [Column("rank", "排名", "int", 6), Column("code", "代码", "text", 16), Column("name", "名称", "text", 16),
            Column("score", "综合得分", "float", 10), Column("rank_change", "名次变化", "int", 9),
            Column("unranked", "备注", "text", 9)]
    cols += [Column(k, LABELS[k], figure_kind(k), 11) for k in CHILD_FIGURES]
    return Table("children", "下级区域排名", "下级区域排名", cols, rows, section="rankings",
                 note="名次变化：上期名次减本期名次（正数为上升）；样本不足：本期应结案不足 10 件，不排名。"
                      + outside_note(c.review))


def outside_note(review: dict) -> str:
    """The region's counts no listed child holds, as the page's last row says (``outside_text``)."""
    text = outside_text((review.get("figures") or {}).get("current") or {},
                        [k.get("figures") for k in review.get("children", [])])
    return f"{text}。" if text else ""


def rolls(c: PackContent, rules: list[scoring.Rule]) -> Table:
    kids = {k["code"]: k for k in c.review["children"]}
    scored = {code: {"rank": k.get("rank")} for code, k in kids.items()}
    red, black = scoring.honour_rolls(scored)
    goal = {r["figure"]: r.get("target") for r in c.rules}
    rows = []
    for roll, codes, lifted in (("红榜", red, True), ("黑榜", black, False)):
        for code in codes:
            kid = kids[code]
            why = scoring.decisive_part(kid.get("parts") or {}, rules, lifted)
            reason, value = "", None
            if why is not None:
                reason = f"{'拉动' if lifted else '拖累'}：{LABELS.get(why[0], why[0])}"
                value = (kid.get("figures") or {}).get(why[0])
            rows.append({"roll": roll, "rank": kid.get("rank"), "code": code, "name": kid["name"],
                         "score": kid.get("score"), "reason": reason,
                         "value": value, "_kind": figure_kind(why[0]) if why else "float",
                         "target": goal.get(why[0]) if why else None})
    return Table("rolls", "红榜与黑榜", "红黑榜", [
        Column("roll", "榜", "text", 6), Column("rank", "排名", "int", 6), Column("code", "代码", "text", 16),
        Column("name", "名称", "text", 16), Column("score", "综合得分", "float", 10),
        Column("reason", "主要原因", "text", 22), Column("value", "该项本期值", "figure", 12),
        Column("target", "该项目标", "figure", 12)], rows, section="rankings",
        note="红榜：得分最高的 3 个；黑榜：得分最低的 3 个（下级不足 6 个时各取一半）。")


def score_rules(c: PackContent) -> Table:
    rows = [{"figure": LABELS.get(r["figure"], r["figure"]), "key": r["figure"], "weight": r["weight"],
             "target": r.get("target"), "_kind": figure_kind(r["figure"]),
             "better": BETTER_WORDS.get(r["better"], r["better"]),
             "target_rule": "同级中位数" if r.get("target_rule") == "siblings_median" else "固定"} for r in c.rules]
    return Table("rules", "评分规则", "评分规则", [
        Column("figure", "指标", "text", 16), Column("key", "代码", "text", 20), Column("weight", "权重", "float", 8),
        Column("target", "目标", "figure", 10), Column("better", "方向", "text", 10),
        Column("target_rule", "目标规则", "text", 12)], rows, section="rankings")


def departments(c: PackContent) -> Table:
    rows = [{"org_id": d["org_id"], "name": d.get("name"), "received": d["received"], "returned": d["returned"],
             "return_rate": d.get("return_rate"), **{k: d.get(k) for k in d if k.startswith("returned_")}}
            for d in c.review["departments"]]
    return Table("departments", "部门退单", "部门退单", [
        Column("org_id", "部门编号", "int", 9), Column("name", "部门", "text", 20), Column("received", "接收", "int", 8),
        Column("returned", "退回", "int", 8), Column("return_rate", "退单率", "percent", 9)], rows,
        section="departments")


def bounced(c: PackContent) -> Table:
    rows = [{"code": b["code"], "title": b.get("title"), "returns": b["returns"], "orgs": " → ".join(
        o if isinstance(o, str) else str((o or {}).get("name") or (o or {}).get("org_id") or "") for o in b.get("orgs") or []),
        "days_lost": b.get("days_lost")} for b in c.review["bounced"]]
    return Table("bounced", "推诿扯皮（退回两次及以上）", "推诿扯皮", [
        Column("code", "案件编号", "text", 24), Column("title", "标题", "text", 30), Column("returns", "退回次数", "int", 9),
        Column("orgs", "流转部门", "text", 40), Column("days_lost", "耽误天数", "float", 9)], rows, section="departments")


def hot_issues(c: PackContent) -> Table:
    rows = []
    for h in c.hot["hot_issues"]:
        prev, ly = h.get("previous") or {}, h.get("last_year") or {}
        rows.append({"code": h["category_code"], "name": h.get("name"), "level": LEVEL_NAMES.get(h["level"], h["level"]),
                     "current": h["current"], "prev_count": prev.get("count"), "prev_ratio": prev.get("ratio"),
                     "prev_p": prev.get("p_adjusted"), "ly_count": ly.get("count"), "ly_ratio": ly.get("ratio"),
                     "ly_p": ly.get("p_adjusted"),
                     "places": "、".join(f"{p.get('name') or p['code']} {p['count']}" for p in h.get("places") or [])})
    return Table("hot", "热点问题", "热点问题", [
        Column("code", "类别代码", "text", 9), Column("name", "类别", "text", 16), Column("level", "层级", "text", 6),
        Column("current", "本期", "int", 7), Column("prev_count", "环比期", "int", 7),
        Column("prev_ratio", "环比倍数", "float", 9), Column("prev_p", "环比校正p", "float", 10),
        Column("ly_count", "同比期", "int", 7), Column("ly_ratio", "同比倍数", "float", 9),
        Column("ly_p", "同比校正p", "float", 10), Column("places", "集中地", "text", 30)], rows, section="hot",
        note=f"检验：精确条件二项检验（单侧），Holm 校正，p < {c.hot['test']['alpha']}，共 {c.hot['test']['tests']} 项。")


def trend(c: PackContent) -> Table:
    rows = [{"start": w["start"], "end": w["end"], "in_period": "是" if w["in_period"] else "",
             "partial": "未完" if w["partial"] else "", **{k: w["figures"].get(k) for k in TREND_LABELS}}
            for w in c.trend["weeks"]]
    cols = [Column("start", "周起", "date", 11), Column("end", "周止", "date", 11), Column("in_period", "本期内", "text", 7),
            Column("partial", "周未完", "text", 7)]
    cols += [Column(k, label, "percent" if k.endswith(("_rate", "_share")) else "int", 10)
             for k, label in TREND_LABELS.items()]
    return Table("trend", "趋势（最近 26 周）", "趋势26周", cols, rows, section="trend")


def forecast(c: PackContent) -> Table:
    fc = c.forecast["forecast"]
    rows = [{"region_code": r["region_code"], "region": r["region_name"], "category": r["category_name"],
             "expected": r["expected"], "lo80": r["lo80"], "hi80": r["hi80"]} for r in fc["rows"]]
    return Table("forecast", "下周预测（80% 区间）", "下周预测", [
        Column("region_code", "区域代码", "text", 12), Column("region", "区域", "text", 14),
        Column("category", "类别", "text", 14), Column("expected", "预计件数", "float", 10),
        Column("lo80", "80%下限", "int", 9), Column("hi80", "80%上限", "int", 9)], rows, section="forecast",
        note=f"预测期 {fc.get('start') or '—'} 至 {fc.get('end') or '—'}；生成于 {fc.get('made_at') or '—'}。")


def forecast_record(c: PackContent) -> Table:
    rows = [{"start": w["start"], "end": w["end"], "expected": w["expected"], "lo80": w["lo80"], "hi80": w["hi80"],
             "actual": w["actual"], "inside": "是" if w["inside"] else "否", "coverage": w["coverage"],
             "mae": w["mae"], "naive_mae": w["naive_mae"]} for w in c.forecast["record"]["weeks"]]
    return Table("record", "预测回检（过去 8 周）", "预测回检", [
        Column("start", "周起", "date", 11), Column("end", "周止", "date", 11), Column("expected", "预计", "float", 8),
        Column("lo80", "下限", "int", 7), Column("hi80", "上限", "int", 7), Column("actual", "实际", "int", 7),
        Column("inside", "落在区间内", "text", 9), Column("coverage", "分项覆盖率", "percent", 10),
        Column("mae", "平均绝对误差", "float", 11), Column("naive_mae", "照搬上周误差", "float", 11)], rows,
        section="forecast")


def hotspots(c: PackContent) -> Table:
    hot = c.forecast["hotspots"]
    rows = [{"rank": g["rank"], "grid_code": g["grid_code"], "name": g.get("name"), "expected": g["expected"]}
            for g in hot["grids"]]
    rec = hot.get("record") or {}
    return Table("hotspots", "下周热点网格", "热点网格", [
        Column("rank", "名次", "int", 6), Column("grid_code", "网格编码", "text", 18), Column("name", "网格", "text", 24),
        Column("expected", "预计件数", "float", 10)], rows, section="forecast",
        note=f"{hot['start']} 至 {hot['end']}；过去 8 周命中率 {_pct(rec.get('hit_rate'))}，照搬上周 {_pct(rec.get('naive_hit_rate'))}。")


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def concealment(c: PackContent) -> Table | None:
    if c.concealment is None:
        return None
    rows = []
    for r in c.concealment["communities"]:
        rows.append({"code": r["community"], "name": r.get("name"), "alerts": len(r["alerts"]),
                     "share": r["period"]["share"], "peer_share": r["peers"]["share"], "before_share": r["before"]["share"],
                     "first": (r["alerts"][0]["created_at"] or "")[:16] if r["alerts"] else ""})
    return Table("concealment", "疑似瞒报漏报（建议核实）", "疑似瞒报漏报", [
        Column("code", "社区代码", "text", 14), Column("name", "社区", "text", 16), Column("alerts", "预警次数", "int", 8),
        Column("share", "本期巡查占比", "percent", 11), Column("peer_share", "同类社区占比", "percent", 11),
        Column("before_share", f"前{c.concealment['before_weeks']}周占比", "percent", 11),
        Column("first", "首次预警", "text", 17)], rows, section="concealment", note=c.concealment["wording"])


def _change_text(e: dict) -> str:
    what = EVENT_NAMES.get(e["kind"], e["kind"])
    if e["kind"] == "status":
        what += "：" + STATUS_NAMES.get(e.get("status"), e.get("status") or "")
    elif e["kind"] == "due":
        what += "：" + (e.get("due_date") or "")
    return f"{(e['ts'] or '')[5:16].replace('T', ' ')} {what}" + (f"（{e['note']}）" if e.get("note") else "")


def commitments(c: PackContent) -> Table:
    """The agenda (dashboard/usecases/commitments.py ``agenda_body``), in its order."""
    names = {row["code"]: row["name"] for row in c.review.get("children", [])}
    names[c.region] = c.name
    rows = []
    for k in c.commitments:
        rows.append({"id": k["id"], "region": names.get(k["region"]) or k["region"], "text": k["text"],
                     "status": STATUS_NAMES.get(k["status"], k["status"]),
                     "meeting_date": k["meeting_date"], "due_date": k["due_date"],
                     "overdue_days": k["overdue_days"] or None, "owner": k.get("owner") or "",
                     "cases": "；".join(f"{x['code']} {x['state']}" for x in k["cases"]),
                     "changes": "；".join(_change_text(e) for e in k["changes"]) or "无变化"})
    since = (c.commitments[0]["since"] or "")[:10] if c.commitments else c.period.first.isoformat()
    return Table("commitments", "督办事项", "督办事项", [
        Column("id", "编号", "int", 6), Column("region", "区域", "text", 10), Column("text", "事项", "text", 32),
        Column("status", "状态", "text", 7), Column("meeting_date", "会议日期", "date", 10),
        Column("due_date", "期限", "date", 10), Column("overdue_days", "逾期天数", "int", 9),
        Column("owner", "责任单位", "text", 12), Column("cases", "关联事件（当前状态）", "text", 20),
        Column("changes", f"{since} 以来变化", "text", 26)], rows,
        section="commitments",
        note="仍未办结的事项（已逾期的在前）及本期以来办结或撤销的事项；关联事件为截至数据时间的状态。")


def commitment_events(c: PackContent) -> Table:
    rows = [{"id": k["id"], "ts": e["ts"], "actor": e.get("actor"), "kind": EVENT_NAMES.get(e["kind"], e["kind"]),
             "status": STATUS_NAMES.get(e.get("status"), e.get("status")), "due_date": e.get("due_date"),
             "note": e.get("note")} for k in c.commitments for e in k["events"]]
    return Table("commitment_events", "督办事项进展", "督办事项进展", [
        Column("id", "事项编号", "int", 8), Column("ts", "时间", "text", 26), Column("actor", "操作人", "text", 12),
        Column("kind", "类型", "text", 6), Column("status", "状态", "text", 8), Column("due_date", "期限", "date", 11),
        Column("note", "说明", "text", 40)], rows, section="commitments")


def all_tables(c: PackContent, rules: list[scoring.Rule]) -> list[Table]:
    """Every table of the pack, in the pack's order (the concealment watch only for its roles)."""
    tables = [headline(c), children(c), rolls(c, rules), score_rules(c), departments(c), bounced(c), hot_issues(c),
              trend(c), forecast(c), forecast_record(c), hotspots(c), concealment(c), commitments(c),
              commitment_events(c)]
    return [t for t in tables if t is not None]
