"""Seed 002 (淄博高新区 2023 自评表, ../shared/seeds/002_*.txt, 附件 创建工作分工) reproduced.

The dataset (data/seed002, made by data/seed002/make.py) mirrors these table rows:
- 1.4 否: 第一小学、华侨城小学、第二小学和第一中学 生均教学及辅助用房面积达不到标准要求
- 1.5 否: 华侨城小、实验中学、第一小学 生均体育场馆面积不达标
- 1.8 否: 华侨城小学、实验中学、第一小学 两项不达标，第二小学 教学用房不达标. The seed's 1.8 row
  says 实验中学 also misses 教学用房, contradicting its own 1.4 row; we follow 1.4/1.5, so 实验中学
  fails 1.8 on a sports area below 85% alone. 第一中学 misses 1.4 at ≥85% and passes 1.8.
- 1.9 是; 2.1 否 (布局专项规划未编制完成); 2.2 是
- 2.3 否: 第一小学、第二小学、华侨城小学、实验中学、宝鑫新经典学校等5所学校音乐教室数量不达标，共缺少10间
  音乐教室；第一小学、第二小学、第三小学、第四小学、华侨城小学、宝鑫新经典学校等6所学校美术教室…共缺少10间
- 2.4 否: 华侨城小学现有2789人，第二小学2484人，实验中学2756人，高新区第一中学2997人
- 2.5 否: 小学总班级数434个，超额班级120个。初中总班级数225个，超额班级26个
- 2.6–2.15, 3.1–3.8 是 (3.1 in 五四制: 四年巩固率, rule-set wusi-2017); 4.1–4.6 是 (= practice absent)
- 3.9 "是 / 未抽测": docs/rules.md §4 makes 未抽测 PENDING, not pass — a deliberate difference.
- 5 是 (a passing recognition result is supplied).
"""

from __future__ import annotations

from pathlib import Path

from evaluator.rules import load_ruleset
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import read_workbook
from tests.evaluator.builders import RECOGNITION_PASS

DATA = Path(__file__).parent / "data" / "seed002"


def _report():  # noqa: ANN202
    return evaluate_workbook(read_workbook(DATA), load_ruleset("wusi-2017"), RECOGNITION_PASS)


def test_item_statuses_match_the_self_check_table() -> None:
    report = _report()
    status = {i.code: i.status for i in report.items}
    failing = {"1.4", "1.5", "1.8", "2.1", "2.3", "2.4", "2.5"}
    assert {c for c, s in status.items() if s == "fail"} == failing
    assert status["3.9"] == "pending" and status["2.6"] == "n/a"
    assert all(s == "pass" for c, s in status.items() if c not in failing | {"3.9", "2.6"})
    assert report.verdict == "not_recognized"
    assert [r.split("（")[0] for r in report.reasons] == ["1.8", "2.1", "2.3", "2.4", "2.5", "3.9"]


def test_resource_rows_name_the_seed_schools() -> None:
    report = _report()
    failing_14 = {s.school_name for s in report.shortfalls if s.item == "1.4"}
    failing_15 = {s.school_name for s in report.shortfalls if s.item == "1.5"}
    assert failing_14 == {"第一小学", "华侨城小学", "第二小学", "第一中学"}
    assert failing_15 == {"华侨城小学", "实验中学", "第一小学"}
    failing_18 = {p.name for p in report.resources.parts if p.status == "fail"}
    assert failing_18 == {"华侨城小学", "实验中学", "第一小学", "第二小学"}
    assert "第二小学生均教学及辅助用房面积不达标" in report.item("1.8").problem
    # 第二小学: 3.6 m² per student = 80% of 4.5 → 4.5 × 2484 − 3.6 × 2484 = 2235.6 m² missing
    sf = next(s for s in report.shortfalls if s.item == "1.4" and s.school_name == "第二小学")
    assert (sf.amount, sf.unit) == (2235.6, "平方米")


def test_music_and_art_room_totals_and_text() -> None:
    report = _report()
    totals = {(t.item, t.what): (t.amount, t.schools) for t in report.shortfall_totals}
    assert totals[("2.3", "音乐专用教室")] == (10, 5)
    assert totals[("2.3", "美术专用教室")] == (10, 6)
    problem = report.item("2.3").problem
    assert "等5所学校音乐教室数量不达标，共缺少10间音乐教室" in problem
    assert "等6所学校美术教室数量不达标，共缺少10间美术教室" in problem
    music = {s.school_name for s in report.shortfalls if s.what == "音乐专用教室"}
    assert music == {"第一小学", "第二小学", "华侨城小学", "实验中学", "宝鑫新经典学校"}
    # 华侨城小学 has an extra 80 m² music room, which does not count (< 96 m²)
    assert "1间音乐教室面积不足" in report.item("2.3").detail


def test_school_size_and_class_size_text() -> None:
    report = _report()
    size = report.item("2.4").problem
    for part in ("华侨城小学2789人", "第二小学现有2484人", "实验中学2756人", "第一中学2997人", "超过2000人"):
        assert part in size
    over = {s.school_name: s.amount for s in report.shortfalls if s.item == "2.4"}
    assert over == {"华侨城小学": 789, "第二小学": 484, "实验中学": 756, "第一中学": 997}
    assert report.item("2.5").problem == "小学总班级数434个，超额班级120个。初中总班级数225个，超额班级26个。"
    assert sum(s.amount for s in report.shortfalls if s.what == "超额班级") == 146


def test_report_dict_carries_the_seed_columns() -> None:
    d = _report().to_dict()
    item = next(i for i in d["items"] if i["code"] == "2.4")
    assert item["status"] == "fail" and item["problem"].startswith("第二小学现有2484人")
    assert next(i for i in d["items"] if i["code"] == "3.9")["missing"] == ["国家义务教育质量监测：未抽测"]
    assert d["rules"] == "wusi-2017" and d["county"]["name"] == "淄博高新区"
