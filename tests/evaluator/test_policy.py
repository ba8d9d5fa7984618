"""Rule-set completeness (issue 8, deliverable 2): the partial-data and scope choices, the
confidence level of the labels and the official item titles come from instruments/rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.errors import InstrumentError
from evaluator.policy import APPLIES_TO, DENOMINATORS
from evaluator.rules import RULES_DIR, available_rulesets, load_ruleset
from tests.evaluator.builders import RECOGNITION_PASS, default_schools, primary, run


def test_national_rule_set_states_every_choice() -> None:
    pol = load_ruleset().policy
    assert set(pol.zero_denominator) >= set(DENOMINATORS)
    assert {k for k, v in pol.zero_denominator.items() if v != "pending"} == {"special_ed_students"}
    assert (pol.zero_budget, pol.cv_zero_mean, pol.cv_too_few_schools) == ("pending", "pending", "pending")
    assert set(pol.applies_to) == set(APPLIES_TO)
    assert "教学点" in pol.applies_to["2.3"]  # stated explicitly in national-2017.yaml
    assert pol.rooms_split == "whole_school" and pol.rooms_school_without_rows == "fail"
    assert (pol.village_types, pol.village_localities) == (("小学",), ("乡村",))
    for name in available_rulesets():
        assert load_ruleset(name).policy is not None


@pytest.mark.parametrize(("patch", "field", "words"), [
    ("zero_denominators:\n  civil_servant_avg_salary: pass\n", "zero_denominators.civil_servant_avg_salary", "之一"),
    ("resources:\n  cv:\n    zero_mean: n/a\n", "resources.cv.zero_mean", "pending / fail"),
    ("resources:\n  cv:\n    too_few_schools: maybe\n", "resources.cv.too_few_schools", "之一"),
    ("assurance:\n  music_art_rooms:\n    applies_to_types: [小学, 中学]\n",
     "assurance.music_art_rooms.applies_to_types[1]", "之一"),
    ("assurance:\n  music_art_rooms:\n    split_schools: both\n", "assurance.music_art_rooms.split_schools", "per_part"),
    ("assurance:\n  music_art_rooms:\n    senior_classes: counted\n", "assurance.music_art_rooms.senior_classes",
     "excluded"),
    ("assurance:\n  small_school_funding:\n    village_school: {types: [小学], localities: [农村]}\n",
     "assurance.small_school_funding.village_school.localities[0]", "之一"),
    ("quality:\n  training_funds:\n    zero_budget: n/a\n", "quality.training_funds.zero_budget", "pending / fail"),
    ("quality:\n  curriculum:\n    applies_to_types: []\n", "quality.curriculum.applies_to_types", "非空列表"),
])
def test_policy_errors_name_file_and_field(tmp_path: Path, patch: str, field: str, words: str) -> None:
    (tmp_path / "national-2017.yaml").write_bytes((RULES_DIR / "national-2017.yaml").read_bytes())
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: national-2017\nid: bad\n{patch}", encoding="utf-8")
    with pytest.raises(InstrumentError) as exc:
        load_ruleset(p)
    assert exc.value.file == "bad.yaml" and exc.value.field == field and words in str(exc.value)


def _variant(tmp_path: Path, body: str) -> str:
    (tmp_path / "national-2017.yaml").write_bytes((RULES_DIR / "national-2017.yaml").read_bytes())
    p = tmp_path / "v.yaml"
    p.write_text("extends: national-2017\nid: v\n" + body, encoding="utf-8")
    return str(p)


def test_applies_to_excludes_teaching_points_from_2_3_when_the_rule_set_says_so(tmp_path: Path) -> None:
    tp = {**primary("TP", "教学点", 40), "school_type": "教学点", "locality": "乡村", "public_funds": 100 * 720}
    from tests.evaluator.builders import rooms_for

    rooms = rooms_for(default_schools())  # none for the 教学点
    assert run(tmp_path / "a", default_schools() + [tp], rooms=rooms).item("2.3").status == "fail"
    rules = _variant(tmp_path, "assurance:\n  music_art_rooms:\n    applies_to_types: [小学, 初中, 九年一贯制, "
                               "十二年一贯制, 完全中学]\n")
    assert run(tmp_path / "b", default_schools() + [tp], rooms=rooms, rules=rules).item("2.3").status == "pass"


def test_school_without_room_rows_can_be_pending(tmp_path: Path) -> None:
    from tests.evaluator.builders import rooms_for

    rooms = [r for r in rooms_for(default_schools()) if r["school_code"] != "P2"]
    assert run(tmp_path / "a", rooms=rooms).item("2.3").status == "fail"
    rules = _variant(tmp_path, "assurance:\n  music_art_rooms:\n    school_without_rows: pending\n")
    item = run(tmp_path / "b", rooms=rooms, rules=rules).item("2.3")
    assert item.status == "pending" and any("二小" in m for m in item.missing)


def test_village_school_definition_is_data(tmp_path: Path) -> None:
    small = primary("V", "镇村小", 60, locality="镇区", public_funds=60 * 720)
    assert run(tmp_path / "a", default_schools() + [small]).item("2.6").status == "n/a"
    rules = _variant(tmp_path, "assurance:\n  small_school_funding:\n    village_school: {types: [小学], "
                               "localities: [乡村, 镇区]}\n")
    assert run(tmp_path / "b", default_schools() + [small], rules=rules).item("2.6").status == "fail"


def test_confidence_label_follows_the_setting(tmp_path: Path) -> None:
    from evaluator.report import display, sections

    rec = {**RECOGNITION_PASS, "confidence": 0.9}
    item = run(tmp_path / "a", recognition=rec).item("5")
    assert "90%置信区间" in item.detail and "95%" not in item.detail
    rules = _variant(tmp_path, "recognition:\n  confidence: 0.99\n")
    assert "99%置信区间" in run(tmp_path / "b", recognition=RECOGNITION_PASS, rules=rules).item("5").detail
    report = run(tmp_path / "c", recognition=rec).to_dict()
    assert display.ci_label(report["recognition"]["confidence"]) == "90%置信区间"
    assert "90%置信区间" in "".join(c.text for row in sections.key_figures_table(report).rows for c in row)
    from evaluator.report import charts

    assert "90%置信区间" in charts.svg_recognition(report) and "95%" not in charts.svg_recognition(report)
    assert display.ci_label(None) == "置信区间"  # a result that does not say: no guessed level


def test_self_check_rows_carry_the_official_titles(tmp_path: Path) -> None:
    report = run(tmp_path).to_dict()
    titles = {i["code"]: i["title"] for i in report["items"]}
    assert titles["2.1"] == "县域内义务教育学校规划布局合理，符合国家规定要求"
    assert titles["2.13"] == "城区和镇区公办小学、初中（均不含寄宿制学校）就近划片入学比例分别达到100%、95%以上"
    assert titles["2.3"].startswith("所有小学、初中每12个班级配备音乐、美术专用教室1间以上")
    assert titles["1.8"] == "每所学校至少6项指标达到上述要求，余项不能低于要求的85%"
    assert "两免一补" in titles["2.2"]
    from evaluator.report import sections

    rows = sections.items_table(report).rows
    assert any("（均不含寄宿制学校）" in r[0].text for r in rows)
