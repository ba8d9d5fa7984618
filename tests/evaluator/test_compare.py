"""Year-on-year comparison (evaluator.compare): pure logic over two stored reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from evaluator.compare import compare_reports
from evaluator.report.model import Report

STORED = Path(__file__).parent / "report" / "data" / "stored_v1.json"


def _pair() -> tuple[dict, dict, str, str]:
    then = json.loads(STORED.read_text(encoding="utf-8"))
    now = copy.deepcopy(then)
    items = {it["code"]: it for it in now["items"]}
    failing = next(c for c, it in items.items() if it["status"] == "fail")
    passing = next(c for c, it in items.items() if it["status"] == "pass")
    items[failing]["status"] = "pass"
    items[passing]["status"] = "pending"
    now["items"].append({"code": "L1", "title": "地方指标", "status": "pass", "detail": ""})
    now["shortfall_totals"] = now["shortfall_totals"][1:]
    now["recognition"]["score"] = 0.9
    return then, now, failing, passing


def test_items_totals_and_scores_then_and_now():
    then, now, failing, passing = _pair()
    c = compare_reports(then, now)
    by_code = {it.code: it for it in c.items}
    assert by_code[failing].change == "better" and by_code[passing].change == "worse"
    assert by_code["L1"].then is None and by_code["L1"].change == "other"
    assert c.count("better") == 1 and c.count("worse") == 1 and c.count("same") == len(then["items"]) - 2
    assert c.score_then == then["recognition"]["score"] and c.score_now == 0.9
    assert c.passing_now == c.passing_then + 1  # one more pass, one pass lost, L1 passes
    gone = then["shortfall_totals"][0]
    row = next(s for s in c.shortfalls if (s.item, s.what) == (gone["item"], gone["what"]))
    assert row.then == gone["amount"] and row.now == 0.0


def test_typed_reports_and_dicts_compare_alike_and_missing_totals_are_summed():
    then, now, *_ = _pair()
    assert compare_reports(Report.from_dict(then), Report.from_dict(now)) == compare_reports(then, now)
    del then["shortfall_totals"]
    summed = {(s.item, s.what): s.then for s in compare_reports(then, now).shortfalls}
    rows = [s for s in then["shortfalls"] if s["item"] == now["shortfall_totals"][0]["item"]
            and s["what"] == now["shortfall_totals"][0]["what"]]
    assert summed[(rows[0]["item"], rows[0]["what"])] == sum(s["amount"] for s in rows)
