"""Resource indicators, 1.8 and 1.9 against hand computations and docs/rules.md's worked example."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.indicators import evaluate_resources, school_parts, weighted_cv
from evaluator.rules import load_ruleset
from tests.evaluator.builders import default_schools, junior, primary, run

RULES = load_ruleset("national-2017")
# docs/rules.md §2 worked example: 5 primary schools, students and books.
STUDENTS = [45, 37, 89, 76, 55]
BOOKS = [279, 137, 935, 160, 402]


def test_worked_example_weighted_cv_is_0_515_and_the_unweighted_one_would_be_0_489() -> None:
    x = np.array(BOOKS) / np.array(STUDENTS)
    assert round(weighted_cv(x, STUDENTS), 3) == 0.515
    assert weighted_cv(x, STUDENTS) > RULES.resources.cv_limits["primary"]  # fails ≤ 0.50
    assert round(float(x.std() / x.mean()), 3) == 0.489  # what an unweighted tool would report


def test_worked_example_fails_item_1_9_through_the_whole_pipeline(tmp_path: Path) -> None:
    # Books stand in for equipment value: five primary schools whose 生均 values are the example's.
    schools = [primary(f"P{i}", f"校{i}", n, equipment_value=b * 1000.0, classes_primary=2,
                       teachers_primary=6, qualified_teachers_primary=3, backbone_teachers_primary=1,
                       pe_art_teachers_primary=1, multimedia_rooms=3, teaching_area=n * 5, sports_area=n * 8)
               for i, (n, b) in enumerate(zip(STUDENTS, BOOKS, strict=True))]
    schools.append(junior("J1", "一中"))
    schools.append(junior("J2", "二中", 900))
    report = run(tmp_path, schools)
    cv = report.resources.cv["primary"]["equipment_value"]
    assert cv is not None and abs(cv - 0.5152566298844764) < 1e-12
    item = report.item("1.9")
    assert item.status == "fail" and "0.515" in item.problem and "超过0.5" in item.problem


def test_cv_exactly_at_the_limit_passes_and_just_above_fails(tmp_path: Path) -> None:
    # Two equal-size schools with values 3000 and 1000: mean 2000, S = 1000, CV = 0.5 exactly.
    base = default_schools()[3:]
    at = [primary("A", "甲", 1000, equipment_value=3_000_000), primary("B", "乙", 1000, equipment_value=1_000_000)]
    assert run(tmp_path / "a", at + base).resources.cv["primary"]["equipment_value"] == 0.5
    assert run(tmp_path / "a2", at + base).item("1.9").status == "pass"
    above = [at[0], primary("B", "乙", 1000, equipment_value=990_000)]
    assert run(tmp_path / "b", above + base).item("1.9").status == "fail"


def test_split_school_hand_computed(tmp_path: Path) -> None:
    """九年一贯制 with 1000 primary and 600 junior students; coefficients 1 : 1.1 give
    shares 1000/1660 and 660/1660 of the whole-school quantities."""
    school = {**primary("S1", "实验学校", 1000), "school_type": "九年一贯制", "students_junior": 600,
              "classes_junior": 12, "teachers_primary": 60, "teachers_junior": 45,
              "qualified_teachers_primary": 50, "qualified_teachers_junior": 33,
              "backbone_teachers_primary": 12, "backbone_teachers_junior": 7,
              "pe_art_teachers_primary": 10, "pe_art_teachers_junior": 6,
              "teaching_area": 8000, "sports_area": 16000, "equipment_value": 4_000_000, "multimedia_rooms": 40}
    report = run(tmp_path, [school] + default_schools())
    parts = {p.stage: p for p in report.resources.parts if p.school_code == "S1"}
    assert parts["primary"].label == "实验学校（小学部）" and parts["junior"].label == "实验学校（初中部）"
    jp, pp = parts["junior"].indicators, parts["primary"].indicators
    assert jp["teaching_area"].value == pytest.approx(8000 * 660 / 1660 / 600, rel=1e-12)  # 5.3012 < 5.8
    assert pp["teaching_area"].value == pytest.approx(8000 / 1660, rel=1e-12)              # 4.8193 ≥ 4.5
    assert jp["sports_area"].value == pytest.approx(16000 * 1.1 / 1660, rel=1e-12)         # 10.602 ≥ 10.2
    assert jp["multimedia_rooms"].value == pytest.approx(100 * 40 * 1.1 / 1660, rel=1e-12)
    assert jp["qualified_teachers"].value == pytest.approx(5.5) and pp["backbone_teachers"].value == pytest.approx(1.2)
    assert jp["teaching_area"].band == "near" and parts["junior"].met_count == 6
    assert parts["junior"].status == "pass" and parts["primary"].status == "pass"
    sf = [s for s in report.shortfalls if s.school_code == "S1"]
    # 5.8 × 600 − 8000 × 660/1660 = 299.277… m², rounded up to 0.1
    assert [(s.item, s.amount, s.unit) for s in sf] == [("1.4", 299.3, "平方米")]
    # With 7000 m² the junior part falls to 4.6386 m² (79.98% of 5.8) and fails 1.8.
    school["teaching_area"] = 7000
    report = run(tmp_path / "b", [school] + default_schools())
    parts = {p.stage: p for p in report.resources.parts if p.school_code == "S1"}
    assert parts["junior"].status == "fail" and parts["primary"].status == "pass"
    assert parts["primary"].indicators["teaching_area"].band == "near"  # 4.217 < 4.5, 93.7%
    assert report.item("1.8").status == "fail" and "实验学校（初中部）" in report.item("1.8").problem


def test_twelve_year_and_complete_middle_school_parts(tmp_path: Path) -> None:
    twelve = {**primary("T", "十二年校", 1000), "school_type": "十二年一贯制", "students_junior": 500,
              "students_senior": 500, "classes_junior": 10, "teachers_junior": 40, "qualified_teachers_junior": 30,
              "backbone_teachers_junior": 6, "pe_art_teachers_junior": 5, "teaching_area": 10000}
    full = {**junior("W", "完全中学", 800), "school_type": "完全中学", "students_senior": 600, "teaching_area": 9000}
    report = run(tmp_path, [twelve, full] + default_schools())
    parts = {(p.school_code, p.stage): p for p in report.resources.parts}
    assert ("W", "primary") not in parts
    # 十二年: weights 1000, 550, 660 → junior share 550/2210
    assert parts[("T", "junior")].indicators["teaching_area"].value == pytest.approx(10000 * 550 / 2210 / 500)
    # 完全中学: junior:senior = 1 : 1.2 → junior share 800/1520
    assert parts[("W", "junior")].indicators["teaching_area"].value == pytest.approx(9000 * 800 / 1520 / 800)
    assert parts[("W", "junior")].label == "完全中学（初中部）"


@pytest.mark.parametrize(("qualified", "met"), [(42, True), (41, False)])
def test_threshold_boundary_is_inclusive(tmp_path: Path, qualified: int, met: bool) -> None:
    schools = [primary("X", "边界小学", 1000, qualified_teachers_primary=qualified)] + default_schools()
    part = next(p for p in run(tmp_path, schools).resources.parts if p.school_code == "X")
    assert part.indicators["qualified_teachers"].value == pytest.approx(qualified / 10)
    assert part.indicators["qualified_teachers"].met is met


@pytest.mark.parametrize(("area", "status"), [(3825, "pass"), (3824, "fail")])
def test_exactly_85_percent_of_the_threshold_still_passes_1_8(tmp_path: Path, area: int, status: str) -> None:
    # 4.5 m² × 0.85 = 3.825 m² per student; 1000 students.
    schools = [primary("X", "边界小学", 1000, teaching_area=area)] + default_schools()
    part = next(p for p in run(tmp_path, schools).resources.parts if p.school_code == "X")
    assert part.met_count == 6 and part.status == status


def test_six_met_passes_five_met_fails(tmp_path: Path) -> None:
    six = [primary("X", "六项校", 1000, teaching_area=4400)] + default_schools()
    five = [primary("X", "五项校", 1000, teaching_area=4400, sports_area=7400)] + default_schools()
    p6 = next(p for p in run(tmp_path / "6", six).resources.parts if p.school_code == "X")
    p5 = next(p for p in run(tmp_path / "5", five).resources.parts if p.school_code == "X")
    assert (p6.met_count, p6.status) == (6, "pass")
    assert (p5.met_count, p5.status) == (5, "fail") and "仅5项达标，少于6项" in p5.reason


def test_missing_value_is_pending_never_zero(tmp_path: Path) -> None:
    schools = [primary("X", "缺数小学", 1000, sports_area=None)] + default_schools()
    report = run(tmp_path, schools)
    part = next(p for p in report.resources.parts if p.school_code == "X")
    assert part.indicators["sports_area"].value is None and part.indicators["sports_area"].band == "missing"
    assert part.status == "pending" and part.missing == ("sports_area",)
    assert report.item("1.5").status == "pending" and report.item("1.5").missing == ("缺数小学：体育运动场馆面积",)
    assert report.item("1.8").status == "pending"
    assert report.resources.cv["primary"]["sports_area"] is None
    assert "缺数小学" in report.resources.cv_notes["primary"]["sports_area"]
    assert report.item("1.9").status == "pending" and report.verdict == "incomplete"


def test_small_teaching_point_is_excluded_from_1_8_and_1_9(tmp_path: Path) -> None:
    tp = {**primary("TP", "教学点甲", 30, teaching_area=10), "school_type": "教学点", "locality": "乡村"}
    report = run(tmp_path, [tp] + default_schools())
    part = next(p for p in report.resources.parts if p.school_code == "TP")
    assert part.excluded and part.status == "n/a"
    assert report.item("1.8").status == "pass" and report.item("1.4").status == "pass"


def test_single_school_stage_gives_null_cv_with_a_reason(tmp_path: Path) -> None:
    report = run(tmp_path, default_schools()[:4])  # one junior school
    assert all(v is None for v in report.resources.cv["junior"].values())
    assert "仅1所" in report.resources.cv_notes["junior"]["sports_area"]
    # national-2017 resources.cv.too_few_schools: pending (was n/a, which never blocked)
    assert report.item("1.9").status == "pending" and "初中仅1所参评学校" in report.item("1.9").missing[0]


def test_composite_mode_judges_the_mean_of_the_cvs(tmp_path: Path) -> None:
    report = run(tmp_path, rules="composite-2017")
    comp = report.resources.cv_composite["primary"]
    cvs = list(report.resources.cv["primary"].values())
    assert comp == pytest.approx(sum(cvs) / 7)  # type: ignore[arg-type]
    assert report.to_dict()["cv_mode"] == "composite" and "cv_composite" in report.to_dict()


# ----------------------------------------------------------------------------- properties
positive = st.floats(min_value=0.1, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(values=st.lists(positive, min_size=2, max_size=30), data=st.data(),
       scale=st.floats(min_value=1e-3, max_value=1e3))
def test_cv_is_invariant_to_scaling_and_row_order(values: list[float], data: st.DataObject, scale: float) -> None:
    weights = data.draw(st.lists(st.integers(1, 3000), min_size=len(values), max_size=len(values)))
    cv = weighted_cv(values, weights)
    assert math.isclose(weighted_cv([v * scale for v in values], weights), cv, rel_tol=1e-9, abs_tol=1e-12)
    order = data.draw(st.permutations(range(len(values))))
    assert math.isclose(weighted_cv([values[i] for i in order], [weights[i] for i in order]), cv,
                        rel_tol=1e-9, abs_tol=1e-12)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c not in ("school_code", "school_name", "school_type", "locality", "moral_education_rating"):
            df[c] = df[c].astype(object)
    return df


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(factors=st.lists(st.floats(min_value=0.7, max_value=1.3), min_size=7, max_size=7),
       key=st.sampled_from(["qualified_teachers_primary", "backbone_teachers_primary", "pe_art_teachers_primary",
                            "teaching_area", "sports_area", "equipment_value", "multimedia_rooms"]),
       extra=st.floats(min_value=0.0, max_value=5000.0), split=st.booleans())
def test_adding_a_resource_never_turns_a_pass_into_a_fail(factors: list[float], key: str, extra: float,
                                                          split: bool) -> None:
    row = primary("X", "性质校", 1000)
    for k, f in zip(["qualified_teachers_primary", "backbone_teachers_primary", "pe_art_teachers_primary",
                     "teaching_area", "sports_area", "equipment_value", "multimedia_rooms"], factors, strict=True):
        row[k] = row[k] * f
    if split:
        row.update(school_type="九年一贯制", students_junior=500, teachers_junior=40, qualified_teachers_junior=30,
                   backbone_teachers_junior=6, pe_art_teachers_junior=5, classes_junior=10)
    before = {p.stage: p.status for p in school_parts(_frame([row]), RULES)}
    more = dict(row)
    more[key] = row[key] + extra
    after = {p.stage: p.status for p in school_parts(_frame([more]), RULES)}
    for stage, status in before.items():
        if status == "pass":
            assert after[stage] == "pass"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.floats(min_value=0.01, max_value=100.0), key=st.sampled_from(
    ["teaching_area", "sports_area", "equipment_value", "multimedia_rooms"]))
def test_county_cvs_are_invariant_to_scaling_a_resource_everywhere(scale: float, key: str) -> None:
    rows = [{**r, key: r[key] * f} for r, f in zip(default_schools(), [1.0, 1.3, 0.8, 1.1, 0.9], strict=True)]
    base = evaluate_resources(_frame(rows), RULES).cv
    scaled = evaluate_resources(_frame([{**r, key: r[key] * scale} for r in rows]), RULES).cv
    ind = key  # whole-school quantities are their own indicator keys
    for stage in ("primary", "junior"):
        assert base[stage][ind] > 0.05
        assert math.isclose(scaled[stage][ind], base[stage][ind], rel_tol=1e-9)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(range(7)))
def test_whole_evaluation_is_invariant_to_row_order(order: list[int]) -> None:
    from evaluator.verdict import evaluate
    from tests.evaluator.builders import classes_for, county, rooms_for

    rows = default_schools() + [primary("P4", "四小", 900, teaching_area=3900), junior("J3", "三中", 700,
                                                                                      sports_area=6500)]
    shuffled = [rows[i] for i in order]

    def outcome(rs: list[dict[str, object]]) -> tuple[object, ...]:
        rep = evaluate(_frame(rs), county(), RULES, classes=pd.DataFrame(classes_for(rs)),
                       rooms=pd.DataFrame(rooms_for(rs)))
        return (rep.verdict, tuple((i.code, i.status) for i in rep.items),
                sorted((s.school_code, s.item, s.what, s.amount) for s in rep.shortfalls),
                rep.resources.cv)

    a, b = outcome(shuffled), outcome(rows)
    assert a[:3] == b[:3]
    for stage in ("primary", "junior"):
        for k, v in b[3][stage].items():  # type: ignore[index]
            assert math.isclose(a[3][stage][k], v, rel_tol=1e-12)  # type: ignore[index]
