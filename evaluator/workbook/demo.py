"""Demo data: a realistic synthetic county (bench/, tests and ``survey demo`` use it)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError


def _split_sizes(rng: np.random.Generator, students: int, n: int, spread: int) -> list[int]:
    """``n`` class sizes summing to ``students``, unevenly (real classes are not averages)."""
    base = np.full(n, students // n, dtype=np.int64)
    base[: students % n] += 1
    for _ in range(n):
        i, j = rng.integers(0, n, size=2)
        k = int(rng.integers(0, spread + 1))
        if i != j and base[j] - k > 5:
            base[i] += k
            base[j] -= k
    return base.tolist()


def demo_frames(seed: int = 0, schools: int = 32) -> dict[str, Any]:
    """A realistic synthetic county: schools, classes, rooms, county and rectification data.

    Mix of 小学, 初中, 九年一贯制, 十二年一贯制, 完全中学 and 教学点 (some under 50 students),
    city/town/rural; most figures pass, a few schools fail space, size, class-size or room
    rules so the report has something to say. Deterministic for a given seed."""
    if schools < 8:
        raise InputError("演示数据至少需要 8 所学校", field="schools")
    rng = np.random.default_rng(seed)
    kinds = (["十二年一贯制"] + ["完全中学"] * max(1, schools // 16) + ["九年一贯制"] * max(2, schools // 8)
             + ["教学点"] * max(2, schools // 10) + ["初中"] * max(2, schools // 5))
    kinds += ["小学"] * (schools - len(kinds))
    kinds = kinds[:schools]
    school_rows, class_rows, room_rows = [], [], []
    for idx, stype in enumerate(kinds):
        code = f"{370300000 + seed * 1000 + idx + 1}"
        rural = stype == "教学点" or (stype == "小学" and rng.random() < 0.35)
        locality = "乡村" if rural else ("城区" if rng.random() < 0.6 else "镇区")
        name = {"小学": "小学", "初中": "中学", "九年一贯制": "学校", "十二年一贯制": "实验学校",
                "完全中学": "中学", "教学点": "教学点"}[stype]
        place = ["城关", "东城", "西城", "南关", "北关", "新华", "育才", "实验", "朝阳", "文昌", "光明", "振兴",
                 "柳林", "石桥", "河口", "王庄", "李村", "马坊", "杨家", "高庄"][idx % 20]
        name = f"{place}{'第' + '一二三四五六七八九十'[idx // 20 % 10] if idx >= 20 else ''}{name}"
        st = {"primary": 0, "junior": 0, "senior": 0}
        if stype == "教学点":
            st["primary"] = int(rng.integers(20, 95))
        elif stype == "小学":
            st["primary"] = int(rng.integers(150, 600) if rural else rng.integers(700, 2300))
        elif stype == "初中":
            st["junior"] = int(rng.integers(500, 2200))
        elif stype == "九年一贯制":
            st["primary"], st["junior"] = int(rng.integers(400, 1400)), int(rng.integers(250, 900))
        elif stype == "十二年一贯制":
            st["primary"], st["junior"], st["senior"] = (int(rng.integers(700, 1300)), int(rng.integers(500, 900)),
                                                         int(rng.integers(400, 800)))
        else:
            st["junior"], st["senior"] = int(rng.integers(700, 1500)), int(rng.integers(500, 1200))
        row: dict[str, Any] = {"school_code": code, "school_name": name, "school_type": stype,
                               "locality": locality, "students_senior": st["senior"]}
        weighted = 0.0
        for stage, per_t, per_cls, cap in (("primary", 17.0, 30 if rural else 42, 45),
                                           ("junior", 12.5, 46, 50)):
            n_st = st[stage]
            row[f"students_{stage}"] = n_st
            if n_st == 0:
                for stem in ("classes", "teachers", "qualified_teachers", "backbone_teachers", "pe_art_teachers"):
                    row[f"{stem}_{stage}"] = 0
                continue
            n_cls = max(1, math.ceil(n_st / per_cls))
            if stype == "教学点":
                n_cls = min(n_cls, 4)
            sizes = _split_sizes(rng, n_st, n_cls, 4 if n_st / n_cls > cap - 6 else 2)
            grades = range(1, 7) if stage == "primary" else range(7, 10)
            for k, size in enumerate(sizes):
                class_rows.append({"school_code": code, "stage": "小学" if stage == "primary" else "初中",
                                   "grade": list(grades)[k % len(grades)], "students": size})
            teachers = max(2, round(n_st / per_t * rng.uniform(0.95, 1.15)))
            row[f"classes_{stage}"] = n_cls
            row[f"teachers_{stage}"] = teachers
            qual_rate = rng.uniform(0.80, 0.97) if stage == "primary" else rng.uniform(0.72, 0.90)
            row[f"qualified_teachers_{stage}"] = min(teachers, round(teachers * qual_rate))
            row[f"backbone_teachers_{stage}"] = min(teachers, max(1, round(n_st * rng.uniform(0.011, 0.02))))
            row[f"pe_art_teachers_{stage}"] = min(teachers, max(1, round(n_st * rng.uniform(0.0095, 0.014))))
            weighted += n_st * (1.0 if stage == "primary" else 1.28)
        weighted += st["senior"] * 1.4
        crowded = locality == "城区" and rng.random() < 0.25
        row["teaching_area"] = round(weighted * rng.uniform(4.2, 4.7) if crowded else weighted * rng.uniform(4.8, 6.5), 1)
        row["sports_area"] = round(weighted * (rng.uniform(6.0, 7.4) if crowded else rng.uniform(8.2, 12.0)), 1)
        row["equipment_value"] = round(weighted * rng.uniform(2150, 3600), -2)
        row["multimedia_rooms"] = max(1, math.ceil(weighted / 100 * rng.uniform(2.45, 3.4)))
        compulsory = st["primary"] + st["junior"]
        base = 720 * st["primary"] + 940 * st["junior"]
        if compulsory < 100 and (stype == "教学点" or locality == "乡村"):
            base = 720 * 100  # funded as if it had 100 students (2.6)
        row["public_funds"] = float(base)
        row["public_funds_budget"] = float(base)
        row["training_funds"] = round(base * (rng.uniform(0.051, 0.08) if rng.random() < 0.98 else 0.04), 0)
        row["has_charter_and_ict"] = True
        row["moral_education_rating"] = "优秀" if rng.random() < 0.4 else "良好"
        row["curriculum_complete"] = True
        row["founded_year"] = int(rng.integers(1950, 2021))
        row["boarding"] = bool(rural and rng.random() < 0.5)
        row["migrant_students"] = int(compulsory * rng.uniform(0.0, 0.3))
        school_rows.append(row)
        classes_total = row["classes_primary"] + row["classes_junior"]
        need = math.ceil(classes_total / 12)
        for rtype, area in (("音乐", 96.0), ("美术", 90.0)):
            have = need - (1 if (crowded or rng.random() < 0.12) and need > 1 else 0)
            for k in range(have):
                small = k == 0 and rng.random() < 0.08
                room_rows.append({"school_code": code, "room_type": rtype,
                                  "area": round(area * (0.8 if small else rng.uniform(1.0, 1.35)), 1)})
    schools_df = pd.DataFrame(school_rows)
    t_primary = int(schools_df["teachers_primary"].sum())
    t_junior = int(schools_df["teachers_junior"].sum())
    teachers = t_primary + t_junior
    county: dict[str, Any] = {
        "county_code": f"{370300 + seed % 100:06d}", "county_name": f"演示县{seed}" if seed else "演示县",
        "province": "山东省", "basic_balanced_year": 2016, "assessment_year": 2024,
        "layout_plan_ok": True, "four_unified_construction": True, "four_unified_staffing": True,
        "four_unified_funding": True, "four_unified_equipment": True,
        "public_funds_base_primary": 720, "public_funds_base_junior": 940,
        "special_ed_public_funds": 86 * 6500, "special_ed_students": 86,
        "teacher_avg_salary": 112000, "civil_servant_avg_salary": 109500, "performance_pay_ok": True,
        "teachers_360h_completed": teachers, "teachers_360h_in_scope": teachers,
        "staffing_allocated_by_county": True,
        "rotated_teachers": math.ceil(teachers * 0.11), "rotation_eligible_teachers": teachers,
        "rotated_backbone_teachers": math.ceil(teachers * 0.11 * 0.25),
        "certified_teachers": teachers, "full_time_teachers": teachers,
        "zone_admitted_primary": 4200, "admitted_primary": 4200, "zone_admitted_junior": 3900,
        "admitted_junior": 4050, "hs_quota_allocated": 1300, "hs_quota_total": 2400, "hs_quota_rural_tilt": True,
        "left_behind_care_ok": True, "migrant_in_public_or_purchased": 1830, "migrant_eligible": 2010,
        "retention_final": 3868, "retention_entry": 4012, "disabled_enrolled": 212, "disabled_school_age": 219,
        "ict_teaching_ok": True, "no_excess_burden": True, "monitoring_status": "已抽测",
        "monitoring_math_level": "Ⅲ", "monitoring_math_diff": 0.11,
        "monitoring_chinese_level": "Ⅳ", "monitoring_chinese_diff": 0.09,
        "monitoring_science_level": "Ⅲ", "monitoring_science_diff": 0.13,
        "veto_exam_admission": False, "veto_school_choice": False, "veto_key_schools": False,
        "veto_unfilled_posts": False, "veto_major_incident": False, "veto_fraud": False,
    }
    rect = [["2.3", "调整功能用房，新建、改建音乐美术专用教室", "2025年9月", "教育局、财政局"],
            ["2.5", "严格控制起始年级班额，逐年消化超额班级", "2026年9月", "教育局"]]
    return {"schools": schools_df, "classes": pd.DataFrame(class_rows), "rooms": pd.DataFrame(room_rows),
            "county": county, "rectification": rect}


def demo_workbook(path: str | Path, seed: int = 0, schools: int = 32) -> Path:
    """Write a realistic demo county workbook (see ``demo_frames``) to ``path`` (.xlsx or a folder)."""
    from evaluator.workbook.write import write_workbook

    return write_workbook(path, demo_frames(seed, schools))
