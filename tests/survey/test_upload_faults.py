"""Hostile uploads on the web (issue 10, findings 1 and 3): a 422 Chinese page naming the
file and sheet, nothing stored, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from evaluator.workbook import demo_workbook
from survey.db import db
from survey.models import Evaluation, SurveyRound
from tests.fault import bombs
from tests.survey.helpers import login, make_user
from tests.survey.test_rounds import _create
from tests.survey.test_workspace import DEMO, upload


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize("build", [bombs.huge_row_number, bombs.far_column, bombs.truncated_sheet],
                         ids=["row", "column", "truncated"])
def test_workbook_bombs_are_refused_on_the_web(app, client, tmp_path, build):
    with app.app_context():
        make_user("eva", "evaluator", (DEMO,), names={DEMO: "演示县"})
    login(client, "eva")
    resp = upload(client, build(tmp_path))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "工作表 schools" in page
    assert _count(app, Evaluation) == 0


@pytest.mark.parametrize("damage", [bombs.bad_crc, bombs.falsified_size, bombs.encrypted_flag])
def test_damaged_csv_folder_zip_is_a_422(app, client, tmp_path, damage):
    with app.app_context():
        make_user("eva", "evaluator", (DEMO,), names={DEMO: "演示县"})
    login(client, "eva")
    path = tmp_path / "数据.zip"
    path.write_bytes(damage(bombs.csv_zip({"schools.csv": "school_code,school_name\n" + "S1,一小\n" * 200,
                                           "county.csv": "key,value\ncounty_code,370300\n"})))
    resp = upload(client, path)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422, page[:500]
    assert "数据.zip" in page and ("已损坏" in page or "已加密" in page or "不是有效的 ZIP" in page)
    assert _count(app, Evaluation) == 0


@pytest.mark.parametrize("damage", [bombs.bad_crc, bombs.falsified_size, bombs.encrypted_flag])
def test_damaged_xlsx_workbook_is_a_422(app, client, tmp_path, damage):
    with app.app_context():
        make_user("eva", "evaluator", (DEMO,), names={DEMO: "演示县"})
    login(client, "eva")
    path = tmp_path / "数据.xlsx"
    path.write_bytes(damage(demo_workbook(tmp_path / "base.xlsx").read_bytes()))
    resp = upload(client, path)
    assert resp.status_code == 422 and "无法作为 Excel（.xlsx）文件打开" in resp.get_data(as_text=True)


@pytest.mark.parametrize("build", [bombs.huge_row_number, bombs.far_column], ids=["row", "column"])
def test_roster_bombs_are_refused_on_the_web(app, client, tmp_path, build):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    resp = _create(client, build(tmp_path).read_bytes())
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "工作表 schools" in page
    assert _count(app, SurveyRound) == 0
