"""City/province overview: scope and isolation, traffic lights, export, review report,
roadmap import, projection with what-if, tracking (synthetic city of tests/survey/overview_city.py)."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from openpyxl import load_workbook

from survey.db import db
from tests.survey.conftest import csrf_from
from tests.survey.helpers import login
from tests.survey.overview_city import ANSHAN, DALIAN, build_city


@pytest.fixture
def city(app, tmp_path):
    app.config["OVERVIEW_YEAR"] = 2026
    with app.app_context():
        c = build_city(tmp_path)
        db.session.remove()
    return c


def rows_of(html: str) -> dict[str, str]:
    """County code → the traffic light shown in its row."""
    return dict(re.findall(r'<tr data-county="(\d+)">.*?data-light="(\w+)"', html, re.S))


def test_city_inspector_sees_exactly_the_counties_of_their_city(app, client, city):
    login(client, "anshan")
    page = client.get("/overview/").get_data(as_text=True)
    assert set(rows_of(page)) == {c[0] for c in ANSHAN}
    for code, *_ in DALIAN:
        cid = city.ids[code]
        assert client.get(f"/overview/counties/{cid}").status_code == 404
        assert client.get(f"/overview/counties/{cid}/projection").status_code == 404
        assert client.get(f"/overview/counties/{cid}/roadmap").status_code == 404
        assert client.get(f"/evaluations/{city.evaluations[code]}").status_code == 404
    wb = load_workbook(io.BytesIO(client.get("/overview/export.xlsx").data))
    assert sorted(r[0].value for r in wb.active.iter_rows(min_row=3)) == sorted(c[0] for c in ANSHAN)
    # a region of another city in the query string is not found either
    html = client.get("/overview/").get_data(as_text=True)
    assert "大连市" not in html
    client.post("/logout", data={"csrf_token": csrf_from(html)})

    login(client, "dalian")
    assert set(rows_of(client.get("/overview/").get_data(as_text=True))) == {c[0] for c in DALIAN}
    assert client.get(f"/overview/counties/{city.ids['210302']}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/overview/").get_data(as_text=True))})

    login(client, "liaoning")  # the province: both cities; filtered to one city on request
    page = client.get("/overview/").get_data(as_text=True)
    assert set(rows_of(page)) == {c[0] for c in ANSHAN + DALIAN}
    region = re.search(r'<option value="(\d+)">大连市', page).group(1)
    assert set(rows_of(client.get(f"/overview/?region={region}").get_data(as_text=True))) == {c[0] for c in DALIAN}
    client.post("/logout", data={"csrf_token": csrf_from(page)})

    login(client, "tiedong")  # county staff: their county only
    assert set(rows_of(client.get("/overview/").get_data(as_text=True))) == {"210302"}
    assert client.get(f"/overview/?region={region}").status_code == 404


def test_traffic_lights_verdict_years_sort_and_filter(app, client, city):
    login(client, "anshan")
    page = client.get("/overview/?sort=light").get_data(as_text=True)
    lights = rows_of(page)
    assert lights == {"210302": "green", "210303": "green", "210304": "red", "210311": "red", "210321": "grey",
                      "210323": "yellow", "210381": "red", "210390": "green"}
    assert list(rows_of(page))[:3] == ["210304", "210311", "210381"]  # at risk first
    assert "按规划测算2027年达到认定要求" in page
    assert "按规划测算，2027年仍有3项未达标：1.5、1.8、2.3" in page
    red = client.get("/overview/?light=red&q=千山").get_data(as_text=True)
    assert set(rows_of(red)) == {"210311"}
    assert set(rows_of(client.get("/overview/?target=2028").get_data(as_text=True))) == {"210311", "210323"}
    assert "进度判定规则" in page


def test_export_and_review_report(app, client, city):
    login(client, "liaoning")
    resp = client.get("/overview/export.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws.cell(2, 1).value == "县代码" and ws.cell(2, 16).value == "进度"
    names = {r[0].value: r[1].value for r in ws.iter_rows(min_row=3)}
    assert names["210212"] == "'@旅顺口区"  # user text never becomes a formula
    row = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "210303")
    assert row[2] == 2027 and row[7] == "1.5、1.8、2.3" and row[14] == 2027 and row[15] == "按计划推进"
    assert "音乐专用教室1间" in row[9]

    html = client.get("/overview/review").get_data(as_text=True)
    assert html.count('<section class="county"') == 10
    cv = re.search(r'<table id="cv">(.*?)</table>', html, re.S).group(1)
    assert cv.count("<tr>") == 1 + 14
    failing = re.search(r'<table id="failing">(.*?)</table>', html, re.S).group(1)
    assert "1.8" in failing and "2.3" in failing
    doc = Document(io.BytesIO(client.get("/overview/review.docx").data))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    assert "铁西区（210303）" in heads and "各县差异系数对照（最近一次评估）" in heads
    cv_table = doc.tables[-2]
    assert len(cv_table.rows) == 15 and len(cv_table.columns) == 2 + 10 + 1


def test_tracking_compares_this_year_with_the_plan(app, client, city):
    login(client, "anshan")
    page = client.get(f"/overview/counties/{city.ids['210381']}").get_data(as_text=True)
    summary = re.search(r'<p id="tracking-summary">(.*?)</p>', page, re.S).group(1)
    assert summary.startswith("2027年实际评估与规划预测相比：3项指标落后于计划（1.5")
    assert "音乐专用教室比预测多缺1间" in summary


def _roadmap_bytes(tmp_path, edit=None) -> bytes:
    import pandas as pd

    from evaluator.projection import Project
    from evaluator.roadmap import Roadmap, write_roadmap

    rm = Roadmap(target_year=2028, measures={("1.5", 2026): "三小扩建运动场"},
                 projects=(Project("A", 2026, "extension", "P3", name="三小扩建", music_rooms=1, music_room_area=100,
                                   added={"sports_area": 3000}),),
                 enrolment=pd.DataFrame(columns=["school_code", "year", "students_primary", "students_junior"]))
    path = write_roadmap(tmp_path / "roadmap.xlsx", rm)
    if edit:
        wb = load_workbook(path)
        edit(wb)
        wb.save(path)
    return path.read_bytes()


def test_roadmap_import_errors_are_located_and_store_nothing(app, client, city, tmp_path):
    login(client, "city_admin")
    cid = city.ids["210321"]  # 台安县: no plan yet
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)

    def bad(wb):
        wb["建设项目"]["C2"] = "新修"

    resp = client.post(f"/overview/counties/{cid}/roadmap/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_from(page), "roadmap": (io.BytesIO(_roadmap_bytes(tmp_path, bad)),
                                                                        "台安规划.xlsx")})
    assert resp.status_code == 422
    assert "文件 台安规划.xlsx，工作表 建设项目，第 2 行，列 C（项目类型）：项目类型“新修”应为 新建/改扩建/撤并" in \
        resp.get_data(as_text=True)
    assert "尚未录入推进规划" in client.get(f"/overview/counties/{cid}").get_data(as_text=True)
    wrong = client.post(f"/overview/counties/{cid}/roadmap/import", content_type="multipart/form-data",
                        data={"csrf_token": csrf_from(page), "roadmap": (io.BytesIO(b"a,b"), "规划.csv")})
    assert wrong.status_code == 422 and "只接受 .xlsx 工作簿" in wrong.get_data(as_text=True)

    resp = client.post(f"/overview/counties/{cid}/roadmap/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_from(page), "roadmap": (io.BytesIO(_roadmap_bytes(tmp_path)),
                                                                        "台安规划.xlsx")})
    assert resp.status_code == 302
    proj = client.get(f"/overview/counties/{cid}/projection").get_data(as_text=True)
    assert "预计 2026 年达到优质均衡认定要求。" in proj
    assert 'data-item="1.8"' in proj and "三小扩建" in proj  # the project 1.8 depends on
    assert proj.count("<svg") == 14
    assert "测算假设" in proj
    # evaluators read roadmaps but do not edit them
    client.post("/logout", data={"csrf_token": csrf_from(proj)})
    login(client, "anshan")
    fresh = csrf_from(client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True))  # a new session's token
    assert client.post(f"/overview/counties/{cid}/roadmap/import", data={"csrf_token": fresh}).status_code == 403


def test_what_if_moving_the_project_moves_the_verdict_year(app, client, city):
    login(client, "anshan")
    cid = city.ids["210303"]
    page = client.get(f"/overview/counties/{cid}/projection").get_data(as_text=True)
    assert "预计 2027 年达到优质均衡认定要求。" in page
    pid = re.search(r'name="move-(\d+)"', page).group(1)
    resp = client.post(f"/overview/counties/{cid}/projection", data={"csrf_token": csrf_from(page),
                                                                      f"move-{pid}": "2026"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "原规划：2027 年达到；模拟：2026 年达到。" in html
    resp = client.post(f"/overview/counties/{cid}/projection", data={"csrf_token": csrf_from(page),
                                                                      f"drop-{pid}": "1"})
    assert "原规划：2027 年达到；模拟：目标年份前不能达到。" in resp.get_data(as_text=True)
    # an added what-if project with a bad number: a Chinese message, 422, nothing stored
    resp = client.post(f"/overview/counties/{cid}/projection", data={
        "csrf_token": csrf_from(page), "year": "2026", "kind": "extension", "school_code": "P1", "sports_area": "很多"})
    assert resp.status_code == 422 and "“新增体育运动场馆面积”应为数字" in resp.get_data(as_text=True)


def test_regions_are_managed_by_admins_only(app, client, city):
    login(client, "anshan")
    assert client.get("/overview/regions").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/overview/").get_data(as_text=True))})
    login(client, "city_admin")
    page = client.get("/overview/regions").get_data(as_text=True)
    resp = client.post("/overview/regions", data={"csrf_token": csrf_from(page), "code": "2104", "name": "抚顺市",
                                                  "level": "city", "parent": ""})
    assert resp.status_code == 302
    page = client.get("/overview/regions").get_data(as_text=True)
    assert '抚顺市（2104，市）' in page
    rid = re.findall(r'/overview/regions/(\d+)"', page)[-1]
    resp = client.post(f"/overview/regions/{rid}", data={"csrf_token": csrf_from(page), "counties": "999999"})
    assert resp.status_code == 422 and "以下县代码尚未登记：999999" in resp.get_data(as_text=True)
    resp = client.post(f"/overview/regions/{rid}", data={"csrf_token": csrf_from(page), "counties": "210321",
                                                         "username": "dalian"})
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(client, "dalian")  # now sees 抚顺市's county too
    assert set(rows_of(client.get("/overview/").get_data(as_text=True))) == {c[0] for c in DALIAN} | {"210321"}


def test_survey_round_progress_and_live_score_with_interval(app, client, city):
    from survey.instruments import catalogue
    from survey.models import County
    from survey.services.round_recognition import round_recognition_sql
    from tests.survey.helpers import make_round, store_answers

    with app.app_context():
        rnd = make_round("210302", name="2026年铁东区社会认可度调查")
        n = 0
        for i, ln in enumerate(rnd.links):
            for k in range(min(3, ln.quota)):
                store_answers(ln, "满意" if (i + k) % 4 else "不满意")
                n += 1
        expected = round_recognition_sql(rnd, catalogue()).to_dict()
        quota = sum(ln.quota for ln in rnd.links)
        assert db.session.get(County, rnd.county_id).code == "210302"
    login(client, "anshan")
    page = client.get("/overview/").get_data(as_text=True)
    row = re.search(r'<tr data-county="210302">(.*?)</tr>', page, re.S).group(1)
    assert f"2026年铁东区社会认可度调查</a>：{n}/{quota}" in row
    score = f"{expected['score'] * 100:.1f}%"
    ci = f"（{expected['ci'][0] * 100:.1f}–{expected['ci'][1] * 100:.1f}%）"
    assert f"<b>{score}</b>{ci}" in row


def test_measures_are_edited_in_the_browser(app, client, city):
    login(client, "tiedong")  # county staff edit their own roadmap
    cid = city.ids["210302"]
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    assert "三小增建音乐教室" in page
    resp = client.post(f"/overview/counties/{cid}/roadmap", data={
        "csrf_token": csrf_from(page), "target_year": "2027", "m-2.3-2026": "", "m-2.5-2027": "起始年级严格控制班额"})
    assert resp.status_code == 302
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    assert "三小增建音乐教室" not in page and "起始年级严格控制班额" in page and 'value="2027"' in page
    resp = client.post(f"/overview/counties/{cid}/roadmap", data={
        "csrf_token": csrf_from(page), "target_year": "1999", "m-2.5-2027": "x"})
    assert resp.status_code == 422 and "目标验收年份应在 2000–2100 之间" in resp.get_data(as_text=True)
    assert "起始年级严格控制班额" in client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    assert client.get(f"/overview/counties/{city.ids['210303']}/roadmap").status_code == 404


def test_enrolment_projection_entered_in_the_browser_changes_the_projection(app, client, city):
    """铁西区 with 600 more primary students at 三小 from 2027: its sports ground, even after the
    extension, is short again (3000 + 6300 m² for 1800 students = 5.17 m²): no recognition by 2027."""
    login(client, "city_admin")
    cid = city.ids["210303"]
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    resp = client.post(f"/overview/counties/{cid}/roadmap/enrolment", data={
        "csrf_token": csrf_from(page), "school_code": "P3", "year": "2027", "students_primary": "1800"})
    assert resp.status_code == 302
    proj = client.get(f"/overview/counties/{cid}/projection").get_data(as_text=True)
    assert "按现有规划，2027 年前不能达到认定要求。" in proj
    resp = client.post(f"/overview/counties/{cid}/roadmap/enrolment", data={
        "csrf_token": csrf_from(page), "school_code": "P3", "year": "2027", "students_primary": "-3"})
    assert resp.status_code == 422 and "在校生数应为 0–100000 的整数，未保存。" in resp.get_data(as_text=True)
    client.post(f"/overview/counties/{cid}/roadmap/enrolment", data={
        "csrf_token": csrf_from(page), "school_code": "P3", "year": "2027"})  # both empty: removed
    assert "预计 2027 年达到优质均衡认定要求。" in client.get(f"/overview/counties/{cid}/projection").get_data(as_text=True)


def test_demo_city_and_roadmap_answer_the_demo_shortfalls(app, client, tmp_path):
    """The demo's roadmap (survey/overview/demo.py) is built from its evaluation's shortfalls:
    in the target year 2.3 (rooms) and 2.4 (school size) pass; safe to load twice."""
    from evaluator.workbook import demo_workbook
    from survey.instruments import catalogue
    from survey.overview.demo import load_demo_overview
    from survey.overview.services import plan_projects, projection_for
    from survey.services.evaluations import run_evaluation
    from tests.survey.helpers import make_user

    with app.app_context():
        admin = make_user("demo_admin", "admin")
        insp = make_user("demo_insp", "evaluator", ("370300",), names={"370300": "演示县"})
        wb = demo_workbook(tmp_path / "演示县数据.xlsx")
        ev = run_evaluation(user=admin, workbook_name=wb.name, workbook_bytes=wb.read_bytes(), ruleset="national-2017",
                            round=None, catalogue=catalogue())
        load_demo_overview(ev.county, admin, insp)
        load_demo_overview(ev.county, admin, insp)
        db.session.commit()
        n = len(plan_projects(ev.county))
        p = projection_for(ev.county, dependencies=False).projection
        assert n >= 2 and p.target_year == 2027
        assert p.base.item("2.3").status == "fail" and p.target.status("2.3") == "pass"
        assert p.base.item("2.4").status == "fail" and p.target.status("2.4") == "pass"
    login(client, "demo_insp")
    page = client.get("/overview/").get_data(as_text=True)
    assert "演示市（市）" in page
    assert set(rows_of(page)) == {"370300"}


def test_what_if_adding_a_project_gives_a_verdict_year(app, client, city):
    login(client, "anshan")
    cid = city.ids["210304"]  # 立山区: P3 short, no project planned
    page = client.get(f"/overview/counties/{cid}/projection").get_data(as_text=True)
    assert "按现有规划，2027 年前不能达到认定要求。" in page
    assert "1.8</b>（未达标）" in page  # what remains short in the target year
    resp = client.post(f"/overview/counties/{cid}/projection", data={
        "csrf_token": csrf_from(page), "year": "2026", "kind": "extension", "school_code": "P3",
        "sports_area": "3000", "music_rooms": "1", "music_room_area": "100"})
    assert resp.status_code == 200
    assert "原规划：目标年份前不能达到；模拟：2026 年达到。" in resp.get_data(as_text=True)
    # nothing was saved: the plan still has no project
    assert "按现有规划，2027 年前不能达到认定要求。" in client.get(f"/overview/counties/{cid}/projection").get_data(
        as_text=True)


def test_tracking_restarts_from_the_latest_evaluation_on_request(app, client, city):
    login(client, "city_admin")
    cid = city.ids["210381"]  # 海城市: baseline 2025, latest 2027 behind plan
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    assert f"年度跟踪的起点：第 {city.evaluations['210381']} 号评估" not in page  # still the 2025 evaluation
    resp = client.post(f"/overview/counties/{cid}/roadmap/baseline", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    page = client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True)
    assert f"年度跟踪的起点：第 {city.evaluations['210381']} 号评估" in page
    county = client.get(f"/overview/counties/{cid}").get_data(as_text=True)
    assert "tracking-summary" not in county and "规划以最近一次评估为起点" in county
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(client, "anshan")  # evaluators cannot move the baseline
    fresh = csrf_from(client.get(f"/overview/counties/{cid}/roadmap").get_data(as_text=True))  # a new session's token
    assert client.post(f"/overview/counties/{cid}/roadmap/baseline",
                       data={"csrf_token": fresh}).status_code == 403


def test_integrity_flags_of_a_round_show_on_the_overview(app, client, city):
    """Issue 14: the overview lists each round's integrity signals once integrity exists."""
    from tests.survey.helpers import link_for, make_round, store_answers

    with app.app_context():
        rnd = make_round("210302", name="2026年铁东区社会认可度调查")
        rid = rnd.id
        plain = next(ln for ln in rnd.links if ln.group == "parent")
        for k in range(3):
            store_answers(plain, "满意" if k else "不满意")
    login(client, "anshan")
    row = re.search(r'<tr data-county="210302">(.*?)</tr>', client.get("/overview/").get_data(as_text=True), re.S).group(1)
    assert "可疑信号" not in row  # three ordinary answers carry no signal
    with app.app_context():
        from survey.models import SurveyRound

        rnd = db.session.get(SurveyRound, rid)
        stuffed = link_for(rnd, "parent", rnd.schools[1].code)
        stuffed.quota = 100
        db.session.commit()
        for _ in range(20):  # twenty answers within a second on one link: a burst
            store_answers(stuffed, "不满意")
    row = re.search(r'<tr data-county="210302">(.*?)</tr>', client.get("/overview/").get_data(as_text=True), re.S).group(1)
    assert re.search(r"可疑信号 (\d+) 份：[^<]*集中突发提交", row), row
    assert f"/admin/rounds/{rid}/integrity" in row
