"""Small hand-made counties for evaluator tests.

Every default figure is chosen by hand so that it passes with a visible margin; tests
change one figure and state the expected outcome computed by hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from evaluator.rules import load_ruleset
from evaluator.verdict import EvaluationReport, evaluate_workbook
from evaluator.workbook import read_workbook, write_workbook


def primary(code: str, name: str, students: int = 1000, **kw: Any) -> dict[str, Any]:
    """A 小学: per 100 students 5.0 qualified, 1.5 backbone, 1.2 体艺 teachers; 5.0 m²
    teaching, 8.0 m² sports, 2500 元, 2.5 multimedia rooms; 24 classes."""
    s = students / 1000
    row = {"school_code": code, "school_name": name, "school_type": "小学", "locality": "城区",
           "students_primary": students, "students_junior": 0, "students_senior": 0,
           "classes_primary": max(1, math.ceil(students / 42)), "classes_junior": 0,
           "teachers_primary": round(60 * s), "teachers_junior": 0,
           "qualified_teachers_primary": round(50 * s), "qualified_teachers_junior": 0,
           "backbone_teachers_primary": round(15 * s), "backbone_teachers_junior": 0,
           "pe_art_teachers_primary": round(12 * s), "pe_art_teachers_junior": 0,
           "teaching_area": 5000 * s, "sports_area": 8000 * s, "equipment_value": 2_500_000 * s,
           "multimedia_rooms": round(25 * s), "public_funds": 720 * students, "public_funds_budget": 720 * students,
           "training_funds": 0.06 * 720 * students, "has_charter_and_ict": True, "moral_education_rating": "良好",
           "curriculum_complete": True}
    row.update(kw)
    return row


def junior(code: str, name: str, students: int = 800, **kw: Any) -> dict[str, Any]:
    """An 初中: per 100 students 6.0 qualified, 1.25 backbone, 1.0 体艺; 7.0 m² teaching,
    11.25 m² sports, 3000 元, 3.0 rooms; 50-student classes (exactly at the cap)."""
    s = students / 800
    row = {"school_code": code, "school_name": name, "school_type": "初中", "locality": "镇区",
           "students_primary": 0, "students_junior": students, "students_senior": 0,
           "classes_primary": 0, "classes_junior": max(1, math.ceil(students / 50)),
           "teachers_primary": 0, "teachers_junior": round(64 * s),
           "qualified_teachers_primary": 0, "qualified_teachers_junior": round(48 * s),
           "backbone_teachers_primary": 0, "backbone_teachers_junior": round(10 * s),
           "pe_art_teachers_primary": 0, "pe_art_teachers_junior": round(8 * s),
           "teaching_area": 5600 * s, "sports_area": 9000 * s, "equipment_value": 2_400_000 * s,
           "multimedia_rooms": round(24 * s), "public_funds": 940 * students, "public_funds_budget": 940 * students,
           "training_funds": 0.06 * 940 * students, "has_charter_and_ict": True, "moral_education_rating": "优秀",
           "curriculum_complete": True}
    row.update(kw)
    return row


def county(**kw: Any) -> dict[str, Any]:
    """A county whose every county item passes."""
    c: dict[str, Any] = {
        "county_code": "370391", "county_name": "测试区", "province": "山东省",
        "basic_balanced_year": 2015, "assessment_year": 2023,
        "layout_plan_ok": True, "four_unified_construction": True, "four_unified_staffing": True,
        "four_unified_funding": True, "four_unified_equipment": True,
        "public_funds_base_primary": 720, "public_funds_base_junior": 940,
        "special_ed_public_funds": 600000, "special_ed_students": 80,
        "teacher_avg_salary": 110000, "civil_servant_avg_salary": 108000, "performance_pay_ok": True,
        "teachers_360h_completed": 500, "teachers_360h_in_scope": 500, "staffing_allocated_by_county": True,
        "rotated_teachers": 60, "rotation_eligible_teachers": 500, "rotated_backbone_teachers": 15,
        "certified_teachers": 400, "full_time_teachers": 400,
        "zone_admitted_primary": 900, "admitted_primary": 900, "zone_admitted_junior": 760, "admitted_junior": 800,
        "hs_quota_allocated": 600, "hs_quota_total": 1000, "hs_quota_rural_tilt": True,
        "left_behind_care_ok": True, "migrant_in_public_or_purchased": 90, "migrant_eligible": 100,
        "retention_final": 970, "retention_entry": 1000, "disabled_enrolled": 96, "disabled_school_age": 100,
        "ict_teaching_ok": True, "no_excess_burden": True, "monitoring_status": "已抽测",
        "monitoring_math_level": "Ⅲ", "monitoring_math_diff": 0.12,
        "monitoring_chinese_level": "Ⅳ", "monitoring_chinese_diff": 0.10,
        "veto_exam_admission": False, "veto_school_choice": False, "veto_key_schools": False,
        "veto_unfilled_posts": False, "veto_major_incident": False, "veto_fraud": False,
    }
    c.update(kw)
    return c


def classes_for(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evenly filled real classes for each school (sizes differ by at most one)."""
    out = []
    for r in rows:
        for stage, zh in (("primary", "小学"), ("junior", "初中")):
            n, st = int(r[f"classes_{stage}"] or 0), int(r[f"students_{stage}"] or 0)
            for k in range(n):
                out.append({"school_code": r["school_code"], "stage": zh, "grade": 1 + k % 6 + (6 if stage == "junior" else 0),
                            "students": st // n + (1 if k < st % n else 0)})
    return out


def rooms_for(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exactly ceil(classes / 12) music (100 m²) and art (95 m²) rooms per school."""
    out = []
    for r in rows:
        need = math.ceil(((r["classes_primary"] or 0) + (r["classes_junior"] or 0)) / 12)
        for _ in range(need):
            out.append({"school_code": r["school_code"], "room_type": "音乐", "area": 100})
            out.append({"school_code": r["school_code"], "room_type": "美术", "area": 95})
    return out


def default_schools() -> list[dict[str, Any]]:
    return [primary("P1", "一小", 1000), primary("P2", "二小", 600), primary("P3", "三小", 1200),
            junior("J1", "一中", 800), junior("J2", "二中", 1000)]


def write(tmp: Path, schools: list[dict[str, Any]], county_values: dict[str, Any] | None = None, *,
          classes: list[dict[str, Any]] | None = None, rooms: list[dict[str, Any]] | None = None,
          with_classes: bool = True, with_rooms: bool = True, xlsx: bool = False) -> Path:
    frames: dict[str, Any] = {"schools": pd.DataFrame(schools), "county": county_values or county()}
    if with_classes:
        frames["classes"] = pd.DataFrame(classes if classes is not None else classes_for(schools))
    if with_rooms:
        frames["rooms"] = pd.DataFrame(rooms if rooms is not None else rooms_for(schools))
    return write_workbook(tmp / ("data.xlsx" if xlsx else "data"), frames)


def run(tmp: Path, schools: list[dict[str, Any]] | None = None, county_values: dict[str, Any] | None = None, *,
        rules: str = "national-2017", recognition: dict[str, Any] | None = None, **kw: Any) -> EvaluationReport:
    path = write(tmp, schools if schools is not None else default_schools(), county_values, **kw)
    return evaluate_workbook(read_workbook(path), load_ruleset(rules), recognition)


RECOGNITION_PASS = {"score": 0.9012, "ci": [0.88, 0.92], "se": 0.01, "df": 40, "n_kept": 600, "n_dropped": 5,
                    "status": "pass", "borderline": False, "groups": {}, "dont_know_as_no": 0.87}
