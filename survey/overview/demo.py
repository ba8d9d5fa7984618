"""The demo's city and roadmap: a region 演示市 holding the demo county (assigned to the demo
evaluator) and a roadmap whose projects answer the demo evaluation's own shortfalls, so the
overview, the projection and the what-if have something to show. Safe to run twice."""

from __future__ import annotations

import math
from collections import defaultdict

import pandas as pd
from sqlalchemy import select

from evaluator.projection import Project
from evaluator.roadmap import Roadmap
from survey.db import db
from survey.models import County, Evaluation, User
from survey.overview.models import Region
from survey.overview.services import (
    assign_region,
    create_region,
    plan_of,
    save_roadmap,
    set_region_counties,
)

DEMO_REGION = ("3703", "演示市")


def demo_projects(report: dict, year: int) -> tuple[Project, ...]:
    """An extension per school with a shortfall (rooms, areas, extra classes) the year after the
    evaluation, and a new 九年一贯制 school the year after that relieving over-size schools."""
    need: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s in report.get("shortfalls", []):
        need[s["school_code"]][s["what"]] += float(s["amount"])
    names = {row["school_code"]: row.get("school_name") or row["school_code"] for row in report.get("shortfalls", [])}
    projects, crowded = [], []
    for code, what in sorted(need.items()):
        added = {k: math.ceil(what.get(zh, 0) * 1.05) for k, zh in (("teaching_area", "教学及辅助用房面积"),
                                                                     ("sports_area", "体育运动场馆面积"))}
        if what.get("超出规模的学生数"):
            crowded.append(code)
        projects.append(Project(
            key=f"ext-{code}", year=year + 1, kind="extension", school_code=code, name=f"{names[code]}改扩建",
            music_rooms=int(what.get("音乐专用教室", 0)), music_room_area=100.0,
            art_rooms=int(what.get("美术专用教室", 0)), art_room_area=95.0,
            added={k: v for k, v in added.items() if v}))
    if crowded:
        projects.append(Project(
            key="new-school", year=year + 2, kind="new", school_code="DEMO-NEW", name="城北九年一贯制学校",
            school_name="城北学校", school_type="九年一贯制", locality="城区", seats_primary=600, seats_junior=300,
            transfer_schools=tuple(crowded),
            added={"classes_primary": 15, "classes_junior": 7, "teachers_primary": 40, "teachers_junior": 28,
                   "qualified_teachers_primary": 38, "qualified_teachers_junior": 26, "backbone_teachers_primary": 9,
                   "backbone_teachers_junior": 5, "pe_art_teachers_primary": 7, "pe_art_teachers_junior": 4,
                   "teaching_area": 7200.0, "sports_area": 13500.0, "equipment_value": 3_400_000.0,
                   "multimedia_rooms": 26},
            music_rooms=2, music_room_area=100.0, art_rooms=2, art_room_area=95.0))
    return tuple(p for p in projects if p.music_rooms or p.art_rooms or p.added or p.kind == "new")


def load_demo_overview(county: County, admin: User, evaluator: User | None) -> None:
    region = db.session.scalar(select(Region).where(Region.code == DEMO_REGION[0]))
    if region is None:
        region = create_region(DEMO_REGION[0], DEMO_REGION[1], "city")
        set_region_counties(region, [county.code])
    if evaluator is not None and evaluator.role == "evaluator":
        assign_region(region, evaluator.username)
    if plan_of(county) is not None:
        return
    ev = db.session.scalar(select(Evaluation).where(Evaluation.county_id == county.id)
                           .order_by(Evaluation.created_at.desc()).limit(1))
    if ev is None or ev.assessment_year is None:
        return
    year = ev.assessment_year
    roadmap = Roadmap(
        target_year=year + 3,
        measures={("2.3", year + 1): "调整功能用房，新建、改建音乐美术专用教室，确保数量和面积达标。",
                  ("2.4", year + 2): "新建城北九年一贯制学校，分流超规模学校学生。",
                  ("2.5", year + 1): "小学、初中起始年级班额分别不超过45人、50人，逐年消化超额班级。"},
        projects=demo_projects(ev.report, year),
        enrolment=pd.DataFrame(columns=["school_code", "year", "students_primary", "students_junior"]))
    save_roadmap(county, roadmap, user=admin, source_name="演示推进规划")
