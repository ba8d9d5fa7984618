"""Local items as data (issue 8, deliverable 3): rule-sets declare their own county ratios and
per-school indicators (codes L1, L2, …); they count toward the verdict like any item.

Every expected figure below is worked out by hand from the numbers written in the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from docx import Document

from evaluator.errors import InputError, InstrumentError
from evaluator.report.view import build_view
from evaluator.rules import ITEM_CODES, load_ruleset
from evaluator.verdict import EvaluationReport, evaluate_workbook
from evaluator.workbook import read_workbook, write_template, write_workbook
from survey.commands import main
from tests.evaluator.builders import (
    RECOGNITION_PASS,
    classes_for,
    county,
    default_schools,
    junior,
    primary,
    rooms_for,
)


def dalian_schools(passed: float = 0.96, good: float = 0.92) -> list[dict[str, Any]]:
    """The default county with every stage's 学业合格率 = ``passed`` and 优良率 = ``good``."""
    rows = default_schools()
    for s in rows:
        for st in ("primary", "junior"):
            n = s[f"students_{st}"]
            s[f"academic_assessed_{st}"] = n
            s[f"academic_passed_{st}"] = round(n * passed)
            s[f"evaluation_assessed_{st}"] = n
            s[f"evaluation_good_{st}"] = round(n * good)
    return rows


def luoding_schools(share: float = 1.0) -> list[dict[str, Any]]:
    rows = default_schools()
    for s in rows:
        for st in ("primary", "junior"):
            s[f"teachers_72h_{st}"] = round(s[f"teachers_{st}"] * share)
    return rows


def luoding_county(**kw: Any) -> dict[str, Any]:
    # 24,000 / 280,000 × 1000 = 85.71 seats (≥ 80); 12,000 / 280,000 × 1000 = 42.86 (≥ 40)
    return county(**{"urban_primary_seats": 24000, "urban_junior_seats": 12000, "urban_residents": 280000, **kw})


def run(tmp: Path, rules_name: str, schools: list[dict[str, Any]], county_values: dict[str, Any] | None = None,
        *, xlsx: bool = False) -> EvaluationReport:
    rules = load_ruleset(rules_name)
    frames = {"schools": pd.DataFrame(schools), "county": county_values or county(),
              "classes": pd.DataFrame(classes_for(schools)), "rooms": pd.DataFrame(rooms_for(schools))}
    path = write_workbook(tmp / ("data.xlsx" if xlsx else "data"), frames, rules=rules)
    return evaluate_workbook(read_workbook(path, rules), rules, RECOGNITION_PASS)


def item(report: EvaluationReport, code: str) -> dict[str, Any]:
    return next(i for i in report.to_dict()["items"] if i["code"] == code)


# --------------------------------------------------------------------------- Dalian (seed 000)
def test_dalian_county_passing_both_local_items_is_recognized(tmp_path: Path) -> None:
    report = run(tmp_path, "dalian-2019", dalian_schools())
    d = report.to_dict()
    assert [i["code"] for i in d["items"]] == list(ITEM_CODES) + ["L1", "L2"]  # national table first, exact
    l1, l2 = item(report, "L1"), item(report, "L2")
    assert (l1["status"], l2["status"]) == ("pass", "pass")
    assert l1["title"] == "学生学业合格率达到95%以上" and l1["area"] == "quality"
    assert "核查学校（部）5个" in l1["detail"] and "小学≥95%、初中≥95%" in l1["detail"]
    rows = l1["figures"]["schools"]
    assert [(r["school_code"], r["stage"]) for r in rows] == [("P1", "primary"), ("P2", "primary"), ("P3", "primary"),
                                                             ("J1", "junior"), ("J2", "junior")]
    assert rows[0]["value"] == pytest.approx(960 / 1000) and rows[0]["met"] is True
    assert d["verdict"] == "recognized" and d["reasons"] == []


def test_dalian_rate_exactly_at_95_percent_passes_and_just_below_fails(tmp_path: Path) -> None:
    schools = dalian_schools()
    schools[0]["academic_passed_primary"] = 950  # 950 / 1000 = 95% exactly: "以上" includes the boundary
    assert item(run(tmp_path / "a", "dalian-2019", schools), "L1")["status"] == "pass"
    schools[0]["academic_passed_primary"] = 949  # 94.9%
    report = run(tmp_path / "b", "dalian-2019", schools)
    l1 = item(report, "L1")
    assert l1["status"] == "fail" and l1["problem"].startswith("一小94.9%，学业合格率未达到标准")
    assert report.verdict == "not_recognized"
    assert any(r.startswith("L1（未达标）学生学业合格率达到95%以上：一小94.9%") for r in report.reasons)
    # shortfall: 0.95 × 1000 − 949 = 1 more pupil passing, in the numerator's unit
    assert [(s.school_code, s.item, s.amount, s.unit) for s in report.shortfalls if s.item == "L1"] == [
        ("P1", "L1", 1.0, "人")]


def test_dalian_quality_evaluation_rate_below_90_percent_fails(tmp_path: Path) -> None:
    schools = dalian_schools()
    schools[3]["evaluation_good_junior"] = 700  # J1: 700 / 800 = 87.5% < 90%
    report = run(tmp_path, "dalian-2019", schools)
    l2 = item(report, "L2")
    assert l2["status"] == "fail" and "一中87.5%" in l2["problem"]
    assert report.verdict == "not_recognized"
    # 0.90 × 800 − 700 = 20 pupils short
    assert [(s.school_code, s.amount) for s in report.shortfalls if s.item == "L2"] == [("J1", 20.0)]


def test_dalian_missing_cell_is_pending_naming_school_and_field_in_chinese(tmp_path: Path) -> None:
    schools = dalian_schools()
    schools[1]["academic_passed_primary"] = None
    report = run(tmp_path, "dalian-2019", schools, xlsx=True)
    l1 = item(report, "L1")
    assert l1["status"] == "pending"
    assert l1["missing"] == ["二小：小学学业水平合格学生数（academic_passed_primary）"]
    assert report.verdict == "incomplete"
    assert any(r.startswith("L1（待定）") and "二小" in r for r in report.reasons)


def test_dalian_columns_absent_from_the_sheet_are_pending_not_pass(tmp_path: Path) -> None:
    """A national workbook evaluated with dalian-2019: the local columns are missing, never 0."""
    report = run(tmp_path, "dalian-2019", default_schools())
    l1, l2 = item(report, "L1"), item(report, "L2")
    assert (l1["status"], l2["status"]) == ("pending", "pending")
    assert len(l1["missing"]) == 10 and "一中：初中参加学业水平考试学生数（academic_assessed_junior）" in l1["missing"]
    assert report.verdict == "incomplete"


def test_fail_beats_pending_and_zero_denominator_follows_the_ruleset(tmp_path: Path) -> None:
    schools = dalian_schools()
    schools[0]["academic_assessed_primary"] = 0
    schools[0]["academic_passed_primary"] = 0
    l1 = item(run(tmp_path / "a", "dalian-2019", schools), "L1")
    assert l1["status"] == "pending"  # dalian-2019: on_zero_denominator: pending
    assert l1["missing"] == ["一小：小学参加学业水平考试学生数（academic_assessed_primary，为0）"]
    assert "为0，无法计算" in l1["detail"]
    schools[1]["academic_passed_primary"] = 100  # P2 100/600: a real failure elsewhere
    l1 = item(run(tmp_path / "b", "dalian-2019", schools), "L1")
    assert l1["status"] == "fail" and l1["missing"] == []


# --------------------------------------------------------------------------- Luoding (seed 004)
def test_luoding_passing_county_keeps_its_national_variant_and_adds_two_items(tmp_path: Path) -> None:
    report = run(tmp_path, "luoding-2019", luoding_schools(), luoding_county())
    l1, l2 = item(report, "L1"), item(report, "L2")
    assert (l1["status"], l2["status"]) == ("pass", "pass")
    assert l1["area"] == "resources" and l2["area"] == "assurance"
    assert "城镇小学千人学位数85.71座（24000/280000×1000，标准≥80座）" in l1["detail"]
    assert "城镇初中千人学位数42.86座" in l1["detail"]
    assert [r["value"] for r in l1["figures"]["ratios"]] == [pytest.approx(24000 / 280), pytest.approx(12000 / 280)]
    assert report.verdict == "recognized"
    assert report.ruleset.resources.indicator("pe_art_teachers").thresholds["primary"] == 1.0  # inherited variant


def test_luoding_seats_per_thousand_boundary_fail_and_pending(tmp_path: Path) -> None:
    at = run(tmp_path / "a", "luoding-2019", luoding_schools(), luoding_county(urban_primary_seats=22400))
    assert item(at, "L1")["status"] == "pass"  # 22,400 / 280,000 × 1000 = 80 exactly
    low = run(tmp_path / "b", "luoding-2019", luoding_schools(), luoding_county(urban_junior_seats=11000))
    l1 = item(low, "L1")  # 11,000 / 280,000 × 1000 = 39.29 < 40
    assert l1["status"] == "fail" and l1["problem"] == "城镇初中千人学位数为39.29座，未达到≥40座的标准。"
    assert low.verdict == "not_recognized"
    gone = run(tmp_path / "c", "luoding-2019", luoding_schools(), luoding_county(urban_residents=None))
    l1 = item(gone, "L1")
    assert l1["status"] == "pending" and l1["missing"] == ["城镇常住人口（urban_residents）"]
    assert gone.verdict == "incomplete"
    zero = run(tmp_path / "d", "luoding-2019", luoding_schools(), luoding_county(urban_residents=0))
    l1 = item(zero, "L1")
    assert l1["status"] == "pending" and "城镇常住人口（urban_residents）为0，无法计算" in l1["detail"]


def test_luoding_72_hours_is_checked_per_school_part(tmp_path: Path) -> None:
    schools = luoding_schools()
    nine = primary("N1", "九年一贯制学校", 600, school_type="九年一贯制", students_junior=400, classes_junior=8,
                   teachers_junior=32, qualified_teachers_junior=24, backbone_teachers_junior=5,
                   pe_art_teachers_junior=4, teaching_area=6000, sports_area=10000, equipment_value=2_800_000,
                   multimedia_rooms=30)
    nine.update(teachers_72h_primary=36, teachers_72h_junior=30)  # 36/36 primary, 30/32 junior
    schools.append(nine)
    report = run(tmp_path, "luoding-2019", schools, luoding_county())
    l2 = item(report, "L2")
    rows = {(r["school_code"], r["stage"]): r for r in l2["figures"]["schools"]}
    assert rows[("N1", "primary")]["label"] == "九年一贯制学校（小学部）" and rows[("N1", "primary")]["met"] is True
    assert rows[("N1", "junior")]["value"] == pytest.approx(30 / 32) and rows[("N1", "junior")]["met"] is False
    assert l2["status"] == "fail" and l2["problem"].startswith("九年一贯制学校（初中部）93.75%")
    assert [(s.school_code, s.what, s.amount, s.unit) for s in report.shortfalls if s.item == "L2"] == [
        ("N1", "年度72学时培训完成率（初中）：完成年度72学时培训的专任教师数", 2.0, "人")]


def test_a_variant_of_a_variant_inherits_and_overrides_one_field(tmp_path: Path) -> None:
    path = tmp_path / "luoding-2025.yaml"
    path.write_text("extends: luoding-2019\nid: luoding-2025\nversion: 1\n"
                    "local_items:\n  L1:\n    ratios:\n"
                    "      - {label: 城镇小学千人学位数, numerator: urban_primary_seats, denominator: urban_residents,"
                    " per: 1000, threshold: 90, direction: at_least, unit: 座}\n", encoding="utf-8")
    rules = load_ruleset(path)
    codes = [(i.code, i.kind) for i in rules.local_items]
    assert codes == [("L1", "county"), ("L2", "school")]
    l1 = rules.local_items[0]
    assert len(l1.ratios) == 1 and l1.ratios[0].thresholds["county"] == 90 and l1.title.startswith("城镇小学")
    assert [s.name for s in rules.sources] == ["national-2017.yaml", "luoding-2019.yaml", "luoding-2025.yaml"]


# --------------------------------------------------------------------------- loader errors
def _variant(tmp: Path, body: str) -> Path:
    path = tmp / "local-test.yaml"
    path.write_text("extends: national-2017\nid: local-test\nversion: 1\nlocal_items:\n" + body, encoding="utf-8")
    return path


GOOD_COUNTY = ("    kind: county\n    title: 测试\n    source: 测试文件\n    section: assurance\n"
               "    numerator: a_done\n    denominator: a_all\n    threshold: 0.9\n    direction: at_least\n"
               "    fields:\n      a_done: {zh: 完成数, type: count}\n      a_all: {zh: 总数, type: count}\n")


@pytest.mark.parametrize(("body", "field", "text"), [
    ("  X1:\n" + GOOD_COUNTY, "local_items.X1", "L 加数字"),
    ("  1.1:\n" + GOOD_COUNTY, "local_items.1.1", "L 加数字"),
    ("  L1:\n" + GOOD_COUNTY.replace("section: assurance", "section: veto"), "local_items.L1.section",
     "resources/assurance/quality"),
    ("  L1:\n" + GOOD_COUNTY.replace("kind: county", "kind: city"), "local_items.L1.kind", "county/school"),
    ("  L1:\n" + GOOD_COUNTY.replace("    threshold: 0.9\n", ""), "local_items.L1.threshold", "缺少必填字段"),
    ("  L1:\n" + GOOD_COUNTY.replace("threshold: 0.9", "threshold: 九成"), "local_items.L1.threshold", "应为数值"),
    ("  L1:\n" + GOOD_COUNTY.replace("direction: at_least", "direction: more"), "local_items.L1.direction",
     "at_least/at_most"),
    ("  L1:\n" + GOOD_COUNTY.replace("    title: 测试\n", ""), "local_items.L1.title", "缺少必填字段"),
    ("  L1:\n" + GOOD_COUNTY.replace("    source: 测试文件\n", ""), "local_items.L1.source", "缺少必填字段"),
    ("  L1:\n" + GOOD_COUNTY.replace("numerator: a_done", "numerator: b_done"), "local_items.L1.numerator",
     "“b_done”既未在 fields 中声明"),
    ("  L1:\n" + GOOD_COUNTY.replace("a_all: {zh: 总数, type: count}", "a_all: {zh: 总数, type: text}"),
     "local_items.L1.fields.a_all.type", "count/number"),
    ("  L1:\n" + GOOD_COUNTY.replace("a_all: {zh: 总数, type: count}", "a_all: {type: count}"),
     "local_items.L1.fields.a_all.zh", "缺少必填字段"),
    ("  L1:\n" + GOOD_COUNTY.replace("a_done: {zh: 完成数, type: count}",
                                     "full_time_teachers: {zh: 完成数, type: count}").replace("a_done", "full_time_teachers"),
     "local_items.L1.fields.full_time_teachers", "与国家数据表的字段重名"),
    ("  L1:\n    kind: school\n    title: 测试\n    source: 测试\n    section: quality\n    numerator: x_ok\n"
     "    denominator: students\n    thresholds: {primary: 0.9, senior: 0.8}\n    direction: at_least\n"
     "    fields:\n      x_ok: {zh: 合格数, type: count}\n", "local_items.L1.thresholds.senior", "学段应为"),
    ("  L1:\n    kind: school\n    title: 测试\n    source: 测试\n    section: quality\n    numerator: teachers\n"
     "    denominator: students\n    thresholds: {primary: 0.9}\n    direction: at_least\n"
     "    fields:\n      teachers: {zh: 教师数, type: count}\n", "local_items.L1.fields.teachers", "重名"),
    ("  L1:\n    kind: school\n    title: 测试\n    source: 测试\n    section: quality\n    numerator: x_ok\n"
     "    denominator: students\n    thresholds: {primary: 0.9}\n    direction: at_least\n    applies_to: [高中]\n"
     "    fields:\n      x_ok: {zh: 合格数, type: count}\n", "local_items.L1.applies_to[0]", "未知学校类型"),
    ("  L1:\n" + GOOD_COUNTY.replace("direction: at_least", "direction: at_least\n    on_zero_denominater: fail"),
     "local_items.L1.on_zero_denominater", "未知的键"),
    ("  L1:\n" + GOOD_COUNTY + "  L2:\n" + GOOD_COUNTY.replace("a_all: {zh: 总数, type: count}",
                                                             "a_all: {zh: 总人数, type: count}"),
     "local_items.L2.fields.a_all", "已在 L1 中以不同的定义声明"),
    ("  L1:\n" + GOOD_COUNTY.replace("    on_zero", "").replace("direction: at_least",
                                                             "direction: at_least\n    on_zero_denominator: pass"),
     "local_items.L1.on_zero_denominator", "pending/fail/n/a"),
])
def test_loader_errors_name_file_and_field(tmp_path: Path, body: str, field: str, text: str) -> None:
    with pytest.raises(InstrumentError) as exc:
        load_ruleset(_variant(tmp_path, body))
    assert exc.value.file == "local-test.yaml" and exc.value.field == field, str(exc.value)
    assert text in exc.value.reason


def test_a_good_declaration_loads_and_rules_check_reports_a_bad_one(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_ruleset(_variant(tmp_path, "  L1:\n" + GOOD_COUNTY))
    (it,) = rules.local_items
    assert (it.code, it.kind, it.on_zero_denominator, it.ratios[0].label) == ("L1", "county", "pending", "测试")
    bad = _variant(tmp_path, "  L1:\n" + GOOD_COUNTY.replace("section: assurance", "section: 其他"))
    assert main(["rules", "check", str(bad)]) == 2
    assert "文件 local-test.yaml，字段 local_items.L1.section" in capsys.readouterr().err
    assert main(["rules", "check", "dalian-2019"]) == 0
    assert "规则集 dalian-2019 v1：通过（national-2017.yaml、dalian-2019.yaml；sha256 " in (out := capsys.readouterr().out)
    assert "；地方指标 L1、L2）\n" in out


# --------------------------------------------------------------------------- template and reader
def _sheet_headers(path: Path, sheet: str) -> list[str]:
    return [c.value for c in openpyxl.load_workbook(path)[sheet][1]]


def _county_rows(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["county"]
    return {r[0].value: r[2].value for r in ws.iter_rows(min_row=2)}


def test_template_follows_the_ruleset_and_stays_national_by_default(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--out", str(tmp_path / "n.xlsx")]) == 0
    national = _sheet_headers(tmp_path / "n.xlsx", "schools")
    assert "学业水平合格学生数（小学）" not in national and "urban_residents" not in _county_rows(tmp_path / "n.xlsx")
    assert main(["template", "--out", str(tmp_path / "d.xlsx"), "--rules", "dalian-2019"]) == 0
    dalian = _sheet_headers(tmp_path / "d.xlsx", "schools")
    assert dalian[: len(national)] == national  # national columns first, unchanged
    assert dalian[len(national):] == ["学业水平合格学生数（小学）", "学业水平合格学生数（初中）",
                                      "参加学业水平考试学生数（小学）", "参加学业水平考试学生数（初中）",
                                      "综合素质评价优良学生数（小学）", "综合素质评价优良学生数（初中）",
                                      "参加综合素质评价学生数（小学）", "参加综合素质评价学生数（初中）"]
    ws = openpyxl.load_workbook(tmp_path / "d.xlsx")["schools"]
    comment = ws.cell(row=1, column=len(national) + 1).comment.text
    assert comment.startswith("academic_passed_primary：地方指标 L1：本学年学业水平考试（考查）各科均合格的学生数")
    notes = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "d.xlsx")["说明"].iter_rows()]
    assert ["schools", "evaluation_good_junior", "综合素质评价优良学生数（初中）", "非负整数"] in [r[:4] for r in notes]
    assert any(r[0] == "规则集：dalian-2019（县域义务教育优质均衡发展督导评估（大连高新区实施口径））" for r in notes)
    assert main(["template", "--out", str(tmp_path / "l.xlsx"), "--rules", "luoding-2019"]) == 0
    rows = _county_rows(tmp_path / "l.xlsx")
    assert rows["urban_residents"] == "L1 城镇常住人口；示例：280000（地方指标 L1：城区和镇区常住人口（单位：人））"
    assert "完成年度72学时培训的专任教师数（初中）" in _sheet_headers(tmp_path / "l.xlsx", "schools")
    assert main(["template", "--out", str(tmp_path / "x.xlsx"), "--rules", "nowhere"]) == 2
    assert "找不到规则集“nowhere”" in capsys.readouterr().err and not (tmp_path / "x.xlsx").exists()


def test_filled_local_template_reads_back_and_cells_are_validated(tmp_path: Path) -> None:
    rules = load_ruleset("luoding-2019")
    path = write_template(tmp_path / "t.xlsx", rules)
    wb = openpyxl.load_workbook(path)
    ws = wb["schools"]
    headers = [c.value for c in ws[1]]
    example = {h: c.value for h, c in zip(headers, ws[2], strict=True)}
    ws.append([example[h] if h != "学校代码" else "A1" for h in headers])
    col = headers.index("完成年度72学时培训的专任教师数（小学）") + 1
    ws.cell(row=3, column=col).value = "七十"
    wb.save(path)
    with pytest.raises(InputError) as exc:
        read_workbook(path, rules)
    assert (exc.value.sheet, exc.value.row) == ("schools", 3)
    assert exc.value.column.startswith("teachers_72h_primary（完成年度72学时培训的专任教师数（小学）")
    assert "不是数值" in exc.value.reason


def test_local_county_key_is_unknown_without_its_ruleset_and_typed_with_it(tmp_path: Path) -> None:
    frames = {"schools": pd.DataFrame(luoding_schools()), "county": luoding_county()}
    path = write_workbook(tmp_path / "d", frames, rules=load_ruleset("luoding-2019"))
    with pytest.raises(InputError) as exc:
        read_workbook(path)  # national reader: the local columns are unknown
    assert exc.value.column == "完成年度72学时培训的专任教师数（小学）" or exc.value.column == "teachers_72h_primary"
    assert "地方指标的字段须选择定义它的规则集" in str(exc.value)
    wb = read_workbook(path, load_ruleset("luoding-2019"))
    assert wb.county["urban_residents"] == 280000 and wb.schools["teachers_72h_primary"].iloc[0] == 60
    county_csv = tmp_path / "d" / "county.csv"
    county_csv.write_text(county_csv.read_text(encoding="utf-8").replace("urban_residents,280000", "urban_residents,2.5"),
                          encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_workbook(path, load_ruleset("luoding-2019"))
    assert exc.value.file == "county.csv" and exc.value.column == "value" and "应为整数" in exc.value.reason


# --------------------------------------------------------------------------- CLI and reports
def test_cli_evaluate_with_dalian_rules_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schools = dalian_schools()
    schools[2]["evaluation_good_primary"] = 1000  # P3: 1000 / 1200 = 83.33% < 90%
    frames = {"schools": pd.DataFrame(schools), "county": county(),
              "classes": pd.DataFrame(classes_for(schools)), "rooms": pd.DataFrame(rooms_for(schools)),
              "rectification": [["L2", "完善综合素质评价，开展学生发展指导", "2026年9月", "教育局"]]}
    data = write_workbook(tmp_path / "data.xlsx", frames, rules=load_ruleset("dalian-2019"))
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(data), "--rules", "dalian-2019", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "L2（未达标）综合素质评价优良率达到90%以上：三小83.33%" in printed
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["rules"] == "dalian-2019" and report["verdict"] == "not_recognized"
    assert [i["code"] for i in report["items"]][: len(ITEM_CODES)] == list(ITEM_CODES)
    l2 = report["items"][-1]
    assert {k: l2[k] for k in ("code", "status", "area")} == {"code": "L2", "status": "fail", "area": "quality"}
    assert set(l2) >= {"code", "title", "status", "detail"}
    assert l2["rectification"] == {"measures": "完善综合素质评价，开展学生发展指导", "deadline": "2026年9月",
                                   "department": "教育局"}  # the rectification sheet takes local codes too
    assert {"school_code": "P3", "what": "综合素质评价优良率（小学）：综合素质评价优良学生数", "amount": 80.0, "unit": "人",
            "school_name": "三小", "item": "L2"} in report["shortfalls"]  # 0.9 × 1200 − 1000 = 80
    assert report["provenance"]["ruleset_sources"] == ["national-2017.yaml", "dalian-2019.yaml"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "地方指标" in html and "L2 综合素质评价优良率达到90%以上" in html and "大高管办发〔2019〕21号" in html
    sheets = openpyxl.load_workbook(out / "report.xlsx").sheetnames
    assert "地方指标" in sheets
    doc = Document(str(out / "report.docx"))
    assert "地方指标" in [p.text.lstrip("一二三四五六七八九十、") for p in doc.paragraphs]
    assert "三小" in {c.text.strip() for t in doc.tables for r in t.rows for c in r.cells}
    # the same workbook without --rules: the local columns are refused, nothing written
    assert main(["evaluate", "--data", str(data), "--out", str(tmp_path / "o2")]) == 2
    assert "地方指标的字段须选择定义它的规则集" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_report_view_lists_local_items_under_their_area_and_in_their_own_section(tmp_path: Path) -> None:
    d = run(tmp_path, "luoding-2019", luoding_schools(), luoding_county(urban_junior_seats=11000)).to_dict()
    view = build_view(d)
    items = next(t for s in view.sections for t in s.tables if t.title == "指标达成情况及整改计划")
    pos = {row[0].text.split(" ")[0]: (i, items.groups[i]) for i, row in enumerate(items.rows)}
    assert pos["L1"][1] == "资源配置" and pos["L1"][0] == pos["1.9"][0] + 1  # right after the national 1.x rows
    assert pos["L2"][1] == "政府保障程度" and pos["L2"][0] == pos["2.15"][0] + 1
    assert items.rows[pos["L1"][0]][1].text == "否"
    local = next(s for s in view.sections if s.title == "地方指标")
    t1, t2 = local.tables
    assert t1.title == "L1 城镇小学、初中学校千人学位数分别不低于80座、40座"
    assert [[c.text for c in r] for r in t1.rows] == [["城镇小学千人学位数", "24000", "280000", "85.71", "≥80.00座", "是"],
                                                     ["城镇初中千人学位数", "11000", "280000", "39.29", "≥40.00座", "否"]]
    assert [c.text for c in t2.rows[0]] == ["一小", "小学", "60", "60", "100.0%", "≥100.0%", "是"]
    assert "罗定市推进义务教育优质均衡发展实施方案" in t2.note
    national = build_view(run(tmp_path / "n", "national-2017", default_schools()).to_dict())
    assert "地方指标" not in [s.title for s in national.sections]


# --------------------------------------------------------------------------- 3.1 cohort length
def test_cohort_years_change_what_3_1_checks(tmp_path: Path) -> None:
    """wusi-2017 asks for the 4-year cohort: figures declared as a 3-year cohort are not judged."""
    three = county(retention_cohort_years=3)
    assert item(run(tmp_path / "a", "national-2017", default_schools(), three), "3.1")["status"] == "pass"
    wrong = item(run(tmp_path / "b", "wusi-2017", default_schools(), three), "3.1")
    assert wrong["status"] == "pending" and wrong["missing"] == ["retention_cohort_years"]
    assert "数据按3年届别统计" in wrong["detail"] and "初中4年巩固率" in wrong["detail"]
    four = item(run(tmp_path / "c", "wusi-2017", default_schools(), county(retention_cohort_years=4)), "3.1")
    assert four["status"] == "pass" and "初中4年巩固率97%" in four["detail"]
    national_four = item(run(tmp_path / "d", "national-2017", default_schools(), county(retention_cohort_years=4)),
                         "3.1")
    assert national_four["status"] == "pending"
    bad = write_workbook(tmp_path / "e", {"schools": pd.DataFrame(default_schools()),
                                          "county": county(retention_cohort_years=5)})
    with pytest.raises(InputError) as exc:
        read_workbook(bad)
    assert exc.value.file == "county.csv" and exc.value.column == "value" and "应为 3 或 4" in exc.value.reason
    path = write_template(tmp_path / "w.xlsx", load_ruleset("wusi-2017"))
    assert _county_rows(path)["retention_entry"].startswith("3.1 该届初一入学人数（巩固率分母）；示例：3000（3.1 该届学生4年前")


def test_junior_school_only_judges_its_junior_stage(tmp_path: Path) -> None:
    schools = [primary("P1", "一小", 1000), junior("J1", "一中", 800)]
    for s in schools:
        for st in ("primary", "junior"):
            s[f"academic_assessed_{st}"] = s[f"students_{st}"] or None  # blank where the stage does not exist
            s[f"academic_passed_{st}"] = round((s[f"students_{st}"] or 0) * 0.97) or None
            s[f"evaluation_assessed_{st}"] = s[f"students_{st}"] or None
            s[f"evaluation_good_{st}"] = round((s[f"students_{st}"] or 0) * 0.93) or None
    report = run(tmp_path, "dalian-2019", schools)
    assert item(report, "L1")["status"] == "pass" and item(report, "L2")["status"] == "pass"
    assert [(r["school_code"], r["stage"]) for r in item(report, "L1")["figures"]["schools"]] == [
        ("P1", "primary"), ("J1", "junior")]


def test_a_new_provincial_variant_needs_no_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rule-set file written by a province (at_most direction), used by path from the command line."""
    rules_file = tmp_path / "test-province-2024.yaml"
    rules_file.write_text(
        "extends: national-2017\nid: test-province-2024\nversion: 1\ntitle: 测试省口径\nsource: 测试省实施办法\n"
        "local_items:\n  L1:\n    kind: school\n    title: 学生近视率小学不高于50%、初中不高于60%\n"
        "    source: 测试省实施办法第五条\n    section: quality\n    label: 近视率\n    numerator: myopic\n"
        "    denominator: students\n    unit: \"%\"\n    thresholds: {primary: 0.5, junior: 0.6}\n"
        "    direction: at_most\n    on_zero_denominator: fail\n"
        "    fields:\n      myopic: {zh: 近视学生数, type: count, unit: 人, note: 视力筛查近视学生数}\n",
        encoding="utf-8")
    assert main(["template", "--out", str(tmp_path / "t.xlsx"), "--rules", str(rules_file)]) == 0
    assert "近视学生数（初中）" in _sheet_headers(tmp_path / "t.xlsx", "schools")
    schools = default_schools()
    for s in schools:
        s["myopic_primary"] = s["students_primary"] // 2 if s["students_primary"] else None  # 50% exactly: passes
        s["myopic_junior"] = s["students_junior"] // 2 if s["students_junior"] else None
    schools[3]["myopic_junior"] = 500  # 一中 500 / 800 = 62.5% > 60%
    frames = {"schools": pd.DataFrame(schools), "county": county()}
    data = write_workbook(tmp_path / "d.xlsx", frames, rules=load_ruleset(rules_file))
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(data), "--rules", str(rules_file), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    l1 = next(i for i in report["items"] if i["code"] == "L1")
    assert l1["status"] == "fail" and l1["problem"] == "一中62.5%，近视率未达到标准（小学≤50%、初中≤60%）。"
    assert [r["met"] for r in l1["figures"]["schools"]] == [True, True, True, False, True]
    assert not [s for s in report["shortfalls"] if s["item"] == "L1"]  # no shortfall for an upper limit
    assert report["verdict"] == "not_recognized" and "L1（未达标）" in capsys.readouterr().out


def test_blanking_any_single_local_cell_never_passes_the_item_or_recognizes(tmp_path: Path) -> None:
    """Missing is missing: every local cell a judged school part needs, blanked alone, makes its item
    pending (never pass) and the county incomplete (never recognized); luoding's county keys too."""
    from evaluator.verdict import evaluate

    for name, schools, county_values, stems in (
            ("dalian-2019", dalian_schools(), county(),
             ("academic_passed", "academic_assessed", "evaluation_good", "evaluation_assessed")),
            ("luoding-2019", luoding_schools(), luoding_county(), ("teachers_72h", "teachers"))):
        rules = load_ruleset(name)
        frames = {"schools": pd.DataFrame(schools), "county": county_values,
                  "classes": pd.DataFrame(classes_for(schools)), "rooms": pd.DataFrame(rooms_for(schools))}
        wb = read_workbook(write_workbook(tmp_path / name, frames, rules=rules), rules)

        def run_with(school_frame: pd.DataFrame, county_map: dict[str, Any], wb: Any = wb, rules: Any = rules) -> Any:
            return evaluate(school_frame, county_map, rules, classes=wb.classes, rooms=wb.rooms,
                            recognition=RECOGNITION_PASS)

        assert run_with(wb.schools, dict(wb.county)).verdict == "recognized"
        blanked = 0
        for i, s in wb.schools.iterrows():
            for stem in stems:
                stage = "primary" if s["students_primary"] > 0 else "junior"
                frame = wb.schools.copy()
                frame.loc[i, f"{stem}_{stage}"] = float("nan")
                report = run_with(frame, dict(wb.county))
                local = [it for it in report.items if it.code.startswith("L") and it.status != "pass"]
                assert [it.status for it in local] == ["pending"], (name, s["school_code"], stem)
                assert s["school_name"] in local[0].missing[0] and f"{stem}_{stage}" in local[0].missing[0]
                assert report.verdict == "incomplete"
                blanked += 1
        for key in (f.key for it in rules.local_items if it.kind == "county" for f in it.fields):
            report = run_with(wb.schools, {**wb.county, key: None})
            assert report.item("L1").status == "pending" and report.verdict == "incomplete", key
            blanked += 1
        assert blanked == {"dalian-2019": 20, "luoding-2019": 13}[name]
