"""Rule-sets: every national number of docs/rules.md is in the file, variants override it,
and errors name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.errors import InstrumentError
from evaluator.rules import RULES_DIR, available_rulesets, load_ruleset


def test_national_rule_set_holds_the_domain_numbers() -> None:
    r = load_ruleset("national-2017")
    t = {i.key: dict(i.thresholds) for i in r.resources.indicators}
    assert t == {  # docs/rules.md §2 table
        "qualified_teachers": {"primary": 4.2, "junior": 5.3}, "backbone_teachers": {"primary": 1.0, "junior": 1.0},
        "pe_art_teachers": {"primary": 0.9, "junior": 0.9}, "teaching_area": {"primary": 4.5, "junior": 5.8},
        "sports_area": {"primary": 7.5, "junior": 10.2}, "equipment_value": {"primary": 2000, "junior": 2500},
        "multimedia_rooms": {"primary": 2.3, "junior": 2.4}}
    rr, ar, q = r.resources, r.assurance, r.quality
    assert (rr.min_met, rr.min_ratio, rr.cv_mode, dict(rr.cv_limits)) == (6, 0.85, "weighted",
                                                                          {"primary": 0.5, "junior": 0.45})
    assert dict(rr.split["十二年一贯制"]) == {"primary": 1.0, "junior": 1.1, "senior": 1.32}
    assert dict(rr.split["完全中学"]) == {"junior": 1.0, "senior": 1.2}
    assert rr.teaching_point_cutoff == 50
    assert (ar.classes_per_room, dict(ar.room_min_area)) == (12, {"音乐": 96, "美术": 90})
    assert (ar.size_max["小学"], ar.size_max["九年一贯制"], dict(ar.class_max)) == (2000, 2500,
                                                                                {"primary": 45, "junior": 50})
    assert (ar.small_school_floor, ar.special_ed_min, ar.rotation_min, ar.rotation_backbone_min) == (100, 6000, .1, .2)
    assert dict(ar.zone_min) == {"primary": 1.0, "junior": 0.95} and ar.hs_quota_min == 0.5 and ar.migrant_min == 0.85
    assert (q.retention_min, q.retention_years, q.disabled_min, q.training_funds_min) == (0.95, 3, 0.95, 0.05)
    assert (q.monitoring_min_level, q.monitoring_max_diff) == ("Ⅲ", 0.15)
    assert r.section("recognition")["threshold"] == 0.85
    assert [v.key for v in r.veto][0] == "veto_exam_admission" and len(r.veto) == 6


def test_variants_override_only_what_changes() -> None:
    base = load_ruleset("national-2017")
    wusi = load_ruleset("wusi-2017")
    assert wusi.quality.retention_years == 4 and wusi.resources == base.resources
    assert load_ruleset("luoding-2019").resources.indicator("pe_art_teachers").thresholds["primary"] == 1.0
    assert load_ruleset("composite-2017").resources.cv_mode == "composite"
    n19 = load_ruleset("national-2019")
    assert n19.assurance.room_relaxations[0].values["音乐"] == 73
    assert n19.assurance.size_relaxations[0].when["founded_before"] == 2010
    assert [p.name for p in n19.sources] == ["national-2017.yaml", "national-2019.yaml"]
    assert len({load_ruleset(n).sha256 for n in available_rulesets()}) == len(available_rulesets())


def test_load_by_path_and_recognition_section_is_the_merged_mapping(tmp_path: Path) -> None:
    (tmp_path / "national-2017.yaml").write_bytes((RULES_DIR / "national-2017.yaml").read_bytes())
    p = tmp_path / "mine.yaml"
    p.write_text("extends: national-2017\nid: mine\nrecognition:\n  threshold: 0.9\n", encoding="utf-8")
    r = load_ruleset(p)
    assert r.section("recognition")["threshold"] == 0.9
    assert list(r.section("recognition")["approve"]) == ["满意", "比较满意", "基本满意"]


@pytest.mark.parametrize(("patch", "field", "words"), [
    ("resources:\n  indicators:\n    sports_area:\n      thresholds: {primary: abc, junior: 1}\n",
     "resources.indicators.sports_area.thresholds.primary", "应为数值"),
    ("resources:\n  cv:\n    mode: median\n", "resources.cv.mode", "weighted"),
    ("resources:\n  school_rule:\n    min_ratio: 1.5\n", "resources.school_rule.min_ratio", "0 到 1"),
    ("assurance:\n  music_art_rooms:\n    relaxations: [{when: {colour: red}, min_area: {音乐: 1}}]\n",
     "assurance.music_art_rooms.relaxations[0].when.colour", "未知的条件"),
    ("quality:\n  monitoring:\n    min_level: Ⅴ\n", "quality.monitoring.min_level", "levels"),
    ("resources:\n  split:\n    九年一贯制: {primery: 1}\n", "resources.split.九年一贯制.primery", "学段"),
    ("assurance:\n  school_size:\n    relaxations: [{when: {founded_before: 2010}, max_students: {小学校: 1}}]\n",
     "assurance.school_size.relaxations[0].max_students.小学校", "之一"),
    ("recognition: 3\n", "recognition", "键值映射"),
])
def test_errors_name_file_and_field(tmp_path: Path, patch: str, field: str, words: str) -> None:
    (tmp_path / "national-2017.yaml").write_bytes((RULES_DIR / "national-2017.yaml").read_bytes())
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: national-2017\nid: bad\n{patch}", encoding="utf-8")
    with pytest.raises(InstrumentError) as exc:
        load_ruleset(p)
    assert exc.value.file == "bad.yaml" and exc.value.field == field and words in str(exc.value)
    assert str(exc.value).startswith(f"文件 bad.yaml，字段 {field}：")


def test_unknown_name_and_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="找不到规则集“nope”"):
        load_ruleset("nope")
    p = tmp_path / "x.yaml"
    p.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="YAML 格式错误"):
        load_ruleset(p)


def test_numbers_trace_to_the_rule_set_file(tmp_path: Path) -> None:
    """Changing a number in a rule-set file changes the outcome: nothing is hard-coded."""
    from tests.evaluator.builders import run

    (tmp_path / "national-2017.yaml").write_bytes((RULES_DIR / "national-2017.yaml").read_bytes())
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "extends: national-2017\nid: strict\n"
        "assurance:\n  class_size:\n    max_students: {primary: 40}\n"
        "  music_art_rooms:\n    min_area: {音乐: 101}\n"
        "resources:\n  indicators:\n    equipment_value:\n      thresholds: {junior: 3001}\n"
        "quality:\n  retention:\n    min_rate: 0.98\n"
        "prerequisite:\n  basic_balanced_min_years: 9\n", encoding="utf-8")
    base = run(tmp_path / "a")
    assert {c: base.item(c).status for c in ("1.6", "2.3", "2.5", "3.1")} == dict.fromkeys(
        ("1.6", "2.3", "2.5", "3.1"), "pass") and base.prerequisite.status == "pass"
    report = run(tmp_path / "b", rules=str(strict))
    assert {c: report.item(c).status for c in ("1.6", "2.3", "2.5", "3.1")} == dict.fromkeys(
        ("1.6", "2.3", "2.5", "3.1"), "fail")
    assert report.prerequisite.status == "fail" and "上限40人" in report.item("2.5").detail
    assert report.to_dict()["provenance"]["ruleset_sources"] == ["national-2017.yaml", "strict.yaml"]
