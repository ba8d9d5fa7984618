"""Inputs found by probing for 500s: each gets a clear refusal, nothing stored, no hang."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import EntryLink, SurveyRound
from tests.survey.conftest import ROSTER_ROWS, csrf_from, roster_xlsx
from tests.survey.helpers import link_for, login, make_round, make_user
from tests.survey.test_rounds import _create


@pytest.mark.parametrize(("cell", "message"), [
    (10**20, "超出合理范围"),  # once sent the quota planner into an endless loop
    ("1e400", "应为非负整数"),
    (3_000_000_000, "超出合理范围"),
])
def test_absurd_enrolment_is_refused_quickly(app, client, cell, message):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    rows = [list(r) for r in ROSTER_ROWS]
    rows[0][3] = cell
    resp = _create(client, roster_xlsx(rows))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "第 2 行" in page and message in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyRound)) == 0


def test_control_characters_and_duplicate_headers_in_roster(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    page = _create(client, "school_code,school_name,school_type,students_primary\nA\x001,甲,小学,10\n".encode(),
                   filename="r.csv").get_data(as_text=True)
    assert "第 2 行，列 学校代码（school_code）：含有不可见的控制字符" in page
    page = _create(client, "school_code,school_code,school_name,school_type,students_primary\n1,1,甲,小学,10\n".encode(),
                   filename="r.csv").get_data(as_text=True)
    assert "出现了两次" in page


def test_nul_in_a_form_field_is_a_400_not_a_500(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    resp = _create(client, roster_xlsx(ROSTER_ROWS), name="a\x00b")
    assert resp.status_code == 400 and "请求无效" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyRound)) == 0


def test_out_of_range_dates_ids_and_quotas(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid, lid = rnd.id, link_for(rnd, "parent", "S01").id
    login(client, "boss")
    page = _create(client, roster_xlsx(ROSTER_ROWS), closes="0001-01-01T00:00").get_data(as_text=True)
    assert "时间应在 2000 年至 2100 年之间" in page
    assert client.get("/admin/rounds/999999999999999999999").status_code == 404
    assert client.get("/admin/rounds/99999999999").status_code == 404
    token = csrf_from(client.get(f"/admin/rounds/{rid}").get_data(as_text=True))
    for bad in ("²", "１２", "9" * 40, "99999999999"):
        page = client.post(f"/admin/rounds/{rid}/quotas", data={"csrf_token": token, f"quota-{lid}": bad},
                           follow_redirects=True).get_data(as_text=True)
        assert "配额应为 0–9999999 的整数" in page, bad
    with app.app_context():
        assert db.session.get(EntryLink, lid).quota < 10_000_000


def test_evaluation_workbook_with_formula_or_blank_cells_is_a_clear_error(app, client, tmp_path):
    from openpyxl import load_workbook

    from evaluator.workbook import demo_workbook

    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    for sheet, cell, value in (("classes", "B2", None), ("schools", "C2", "=A1")):
        path = demo_workbook(tmp_path / f"{sheet}.xlsx")
        wb = load_workbook(path)
        wb[sheet][cell] = value
        wb.save(path)
        page = client.get("/evaluations/new").get_data(as_text=True)
        resp = client.post("/evaluations/new", content_type="multipart/form-data", data={
            "csrf_token": csrf_from(page), "ruleset": "national-2017", "round": "0",
            "workbook": (io.BytesIO(path.read_bytes()), path.name)})
        assert resp.status_code == 422, (sheet, resp.status_code)
        assert f"工作表 {sheet}，第 2 行" in resp.get_data(as_text=True)
