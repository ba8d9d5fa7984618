"""Data collection (填报, issue 15) through the Flask client: staff open a round from a roster,
each school fills its own form by its link (draft, submit, returned, resubmit), validation at
the field, county sheet, close into an evaluation equal to the exported workbook's, audit trail,
county scope and link isolation."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from evaluator.rules import load_ruleset
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import demo_frames, read_workbook
from survey.datacollect.models import DataChange, DataRound, SchoolSheet
from survey.db import db
from tests.survey.conftest import csrf_from, roster_xlsx
from tests.survey.helpers import login, make_user

DEMO = "370300"  # county_code of demo_frames(seed=0)
SCHOOLS = 8


@pytest.fixture
def demo():
    return demo_frames(seed=0, schools=SCHOOLS)


def roster_of(frames) -> bytes:
    s = frames["schools"]
    rows = [[r.school_code, r.school_name, r.school_type, r.students_primary, r.students_junior, r.students_senior]
            for r in s.itertuples(index=False)]
    return roster_xlsx(rows, ["school_code", "school_name", "school_type", "students_primary", "students_junior",
                              "students_senior"])


@dataclass(frozen=True)
class Sheet:
    id: int
    token: str
    code: str
    name: str


@dataclass(frozen=True)
class Round:
    id: int
    sheets: list[Sheet]


def open_round(client, frames, *, year: int = 2024, name: str = "2024年度数据填报", previous: int = 0) -> Round:
    page = client.get("/data/new").get_data(as_text=True)
    county_id = re.search(r'<option value="(\d+)"[^>]*>[^<]*（' + DEMO, page).group(1)
    data = {"csrf_token": csrf_from(page), "county": county_id, "year": str(year), "name": name,
            "previous": str(previous), "ruleset": "national-2017"}
    if not previous:
        data["roster"] = (io.BytesIO(roster_of(frames)), "名单.xlsx")
    resp = client.post("/data/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with client.application.app_context():
        rnd = db.session.scalar(select(DataRound).where(DataRound.name == name))
        return Round(rnd.id, [Sheet(s.id, s.token, s.code, s.name) for s in rnd.sheets])


def sheet_row(app, sheet_id: int) -> SchoolSheet:
    """The stored sheet, detached with its columns loaded."""
    with app.app_context():
        row = db.session.get(SchoolSheet, sheet_id)
        db.session.expunge(row)
        return row


def cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def school_form(page: str, frames, code: str, **override) -> dict[str, str]:
    """The school's form filled with its demo row, classes and rooms (plus ``override``)."""
    row = frames["schools"].set_index("school_code").loc[code].to_dict()
    data = {"csrf_token": csrf_from(page)}
    for name in set(re.findall(r'<(?:input|select)[^>]*name="([a-z_]+)"', page)) - {"csrf_token"}:
        data[name] = cell(row.get(name))
    classes = frames["classes"][frames["classes"]["school_code"] == code]
    data["c-n"] = str(len(classes))
    for i, c in enumerate(classes.itertuples(index=False)):
        data.update({f"c-{i}-stage": c.stage, f"c-{i}-grade": str(c.grade), f"c-{i}-students": str(c.students)})
    rooms = frames["rooms"][frames["rooms"]["school_code"] == code]
    data["r-n"] = str(len(rooms))
    for i, r in enumerate(rooms.itertuples(index=False)):
        data.update({f"r-{i}-room_type": r.room_type, f"r-{i}-area": cell(r.area)})
    data.update(override)
    return data


def submit_school(client, sheet: Sheet, frames, **override):
    """Fill and submit; plausibility flags shown on a refused submission are explained once."""
    url = f"/d/{sheet.token}"
    page = client.get(url).get_data(as_text=True)
    data = school_form(page, frames, sheet.code, **override)
    data["action"] = "submit"
    resp = client.post(url, data=data)
    if resp.status_code == 422:
        body = resp.get_data(as_text=True)
        keys = re.findall(r'name="(explain-[^"]+)"', body)
        assert keys, body
        data.update({k: "数据已核实无误" for k in keys})
        resp = client.post(url, data=data)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return resp


def fill_county(client, rnd: Round, frames) -> None:
    url = f"/data/{rnd.id}/county"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page)}
    for name in set(re.findall(r'<(?:input|select)[^>]*name="([a-z0-9_]+)"', page)) - {"csrf_token", "field"}:
        data[name] = cell(frames["county"].get(name))
    resp = client.post(url, data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)


@pytest.fixture
def staff(app, client):
    with app.app_context():
        make_user("clerk", "staff", (DEMO,), {DEMO: "演示县"})
    login(client, "clerk")
    return client


def test_school_draft_submit_return_resubmit(app, staff, demo):
    rnd = open_round(staff, demo)
    assert len(rnd.sheets) == SCHOOLS
    sheet = rnd.sheets[0]
    school = app.test_client()  # the school has no account: only its link
    url = f"/d/{sheet.token}"
    page = school.get(url).get_data(as_text=True)
    assert "未填写" in page and sheet.name in page
    # a draft with a cross-field error is saved, but cannot be submitted
    data = school_form(page, demo, sheet.code)
    teachers = int(data.get("teachers_primary") or data.get("teachers_junior"))
    stage = "primary" if data.get("teachers_primary") else "junior"
    original = int(data[f"qualified_teachers_{stage}"])
    data[f"qualified_teachers_{stage}"] = str(teachers + 1)
    resp = school.post(url, data={**data, "action": "draft"})
    assert resp.status_code == 303
    page = school.get(url).get_data(as_text=True)
    assert "草稿" in page
    resp = school.post(url, data={**data, "action": "submit"})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "不能超过" in body and f'id="qualified_teachers_{stage}-err"' in body
    assert sheet_row(app, sheet.id).state == "draft"
    # type error at the field: nothing saved
    resp = school.post(url, data={**data, f"teachers_{stage}": "七十", "action": "draft"})
    assert resp.status_code == 422 and "应填写数字" in resp.get_data(as_text=True)
    assert sheet_row(app, sheet.id).values[f"teachers_{stage}"] == teachers
    # fixed and submitted
    submit_school(school, sheet, demo)
    assert sheet_row(app, sheet.id).state == "submitted"
    assert "已提交" in school.get(url).get_data(as_text=True)
    # submitted data cannot be changed by the school
    resp = school.post(url, data={**school_form(school.get(url).get_data(as_text=True), demo, sheet.code),
                                  "action": "draft"})
    assert resp.status_code == 409
    # the bureau returns it with a comment; the school sees it, fixes, resubmits
    page = staff.get(f"/data/{rnd.id}/sheets/{sheet.id}").get_data(as_text=True)
    resp = staff.post(f"/data/{rnd.id}/sheets/{sheet.id}/return",
                      data={"csrf_token": csrf_from(page), "comment": "请核对体育运动场馆面积"})
    assert resp.status_code == 302
    page = school.get(url).get_data(as_text=True)
    assert "请核对体育运动场馆面积" in page and "已退回" in page
    submit_school(school, sheet, demo)
    assert sheet_row(app, sheet.id).state == "submitted"
    # the audit trail names who changed what
    with app.app_context():
        changes = [(c.action, c.field, c.new, c.actor) for c in db.session.scalars(
            select(DataChange).where(DataChange.sheet_id == sheet.id).order_by(DataChange.id))]
    assert {"draft", "submit", "return"} <= {c[0] for c in changes}
    qual = [c for c in changes if c[1] == f"qualified_teachers_{stage}"]
    assert [c[2] for c in qual][:2] == [teachers + 1, original]
    assert qual[0][3] == "学校填报链接" and ("return", "state", "returned", "clerk") in changes
    page = staff.get(f"/data/{rnd.id}/history?sheet={sheet.id}&field=qualified_teachers_{stage}").get_data(as_text=True)
    assert "学校填报链接" in page and str(teachers + 1) in page


def test_links_only_reach_their_own_school(app, staff, demo):
    rnd = open_round(staff, demo)
    a, b = rnd.sheets[0], rnd.sheets[1]
    assert len(a.token) >= 32 and a.token != b.token
    school = app.test_client()
    page = school.get(f"/d/{a.token}").get_data(as_text=True)
    assert a.name in page and b.name not in page
    assert school.get(f"/d/{a.token[:-1]}x").status_code == 404
    assert school.get(f"/data/{rnd.id}").status_code in (302, 401)  # staff pages need an account
    # the links page shows a QR code per school
    page = staff.get(f"/data/{rnd.id}/links").get_data(as_text=True)
    assert page.count("<svg") == SCHOOLS and f"/d/{a.token}" in page


def test_staff_see_only_their_county(app, staff, demo):
    rnd = open_round(staff, demo)
    school = app.test_client()
    upload_school_evidence(school, rnd.sheets[0], "章程.pdf", PDF)
    from survey.datacollect.models import DataFlag, Evidence

    with app.app_context():
        ev_id = db.session.scalar(select(Evidence.id))
        sheet = db.session.get(SchoolSheet, rnd.sheets[0].id)
        flag = DataFlag(sheet=sheet, rule="peers", field="sports_area", message="x", value=1.0, previous=2.0)
        db.session.add(flag)
        db.session.commit()
        flag_id = flag.id
        make_user("elsewhere", "staff", ("110101",))
    other = app.test_client()
    login(other, "elsewhere")
    token = csrf_from(other.get("/data/").get_data(as_text=True))
    values = {"data_round_id": rnd.id, "sheet_id": rnd.sheets[0].id, "evidence_id": ev_id, "flag_id": flag_id}
    urls = []
    for rule in app.url_map.iter_rules():
        if "data_round_id" in rule.arguments:
            path = rule.build({k: v for k, v in values.items() if k in rule.arguments}, append_unknown=False)[1]
            urls += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(urls) >= 14
    for method, url in urls:
        resp = other.open(url, method=method, data={"csrf_token": token, "comment": "x", "note": "x"})
        assert resp.status_code == 404, (method, url, resp.status_code)
    assert "2024年度数据填报" not in other.get("/data/").get_data(as_text=True)
    # …while their own county's pages work
    for method, url in urls:
        if method == "GET":
            assert staff.get(url).status_code == 200, url


def test_close_evaluates_the_round_as_its_exported_workbook(app, staff, demo, tmp_path: Path):
    rnd = open_round(staff, demo)
    school = app.test_client()
    page = staff.get(f"/data/{rnd.id}").get_data(as_text=True)
    resp = staff.post(f"/data/{rnd.id}/close", data={"csrf_token": csrf_from(page)})
    assert "未提交" in staff.get(resp.headers["Location"]).get_data(as_text=True)  # refused: nobody submitted
    for sheet in rnd.sheets:
        submit_school(school, sheet, demo)
    fill_county(staff, rnd, demo)
    export = staff.get(f"/data/{rnd.id}/export.xlsx")
    assert export.status_code == 200
    resp = staff.post(f"/data/{rnd.id}/close", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "/evaluations/" in resp.headers["Location"]
    with app.app_context():
        ev = db.session.get(DataRound, rnd.id).evaluation
        workbook_data, report = ev.workbook_data, ev.report
    assert workbook_data == export.data  # the evaluation's input is exactly the export
    detail = staff.get(resp.headers["Location"]).get_data(as_text=True)  # the evaluation names its data round
    assert 'id="data-round"' in detail and f"/data/{rnd.id}/history" in detail
    path = tmp_path / "export.xlsx"
    path.write_bytes(export.data)
    direct = evaluate_workbook(read_workbook(path), load_ruleset("national-2017")).to_dict()
    for key in ("verdict", "items", "schools", "cv", "shortfalls"):
        assert report[key] == direct[key], key
    # and it equals the evaluation of the original demo data the schools typed in
    original = evaluate_workbook(read_workbook(_write(demo, tmp_path / "demo.xlsx")),
                                 load_ruleset("national-2017")).to_dict()
    assert [(i["code"], i["status"]) for i in report["items"]] == [
        (i["code"], i["status"]) for i in original["items"]]
    assert report["cv"] == original["cv"]
    # the report pins the audit trail: the sha256 of history.csv at closing is among its inputs
    import hashlib

    trail = staff.get(f"/data/{rnd.id}/history.csv")
    assert trail.status_code == 200 and trail.data.decode("utf-8-sig").startswith("时间（UTC）,学校代码")
    inputs = {i["name"]: i["sha256"] for i in report["provenance"]["inputs"]}
    (name,) = [n for n in inputs if "修改记录" in n]
    assert inputs[name] == hashlib.sha256(trail.data).hexdigest()
    # closed: the school can no longer change anything
    sheet = rnd.sheets[0]
    page = school.get(f"/d/{sheet.token}").get_data(as_text=True)
    assert "已结束" in page


def _write(frames, path: Path) -> Path:
    from evaluator.workbook import write_workbook

    frames = dict(frames)
    frames.pop("rectification", None)
    return write_workbook(path, frames)


def test_county_sheet_validation_at_the_field(app, staff, demo):
    rnd = open_round(staff, demo)
    page = staff.get(f"/data/{rnd.id}/county").get_data(as_text=True)
    resp = staff.post(f"/data/{rnd.id}/county", data={"csrf_token": csrf_from(page), "teacher_avg_salary": "十万",
                                                       "monitoring_math_diff": "1.5"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="teacher_avg_salary-err"' in body and "应在 0–1 之间" in body
    resp = staff.post(f"/data/{rnd.id}/county", data={"csrf_token": csrf_from(page), "rotated_teachers": "200",
                                                       "rotation_eligible_teachers": "100"})
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.get(DataRound, rnd.id).county_values == {}


def test_new_round_from_previous_year_prefills_and_flags_history(app, staff, demo):
    rnd = open_round(staff, demo)
    school = app.test_client()
    for sheet in rnd.sheets:
        submit_school(school, sheet, demo)
    nxt = open_round(staff, demo, year=2025, name="2025年度数据填报", previous=rnd.id)
    sheet = nxt.sheets[0]
    page = school.get(f"/d/{sheet.token}").get_data(as_text=True)
    old = sheet_row(app, rnd.sheets[0].id).values["sports_area"]
    assert f'value="{cell(old)}"' in page and "上一年" in page  # prefilled from last year
    data = school_form(page, demo, sheet.code, sports_area=str(round(old * 3)))
    resp = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "与上一年相比变化过大" in body
    assert 'name="explain-year_over_year--sports_area"' in body
    data["explain-year_over_year--sports_area"] = "新建了标准运动场"
    resp = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    if resp.status_code == 422:  # another flag (peers) may need a word too
        for k in re.findall(r'name="(explain-[^"]+)"', resp.get_data(as_text=True)):
            data.setdefault(k, "已核实")
        resp = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    assert resp.status_code == 303
    page = staff.get(f"/data/{nxt.id}/sheets/{sheet.id}").get_data(as_text=True)
    assert "新建了标准运动场" in page and cell(old) in page


def test_frames_neutralise_formula_like_names(app, staff, demo):
    frames = {**demo, "schools": demo["schools"].copy()}
    frames["schools"].loc[0, "school_name"] = "@SUM(1+1)实验学校"
    rnd = open_round(staff, frames)
    from survey.datacollect.services import round_frames

    with app.app_context():
        out = round_frames(db.session.get(DataRound, rnd.id))["schools"]
    assert isinstance(out, pd.DataFrame) and out["school_name"].iloc[0] == "'@SUM(1+1)实验学校"


# ----------------------------------------------------------------------------- evidence
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload_school_evidence(client, sheet: Sheet, name: str, data: bytes, field: str = "has_charter_and_ict"):
    page = client.get(f"/d/{sheet.token}").get_data(as_text=True)
    return post_file(client, f"/d/{sheet.token}/evidence", {"csrf_token": csrf_from(page), "field": field,
                                                            "file": (io.BytesIO(data), name)})


def post_file(client, url: str, data: dict):
    """A multipart POST whose encoded body (a temporary file when large) is closed afterwards."""
    from flask.testing import EnvironBuilder

    builder = EnvironBuilder(client.application, path=url, method="POST", data=data)
    try:
        env = builder.get_environ()
        with env["wsgi.input"] as stream:
            body = stream.read()
    finally:
        builder.close()
    return client.post(url, data=body, content_type=env["CONTENT_TYPE"])


def test_evidence_limits_type_and_content(app, staff, demo):
    from survey.datacollect.models import Evidence

    rnd = open_round(staff, demo)
    sheet = rnd.sheets[0]
    school = app.test_client()
    too_big = PDF + b"0" * (5 * 1024 * 1024)
    resp = upload_school_evidence(school, sheet, "章程.pdf", too_big)
    assert resp.status_code == 422 and "超过 5 MB" in resp.get_data(as_text=True)
    resp = upload_school_evidence(school, sheet, "page.html", b"<script>alert(1)</script>")
    assert resp.status_code == 422 and "类型不允许" in resp.get_data(as_text=True)
    resp = upload_school_evidence(school, sheet, "fake.pdf", b"<html><script>alert(1)</script></html>")
    assert resp.status_code == 422 and "不符" in resp.get_data(as_text=True)
    resp = upload_school_evidence(school, sheet, "章程.pdf", PDF, field="teaching_area")
    assert resp.status_code == 422 and "不需要佐证材料" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Evidence)).all() == []
    resp = upload_school_evidence(school, sheet, "../../章程.pdf", PDF)
    assert resp.status_code == 303
    with app.app_context():
        (ev,) = db.session.scalars(select(Evidence)).all()
        ev_id, name, digest = ev.id, ev.filename, ev.sha256
    import hashlib

    assert name == "章程.pdf" and digest == hashlib.sha256(PDF).hexdigest()
    # staff download: always an attachment, never sniffed or rendered
    resp = staff.get(f"/data/{rnd.id}/evidence/{ev_id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.mimetype == "application/octet-stream"
    # the school's link cannot download anything, another county's staff cannot either
    assert school.get(f"/data/{rnd.id}/evidence/{ev_id}").status_code in (302, 401)


def test_evidence_never_changes_a_status_and_is_listed_in_the_report(app, staff, demo):
    rnd = open_round(staff, demo)
    school = app.test_client()
    for sheet in rnd.sheets:
        submit_school(school, sheet, demo)
    county = {**demo["county"], "layout_plan_ok": False}
    fill_county(staff, rnd, {**demo, "county": county})
    page = staff.get(f"/data/{rnd.id}/county").get_data(as_text=True)
    resp = staff.post(f"/data/{rnd.id}/county/evidence", data={
        "csrf_token": csrf_from(page), "field": "layout_plan_ok", "file": (io.BytesIO(PDF), "规划.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    from survey.datacollect.models import Evidence

    with app.app_context():
        ev_id = db.session.scalar(select(Evidence.id))
    page = staff.get(f"/data/{rnd.id}/county").get_data(as_text=True)
    assert "规划.pdf" in page
    resp = staff.post(f"/data/{rnd.id}/evidence/{ev_id}/accept", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    resp = staff.post(f"/data/{rnd.id}/close", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "/evaluations/" in resp.headers["Location"]
    with app.app_context():
        report = db.session.get(DataRound, rnd.id).evaluation.report
    item = next(i for i in report["items"] if i["code"] == "2.1")
    assert item["status"] == "fail"  # accepted evidence does not turn 否 into a pass
    names = [i["name"] for i in report["provenance"]["inputs"]]
    assert any("佐证材料 2.1" in n and "规划.pdf" in n and "已认可" in n for n in names), names


# ----------------------------------------------------------------------------- flags, lateness
def test_staff_override_a_flag_keeps_both(app, staff, demo):
    rnd = open_round(staff, demo)
    school = app.test_client()
    for sheet in rnd.sheets:
        submit_school(school, sheet, demo)
    nxt = open_round(staff, demo, year=2025, name="2025年度数据填报", previous=rnd.id)
    sheet = nxt.sheets[1]
    page = school.get(f"/d/{sheet.token}").get_data(as_text=True)
    old = sheet_row(app, rnd.sheets[1].id).values["equipment_value"]
    data = school_form(page, demo, sheet.code, equipment_value=str(round(old * 4)))
    data["explain-year_over_year--equipment_value"] = "新购置实验室设备"
    assert school.post(f"/d/{sheet.token}", data={**data, "action": "draft"}).status_code == 303
    from survey.datacollect.models import DataFlag

    with app.app_context():
        flag = db.session.scalar(select(DataFlag).where(DataFlag.sheet_id == sheet.id,
                                                        DataFlag.field == "equipment_value"))
        flag_id, explanation, previous = flag.id, flag.explanation, flag.previous
    assert explanation == "新购置实验室设备" and previous == old
    page = staff.get(f"/data/{nxt.id}/sheets/{sheet.id}").get_data(as_text=True)
    assert "新购置实验室设备" in page
    resp = staff.post(f"/data/{nxt.id}/flags/{flag_id}/override",
                      data={"csrf_token": csrf_from(page), "note": "已实地核查，设备清单属实"})
    assert resp.status_code == 302
    with app.app_context():
        flag = db.session.get(DataFlag, flag_id)
        assert flag.explanation == "新购置实验室设备" and flag.override_note == "已实地核查，设备清单属实"
        assert flag.overridden_by.username == "clerk"
    # a value changed back clears the flag but keeps its record
    data = school_form(school.get(f"/d/{sheet.token}").get_data(as_text=True), demo, sheet.code,
                       equipment_value=cell(old))
    assert school.post(f"/d/{sheet.token}", data={**data, "action": "draft"}).status_code == 303
    with app.app_context():
        assert db.session.get(DataFlag, flag_id).cleared_at is not None


def test_late_schools_are_shown(app, staff, demo):
    from datetime import timedelta

    from survey.models import utcnow

    rnd = open_round(staff, demo)
    with app.app_context():
        db.session.get(DataRound, rnd.id).deadline = utcnow() - timedelta(days=1)
        db.session.commit()
    submit_school(app.test_client(), rnd.sheets[0], demo)
    page = staff.get(f"/data/{rnd.id}").get_data(as_text=True)
    assert f"逾期 {SCHOOLS - 1} 所" in page
    page = app.test_client().get(f"/d/{rnd.sheets[1].token}").get_data(as_text=True)
    assert "已逾期" in page


def test_submission_needs_every_required_field_but_a_draft_does_not(app, staff, demo):
    rnd = open_round(staff, demo)
    sheet = rnd.sheets[0]
    school = app.test_client()
    page = school.get(f"/d/{sheet.token}").get_data(as_text=True)
    data = school_form(page, demo, sheet.code, sports_area="", founded_year="")
    assert school.post(f"/d/{sheet.token}", data={**data, "action": "draft"}).status_code == 303
    resp = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="sports_area-err"' in body and "提交前请填写此项" in body
    assert 'id="founded_year-err"' not in body  # optional
    assert sheet_row(app, sheet.id).state == "draft"


def test_new_round_from_last_years_workbook(app, staff, demo, tmp_path):
    """A bureau's first online year: last year's §2 workbook prefills every school and the
    county sheet, and is the history the plausibility flags compare with."""
    path = _write(demo, tmp_path / "2023年数据表.xlsx")
    page = staff.get("/data/new").get_data(as_text=True)
    county_id = re.search(r'<option value="(\d+)"[^>]*>[^<]*（' + DEMO, page).group(1)
    resp = staff.post("/data/new", data={"csrf_token": csrf_from(page), "county": county_id, "year": "2024",
                                         "name": "沿用去年数据表", "previous": "0", "ruleset": "national-2017",
                                         "roster": (io.BytesIO(path.read_bytes()), path.name)},
                      content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        rnd = db.session.scalar(select(DataRound).where(DataRound.name == "沿用去年数据表"))
        first = rnd.sheets[0]
        row = demo["schools"].set_index("school_code").loc[first.code]
        assert first.values["teachers_primary"] == row["teachers_primary"]
        assert first.previous["sports_area"] == row["sports_area"]
        assert len(first.classes) == len(demo["classes"][demo["classes"]["school_code"] == first.code])
        assert rnd.county_values["teacher_avg_salary"] == demo["county"]["teacher_avg_salary"]
    # a workbook of another county is refused, naming the sheet
    other = {**demo, "county": {**demo["county"], "county_code": "110101"}}
    path2 = _write(other, tmp_path / "别县.xlsx")
    resp = staff.post("/data/new", data={"csrf_token": csrf_from(page), "county": county_id, "year": "2024",
                                         "name": "别县", "previous": "0", "ruleset": "national-2017",
                                         "roster": (io.BytesIO(path2.read_bytes()), path2.name)},
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "工作表 county" in resp.get_data(as_text=True)


def test_export_is_reproducible_byte_for_byte(app, staff, demo):
    import time

    from openpyxl import load_workbook

    rnd = open_round(staff, demo)
    first = staff.get(f"/data/{rnd.id}/export.xlsx").data
    time.sleep(1.1)  # openpyxl stamps the save time: it must not leak into the bytes
    assert staff.get(f"/data/{rnd.id}/export.xlsx").data == first
    book = load_workbook(io.BytesIO(first), read_only=True)
    assert {"schools", "classes", "rooms", "county"} <= set(book.sheetnames)
    book.close()


def test_a_flag_overridden_by_staff_lets_the_school_submit(app, staff, demo):
    rnd = open_round(staff, demo)
    school = app.test_client()
    for sheet in rnd.sheets:
        submit_school(school, sheet, demo)
    nxt = open_round(staff, demo, year=2025, name="2025年度数据填报", previous=rnd.id)
    sheet = nxt.sheets[2]
    old = sheet_row(app, rnd.sheets[2].id).values["teaching_area"]
    page = school.get(f"/d/{sheet.token}").get_data(as_text=True)
    data = school_form(page, demo, sheet.code, teaching_area=cell(round(old / 2, 1)))
    assert school.post(f"/d/{sheet.token}", data={**data, "action": "draft"}).status_code == 303
    refused = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    assert refused.status_code == 422 and "explain-year_over_year--teaching_area" in refused.get_data(as_text=True)
    from survey.datacollect.models import DataFlag

    with app.app_context():
        flags = db.session.scalars(select(DataFlag).where(DataFlag.sheet_id == sheet.id,
                                                          DataFlag.cleared_at.is_(None))).all()
        ids = [f.id for f in flags]
    page = staff.get(f"/data/{nxt.id}/sheets/{sheet.id}").get_data(as_text=True)
    for flag_id in ids:
        assert staff.post(f"/data/{nxt.id}/flags/{flag_id}/override",
                          data={"csrf_token": csrf_from(page), "note": "教学楼部分拆除重建，已核实"}).status_code == 302
    resp = school.post(f"/d/{sheet.token}", data={**data, "action": "submit"})
    assert resp.status_code == 303
    assert sheet_row(app, sheet.id).state == "submitted"
