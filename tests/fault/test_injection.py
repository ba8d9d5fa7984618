"""(d) Formula injection (issue 10, finding 5): user-supplied text never becomes a live
formula in any CSV or XLSX we write (links, response exports, report.xlsx), nor a field in
the DOCX report. OWASP's rule: a cell starting with = + - @ tab CR gets a leading '."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
from docx import Document

from evaluator.cells import FORMULA_STARTS
from evaluator.workbook import demo_workbook
from survey.db import db
from survey.models import SurveyRound
from tests.survey.conftest import csrf_from
from tests.survey.helpers import answer_all, link_for, login, make_user
from tests.survey.test_rounds import _create
from tests.survey.test_workspace import DEMO, evaluation_id, set_cells, upload

ROOT = Path(__file__).resolve().parents[2]
NAME = '=HYPERLINK("http://evil.example","点我")'
PAYLOADS = [NAME, "+1+1", "-2+3", "@SUM(1,1)"]


def _roster_csv() -> bytes:
    rows = ["school_code,school_name,school_type,students_primary,students_junior,teachers_primary,teachers_junior"]
    for i, p in enumerate(PAYLOADS, 1):
        code = p.replace(",", ";").replace('"', "")[:20] if i > 1 else f"S0{i}"
        name = p.replace('"', '""')
        rows.append(f'"{code}","{name}",小学,500,,30,')
    return ("\n".join(rows) + "\n").encode("utf-8")


def _live(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _assert_csv_safe(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert not [v for r in rows for v in r if _live(v)], rows
    return rows


def _assert_xlsx_safe(data: bytes) -> set[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))  # formulas kept as formulas (data_only=False)
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f" and not _live(c.value), (ws.title, c.coordinate, c.value)
                if c.value is not None:
                    values.add(str(c.value))
    return values


def _round_with_payloads(app, client) -> tuple[int, str]:
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    resp = _create(client, _roster_csv(), filename="名单.csv")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        rnd = db.session.query(SurveyRound).one()
        code = link_for(rnd, "parent", "S01").code
        return rnd.id, code


def test_links_and_response_exports_on_the_web(app, client):
    rid, code = _round_with_payloads(app, client)
    html = client.get(f"/s/{code}").get_data(as_text=True)
    assert client.post(f"/s/{code}", data=answer_all(html)).status_code == 303

    rows = _assert_csv_safe(client.get(f"/admin/rounds/{rid}/links.csv").get_data(as_text=True))
    assert "'" + NAME in {r[1] for r in rows}
    _assert_csv_safe(client.get(f"/admin/rounds/{rid}/export.csv").get_data(as_text=True))
    _assert_xlsx_safe(client.get(f"/admin/rounds/{rid}/export.xlsx").data)


def test_links_and_exports_from_the_command_line(app, client, database_url, tmp_path):
    rid, code = _round_with_payloads(app, client)
    html = client.get(f"/s/{code}").get_data(as_text=True)
    client.post(f"/s/{code}", data=answer_all(html))
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="test-secret")

    def run(*args):
        r = subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return r

    rows = _assert_csv_safe(run("round", "links", str(rid)).stdout)
    assert {r[1] for r in rows} >= {"'" + p for p in PAYLOADS}
    run("round", "export", str(rid), "--out", str(tmp_path / "a.csv"))
    _assert_csv_safe((tmp_path / "a.csv").read_text(encoding="utf-8-sig"))
    run("round", "export", str(rid), "--out", str(tmp_path / "a.xlsx"))
    _assert_xlsx_safe((tmp_path / "a.xlsx").read_bytes())


def test_report_xlsx_and_docx_with_payload_school_name_and_rectification(app, client, tmp_path):
    with app.app_context():
        make_user("staff", "staff", (DEMO,), names={DEMO: "演示县"})
    login(client, "staff")
    base = demo_workbook(tmp_path / "base.xlsx")

    def edit(ws, h):
        cell = ws.cell(2, h["学校名称"])
        cell.value = NAME
        cell.data_type = "s"  # a text cell (as a CSV import or a careless script would leave it), not a formula

    wb_path = set_cells(base, tmp_path / "演示县数据.xlsx", "schools", edit)
    eid = evaluation_id(upload(client, wb_path))
    page = client.get(f"/evaluations/{eid}/rectification").get_data(as_text=True)
    resp = client.post(f"/evaluations/{eid}/rectification", data={
        "csrf_token": csrf_from(page), "measures-2.4": "=1+cmd|' /C calc'!A0", "deadline-2.4": "+2027",
        "department-2.4": "@SUM(1)"})
    assert resp.status_code == 302

    values = _assert_xlsx_safe(client.get(f"/evaluations/{eid}/report.xlsx").data)
    assert "'=1+cmd|' /C calc'!A0" in values and "'@SUM(1)" in values and "'" + NAME in values

    docx = client.get(f"/evaluations/{eid}/report.docx").data
    body = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    assert "instrText" not in body and "fldSimple" not in body and "fldChar" not in body  # no fields at all
    texts = [c.text for t in Document(io.BytesIO(docx)).tables for r in t.rows for c in r.cells]
    assert any("=1+cmd" in t for t in texts)  # shown as typed, as plain text
