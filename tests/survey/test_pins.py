"""Pinned versions (issue 8, deliverable 5): a round records its questionnaire per group and its
rule-set files with their SHA-256 when it is created, serves the pinned questionnaire after a
newer one is added, and every rule-set file a round or an evaluation used is frozen; an
evaluation records (and its sign sheet shows) the SHA-256 of the rule-set file it ran with."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from evaluator.errors import InstrumentError
from evaluator.groups import GROUPS
from evaluator.questionnaire import QUESTIONNAIRE_DIR
from evaluator.rules import RULES_DIR, load_ruleset
from evaluator.workbook import demo_workbook
from survey import create_app
from survey.db import alembic_config, db
from survey.models import (
    Evaluation,
    InstrumentUse,
    Response,
    RoundPin,
    RoundQuestionnaire,
    RulesetUse,
    SurveyRound,
)
from survey.pins import check_rules_frozen, item_texts
from tests.survey.helpers import answer_all, link_for, login, make_round, make_user
from tests.survey.test_workspace import evaluation_id, upload


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_round_pins_each_groups_questionnaire_and_its_rule_set_files(app):
    with app.app_context():
        rnd = make_round(ruleset="luoding-2019")
        pins = {p.group: (p.key, p.sha256) for p in rnd.questionnaire_pins}
        assert pins == {
            g: (q, file_sha(QUESTIONNAIRE_DIR / f"{q}.yaml")) for g, q in {
                "student": "student.v1", "parent": "social.v1", "teacher": "staff.v1", "principal": "staff.v1",
                "npc_deputy": "social.v1", "cppcc_member": "social.v1", "public": "social.v1"}.items()}
        assert set(pins) == set(GROUPS)
        assert rnd.pin.ruleset == "luoding-2019"
        assert rnd.pin.ruleset_sha256 == file_sha(RULES_DIR / "luoding-2019.yaml")  # what sha256sum prints
        assert rnd.pin.ruleset_files == {"national-2017.yaml": file_sha(RULES_DIR / "national-2017.yaml"),
                                         "luoding-2019.yaml": file_sha(RULES_DIR / "luoding-2019.yaml")}
        frozen = {u.file: u.sha256 for u in db.session.scalars(select(RulesetUse))}
        assert frozen == rnd.pin.ruleset_files
        assert {u.key for u in db.session.scalars(select(InstrumentUse))} == {"social.v1", "staff.v1", "student.v1"}


def _social_v2(directory: Path) -> Path:
    v1 = (directory / "social.v1.yaml").read_text(encoding="utf-8")
    first = next(line for line in v1.splitlines() if line.strip().startswith("text:"))
    v2 = v1.replace("version: 1", "version: 2", 1).replace(first, first.split("text:")[0] + "text: 第二版的新题目，您满意吗？", 1)
    path = directory / "social.v2.yaml"
    path.write_text(v2, encoding="utf-8")
    return path


def test_the_respondent_page_serves_the_pinned_questionnaire_after_a_newer_version_is_added(app, database_url,
                                                                                          tmp_path):
    folder = tmp_path / "questionnaires"
    shutil.copytree(QUESTIONNAIRE_DIR, folder)
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
              "QUESTIONNAIRE_DIR": str(folder)}
    with app.app_context():
        old = make_round()
        old_code = link_for(old, "parent", "S01").code
    _social_v2(folder)
    newer = create_app(config)  # a restart after social.v2.yaml was added
    with newer.app_context():
        rnd = make_round(name="新一轮")
        assert {p.group: p.key for p in rnd.questionnaire_pins}["parent"] == "social.v2"
        new_code = link_for(rnd, "parent", "S01").code
        assert {p.group: p.key for p in db.session.get(SurveyRound, old.id).questionnaire_pins}["parent"] == "social.v1"
    client = newer.test_client()
    page = client.get(f"/s/{old_code}").get_data(as_text=True)
    assert "第二版的新题目" not in page
    resp = client.post(f"/s/{old_code}", data=answer_all(page))
    assert resp.status_code == 303
    assert "第二版的新题目" in client.get(f"/s/{new_code}").get_data(as_text=True)
    with newer.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert (stored.instrument, stored.instrument_version) == ("social", 1)
        assert db.session.get(InstrumentUse, "social.v2") is not None  # frozen by the new round
        cat = newer.extensions["questionnaires"]
        first = cat.get("social.v2").items[0]
        assert first.text == "第二版的新题目，您满意吗？"
        assert item_texts(db.session.get(SurveyRound, old.id), cat)[first.id] == cat.get("social.v1").items[0].text
        assert item_texts(db.session.get(SurveyRound, rnd.id), cat)[first.id] == first.text
        db.session.remove()
        db.engine.dispose()


def test_a_changed_rule_set_file_that_a_round_used_is_refused_at_start_up(app, database_url, tmp_path):
    with app.app_context():
        make_round()
        folder = tmp_path / "rules"
        shutil.copytree(RULES_DIR, folder)
        changed = folder / "national-2017.yaml"
        changed.write_text(changed.read_text(encoding="utf-8").replace("threshold: 0.85", "threshold: 0.80", 1),
                           encoding="utf-8")
        with pytest.raises(InstrumentError, match="文件 national-2017.yaml：规则集文件已被调查轮次或评估使用，内容不得再修改"):
            check_rules_frozen(folder)
        check_rules_frozen()  # the untouched files pass
        # the database says the round ran with other bytes than today's file: start-up refuses
        db.session.get(RulesetUse, "national-2017.yaml").sha256 = file_sha(changed)
        db.session.commit()
    with pytest.raises(InstrumentError, match="national-2017.yaml"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", "TESTING": True})


def test_a_different_file_under_a_used_name_is_refused(app, tmp_path):
    changed = tmp_path / "national-2017.yaml"
    changed.write_text((RULES_DIR / "national-2017.yaml").read_text(encoding="utf-8")
                       .replace("threshold: 0.85", "threshold: 0.80", 1), encoding="utf-8")
    with app.app_context():
        make_round()
        with pytest.raises(InstrumentError, match="与已被调查轮次或评估使用的同名文件内容不同"):
            make_round("110102", ruleset=str(changed))
        db.session.rollback()
        assert len(db.session.scalars(select(SurveyRound)).all()) == 1


@pytest.mark.parametrize("ruleset", ["national-2017", "luoding-2019"])
def test_an_evaluation_records_and_signs_the_rule_set_files_sha256(app, client, tmp_path, ruleset):
    workbook = demo_workbook(tmp_path / "演示县数据.xlsx")
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    eid = evaluation_id(upload(client, workbook, ruleset=ruleset))
    digest = file_sha(RULES_DIR / f"{ruleset}.yaml")
    with app.app_context():
        ev = db.session.get(Evaluation, eid)
        assert ev.rules_sha256 == digest == ev.report["provenance"]["ruleset_sha256"]
        files = {f["name"]: f["sha256"] for f in ev.report["provenance"]["ruleset_files"]}
        assert files == {p.name: file_sha(p) for p in load_ruleset(ruleset).sources}
        assert {u.file: u.sha256 for u in db.session.scalars(select(RulesetUse))} == files  # frozen
    sign = client.get(f"/evaluations/{eid}/sign").get_data(as_text=True)
    assert f"sha256 {digest}" in sign
    assert f"sha256 {file_sha(RULES_DIR / 'national-2017.yaml')}" in sign  # the base of luoding-2019 too


def _old_chain_digest(ruleset: str) -> str:
    """The fingerprint revisions before 0003 stored (one digest over the extends chain)."""
    digest = hashlib.sha256()
    for p in load_ruleset(ruleset).sources:
        digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


def test_upgrading_pins_existing_rounds_to_what_they_use_now(app, client, tmp_path):
    workbook = demo_workbook(tmp_path / "演示县数据.xlsx")
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    eid = evaluation_id(upload(client, workbook, ruleset="luoding-2019"))
    with app.app_context():
        rid = make_round(ruleset="luoding-2019").id
        db.session.remove()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")  # a database from before the pins
            conn.execute(text("UPDATE evaluations SET rules_sha256 = :s"), {"s": _old_chain_digest("luoding-2019")})
            assert conn.execute(text("SELECT COUNT(*) FROM rounds")).scalar() == 1
        with db.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        pin = db.session.get(RoundPin, rid)
        assert (pin.ruleset, pin.ruleset_sha256) == ("luoding-2019", file_sha(RULES_DIR / "luoding-2019.yaml"))
        assert set(pin.ruleset_files) == {"national-2017.yaml", "luoding-2019.yaml"}
        pins = {p.group: p.key for p in db.session.scalars(select(RoundQuestionnaire))}
        assert pins == {g: {"student": "student.v1", "teacher": "staff.v1", "principal": "staff.v1"}.get(g, "social.v1")
                        for g in GROUPS}
        assert {u.file for u in db.session.scalars(select(RulesetUse))} == {"national-2017.yaml", "luoding-2019.yaml"}
        # the old chain digest proved the files unchanged: it is re-expressed as the file's SHA-256
        assert db.session.get(Evaluation, eid).rules_sha256 == file_sha(RULES_DIR / "luoding-2019.yaml")


def test_the_round_page_shows_its_pinned_versions(app, client):
    with app.app_context():
        make_user("boss", "admin")
        rid = make_round(ruleset="luoding-2019").id
    login(client, "boss")
    page = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "social.v1（" in page
    assert "staff.v1（" in page and "student.v1（" in page
    assert f"luoding-2019.yaml <code>sha256 {file_sha(RULES_DIR / 'luoding-2019.yaml')[:16]}…</code>" in page


def test_a_pinned_questionnaire_file_that_was_removed_is_refused_at_start_up(app, tmp_path):
    from evaluator.questionnaire import load_catalogue
    from survey.instruments import check_frozen

    shutil.copytree(QUESTIONNAIRE_DIR, tmp_path / "q")
    _social_v2(tmp_path / "q")
    (tmp_path / "q" / "social.v1.yaml").unlink()  # the parents of an open round would get v2
    with app.app_context():
        make_round()
        with pytest.raises(InstrumentError, match="问卷 social.v1 已被调查轮次使用，文件不得删除或改名"):
            check_frozen(load_catalogue(tmp_path / "q"))
        check_frozen(load_catalogue())
