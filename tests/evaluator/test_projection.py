"""Projection to the target year: each year's figures are the evaluator's own verdict on the
projected workbook — written out, read back and evaluated, the two must agree exactly."""

from __future__ import annotations

import pytest

from evaluator.errors import InputError
from evaluator.projection import Project, indicator_series, moved, project, projected_frames
from evaluator.rules import load_ruleset
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import demo_workbook, read_workbook, write_workbook
from tests.evaluator.builders import RECOGNITION_PASS, default_schools, primary, rooms_for, write

RULES = load_ruleset()


def _short_county(tmp):
    """Default county, but 三小 (P3) has 5.25 m² sports area per student (70 % of 7.5: fails
    1.8) and one music room too few (2.3). Everything else passes."""
    schools = default_schools()
    schools[2] = primary("P3", "三小", 1200, sports_area=1200 * 5.25)
    rooms = rooms_for(schools)
    drop = next(i for i, r in enumerate(rooms) if r["school_code"] == "P3" and r["room_type"] == "音乐")
    del rooms[drop]
    return read_workbook(write(tmp, schools, rooms=rooms))


FIX_P3 = Project("p1", 2026, "extension", "P3", name="三小运动场及音乐教室", music_rooms=1, music_room_area=100,
                 added={"sports_area": 1200 * 2.5})


def test_projection_passes_in_the_year_of_the_project_and_names_it(tmp_path):
    base = _short_county(tmp_path)
    pr = project(base, [FIX_P3], RULES, base_year=2024, target_year=2027, recognition=RECOGNITION_PASS)
    assert [y.verdict for y in pr.years] == ["not_recognized", "not_recognized", "recognized", "recognized"]
    assert pr.verdict_year == 2026
    assert pr.first_pass["1.8"] == 2026 and pr.first_pass["2.3"] == 2026 and pr.first_pass["2.1"] == 2024
    assert pr.depends_on["1.8"] == ("p1",) and pr.depends_on["2.3"] == ("p1",)
    assert pr.remaining() == []
    # what-if: the same project two years later moves the verdict year with it
    later = project(base, moved([FIX_P3], "p1", 2027), RULES, base_year=2024, target_year=2027,
                    recognition=RECOGNITION_PASS, dependencies=False)
    assert later.verdict_year == 2027
    half = Project("p1", 2026, "extension", "P3", music_rooms=1, music_room_area=100, added={"sports_area": 600})
    short = project(base, [half], RULES, base_year=2024, target_year=2027, recognition=RECOGNITION_PASS)
    assert short.verdict_year is None
    assert [r["code"] for r in short.remaining()] == ["1.5", "1.8"]


def test_sports_area_series_reaches_the_threshold(tmp_path):
    base = _short_county(tmp_path)
    pr = project(base, [FIX_P3], RULES, base_year=2025, target_year=2026, recognition=RECOGNITION_PASS)
    series = indicator_series(pr, "sports_area", "primary")
    assert [p.year for p in series] == [2025, 2026]
    assert series[0].minimum == pytest.approx(5.25) and series[1].minimum == pytest.approx(7.75)
    assert series[0].threshold == 7.5
    assert series[1].cv == pr.at(2026).report.resources.cv["primary"]["sports_area"]


def _roundtrip(tmp_path, base, projects, year, enrolment=None):
    frames = projected_frames(base, projects, year, enrolment)
    path = write_workbook(tmp_path / f"projected_{year}.xlsx", frames)
    real = evaluate_workbook(read_workbook(path), RULES, RECOGNITION_PASS).to_dict()
    real.pop("provenance")
    return real


def test_projection_equals_a_real_evaluation_of_the_projected_workbook(tmp_path):
    """A demo county (32 schools: split schools, 教学点, real classes) with a new 九年一贯制 school
    relieving three crowded schools, an extension, a closure and an enrolment projection."""
    import pandas as pd

    base = read_workbook(demo_workbook(tmp_path / "demo.xlsx", seed=1))
    codes = list(base.schools["school_code"])
    projects = [
        Project("ext", 2025, "extension", codes[0], music_rooms=1, music_room_area=100, art_rooms=1,
                art_room_area=95, added={"teaching_area": 400.5, "sports_area": 4000, "classes_primary": 2}),
        Project("new", 2026, "new", "NEW01", school_name="未名山学校", school_type="九年一贯制", locality="城区",
                seats_primary=600, seats_junior=300, transfer_schools=(codes[3], codes[4], codes[10]),
                added={"classes_primary": 18, "classes_junior": 9, "teachers_primary": 40, "teachers_junior": 30,
                       "qualified_teachers_primary": 38, "qualified_teachers_junior": 28,
                       "backbone_teachers_primary": 8, "backbone_teachers_junior": 5,
                       "pe_art_teachers_primary": 7, "pe_art_teachers_junior": 4, "teaching_area": 6000,
                       "sports_area": 12000, "equipment_value": 3e6, "multimedia_rooms": 30},
                music_rooms=3, music_room_area=100, art_rooms=3, art_room_area=95),
        Project("close", 2027, "closure", codes[9], transfer_schools=(codes[8],)),
    ]
    enrolment = pd.DataFrame([{"school_code": codes[11], "year": 2026, "students_primary": None,
                               "students_junior": 700}])
    pr = project(base, projects, RULES, base_year=2024, target_year=2028, enrolment=enrolment,
                 recognition=RECOGNITION_PASS, dependencies=False)
    assert [y.projects for y in pr.years][-1] == ("ext", "new", "close")
    for y in pr.years:
        mine = y.report.to_dict()
        mine.pop("provenance")
        assert mine == _roundtrip(tmp_path, base, projects, y.year, enrolment), y.year
    last = projected_frames(base, projects, 2028, enrolment)
    s = last["schools"].set_index("school_code")
    assert codes[9] not in s.index and "NEW01" in s.index
    assert s.loc[codes[11], "students_junior"] == 700
    # the new school's 900 seats came out of the three schools it relieves
    before = base.schools.set_index("school_code")
    moved_out = sum(before.loc[c, f"students_{st}"] - s.loc[c, f"students_{st}"]
                    for c in (codes[3], codes[4]) for st in ("primary", "junior"))
    moved_out += before.loc[codes[10], "students_junior"] - s.loc[codes[10], "students_junior"]
    assert moved_out == 900
    cls = last["classes"]
    assert cls[cls["school_code"] == "NEW01"]["students"].sum() == 900
    assert len(cls[(cls["school_code"] == "NEW01") & (cls["stage"] == "primary")]) == 18


def test_unknown_school_in_a_project_is_refused(tmp_path):
    base = _short_county(tmp_path)
    bad = Project("x", 2026, "extension", "NOPE", added={"sports_area": 1})
    with pytest.raises(InputError, match="NOPE"):
        project(base, [bad], RULES, base_year=2024, target_year=2026)
    with pytest.raises(InputError, match="目标年份"):
        project(base, [], RULES, base_year=2024, target_year=2020)


def test_tracking_names_items_behind_plan_and_by_how_much(tmp_path):
    """The plan (from the short county) expected 三小 fixed in 2026; the real 2026 data show
    only half the sports ground built and no music room: 1.5/1.8/2.3 are behind plan."""
    from evaluator.projection import track

    base = _short_county(tmp_path)
    planned = project(base, [FIX_P3], RULES, base_year=2025, target_year=2026, recognition=RECOGNITION_PASS,
                      dependencies=False).at(2026).report.to_dict()
    half = Project("p1", 2026, "extension", "P3", added={"sports_area": 600})
    real = project(base, [half], RULES, base_year=2025, target_year=2026, recognition=RECOGNITION_PASS,
                   dependencies=False).at(2026).report.to_dict()
    t = track(2026, planned, real)
    assert [x.code for x in t.behind] == ["1.5", "1.8", "2.3"]
    assert t.ahead == ()
    music = next(s for s in t.shortfalls if s.what == "音乐专用教室")
    assert (music.planned, music.real, music.unit) == (0.0, 1.0, "间")
    text = t.summary()
    assert text.startswith("2026年实际评估与规划预测相比：3项指标落后于计划（1.5")
    assert "音乐专用教室比预测多缺1间" in text
    assert track(2026, planned, planned).summary() == "2026年实际评估与规划预测相比：各项指标均达到或好于规划预测。"


def test_one_year_alone_is_the_same_report(tmp_path):
    from evaluator.projection import project_year

    base = _short_county(tmp_path)
    pr = project(base, [FIX_P3], RULES, base_year=2024, target_year=2027, recognition=RECOGNITION_PASS,
                 dependencies=False)
    for year in (2025, 2026):
        alone = project_year(base, [FIX_P3], RULES, base_year=2024, year=year, recognition=RECOGNITION_PASS)
        assert alone.to_dict() == pr.at(year).report.to_dict()
