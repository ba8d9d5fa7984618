"""Data-entry checks as data (instruments/checks/national-2017.yaml): every cross-field rule,
the county parts, year-over-year and peer flags, and loader errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluator.checks import CHECKS_DIR, check_county, check_school, load_checks, plausibility
from evaluator.errors import InstrumentError

CHECKS = load_checks()


def ok_row(**over):
    """A consistent 九年一贯制 school: passes every rule."""
    row = {"students_primary": 90, "students_junior": 100, "students_senior": 0, "classes_primary": 2,
           "classes_junior": 2, "teachers_primary": 10, "teachers_junior": 12, "qualified_teachers_primary": 9,
           "qualified_teachers_junior": 12, "backbone_teachers_primary": 2, "backbone_teachers_junior": 3,
           "pe_art_teachers_primary": 2, "pe_art_teachers_junior": 2, "public_funds_budget": 100000,
           "training_funds": 6000}
    row.update(over)
    return row


CLASSES = [{"stage": "primary", "grade": 1, "students": 45}, {"stage": "primary", "grade": 2, "students": 45},
           {"stage": "junior", "grade": 7, "students": 50}, {"stage": "junior", "grade": 8, "students": 50}]
ROOMS = [{"room_type": "音乐", "area": 96}, {"room_type": "美术", "area": 90}]


def rules_hit(school_type="九年一贯制", classes=CLASSES, rooms=ROOMS, **over):
    return {(f.rule, f.field) for f in check_school(CHECKS, school_type, ok_row(**over), classes, rooms)}


def test_consistent_school_passes_every_rule():
    assert rules_hit() == set()


@pytest.mark.parametrize("stem,rule", [("qualified_teachers", "qualified_le_teachers"),
                                       ("backbone_teachers", "backbone_le_teachers"),
                                       ("pe_art_teachers", "pe_art_le_teachers")])
@pytest.mark.parametrize("stage", ["primary", "junior"])
def test_teacher_subsets_not_more_than_teachers_of_the_stage(stem, rule, stage):
    teachers = ok_row()[f"teachers_{stage}"]
    assert rules_hit(**{f"{stem}_{stage}": teachers}) == set()  # equal is fine
    assert rules_hit(**{f"{stem}_{stage}": teachers + 1}) == {(rule, f"{stem}_{stage}")}
    finding = check_school(CHECKS, "九年一贯制", ok_row(**{f"{stem}_{stage}": teachers + 1}), CLASSES, ROOMS)[0]
    assert ("小学" if stage == "primary" else "初中") in finding.message and str(teachers + 1) in finding.message


def test_missing_values_do_not_trigger_rules():
    assert rules_hit(teachers_primary=None, qualified_teachers_primary=99) == set()


def test_training_funds_not_more_than_budget():
    assert rules_hit(training_funds=100001) == {("training_le_funds", "training_funds")}


def test_classes_list_must_match_declared_classes_per_stage():
    assert rules_hit(classes_junior=3) == {("classes_list_matches", "classes")}
    assert ("classes_list_matches", "classes") in rules_hit(classes=CLASSES[:3])
    # an empty list with declared classes is a mismatch too: the list is what 2.5 counts
    assert ("classes_list_matches", "classes") in rules_hit(classes=[])


def test_students_in_classes_equal_students_per_stage_within_tolerance():
    # tolerance: max(2, 2 % of the stage's students) = 2 students for 90 primary students
    assert rules_hit(students_primary=92) == set()
    assert rules_hit(students_primary=93) == {("class_students_match", "classes")}
    assert rules_hit(students_primary=87) == {("class_students_match", "classes")}


def test_students_need_classes_and_teachers():
    assert rules_hit(classes_primary=0, classes=CLASSES[2:]) == {("stage_needs_classes_and_teachers",
                                                                    "classes_primary")}
    assert ("stage_needs_classes_and_teachers", "teachers_junior") in rules_hit(
        teachers_junior=0, qualified_teachers_junior=0, backbone_teachers_junior=0, pe_art_teachers_junior=0)


def test_no_students_means_no_classes_or_teachers_of_the_stage():
    hit = rules_hit("小学", classes=[], students_primary=0, classes_primary=0, teachers_primary=3,
                    qualified_teachers_primary=0, backbone_teachers_primary=0, pe_art_teachers_primary=0)
    assert hit == {("no_students_no_classes_or_teachers", "teachers_primary")}


def test_room_areas_plausible():
    assert rules_hit(rooms=[{"room_type": "音乐", "area": 29}]) == {("room_area_plausible", "rooms[0]")}
    assert rules_hit(rooms=[ROOMS[0], {"room_type": "美术", "area": 401}]) == {("room_area_plausible", "rooms[1]")}
    assert rules_hit(rooms=[{"room_type": "音乐", "area": 30}, {"room_type": "美术", "area": 400}]) == set()


def test_nine_year_school_has_both_stages():
    hit = rules_hit(students_junior=0, classes_junior=0, teachers_junior=0, qualified_teachers_junior=0,
                    backbone_teachers_junior=0, pe_art_teachers_junior=0, classes=CLASSES[:2])
    assert hit == {("both_stages", "students_junior")}
    # a 小学 has no junior stage to require
    assert rules_hit("小学", classes=CLASSES[:2], students_junior=0) == set()


def test_complete_middle_school_has_junior_students():
    row = dict(students_primary=0, classes_primary=0, teachers_primary=0, qualified_teachers_primary=0,
               backbone_teachers_primary=0, pe_art_teachers_primary=0, students_junior=0, classes_junior=0,
               teachers_junior=0, qualified_teachers_junior=0, backbone_teachers_junior=0, pe_art_teachers_junior=0)
    assert ("complete_middle_has_junior", "students_junior") in rules_hit("完全中学", classes=[], **row)


def test_county_parts_not_more_than_whole():
    assert check_county(CHECKS, {"rotated_teachers": 10, "rotation_eligible_teachers": 100}) == ()
    (f,) = check_county(CHECKS, {"rotated_teachers": 101, "rotation_eligible_teachers": 100})
    assert f.field == "rotated_teachers" and "101" in f.message
    assert len(CHECKS.county_parts) == 9


def test_year_over_year_flags_beyond_the_factor_with_previous_value():
    prev = {"sports_area": 10000.0, "teaching_area": 5000.0, "teachers_primary": 40}
    assert plausibility(CHECKS, {"sports_area": 15000.0, "teaching_area": 5000 / 1.5, "teachers_primary": 40},
                        prev) == ()  # exactly the factor either way is not flagged
    flags = plausibility(CHECKS, {"sports_area": 30000.0, "teaching_area": 3000.0, "teachers_primary": 0}, prev)
    got = {(f.field, f.previous, f.value) for f in flags}
    assert got == {("sports_area", 10000.0, 30000.0), ("teaching_area", 5000.0, 3000.0),
                   ("teachers_primary", 40, 0)}
    assert all("上一年" in f.message for f in flags)
    assert plausibility(CHECKS, {"sports_area": 30000.0}, None) == ()  # no history, no flag


def test_peer_outliers_by_robust_z_score():
    peers = [{"sports_area": 8.0 * n, "students_primary": n} for n in (100, 200, 300, 400)]
    peers.append({"sports_area": 9.0 * 500, "students_primary": 500})
    peers.append({"sports_area": 7.0 * 600, "students_primary": 600})
    # per-student 8,8,8,8,9,7: median 8, MAD 0 -> no flag possible
    assert plausibility(CHECKS, {"sports_area": 100.0 * 300, "students_primary": 300}, None, peers) == ()
    peers[0]["sports_area"] = 8.5 * 100  # ratios 8.5, 8, 8, 8, 9, 7 -> median 8, MAD 0.25 (by hand)
    # z = |r - 8| / (1.4826 * 0.25): r = 9.29 -> z 3.48 (not flagged), r = 9.31 -> z 3.53 (flagged)
    assert plausibility(CHECKS, {"sports_area": 929.0, "students_primary": 100}, None, peers) == ()
    (flag,) = plausibility(CHECKS, {"sports_area": 931.0, "students_primary": 100}, None, peers)
    assert flag.rule == "peers" and flag.previous == 8.0 and abs(flag.value - 9.31) < 1e-12
    # fewer peers than min_schools: nothing to compare with
    assert plausibility(CHECKS, {"sports_area": 99999.0, "students_primary": 100}, None, peers[:4]) == ()


def _broken(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((CHECKS_DIR / "national-2017.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["rules"][0].update(kind="bigger"), "rules[0].kind"),
    (lambda d: d["rules"][0].update(field="teachers_{stage}_x"), "rules[0].field"),
    (lambda d: d["rules"][1].update(id=d["rules"][0]["id"]), "rules[1].id"),
    (lambda d: d["ranges"].update(nonsense=3), "ranges.nonsense"),
    (lambda d: d["plausibility"]["year_over_year"].update(factor=0.9), "plausibility.year_over_year.factor"),
    (lambda d: d["plausibility"]["peers"].pop("threshold"), "plausibility.peers.threshold"),
    (lambda d: d["evidence"].update(types=["pdf", "html"]), "evidence.types"),
    (lambda d: d["evidence"]["school_items"].update(teaching_area="1.4"), "evidence.school_items.teaching_area"),
    (lambda d: d["county_parts"].append(["rotated_teachers", "nope"]), "county_parts[9]"),
])
def test_loader_errors_name_file_and_field(tmp_path, edit, field):
    with pytest.raises(InstrumentError) as err:
        load_checks(_broken(tmp_path, edit))
    assert "broken.yaml" in str(err.value) and field in str(err.value)


def test_every_checks_file_loads():
    for path in sorted(CHECKS_DIR.glob("*.yaml")):
        assert load_checks(path).rules


def test_complete_on_submit_must_be_a_boolean(tmp_path):
    assert CHECKS.complete_on_submit is True
    with pytest.raises(InstrumentError) as err:
        load_checks(_broken(tmp_path, lambda d: d.update(complete_on_submit="yes")))
    assert "broken.yaml" in str(err.value) and "complete_on_submit" in str(err.value)
