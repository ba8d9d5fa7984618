"""Creating rounds from the web, roster errors, quotas, entry links, QR codes, exports."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import cv2
import numpy as np
import pandas as pd
from sqlalchemy import func, select

from evaluator.groups import GROUPS
from survey.db import db
from survey.models import County, EntryLink, School, SurveyRound
from tests.survey.conftest import ROSTER_ROWS, csrf_from, roster_xlsx
from tests.survey.helpers import answer_all, link_for, login, make_round, make_user


def decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None and text, "no QR code found"
    return text


def _create(client, roster: bytes, filename: str = "名单.xlsx", **fields):
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    data = {"csrf_token": token, "county_code": "110101", "county_name": "测试县", "name": "2026年调查",
            "ruleset": "national-2017", "stop_when_full": "y", "roster": (io.BytesIO(roster), filename)}
    data.update(fields)
    return client.post("/admin/rounds/new", data=data, content_type="multipart/form-data")


def test_staff_creates_round_from_roster_with_links_and_proposed_quotas(app, client):
    with app.app_context():
        make_user("staff_a", "staff", ("110101",))
    login(client, "staff_a")
    resp = _create(client, roster_xlsx(ROSTER_ROWS), target_n=800)
    assert resp.status_code == 302
    with app.app_context():
        rnd = db.session.scalars(select(SurveyRound)).one()
        school_groups = [g for g in GROUPS.values() if g.school_linked]
        county_groups = [g for g in GROUPS.values() if not g.school_linked]
        assert len(rnd.links) == len(ROSTER_ROWS) * len(school_groups) + len(county_groups)
        per_group = {g: sum(ln.quota for ln in rnd.links if ln.group == g) for g in GROUPS}
        # 800 is spread over the groups; principals are capped by the frame (one per school),
        # the places they cannot take are not invented elsewhere
        assert per_group["principal"] == len(ROSTER_ROWS)
        assert 750 <= sum(per_group.values()) <= 800
        assert per_group["parent"] >= 400  # parents ≥ 50% (docs/rules.md §6)
        # quotas per school follow enrolment: the biggest school gets the most parents
        by_school = {ln.school.code: ln.quota for ln in rnd.links if ln.group == "parent"}
        assert by_school["S01"] == max(by_school.values()) and by_school["S05"] == min(by_school.values())
        assert len({ln.code for ln in rnd.links}) == len(rnd.links)
        assert all(len(ln.code) == 10 for ln in rnd.links)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "样本量与配额依据" in page and "城关第一小学" in page


def test_bad_roster_names_file_sheet_row_column_and_stores_nothing(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    rows = [list(r) for r in ROSTER_ROWS]
    rows[2][4] = "四百五"  # row 4 of the sheet, students_junior
    resp = _create(client, roster_xlsx(rows))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "文件 名单.xlsx，工作表 schools，第 4 行，列 在校生数（初中）（students_junior）：应为非负整数，实际为“四百五”" in page
    rows = [list(r) for r in ROSTER_ROWS]
    rows[3][0] = "S01"
    page = _create(client, roster_xlsx(rows)).get_data(as_text=True)
    assert "第 5 行，列 学校代码（school_code）：学校代码“S01”与第 2 行重复" in page
    page = _create(client, "school_code,school_name\nS1,甲\n".encode(), filename="roster.csv").get_data(as_text=True)
    assert "文件 roster.csv，第 1 行：第 1 行（表头）缺少必需的列：学校类型（school_type）" in page
    page = _create(client, b"not a zip", filename="x.xlsx").get_data(as_text=True)
    assert "无法作为 Excel（.xlsx）文件打开" in page
    with app.app_context():
        for model in (SurveyRound, School, EntryLink, County):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model


def test_gbk_csv_roster_with_chinese_headers(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    text = "学校代码,学校名称,学校类型,小学在校生数,初中在校生数\nA1,东关小学,小学,300,\nA2,西关中学,初中,,200\n"
    assert _create(client, text.encode("gbk"), filename="名单.csv").status_code == 302
    with app.app_context():
        names = sorted(s.name for s in db.session.scalars(select(School)))
        assert names == ["东关小学", "西关中学"]


def test_quotas_are_editable_and_bad_input_changes_nothing(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid = rnd.id
        ln = link_for(rnd, "parent", "S01")
        other = link_for(rnd, "student", "S02")
        lid, oid, before = ln.id, other.id, other.quota
    login(client, "boss")
    token = csrf_from(client.get(f"/admin/rounds/{rid}").get_data(as_text=True))
    client.post(f"/admin/rounds/{rid}/quotas", data={"csrf_token": token, f"quota-{lid}": "123"})
    page = client.post(f"/admin/rounds/{rid}/quotas", follow_redirects=True,
                       data={"csrf_token": token, f"quota-{oid}": "7", f"quota-{lid}": "-3"}).get_data(as_text=True)
    assert "城关第一小学·家长：配额应为 0–9999999 的整数，您填写的是“-3”，未保存任何修改" in page
    with app.app_context():
        assert db.session.get(EntryLink, lid).quota == 123
        assert db.session.get(EntryLink, oid).quota == before


def test_qr_png_svg_zip_and_links_csv_decode_to_the_entry_link(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid, code = rnd.id, link_for(rnd, "parent", "S03").code
        n_links = len(rnd.links)
    login(client, "boss")
    png = client.get(f"/admin/rounds/{rid}/qr/{code}.png")
    assert png.mimetype == "image/png"
    assert decode_qr(png.data) == f"http://survey.test/s/{code}"
    svg = client.get(f"/admin/rounds/{rid}/qr/{code}.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/admin/rounds/{rid}/posters.zip").data))
    assert len(z.namelist()) == n_links
    name = "S03_实验学校_家长.png"
    assert name in z.namelist() and "全县_人大代表.png" in z.namelist()
    assert decode_qr(z.read(name)) == f"http://survey.test/s/{code}"
    rows = list(csv.DictReader(io.StringIO(client.get(f"/admin/rounds/{rid}/links.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert list(rows[0]) == ["school_code", "school_name", "group", "url"]
    assert {"school_code": "S03", "school_name": "实验学校", "group": "parent", "url": f"http://survey.test/s/{code}"} in rows
    posters = client.get(f"/admin/rounds/{rid}/posters").get_data(as_text=True)
    assert posters.count('class="poster"') == n_links and "@page{size:A4" in posters


def test_progress_and_export_show_a_response_under_its_school_and_group(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid, code = rnd.id, link_for(rnd, "student", "S03").code
    respondent = app.test_client()
    form = answer_all(respondent.get(f"/s/{code}").get_data(as_text=True), "基本满意")
    assert respondent.post(f"/s/{code}", data=form).status_code == 303
    login(client, "boss")
    frag = client.get(f"/admin/rounds/{rid}/progress?fragment=1").get_data(as_text=True)
    row = frag[frag.index('data-school="S03"'):]
    row = row[: row.index("</tr>")]
    # after the name cell, one cell per group in GROUPS order ("—" for county-level groups); the
    # answer is a speeder (stored, no quota place), so it shows as stored
    dones = [m.group(1) for m in re.finditer(
        r'<td(?: class="num" data-done="\d+" data-quota="\d+" data-stored="(\d+)"[^>]*| class="muted")>', row)]
    expected = [("1" if g == "student" else "0") if GROUPS[g].school_linked else None for g in GROUPS]
    assert dones == expected
    data = client.get(f"/admin/rounds/{rid}/export.xlsx").data
    frame = pd.read_excel(io.BytesIO(data), dtype={"school_code": str})
    assert list(frame.columns[:5]) == ["group", "school_code", "response_id", "submitted_at", "duration_seconds"]
    rec = frame.iloc[0]
    assert (rec["group"], rec["school_code"], rec["p01"]) == ("student", "S03", "基本满意")
    assert "flag_speeder" in frame.columns and bool(rec["flag_speeder"]) is True  # answered in < 30 s


def test_close_round_stops_collection(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid, code = rnd.id, link_for(rnd, "public").code
    login(client, "boss")
    token = csrf_from(client.get(f"/admin/rounds/{rid}").get_data(as_text=True))
    assert client.post(f"/admin/rounds/{rid}/close", data={"csrf_token": token}).status_code == 302
    assert client.get(f"/s/{code}").status_code == 410


def test_oversize_upload_is_refused_with_413(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    big = b"x" * (9 * 1024 * 1024)  # streamed: the test client must not spool it to a temp file
    resp = client.post(f"/admin/rounds/new?csrf_token={token}", input_stream=io.BytesIO(big),
                       content_type="multipart/form-data; boundary=zzz", headers={"Content-Length": str(len(big))})
    assert resp.status_code == 413 and "过大" in resp.get_data(as_text=True)


def test_form_field_errors_are_chinese(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    resp = _create(client, roster_xlsx(ROSTER_ROWS), target_n="很多", opens="明天", ruleset="no-such-rules")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "不是有效的整数" in page and "不是有效的选择" in page and "不是有效的日期与时间值" in page
    assert "Not a valid" not in page


def test_registering_the_same_new_county_concurrently_gives_one_county(app):
    import threading

    from survey.services.rounds import get_or_create_county

    barrier, ids, errors = threading.Barrier(6), [], []

    def register() -> None:
        with app.app_context():
            barrier.wait()
            try:
                ids.append(get_or_create_county("430101", "并发县").id)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the test reports any failure
                errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(set(ids)) == 1 and len(ids) == 6
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(County)) == 1
