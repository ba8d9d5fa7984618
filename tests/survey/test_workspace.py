"""The evaluator's workspace: upload → run → view → download, audit, county scope,
rectification and comparison (issue 4, items 5–6)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from sqlalchemy import func, select

from evaluator.workbook import demo_workbook
from survey.db import db
from survey.models import County, Evaluation
from tests.evaluator.test_cli import _responses
from tests.survey.conftest import csrf_from
from tests.survey.helpers import login, make_user

DEMO = "370300"  # county_code of evaluator.workbook.demo_workbook


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return demo_workbook(tmp_path / "演示县数据.xlsx")


def set_cells(path: Path, out: Path, sheet: str, edit) -> Path:
    """A copy of a workbook with ``edit(worksheet, header->column index)`` applied."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    headers = {c.value: c.column for c in ws[1]}
    edit(ws, headers)
    wb.save(out)
    return out


def better_year(path: Path, out: Path) -> Path:
    """The next year: every school spends 10% of its budget on training (3.4 passes)."""
    def edit(ws, h):
        for row in range(2, ws.max_row + 1):
            budget = ws.cell(row, h["公用经费预算"]).value
            if budget is not None:
                ws.cell(row, h["教师培训经费"]).value = round(budget * 0.1)

    set_cells(path, out, "schools", edit)

    def year(ws, h):
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "assessment_year":
                row[1].value = 2025

    return set_cells(out, out, "county", year)


def upload(client, path: Path, *, responses: Path | None = None, round_id: int = 0, ruleset="national-2017"):
    token = csrf_from(client.get("/evaluations/new").get_data(as_text=True))
    data = {"csrf_token": token, "ruleset": ruleset, "round": str(round_id),
            "workbook": (io.BytesIO(path.read_bytes()), path.name)}
    if responses is not None:
        data["responses"] = (io.BytesIO(responses.read_bytes()), responses.name)
    return client.post("/evaluations/new", data=data, content_type="multipart/form-data")


def evaluation_id(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return int(re.search(r"/evaluations/(\d+)$", resp.headers["Location"]).group(1))


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Evaluation.id)))


def test_upload_run_view_and_download_every_format(app, client, workbook):
    with app.app_context():
        make_user("staff", "staff", (DEMO,), names={DEMO: "演示县"})
    login(client, "staff")
    eid = evaluation_id(upload(client, workbook))

    page = client.get(f"/evaluations/{eid}").get_data(as_text=True)
    assert "未达到优质均衡发展要求" in page and 'data-verdict="not_recognized"' in page
    assert "演示县数据.xlsx" in page and f"/evaluations/{eid}/report" in page
    report_page = client.get(f"/evaluations/{eid}/report")
    assert report_page.status_code == 200 and report_page.mimetype == "text/html"
    assert "script-src" not in report_page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in report_page.headers["Content-Security-Policy"]
    assert "<html" in report_page.get_data(as_text=True) and "演示县" in report_page.get_data(as_text=True)

    stored = json.loads(client.get(f"/evaluations/{eid}/report.json").get_data())
    assert stored["verdict"] == "not_recognized" and stored["county"]["code"] == DEMO
    assert {it["code"] for it in stored["items"]} >= {"1.1", "2.15", "3.9", "4.6", "5"}

    resp = client.get(f"/evaluations/{eid}/report.html")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert "%E6%BC%94%E7%A4%BA%E5%8E%BF" in disposition  # 演示县, RFC 5987 encoded
    assert "未达到县域义务教育优质均衡发展督导评估认定标准" in resp.get_data(as_text=True)

    docx = client.get(f"/evaluations/{eid}/report.docx")
    assert docx.headers["Content-Disposition"].endswith(".docx")
    doc = Document(io.BytesIO(docx.data))
    cells = {c.text.strip() for t in doc.tables for r in t.rows for c in r.cells}
    assert {"1.4", "2.5", "3.4"} <= cells

    xlsx = openpyxl.load_workbook(io.BytesIO(client.get(f"/evaluations/{eid}/report.xlsx").data))
    assert "结论" in xlsx.sheetnames and len(xlsx.sheetnames) > 2

    sign = client.get(f"/evaluations/{eid}/sign").get_data(as_text=True)
    assert "评估结论：未达到优质均衡发展要求" in sign and "评估组组长（签字）" in sign
    assert hashlib.sha256(workbook.read_bytes()).hexdigest() in sign
    canonical = json.dumps(stored, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() in sign

    # the exact input is kept for audit
    with app.app_context():
        ev = db.session.get(Evaluation, eid)
        assert ev.workbook_data == workbook.read_bytes() and ev.report["verdict"] == ev.verdict
        assert ev.created_by.username == "staff" and ev.county.code == DEMO
    assert client.get(f"/evaluations/{eid}/inputs/workbook").data == workbook.read_bytes()
    assert client.get(f"/evaluations/{eid}/inputs/responses").status_code == 404
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert "演示县（370300）" in listing and f"/evaluations/{eid}" in listing


def test_bad_workbook_names_sheet_row_column_and_stores_nothing(app, client, workbook, tmp_path):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))

    def edit(ws, h):
        ws.cell(4, h["在校生数（小学）"]).value = "很多"

    bad = set_cells(workbook, tmp_path / "坏数据.xlsx", "schools", edit)
    login(client, "staff")
    resp = upload(client, bad)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "文件 坏数据.xlsx，工作表 schools，第 4 行" in page and "在校生数" in page
    assert count(app) == 0
    # not a workbook at all: a Chinese message, no 500
    not_xlsx = tmp_path / "x.xlsx"
    not_xlsx.write_bytes(b"hello")
    resp = upload(client, not_xlsx)
    assert resp.status_code == 422 and "x.xlsx" in resp.get_data(as_text=True)
    # a ZIP without the CSV files names the ZIP, not a temporary folder
    empty = tmp_path / "数据.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("说明.txt", "无")
    resp = upload(client, empty)
    assert resp.status_code == 422 and "文件 数据.zip：压缩包中没有 CSV 文件" in resp.get_data(as_text=True)
    assert "/tmp" not in resp.get_data(as_text=True)
    assert count(app) == 0


def test_workbook_of_another_county_is_refused_for_staff_and_created_by_admin(app, client, workbook):
    with app.app_context():
        make_user("staff_b", "staff", ("110101",))
        make_user("insp", "evaluator", ("110101",))
        make_user("boss", "admin")
    for user in ("staff_b", "insp"):
        login(client, user)
        resp = upload(client, workbook)
        assert resp.status_code == 422, user
        assert "370300" in resp.get_data(as_text=True) and "尚未在系统中登记" in resp.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/evaluations/").get_data(as_text=True))})
    assert count(app) == 0
    login(client, "boss")
    evaluation_id(upload(client, workbook))
    with app.app_context():
        assert db.session.scalar(select(County).where(County.code == DEMO)).name == "演示县"


def test_csv_folder_as_zip_and_responses_file_feed_item_5(app, client, workbook, tmp_path):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))
    wb = openpyxl.load_workbook(workbook)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ws in wb.worksheets:
            lines = [",".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True)]
            zf.writestr(f"数据/{ws.title}.csv", "\n".join(lines) + "\n")
    folder = tmp_path / "演示县数据.zip"
    folder.write_bytes(buf.getvalue())
    codes = [str(r[0]) for r in wb["schools"].iter_rows(min_row=2, values_only=True)]
    responses = _responses(tmp_path / "答卷.csv", codes)
    login(client, "staff")
    eid = evaluation_id(upload(client, folder, responses=responses))
    report = json.loads(client.get(f"/evaluations/{eid}/report.json").get_data())
    item5 = next(it for it in report["items"] if it["code"] == "5")
    assert item5["status"] == "pass" and report["recognition"]["score"] > 0.85
    names = [i["name"] for i in report["provenance"]["inputs"]]
    assert "schools.csv" in names and "答卷.csv" in names
    assert client.get(f"/evaluations/{eid}/inputs/responses").data == responses.read_bytes()
    # a bad answer label: the message names the uploaded file, row and column; nothing stored
    bad = tmp_path / "坏答卷.csv"
    bad.write_text(responses.read_text(encoding="utf-8").replace("比较满意", "还行", 1), encoding="utf-8")
    resp = upload(client, folder, responses=bad)
    assert resp.status_code == 422 and re.search(r"文件 坏答卷.csv，第 \d+ 行，列 q\d：无法识别的答案“还行”",
                                                 resp.get_data(as_text=True))
    assert count(app) == 1


def _evaluation_urls(app, evaluation_id: int) -> list[tuple[str, str]]:
    """Every workspace URL that takes an evaluation id, as (method, url)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("workspace.") or "evaluation_id" not in rule.arguments:
            continue
        values = {"evaluation_id": evaluation_id, "ext": "docx", "which": "workbook"}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_county_b_users_get_404_on_every_county_a_evaluation(app, client, workbook):
    with app.app_context():
        make_user("staff_a", "staff", (DEMO,), names={DEMO: "演示县"})
        make_user("staff_b", "staff", ("110101",))
        make_user("insp_b", "evaluator", ("110101",))
    login(client, "staff_a")
    eid = evaluation_id(upload(client, workbook))
    own = _evaluation_urls(app, eid)
    assert len(own) >= 6
    for method, url in own:
        if method == "GET":
            assert client.get(url).status_code == 200, url
    for user in ("staff_b", "insp_b"):
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/evaluations/").get_data(as_text=True))})
        login(client, user)
        token = csrf_from(client.get("/evaluations/new").get_data(as_text=True))
        for method, url in own:
            resp = client.open(url, method=method, data={"csrf_token": token, "measures-2.5": "x"})
            assert resp.status_code == 404, (user, method, url, resp.status_code)
        assert client.get(f"/evaluations/compare?a={eid}&b={eid}").status_code == 404
        listing = client.get("/evaluations/").get_data(as_text=True)
        assert "演示县" not in listing and f"/evaluations/{eid}" not in listing
    with app.app_context():
        assert db.session.get(Evaluation, eid).rectification == {}


def test_rectification_saved_by_staff_appears_in_every_format_evaluator_gets_403(app, client, workbook):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))
        make_user("insp", "evaluator", (DEMO,))
    login(client, "insp")
    eid = evaluation_id(upload(client, workbook))  # evaluators run evaluations of their counties
    page = client.get(f"/evaluations/{eid}/rectification").get_data(as_text=True)
    assert 'data-code="2.4"' in page and "<textarea" not in page  # read only
    assert 'data-code="1.1"' not in page  # passing items need no rectification
    token = csrf_from(page)
    resp = client.post(f"/evaluations/{eid}/rectification",
                       data={"csrf_token": token, "measures-2.4": "拆分", "deadline-2.4": "2027年", "department-2.4": "教育局"})
    assert resp.status_code == 403
    with app.app_context():
        assert db.session.get(Evaluation, eid).rectification == {}

    client.post("/logout", data={"csrf_token": token})
    login(client, "staff")
    page = client.get(f"/evaluations/{eid}/rectification").get_data(as_text=True)
    assert 'name="measures-2.4"' in page and 'name="measures-5"' in page
    # the workbook's rectification sheet pre-fills the form
    assert "严格控制起始年级班额" in page
    assert client.post(f"/evaluations/{eid}/rectification", data={"measures-2.4": "x"}).status_code == 400  # no CSRF
    resp = client.post(f"/evaluations/{eid}/rectification", data={
        "csrf_token": csrf_from(page),
        "measures-2.4": "新建城北小学，分流超规模学校学生", "deadline-2.4": "2027年8月", "department-2.4": "县教育和体育局",
        "measures-2.5": "", "deadline-2.5": "", "department-2.5": "",
    })
    assert resp.status_code == 302
    with app.app_context():
        ev = db.session.get(Evaluation, eid)
        assert ev.rectification["2.4"]["department"] == "县教育和体育局" and ev.rectified_by.username == "staff"
        assert "rectification" not in next(it for it in ev.report["items"] if it["code"] == "2.4")  # report kept as produced

    assert "已填写 1 项" in client.get("/evaluations/").get_data(as_text=True)
    html = client.get(f"/evaluations/{eid}/report.html").get_data(as_text=True)
    assert "新建城北小学，分流超规模学校学生" in html and "县教育和体育局" in html
    assert "严格控制起始年级班额" not in html  # cleared explicitly in the browser
    doc = Document(io.BytesIO(client.get(f"/evaluations/{eid}/report.docx").data))
    texts = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert any("新建城北小学" in t for t in texts) and "2027年8月" in texts
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/evaluations/{eid}/report.xlsx").data))
    values = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    assert "新建城北小学，分流超规模学校学生" in values and "县教育和体育局" in values
    item = next(it for it in json.loads(client.get(f"/evaluations/{eid}/report.json").data)["items"]
                if it["code"] == "2.4")
    assert item["rectification"] == {"measures": "新建城北小学，分流超规模学校学生", "deadline": "2027年8月",
                                     "department": "县教育和体育局"}

    too_long = client.post(f"/evaluations/{eid}/rectification", data={
        "csrf_token": csrf_from(page), "measures-2.4": "长" * 2001})
    assert too_long.status_code == 200 and "内容过长" in too_long.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Evaluation, eid).rectification["2.4"]["deadline"] == "2027年8月"
    # typed text is text: escaped in the pages and the served report
    client.post(f"/evaluations/{eid}/rectification", data={
        "csrf_token": csrf_from(page), "measures-2.4": "<script>alert(1)</script>"})
    for url in (f"/evaluations/{eid}/report", f"/evaluations/{eid}/rectification"):
        text = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)" in text, url


def test_compare_two_years_item_by_item(app, client, workbook, tmp_path):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))
    login(client, "staff")
    first = evaluation_id(upload(client, workbook))
    second = evaluation_id(upload(client, better_year(workbook, tmp_path / "演示县数据2025.xlsx")))
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert "逐项比较" in listing
    page = client.get(f"/evaluations/compare?a={first}&b={second}").get_data(as_text=True)
    row = re.search(r'<tr class="(\w+)" data-code="3.4">(.*?)</tr>', page, re.S)
    assert row and row.group(1) == "better" and "改善" in row.group(2)
    assert re.search(r'<tr class="same" data-code="2.4">.*?不变', page, re.S)
    assert "改善 1 项，退步 0 项" in page
    assert "（2024）" in page and "（2025）" in page
    training = re.search(r'<tr class="better" data-shortfall="3.4 教师培训经费">(.*?)</tr>', page, re.S)
    before = json.loads(client.get(f"/evaluations/{first}/report.json").data)["shortfall_totals"]
    amount = next(t["amount"] for t in before if t["item"] == "3.4")
    assert training and f"{amount:,.10g}" in training.group(1) and f"-{amount:,.10g}" in training.group(1)
    assert re.search(r'<tr class="same" data-shortfall="2.3 音乐专用教室">.*?不变', page, re.S)
    back = client.get(f"/evaluations/compare?a={second}&b={first}").get_data(as_text=True)
    assert re.search(r'<tr class="worse" data-code="3.4">.*?退步', back, re.S)


def test_survey_round_of_the_county_feeds_item_5_and_another_countys_round_is_refused(app, client, workbook):
    import numpy as np

    from evaluator.roster import read_roster
    from survey.commands.demo import _simulate
    from survey.instruments import catalogue
    from survey.services.rounds import get_or_create_county, open_round, recognition_rules
    from tests.survey.helpers import make_round

    with app.app_context():
        make_user("boss", "admin")
        county = get_or_create_county(DEMO, "演示县")
        rnd = open_round(county=county, name="2024年社会认可度调查", roster=read_roster(workbook),
                         catalogue=catalogue(), rules=recognition_rules("national-2017"))
        assert _simulate(rnd, catalogue(), np.random.default_rng(0)) > 100
        db.session.commit()
        own, other = rnd.id, make_round("110101").id
    login(client, "boss")
    resp = upload(client, workbook, round_id=other)
    assert resp.status_code == 422 and "与数据表的县代码 370300 不一致" in resp.get_data(as_text=True)
    assert count(app) == 0
    eid = evaluation_id(upload(client, workbook, round_id=own))
    report = json.loads(client.get(f"/evaluations/{eid}/report.json").get_data())
    assert report["recognition"]["n_kept"] > 100
    without = report["recognition"]["without_flagged"]  # CONTRACTS §5: the score without flagged responses too
    assert without["excluded_flagged"] == 0 and without["score"] == report["recognition"]["score"]
    with app.app_context():
        from survey.integrity.keys import app_public_fingerprint

        fingerprint = app_public_fingerprint()
    assert fingerprint in client.get(f"/evaluations/{eid}/sign").get_data(as_text=True)  # the survey's signing key
    assert next(it for it in report["items"] if it["code"] == "5")["status"] in ("pass", "fail")
    assert any(i["name"].startswith(f"调查轮次 {own}") for i in report["provenance"]["inputs"])
    assert "2024年社会认可度调查" in client.get(f"/evaluations/{eid}").get_data(as_text=True)


def test_oversize_upload_is_refused_and_nothing_stored(app, client, workbook):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))
    login(client, "staff")
    app.config["MAX_CONTENT_LENGTH"] = 4096
    resp = upload(client, workbook)
    assert resp.status_code == 413 and "文件或内容过大" in resp.get_data(as_text=True)
    assert count(app) == 0


def test_admin_lists_evaluations_per_county_filters_and_refuses_cross_county_compare(app, client, workbook, tmp_path):
    def other_county(ws, h):
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "county_code":
                row[1].value = "110101"
            elif row[0].value == "county_name":
                row[1].value = "另一县"

    other = set_cells(workbook, tmp_path / "另一县.xlsx", "county", other_county)
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    a = evaluation_id(upload(client, workbook))
    b = evaluation_id(upload(client, other))
    page = client.get("/evaluations/").get_data(as_text=True)
    assert "演示县（370300）" in page and "另一县（110101）" in page
    with app.app_context():
        other_id = db.session.scalar(select(County.id).where(County.code == "110101"))
    filtered = client.get(f"/evaluations/?county={other_id}").get_data(as_text=True)
    assert f'href="/evaluations/{b}"' in filtered and f'href="/evaluations/{a}"' not in filtered
    resp = client.get(f"/evaluations/compare?a={a}&b={b}", follow_redirects=True)
    assert "只能比较同一个县的两次评估" in resp.get_data(as_text=True)

    template = client.get("/evaluations/template.xlsx")
    assert "filename*=UTF-8''" in template.headers["Content-Disposition"]
    assert {"schools", "county"} <= set(openpyxl.load_workbook(io.BytesIO(template.data)).sheetnames)


def test_form_errors_are_chinese(app, client, workbook):
    with app.app_context():
        make_user("staff", "staff", (DEMO,))
    login(client, "staff")
    page = upload(client, workbook, round_id=99999, ruleset="nope").get_data(as_text=True)
    assert page.count("不是有效的选择") == 2 and "Not a valid choice" not in page
    token = csrf_from(client.get("/evaluations/new").get_data(as_text=True))
    resp = client.post("/evaluations/new", data={"csrf_token": token, "ruleset": "national-2017", "round": "0"},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择数据工作簿" in resp.get_data(as_text=True)
    assert count(app) == 0
