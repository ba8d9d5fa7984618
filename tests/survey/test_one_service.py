"""One implementation per operation (issue 8, deliverables 4 and 6): the command line and the
web pages evaluate, create rounds, list links and export through the same service, so the
same inputs give the same output; a round whose schools differ from the workbook is refused
on both, listing the school codes of each side."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from sqlalchemy import func, select

from evaluator.roster import read_roster
from evaluator.workbook import demo_workbook
from survey.commands.demo import _simulate
from survey.db import db
from survey.instruments import catalogue
from survey.models import Evaluation, SurveyRound
from survey.services.rounds import get_or_create_county, open_round, recognition_rules
from tests.evaluator.test_cli import _responses
from tests.survey.conftest import ROSTER_ROWS, csrf_from, roster_xlsx
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_cli import run
from tests.survey.test_workspace import DEMO, evaluation_id, upload


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return demo_workbook(tmp_path / "演示县数据.xlsx")


def _demo_round(workbook: Path, *, answered: bool = True) -> int:
    """A round of the demo county on the workbook's own schools, with simulated answers."""
    rnd = open_round(county=get_or_create_county(DEMO, "演示县"), name="2026年社会认可度调查",
                     roster=read_roster(workbook), catalogue=catalogue(), rules=recognition_rules("national-2017"))
    if answered:
        assert _simulate(rnd, catalogue(), np.random.default_rng(3)) > 100
    db.session.commit()
    return rnd.id


def _timeless(report: dict) -> dict:
    out = copy.deepcopy(report)
    out["provenance"].pop("generated_at")
    return out


def test_cli_and_web_compute_the_same_report_from_a_round_and_from_a_file(app, client, database_url, workbook,
                                                                          tmp_path):
    with app.app_context():
        make_user("boss", "admin")
        round_id = _demo_round(workbook)
    login(client, "boss")
    responses = _responses(tmp_path / "答卷.csv", [s.school_code for s in read_roster(workbook)][:6])
    for option, value, form in (("--round", str(round_id), {"round_id": round_id}),
                                ("--responses", str(responses), {"responses": responses})):
        out = tmp_path / f"out{option}"
        res = run(database_url, "evaluate", "--data", str(workbook), option, value, "--out", str(out))
        assert res.returncode == 0, res.stderr
        cli = json.loads((out / "report.json").read_text(encoding="utf-8"))
        eid = evaluation_id(upload(client, workbook, **form))
        with app.app_context():
            web = db.session.get(Evaluation, eid).report
        assert cli["recognition"] is not None and cli["recognition"]["n_kept"] > 0
        assert _timeless(cli) == _timeless(web)
        names = {s["school_code"]: s["name"] for s in cli["schools"]}
        assert all(names.get(code) for code in cli["recognition"].get("schools") or {})  # never a blank name
    prov = cli["provenance"]
    assert prov["inputs"][1] == {"name": "答卷.csv", "sha256": web["provenance"]["inputs"][1]["sha256"]}


def test_a_round_whose_schools_differ_is_refused_listing_both_sides(app, client, database_url, workbook, tmp_path):
    with app.app_context():
        make_user("boss", "admin")
        # the round surveys five schools the workbook does not have (and misses all of its schools)
        wrong = make_round(DEMO).id
        # one school left out of an otherwise identical roster
        rnd = open_round(county=get_or_create_county(DEMO, "演示县"), name="少一所", roster=read_roster(workbook)[1:],
                         catalogue=catalogue(), rules=recognition_rules("national-2017"))
        db.session.commit()
        short, missing = rnd.id, read_roster(workbook)[0].school_code
    res = run(database_url, "evaluate", "--data", str(workbook), "--round", str(wrong), "--out", str(tmp_path / "x"))
    assert res.returncode == 2 and not (tmp_path / "x").exists()
    assert "学校名单与数据表不一致" in res.stderr
    assert "只在调查轮次中的学校代码：S01、S02、S03、S04、S05" in res.stderr
    assert f"只在数据表中的学校代码：{missing}、" in res.stderr
    res = run(database_url, "evaluate", "--data", str(workbook), "--round", str(short), "--out", str(tmp_path / "y"))
    assert res.returncode == 2 and not (tmp_path / "y").exists()
    assert f"只在调查轮次中的学校代码：无；只在数据表中的学校代码：{missing}。" in res.stderr

    login(client, "boss")
    page = upload(client, workbook, round_id=short)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and f"只在数据表中的学校代码：{missing}。" in html and "工作表 schools" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Evaluation.id))) == 0


def test_round_creation_from_the_command_line_and_the_web_form_is_the_same(app, client, database_url, tmp_path):
    roster = tmp_path / "学校名单.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    made = run(database_url, "round", "create", "--county", "330101", "--county-name", "示范县", "--name", "2026年调查",
               "--schools", str(roster), "--rules", "luoding-2019", "--target-n", "400")
    assert made.returncode == 0, made.stderr
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    resp = client.post("/admin/rounds/new", data={
        "csrf_token": token, "county_code": "330101", "county_name": "示范县", "name": "2026年调查",
        "ruleset": "luoding-2019", "target_n": "400", "stop_when_full": "y",
        "roster": (io.BytesIO(roster.read_bytes()), roster.name)}, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]

    def shape(rnd: SurveyRound) -> dict:
        return {
            "county": rnd.county.code, "name": rnd.name, "ruleset": rnd.ruleset, "target_n": rnd.target_n,
            "state": rnd.state(), "stop_when_full": rnd.stop_when_full,
            "schools": [(s.code, s.name, s.school_type, s.students_primary, s.students_junior, s.students_senior,
                         s.teachers) for s in rnd.schools],
            "links": sorted((ln.school.code if ln.school else "", ln.group, ln.quota) for ln in rnd.links),
            "pin": (rnd.pin.ruleset, rnd.pin.ruleset_sha256, rnd.pin.ruleset_files),
            "questionnaires": [(p.group, p.key, p.sha256) for p in rnd.questionnaire_pins],
        }

    with app.app_context():
        cli, web = db.session.scalars(select(SurveyRound).order_by(SurveyRound.id)).all()
        assert shape(cli) == shape(web)
        assert list(cli.pin.ruleset_files) == ["national-2017.yaml", "luoding-2019.yaml"]
        assert sum(ln.quota for ln in cli.links) > 0 and cli.created_by_id is None and web.created_by_id is not None


def test_links_and_exports_from_the_command_line_and_the_web_are_the_same(app, client, database_url, tmp_path):
    rows = [list(r) for r in ROSTER_ROWS]
    rows[0][1] = "@SUM(1+1)第一小学"  # a formula start in a school name is written as text everywhere
    with app.app_context():
        make_user("boss", "admin")
        rnd = make_round("330101", rows=rows)
        for group, school in (("parent", "S01"), ("student", "S03"), ("public", None)):
            ln = link_for(rnd, group, school)
            ln.quota = 5
            db.session.commit()
            store_answers(ln, "满意")
            store_answers(ln, "不了解")
        round_id = rnd.id
    login(client, "boss")

    links = run(database_url, "round", "links", str(round_id))
    assert links.returncode == 0, links.stderr
    page = client.get(f"/admin/rounds/{round_id}/links.csv")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.startswith("\ufeff")  # Excel reads UTF-8 only with a byte-order mark; the text is the same
    web_links = body.removeprefix("\ufeff").replace("http://survey.test/", "https://wj.example.cn/")
    assert web_links == links.stdout
    assert "S01,'@SUM(1+1)第一小学,parent," in links.stdout and ",@SUM" not in links.stdout

    for ext in ("csv", "xlsx"):
        out = tmp_path / f"答卷.{ext}"
        res = run(database_url, "round", "export", str(round_id), "--out", str(out))
        assert res.returncode == 0, res.stderr
        assert "已导出 6 条回答" in res.stderr
        web = client.get(f"/admin/rounds/{round_id}/export.{ext}")
        assert web.status_code == 200
        if ext == "csv":
            assert web.get_data() == out.read_bytes()
        else:  # the XLSX package carries its creation time: compare the cells
            def cells(data: bytes) -> list[tuple]:
                return list(openpyxl.load_workbook(io.BytesIO(data))["responses"].iter_rows(values_only=True))

            assert cells(web.get_data()) == cells(out.read_bytes())
            assert len(cells(out.read_bytes())) == 7
