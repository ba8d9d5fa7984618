"""A synthetic city: 8 counties of 鞍山市 with evaluations and roadmaps (seed 001's schedule
shape), plus 2 counties of 大连市 (another city of the same province), built through the
real services (run_evaluation reads real workbooks and a real responses file)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluator.projection import Project
from evaluator.roadmap import Roadmap
from survey.db import db
from survey.instruments import catalogue
from survey.models import County, Evaluation
from survey.overview.services import assign_region, create_region, save_roadmap, set_region_counties
from survey.services.evaluations import run_evaluation
from tests.evaluator.builders import county as county_sheet
from tests.evaluator.builders import default_schools, primary, rooms_for, write
from tests.survey.helpers import make_user

BASE_YEAR = 2025
FIX_P3 = Project("fix", 2027, "extension", "P3", name="三小运动场及音乐教室", music_rooms=1, music_room_area=100,
                 added={"sports_area": 1200 * 2.5})
HALF_P3 = Project("half", 2027, "extension", "P3", name="三小运动场一期", music_rooms=1, music_room_area=100,
                  added={"sports_area": 600})


def responses_csv(path: Path, codes=("P1", "P2", "P3", "J1", "J2")) -> Path:
    """About 90% approval in every group (every 10th answer 不满意)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["group", "school_code", "duration_seconds", "q1", "q2", "q3"])
        k = 0
        for group, n in (("parent", 60), ("student", 30), ("teacher", 20), ("principal", 5),
                         ("npc_deputy", 4), ("cppcc_member", 4), ("public", 10)):
            for i in range(n):
                answers = []
                for _ in range(3):
                    k += 1
                    answers.append("不满意" if k % 10 == 0 else ("满意" if k % 2 else "比较满意"))
                school = codes[i % len(codes)] if group in ("parent", "student", "teacher", "principal") else ""
                w.writerow([group, school, 120, *answers])
    return path


def short_schools():
    """三小 (P3): 5.25 m² sports area per student (fails 1.8) and one music room too few (2.3)."""
    schools = default_schools()
    schools[2] = primary("P3", "三小", 1200, sports_area=1200 * 5.25)
    rooms = rooms_for(schools)
    del rooms[next(i for i, r in enumerate(rooms) if r["school_code"] == "P3" and r["room_type"] == "音乐")]
    return schools, rooms


@dataclass
class City:
    ids: dict[str, int]  # county code -> county id
    evaluations: dict[str, int]  # county code -> latest evaluation id


# code, name, short?, with responses?, plan (target year, projects) or None
ANSHAN = [
    ("210302", "铁东区", False, True, (2026, [])),
    ("210303", "铁西区", True, True, (2027, [FIX_P3])),
    ("210304", "立山区", True, True, (2027, [])),
    ("210311", "千山区", True, True, (2028, [HALF_P3])),
    ("210321", "台安县", True, True, None),
    ("210323", "岫岩满族自治县", True, False, (2028, [FIX_P3])),
    ("210381", "海城市", True, True, (2029, [FIX_P3])),
    ("210390", "鞍山高新区", False, True, (2029, [])),
]
DALIAN = [
    ("210211", "甘井子区", True, True, (2027, [FIX_P3])),
    ("210212", "@旅顺口区", False, True, (2026, [])),
]


_RUNS: dict[tuple[str, int], dict] = {}  # the evaluator's output per county and year, kept for the session


def evaluate_county(tmp: Path, admin, code: str, name: str, short: bool, responses: bool, year: int = BASE_YEAR,
                    schools=None) -> Evaluation:
    """A real run_evaluation the first time; later builds of the city store the same run again
    (same input bytes, same report) instead of recomputing it (saves ~1 s per county per test)."""
    from survey.services.rounds import get_or_create_county

    if (code, year) in _RUNS:
        fields = dict(_RUNS[(code, year)])
        ev = Evaluation(county=get_or_create_county(code, name), created_by=admin, **fields)
        db.session.add(ev)
        db.session.flush()
        return ev
    ev = _run(tmp, admin, code, name, short, responses, year, schools)
    _RUNS[(code, year)] = {k: getattr(ev, k) for k in (
        "ruleset", "rules_sha256", "verdict", "assessment_year", "workbook_name", "workbook_data",
        "workbook_sha256", "responses_name", "responses_data", "responses_sha256", "report")} | {"rectification": {}}
    return ev


def _run(tmp: Path, admin, code: str, name: str, short: bool, responses: bool, year: int, schools) -> Evaluation:
    folder = tmp / f"{code}_{year}"
    folder.mkdir()
    if schools is None:
        schools, rooms = short_schools() if short else (default_schools(), None)
    else:
        rooms = None
    path = write(folder, schools, county_sheet(county_code=code, county_name=name, province="辽宁省",
                                                assessment_year=year), rooms=rooms, xlsx=True)
    resp = responses_csv(folder / "answers.csv") if responses else None
    ev = run_evaluation(user=admin, workbook_name=f"{name}{year}.xlsx", workbook_bytes=path.read_bytes(),
                        ruleset="national-2017", round=None, catalogue=catalogue(),
                        responses_name=resp.name if resp else None, responses_bytes=resp.read_bytes() if resp else None)
    db.session.flush()
    return ev


def build_city(tmp: Path) -> City:
    """Counties, evaluations, roadmaps; regions 辽宁省 ⊃ 鞍山市, 大连市; users:
    admin ``city_admin``, evaluators ``anshan`` (鞍山市), ``dalian`` (大连市), ``liaoning`` (the
    province), staff ``tiedong`` (铁东区 only)."""
    admin = make_user("city_admin", "admin")
    ids, evs = {}, {}
    for code, name, short, responses, plan in ANSHAN + DALIAN:
        ev = evaluate_county(tmp, admin, code, name, short, responses)
        ids[code], evs[code] = ev.county_id, ev.id
        if plan is not None:
            county = db.session.get(County, ev.county_id)
            save_roadmap(county, Roadmap(target_year=plan[0], measures={("2.3", 2026): "三小增建音乐教室"},
                                         projects=tuple(plan[1]), enrolment=pd.DataFrame(
                                             columns=["school_code", "year", "students_primary", "students_junior"])),
                         user=admin, source_name="test")
    # 海城市: the next year's evaluation, with the project still not built (behind plan)
    later = evaluate_county(tmp, admin, "210381", "海城市", True, True, year=2027)
    evs["210381"] = later.id
    province = create_region("21", "辽宁省", "province")
    anshan = create_region("2103", "鞍山市", "city", province)
    dalian = create_region("2102", "大连市", "city", province)
    set_region_counties(anshan, [c[0] for c in ANSHAN])
    set_region_counties(dalian, [c[0] for c in DALIAN])
    db.session.commit()
    for username, region, own in (("anshan", anshan, "210302"), ("dalian", dalian, "210211"),
                                  ("liaoning", province, "210302")):
        make_user(username, "evaluator", (own,))  # an evaluator account has a county; the region adds the rest
        assign_region(region, username)
    make_user("tiedong", "staff", ("210302",))
    db.session.commit()
    return City(ids, evs)

