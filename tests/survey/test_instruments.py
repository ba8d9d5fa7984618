"""Questionnaires: the national design, validation errors naming file and field, freezing."""

from __future__ import annotations

import shutil

import pytest

from evaluator.errors import InstrumentError
from evaluator.groups import GROUPS
from evaluator.questionnaire import QUESTIONNAIRE_DIR, load_catalogue, load_questionnaire


def test_three_national_forms_cover_the_seven_groups():
    cat = load_catalogue()
    forms = {g: cat.current_for(g).id for g in GROUPS}
    assert forms == {"student": "student", "parent": "social", "teacher": "staff", "principal": "staff",
                     "npc_deputy": "social", "cppcc_member": "social", "public": "social"}
    for q in cat.questionnaires:
        assert 8 <= len(q.items) <= 15
        assert sum(it.overall for it in q.items) == 1
        assert q.scale == ("满意", "比较满意", "基本满意", "不满意", "不了解")
    topics = {it.topic for it in cat.get("social.v1").items}
    assert {"government_equity", "quality_sharing", "admission", "quality_education", "moral_education",
            "workload", "evaluation_reform"} <= topics


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("version: 1", "version: 2"), "id"),
        (lambda t: t.replace("groups: [parent,", "groups: [parents,"), "groups[0]"),
        (lambda t: t.replace("    overall: true\n", ""), "items"),
        (lambda t: t.replace("  - id: s02", "  - id: s01"), "items[1].id"),
        (lambda t: t.replace("  parent: 本校在校学生的家长（每个家庭一人填写）\n", ""), "audience.parent"),
    ],
)
def test_invalid_questionnaire_names_file_and_field(tmp_path, edit, field):
    src = QUESTIONNAIRE_DIR / "social.v1.yaml"
    bad = tmp_path / "social.v1.yaml"
    bad.write_text(edit(src.read_text()))
    with pytest.raises(InstrumentError) as err:
        load_questionnaire(bad)
    assert err.value.file == "social.v1.yaml" and err.value.field == field
    assert str(err.value).startswith(f"文件 social.v1.yaml，字段 {field}：")


def test_catalogue_refuses_a_group_without_questionnaire(tmp_path):
    for p in QUESTIONNAIRE_DIR.glob("*.yaml"):
        if p.name != "student.v1.yaml":
            shutil.copy(p, tmp_path / p.name)
    with pytest.raises(InstrumentError, match="以下调查对象没有问卷：student"):
        load_catalogue(tmp_path)


def test_changing_a_used_questionnaire_is_refused_at_start_up(app, tmp_path, monkeypatch):
    from survey.db import db
    from survey.instruments import check_frozen
    from survey.models import InstrumentUse
    from tests.survey.helpers import make_round

    with app.app_context():
        make_round()
        assert db.session.get(InstrumentUse, "social.v1") is not None
        for p in QUESTIONNAIRE_DIR.glob("*.yaml"):
            shutil.copy(p, tmp_path / p.name)
        changed = tmp_path / "social.v1.yaml"
        changed.write_text(changed.read_text().replace("是否满意？", "满意吗？", 1))
        with pytest.raises(InstrumentError, match="已被调查轮次使用，内容不得再修改"):
            check_frozen(load_catalogue(tmp_path))
        check_frozen(load_catalogue())  # the untouched files pass
