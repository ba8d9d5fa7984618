"""Partial data never gives a pass (issue 8): the six confirmed defects, the cases found by
reading (zero denominators, zero budgets, zero-mean and one-school CVs) and the exact
threshold comparison. Each test failed on the code before the fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evaluator.outcome import at_least, at_most, meets
from evaluator.recognition import RecognitionRules, recognize
from evaluator.rules import load_ruleset
from tests.evaluator.builders import (
    RECOGNITION_PASS,
    classes_for,
    county,
    default_schools,
    junior,
    primary,
    rooms_for,
    run,
)


def nine(code: str = "N", name: str = "九年校") -> dict[str, Any]:
    """A 九年一贯制 school: 600 primary students in 15 classes, 400 junior in 8 (all passing)."""
    row = primary(code, name, 600)
    row.update({"school_type": "九年一贯制", "students_junior": 400, "classes_junior": 8, "teachers_junior": 32,
                "qualified_teachers_junior": 24, "backbone_teachers_junior": 5, "pe_art_teachers_junior": 4,
                "teaching_area": 3000 + 2800, "sports_area": 10_000, "equipment_value": 1_500_000 + 1_200_000,
                "multimedia_rooms": 15 + 12, "public_funds": 720 * 600 + 940 * 400,
                "public_funds_budget": 720 * 600 + 940 * 400, "training_funds": 0.06 * (720 * 600 + 940 * 400)})
    return row


def _schools() -> list[dict[str, Any]]:
    return default_schools() + [nine()]


def _rooms(schools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """rooms_for, plus the third room of each kind 九年校 needs: ceil(15/12) + ceil(8/12) = 3."""
    return rooms_for(schools) + [{"school_code": "N", "room_type": t, "area": 100} for t in ("音乐", "美术")]


def test_nine_year_school_reference_county_is_recognized(tmp_path: Path) -> None:
    schools = _schools()
    report = run(tmp_path, schools, rooms=_rooms(schools), recognition=RECOGNITION_PASS)
    assert report.verdict == "recognized", report.reasons


def test_split_school_rooms_whole_school_or_per_part(tmp_path: Path) -> None:
    """national-2017: split_schools: whole_school, ceil(23/12) = 2; per_part: 2 + 1 = 3."""
    schools = _schools()
    assert load_ruleset().policy.rooms_split == "whole_school"
    assert run(tmp_path / "a", schools).item("2.3").status == "pass"  # rooms_for: 2 of each kind
    (tmp_path / "national-2017.yaml").write_bytes(Path(load_ruleset().path).read_bytes())
    variant = tmp_path / "parts.yaml"
    variant.write_text("extends: national-2017\nid: parts\nassurance:\n  music_art_rooms:\n"
                       "    split_schools: per_part\n", encoding="utf-8")
    report = run(tmp_path / "b", schools, rules=str(variant))
    assert report.item("2.3").status == "fail"
    assert [(s.school_name, s.what, s.amount) for s in report.shortfalls if s.item == "2.3"] == [
        ("九年校", "音乐专用教室", 1.0), ("九年校", "美术专用教室", 1.0)]


# --- defect 1: a stage of a 九年一贯制 school without class rows -----------------------------
def test_nine_year_school_without_its_primary_classes_is_pending(tmp_path: Path) -> None:
    schools = _schools()
    classes = [c for c in classes_for(schools) if not (c["school_code"] == "N" and c["stage"] == "小学")]
    report = run(tmp_path, schools, classes=classes, rooms=_rooms(schools), recognition=RECOGNITION_PASS)
    item = report.item("2.5")
    assert item.status == "pending"
    assert any("九年校" in m and "小学" in m for m in item.missing), item.missing
    assert report.verdict == "incomplete"


# --- defect 2: classes_primary blank and no class rows -----------------------------------------
def test_blank_class_count_without_rows_is_pending(tmp_path: Path) -> None:
    schools = default_schools()
    classes = [c for c in classes_for(schools) if c["school_code"] != "P2"]
    schools[1]["classes_primary"] = None
    report = run(tmp_path, schools, classes=classes, recognition=RECOGNITION_PASS)
    assert report.item("2.5").status == "pending"
    assert any("二小" in m for m in report.item("2.5").missing)
    assert report.verdict == "incomplete"


def test_blank_class_count_with_rows_is_pending_too(tmp_path: Path) -> None:
    """The declared count is what shows the class list is complete."""
    schools = default_schools()
    schools[1]["classes_primary"] = None
    report = run(tmp_path, schools, recognition=RECOGNITION_PASS)
    assert report.item("2.5").status == "pending"
    assert any("二小" in m and "班级数" in m for m in report.item("2.5").missing)


# --- defect 3: rooms sheet with only its header (or the template's example row) ----------------
def test_rooms_sheet_with_only_a_header_is_pending_not_fail(tmp_path: Path) -> None:
    report = run(tmp_path, rooms=[], recognition=RECOGNITION_PASS)
    assert report.item("2.3").status == "pending"
    assert not [s for s in report.shortfalls if s.item == "2.3"]
    assert report.verdict == "incomplete"


def test_rooms_sheet_with_the_untouched_example_row_is_pending(tmp_path: Path) -> None:
    example = [{"school_code": "示例370390001", "room_type": "音乐", "area": 96}]
    report = run(tmp_path, rooms=example)
    assert report.item("2.3").status == "pending"


def test_classes_sheet_with_only_a_header_is_pending(tmp_path: Path) -> None:
    report = run(tmp_path, classes=[])
    assert report.item("2.5").status == "pending"


# --- defect 4: a room of unknown area -----------------------------------------------------------
def test_room_of_unknown_area_is_missing_not_too_small(tmp_path: Path) -> None:
    schools = default_schools()
    rooms = rooms_for(schools)
    first = next(r for r in rooms if r["school_code"] == "P1" and r["room_type"] == "音乐")
    first["area"] = None
    report = run(tmp_path, schools, rooms=rooms, recognition=RECOGNITION_PASS)
    item = report.item("2.3")
    assert item.status == "pending", item.detail
    assert any("一小" in m and "面积" in m for m in item.missing)
    assert not [s for s in report.shortfalls if s.item == "2.3"]
    assert "面积不足" not in item.detail


def test_unknown_area_cannot_hide_a_certain_shortfall(tmp_path: Path) -> None:
    schools = default_schools()  # 一小 needs 2 music rooms
    rooms = [r for r in rooms_for(schools) if not (r["school_code"] == "P1" and r["room_type"] == "音乐")]
    rooms += [{"school_code": "P1", "room_type": "音乐", "area": None}]
    report = run(tmp_path, schools, rooms=rooms)
    assert report.item("2.3").status == "fail"
    assert [(s.school_name, s.amount) for s in report.shortfalls if s.item == "2.3"] == [("一小", 1.0)]


def test_room_of_unknown_type_is_missing(tmp_path: Path) -> None:
    schools = default_schools()
    rooms = rooms_for(schools)
    next(r for r in rooms if r["school_code"] == "P2")["room_type"] = None
    report = run(tmp_path, schools, rooms=rooms)
    assert report.item("2.3").status == "pending"
    assert any("二小" in m for m in report.item("2.3").missing)


# --- defect 5: 2.6 with unknown enrolment or locality -------------------------------------------
def test_small_school_of_unknown_locality_is_pending(tmp_path: Path) -> None:
    small = primary("V", "村小", 60, locality=None, public_funds=60 * 720)
    report = run(tmp_path, default_schools() + [small], recognition=RECOGNITION_PASS)
    item = report.item("2.6")
    assert item.status == "pending", item.detail
    assert any("村小" in m and "城乡类别" in m for m in item.missing)
    assert report.verdict == "incomplete"


def test_teaching_point_of_unknown_enrolment_is_pending(tmp_path: Path) -> None:
    tp = {**primary("TP", "教学点", 60), "school_type": "教学点", "locality": "乡村", "students_primary": None,
          "public_funds": 60 * 720}
    report = run(tmp_path, default_schools() + [tp])
    assert report.item("2.6").status == "pending"
    assert any("教学点" in m and "在校生数" in m for m in report.item("2.6").missing)


def test_large_school_of_unknown_locality_does_not_matter_for_2_6(tmp_path: Path) -> None:
    schools = default_schools()
    schools[0]["locality"] = None  # 1000 students: not under the floor whatever its locality
    assert run(tmp_path, schools).item("2.6").status == "n/a"


# --- defect 6: one threshold comparison everywhere ----------------------------------------------
def test_meets_uses_the_tolerance_of_at_least() -> None:
    assert 0.85 * 0.4 + 0.85 * 0.2 + 0.85 * 0.15 + 0.85 * 0.05 * 3 + 0.85 * 0.1 < 0.85  # the float trap
    assert meets(0.8499999999999999, 0.85, "at_least") and at_least(0.8499999999999999, 0.85)
    assert meets(0.5000000000000001, 0.5, "at_most") and at_most(0.5000000000000001, 0.5)
    assert not meets(0.15, 0.15, "below") and not meets(0.15000000000000002, 0.15, "below")
    assert meets(0.1499, 0.15, "below")
    assert not meets(0.849, 0.85, "at_least")


def test_every_group_at_exactly_17_of_20_passes_social_recognition() -> None:
    rules = RecognitionRules.from_ruleset(load_ruleset())
    rows = []
    for group in ("parent", "student", "teacher", "principal"):
        for school in ("A", "B"):
            rows += [{"group": group, "school_code": school, "duration_seconds": 300, "q1": "满意"}] * 17
            rows += [{"group": group, "school_code": school, "duration_seconds": 300, "q1": "不满意"}] * 3
    for group in ("npc_deputy", "cppcc_member", "public"):
        rows += [{"group": group, "school_code": "", "duration_seconds": 300, "q1": "满意"}] * 17
        rows += [{"group": group, "school_code": "", "duration_seconds": 300, "q1": "不满意"}] * 3
    frame = pd.DataFrame({"school_code": ["A", "B"], "students": [400, 400], "teachers": [40, 40]})
    res = recognize(pd.DataFrame(rows), frame, rules)
    assert res.score == pytest.approx(0.85, abs=1e-12) and res.score < 0.85  # the float sum
    assert res.status == "pass" and res.dont_know_as_no_status == "pass"
    assert res.borderline  # the CI contains 0.85


def test_ratio_exactly_at_the_threshold_passes(tmp_path: Path) -> None:
    # 17/20 = 0.85 ≥ 0.85 (hs quota share has minimum 0.50: 0.5 exactly)
    report = run(tmp_path, county_values=county(hs_quota_allocated=500, hs_quota_total=1000))
    assert report.item("2.14").status == "pass"


# --- also found by reading: zero denominators, zero budgets, CV corner cases --------------------
@pytest.mark.parametrize(("values", "code"), [
    ({"civil_servant_avg_salary": 0}, "2.8"),
    ({"certified_teachers": 0, "full_time_teachers": 0}, "2.12"),
    ({"teachers_360h_completed": 0, "teachers_360h_in_scope": 0}, "2.9"),
    ({"rotated_teachers": 0, "rotation_eligible_teachers": 0, "rotated_backbone_teachers": 0}, "2.11"),
    ({"zone_admitted_primary": 0, "admitted_primary": 0}, "2.13"),
    ({"hs_quota_allocated": 0, "hs_quota_total": 0}, "2.14"),
    ({"migrant_in_public_or_purchased": 0, "migrant_eligible": 0}, "2.15"),
    ({"retention_final": 0, "retention_entry": 0}, "3.1"),
    ({"disabled_enrolled": 0, "disabled_school_age": 0}, "3.2"),
])
def test_zero_denominator_is_pending_with_a_chinese_reason(tmp_path: Path, values: dict[str, Any],
                                                           code: str) -> None:
    report = run(tmp_path, county_values=county(**values), recognition=RECOGNITION_PASS)
    item = report.item(code)
    assert item.status == "pending", item.detail
    assert "为0" in item.detail and item.missing
    assert report.verdict == "incomplete"


def test_special_education_without_students_is_not_applicable_by_rule(tmp_path: Path) -> None:
    """The template says 无特殊教育学校填0: the rule-set states this one as n/a."""
    rules = load_ruleset()
    assert rules.policy.zero_denominator["special_ed_students"] == "n/a"
    assert run(tmp_path, county_values=county(special_ed_students=0)).item("2.7").status == "n/a"


def test_zero_denominator_policy_fail_is_honoured(tmp_path: Path) -> None:
    text = (Path(load_ruleset().path).read_text(encoding="utf-8")
            .replace("id: national-2017", "id: strict"))
    path = tmp_path / "strict.yaml"
    path.write_text(text + "\npolicy_override_marker: 1\n", encoding="utf-8")
    data = path.read_text(encoding="utf-8").replace("civil_servant_avg_salary: pending",
                                                    "civil_servant_avg_salary: fail")
    path.write_text(data.replace("\npolicy_override_marker: 1\n", "\n"), encoding="utf-8")
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import read_workbook
    from tests.evaluator.builders import write

    wb = read_workbook(write(tmp_path, default_schools(), county(civil_servant_avg_salary=0)))
    item = evaluate_workbook(wb, load_ruleset(path)).item("2.8")
    assert item.status == "fail" and "为0" in item.problem


def test_zero_public_funds_budget_is_pending(tmp_path: Path) -> None:
    schools = default_schools()
    schools[2].update(public_funds_budget=0, training_funds=0)
    item = run(tmp_path, schools).item("3.4")
    assert item.status == "pending"
    assert any("三小" in m and "公用经费预算" in m for m in item.missing)


def test_zero_mean_cv_blocks(tmp_path: Path) -> None:
    schools = [primary(c, n, s, backbone_teachers_primary=0) for c, n, s in
               (("P1", "一小", 1000), ("P2", "二小", 600), ("P3", "三小", 1200))] + default_schools()[3:]
    report = run(tmp_path, schools)
    assert report.resources.cv["primary"]["backbone_teachers"] is None
    assert report.item("1.9").status in ("pending", "fail")
    assert "平均值为0" in report.item("1.9").detail


def test_one_school_cv_is_pending_by_rule(tmp_path: Path) -> None:
    schools = default_schools()[:3] + [junior("J1", "一中", 800)]
    report = run(tmp_path, schools, recognition=RECOGNITION_PASS)
    assert report.resources.cv["junior"]["qualified_teachers"] is None
    item = report.item("1.9")
    assert item.status == "pending" and "仅1所" in item.detail
    assert report.verdict == "incomplete"


def test_one_school_cv_policy_can_be_not_applicable(tmp_path: Path) -> None:
    rules = load_ruleset()
    relaxed = dataclasses.replace(rules, policy=dataclasses.replace(rules.policy, cv_too_few_schools="n/a"))
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import read_workbook
    from tests.evaluator.builders import write

    schools = default_schools()[:3] + [junior("J1", "一中", 800)]
    report = evaluate_workbook(read_workbook(write(tmp_path, schools)), relaxed, RECOGNITION_PASS)
    assert report.item("1.9").status == "pass" and report.verdict == "recognized"


# --- relaxations never hold on missing data ---------------------------------------------------
def test_relaxation_condition_on_missing_classes_does_not_hold() -> None:
    from evaluator.rules import matching_relaxation

    rel = load_ruleset("national-2019").assurance.room_relaxations
    school = {"school_type": "小学", "locality": "乡村", "classes_primary": float("nan"), "classes_junior": 0.0,
              "students_primary": 100.0, "students_junior": 0.0}
    assert [r.note for r in matching_relaxation(rel, school)] == []
    school["classes_primary"] = 6.0
    assert len(matching_relaxation(rel, school)) == 1


# --- item 5 from a recognition object -------------------------------------------------------
def test_item_5_judges_the_score_with_the_one_comparison(tmp_path: Path) -> None:
    rec = {**RECOGNITION_PASS, "score": 0.8499999999999999, "status": "fail"}  # an old, float-trapped result
    report = run(tmp_path, recognition=rec)
    assert report.item("5").status == "pass" and report.verdict == "recognized"


def test_item_5_without_a_score_is_pending(tmp_path: Path) -> None:
    rec = {k: v for k, v in RECOGNITION_PASS.items() if k != "score"}
    item = run(tmp_path, recognition=rec).item("5")
    assert item.status == "pending" and item.missing == ("社会认可度得分",)
