"""Items 2.x, 3.x, 4.x, 5 and the verdict, each against a hand-computed expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_all_passing_county_is_recognized(tmp_path: Path) -> None:
    report = run(tmp_path, recognition=RECOGNITION_PASS)
    assert report.verdict == "recognized" and report.reasons == ()
    assert report.item("2.5").detail.startswith("小学总班级数")  # 初中 classes of exactly 50 pass


def test_rooms_count_only_large_enough_rooms(tmp_path: Path) -> None:
    schools = default_schools()  # 一小: 24 classes → 2 rooms of each kind needed
    rooms = [r for r in rooms_for(schools) if not (r["school_code"] == "P1" and r["room_type"] == "音乐")]
    rooms += [{"school_code": "P1", "room_type": "音乐", "area": 96},   # exactly 96: counts
              {"school_code": "P1", "room_type": "音乐", "area": 95.9}]  # too small
    report = run(tmp_path, schools, rooms=rooms)
    sf = [(s.school_name, s.what, s.amount) for s in report.shortfalls if s.item == "2.3"]
    assert sf == [("一小", "音乐专用教室", 1.0)]
    assert report.item("2.3").problem == "一小等1所学校音乐教室数量不达标，共缺少1间音乐教室。"


def test_2019_relaxation_counts_older_schools_smaller_rooms(tmp_path: Path) -> None:
    schools = default_schools()
    schools[0]["founded_year"] = 1998
    rooms = [r for r in rooms_for(schools) if r["school_code"] != "P1"]
    rooms += [{"school_code": "P1", "room_type": t, "area": a} for t, a in (("音乐", 75), ("音乐", 75),
                                                                           ("美术", 70), ("美术", 70))]
    assert run(tmp_path / "a", schools, rooms=rooms).item("2.3").status == "fail"
    assert run(tmp_path / "b", schools, rooms=rooms, rules="national-2019").item("2.3").status == "pass"


def test_school_size_cap_and_relaxation(tmp_path: Path) -> None:
    big = primary("P9", "大校", 2100)
    report = run(tmp_path / "a", default_schools() + [big])
    assert report.item("2.4").problem == "大校现有2100人，超过2000人。"
    assert [(s.amount, s.unit) for s in report.shortfalls if s.item == "2.4"] == [(100, "人")]
    big["founded_year"] = 2005
    assert run(tmp_path / "b", default_schools() + [big], rules="national-2019").item("2.4").status == "pass"


def test_nine_year_school_cap_is_2500_on_compulsory_students(tmp_path: Path) -> None:
    s = {**primary("N", "九年校", 1500), "school_type": "九年一贯制", "students_junior": 990, "classes_junior": 20,
         "teachers_junior": 70, "qualified_teachers_junior": 55, "backbone_teachers_junior": 10,
         "pe_art_teachers_junior": 10}
    assert run(tmp_path / "a", default_schools() + [s]).item("2.4").status == "pass"   # 2490
    s["students_junior"] = 1001
    assert run(tmp_path / "b", default_schools() + [s]).item("2.4").problem == "九年校现有2501人，超过2500人。"


def test_real_class_sizes_not_averages(tmp_path: Path) -> None:
    schools = default_schools()
    classes = classes_for(schools)
    # Same total students in 二小, but one class of 47 and one of 33: the average (40) would hide it.
    p2 = [c for c in classes if c["school_code"] == "P2"]
    p2[0]["students"] += 7
    p2[1]["students"] -= 7
    report = run(tmp_path, schools, classes=classes)
    assert report.item("2.5").status == "fail"
    assert {(s.what, s.amount) for s in report.shortfalls if s.item == "2.5"} == {("超额班级", 1),
                                                                                 ("超额班级超出班额的学生数", 2)}


def test_missing_sheets_make_items_pending(tmp_path: Path) -> None:
    report = run(tmp_path, with_classes=False, with_rooms=False)
    assert report.item("2.3").status == "pending" and report.item("2.3").missing == ("音乐、美术专用教室明细（rooms 工作表）",)
    assert report.item("2.5").status == "pending" and report.verdict == "incomplete"


def test_small_rural_school_funding_floor(tmp_path: Path) -> None:
    tp = {**primary("TP", "教学点", 60), "school_type": "教学点", "locality": "乡村", "public_funds": 60 * 720}
    report = run(tmp_path, default_schools() + [tp])
    assert report.item("2.6").status == "fail"
    assert [(s.amount, s.unit) for s in report.shortfalls if s.item == "2.6"] == [(40 * 720, "元")]
    tp["public_funds"] = 100 * 720
    assert run(tmp_path / "b", default_schools() + [tp]).item("2.6").status == "pass"


@pytest.mark.parametrize(("key", "value", "code", "status"), [
    ("zone_admitted_junior", 759, "2.13", "fail"),       # 759/800 = 94.875% < 95%
    ("zone_admitted_junior", 760, "2.13", "pass"),       # exactly 95%
    ("rotated_backbone_teachers", 11, "2.11", "fail"),   # 11/60 < 20%
    ("rotated_backbone_teachers", 12, "2.11", "pass"),   # exactly 20%
    ("special_ed_students", 101, "2.7", "fail"),         # 600000/101 < 6000
    ("special_ed_students", 0, "2.7", "n/a"),
    ("teacher_avg_salary", 107999, "2.8", "fail"),
    ("performance_pay_ok", False, "2.8", "fail"),
    ("hs_quota_rural_tilt", None, "2.14", "pending"),
    ("retention_final", 949, "3.1", "fail"),
    ("four_unified_funding", False, "2.2", "fail"),
    ("monitoring_math_diff", 0.15, "3.9", "fail"),       # must be strictly below 0.15
    ("monitoring_math_level", "Ⅱ", "3.9", "fail"),
    ("monitoring_math_level", "4", "3.9", "pass"),
    ("monitoring_status", "未抽测", "3.9", "pending"),
])
def test_county_items(tmp_path: Path, key: str, value: object, code: str, status: str) -> None:
    report = run(tmp_path, county_values=county(**{key: value}))
    assert report.item(code).status == status
    if status == "pending":
        assert report.item(code).missing


def test_veto_polarity(tmp_path: Path) -> None:
    report = run(tmp_path, county_values=county(veto_key_schools=True), recognition=RECOGNITION_PASS)
    assert report.item("4.3").status == "fail" and report.verdict == "not_recognized"
    assert report.item("4.1").status == "pass"  # 否 = practice absent = compliant
    assert report.item("4.3").figures == {"present": True}
    assert run(tmp_path / "b", county_values=county(veto_fraud=None)).item("4.6").status == "pending"


def test_school_items_and_training_funds(tmp_path: Path) -> None:
    schools = default_schools()
    schools[1]["moral_education_rating"] = "合格"
    schools[2]["training_funds"] = 0.04 * schools[2]["public_funds_budget"]
    report = run(tmp_path, schools)
    assert report.item("3.6").status == "fail" and "二小" in report.item("3.6").problem
    assert report.item("3.4").status == "fail"
    sf = [s for s in report.shortfalls if s.item == "3.4"]
    assert [(s.school_name, s.amount) for s in sf] == [("三小", 0.01 * 720 * 1200)]


def test_prerequisite_and_recognition_item(tmp_path: Path) -> None:
    report = run(tmp_path, county_values=county(basic_balanced_year=2021), recognition=RECOGNITION_PASS)
    assert report.prerequisite.status == "fail" and report.verdict == "not_recognized"
    assert report.reasons[0].startswith("前提条件（未达标）")
    failing = {**RECOGNITION_PASS, "score": 0.84, "status": "fail"}
    r2 = run(tmp_path / "b", recognition=failing)
    assert r2.item("5").status == "fail" and "84%" in r2.item("5").problem and r2.verdict == "not_recognized"
    assert run(tmp_path / "c").item("5").status == "pending"


def test_luoding_variant_raises_pe_art_threshold(tmp_path: Path) -> None:
    schools = [primary("P1", "一小", 1000, pe_art_teachers_primary=9)] + default_schools()[1:]
    assert run(tmp_path / "a", schools).item("1.3").status == "pass"        # 0.9 ≥ 0.9
    assert run(tmp_path / "b", schools, rules="luoding-2019").item("1.3").status == "fail"  # 0.9 < 1.0


def test_report_dict_items_have_rectification_when_given(tmp_path: Path) -> None:
    report = run(tmp_path)
    d = report.to_dict()
    assert d["cv_limits"] == {"primary": 0.5, "junior": 0.45}
    assert {s["school_code"] for s in d["schools"]} == {"P1", "P2", "P3", "J1", "J2"}
    assert junior("J", "x")["classes_junior"] == 16


def test_frames_and_the_workbook_read_back_give_the_same_report(tmp_path: Path) -> None:
    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate, evaluate_workbook
    from evaluator.workbook import demo_frames, read_workbook, write_workbook

    frames = demo_frames(seed=5, schools=40)
    rules = load_ruleset()
    direct = evaluate(frames["schools"], frames["county"], rules, classes=frames["classes"], rooms=frames["rooms"])
    read = evaluate_workbook(read_workbook(write_workbook(tmp_path / "d.xlsx", frames)), rules)
    a, b = direct.to_dict(), read.to_dict()
    for d in (a, b):
        d.pop("provenance")
        for item in d["items"]:
            item.pop("rectification", None)
    assert a == b


def test_recognition_result_object_is_accepted(tmp_path: Path) -> None:
    class Result:  # stands in for evaluator.recognition.RecognitionResult
        def to_dict(self) -> dict[str, object]:
            return {**RECOGNITION_PASS, "score": 0.8, "status": "fail"}

    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import read_workbook
    from tests.evaluator.builders import write

    report = evaluate_workbook(read_workbook(write(tmp_path, default_schools())), load_ruleset(), Result())
    assert report.item("5").status == "fail" and report.to_dict()["recognition"]["score"] == 0.8


def test_2019_size_relaxation_for_migrant_share_above_half(tmp_path: Path) -> None:
    big = primary("P9", "随迁子女校", 2300, migrant_students=1151)  # 1151 / 2300 = 50.04% > 50%
    assert run(tmp_path / "a", default_schools() + [big], rules="national-2019").item("2.4").status == "pass"
    big["migrant_students"] = 1150  # exactly 50%: not above
    report = run(tmp_path / "b", default_schools() + [big], rules="national-2019")
    assert report.item("2.4").problem == "随迁子女校现有2300人，超过2000人。"
