"""Rounds that can be corrected (issue 11, items 2–3): settings, reopen/extend, a school's name
and enrolment, adding and removing schools, deleting and copying rounds, and the history of
who changed what; `round reopen` and `round create` without --county-name from the command line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from survey.db import db
from survey.models import County, EntryLink, RoundChange, School, SurveyRound, utcnow
from tests.survey.conftest import ROSTER_ROWS, csrf_from, roster_xlsx
from tests.survey.helpers import PASSWORD, link_for, login, make_round, make_user, store_answers
from tests.survey.test_cli import run


def _staff_and_round(app, **kw):
    with app.app_context():
        make_user("staff1", "staff", ("110101",))
        rnd = make_round("110101", **kw)
        return rnd.id


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_edit_settings_and_school_recorded_and_posters_follow(app, client):
    rid = _staff_and_round(app)
    login(client, "staff1")
    resp = _post(client, f"/admin/rounds/{rid}/edit", {
        "name": "2026年社会认可度调查（更正）", "county_name": "东城区", "opens": "", "closes": "2030-06-30T18:00",
        "stop_when_full": "", "organiser": "东城区教育局", "contact": "督导室 010-12345678"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        assert rnd.name == "2026年社会认可度调查（更正）" and not rnd.stop_when_full
        assert rnd.county.name == "东城区" and rnd.organiser == "东城区教育局"
        assert rnd.closes_at.hour == 10  # 18:00 Beijing = 10:00 UTC
        school_id = next(s.id for s in rnd.schools if s.code == "S01")

    bad = _post(client, f"/admin/rounds/{rid}/schools/{school_id}", {
        "name": "城关第一小学", "students_primary": "0", "students_junior": "", "students_senior": "", "teachers": "60"})
    assert bad.status_code == 422 and "小学的小学在校生数不能为空或 0" in bad.get_data(as_text=True)
    ok = _post(client, f"/admin/rounds/{rid}/schools/{school_id}", {
        "name": "城关第一实验小学", "students_primary": "1250", "students_junior": "", "students_senior": "",
        "teachers": "61"})
    assert ok.status_code == 302
    posters = client.get(f"/admin/rounds/{rid}/posters?school=S01").get_data(as_text=True)
    assert "城关第一实验小学" in posters and "城关第一小学" not in posters
    with app.app_context():
        code = link_for(db.session.get(SurveyRound, rid), "parent", "S01").code
    respondent = app.test_client().get(f"/s/{code}").get_data(as_text=True)
    assert "城关第一实验小学" in respondent and "东城区" in respondent
    assert "东城区教育局" in posters and "督导室 010-12345678" in posters and "2030年6月30日" in posters

    page = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "修改记录" in page and "staff1" in page
    assert "学校名称“城关第一小学”改为“城关第一实验小学”" in page and "小学在校生数 1200 改为 1250" in page
    assert "县名称“测试县110101”改为“东城区”" in page
    with app.app_context():
        kinds = {c.kind for c in db.session.scalars(select(RoundChange))}
        assert kinds == {"settings", "school", "county"}
        assert db.session.get(School, school_id).students_primary == 1250


def test_add_and_remove_schools(app, client):
    rid = _staff_and_round(app)
    login(client, "staff1")
    url = f"/admin/rounds/{rid}/schools/new"
    dup = _post(client, url, {"code": "S01", "name": "重复", "school_type": "小学", "students_primary": "10"})
    assert dup.status_code == 422 and "学校代码 S01 已在本轮名单中" in dup.get_data(as_text=True)
    added = _post(client, url, {"code": "S06", "name": "新建第六小学", "school_type": "小学",
                                "students_primary": "800", "teachers": "40"})
    assert added.status_code == 302, added.get_data(as_text=True)
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        s06 = next(s for s in rnd.schools if s.code == "S06")
        links = db.session.scalars(select(EntryLink).where(EntryLink.school_id == s06.id)).all()
        assert sorted(ln.group for ln in links) == ["parent", "principal", "student", "teacher"]
        assert sum(ln.quota for ln in links) > 0
        store_answers(link_for(rnd, "parent", "S01"), "满意")
        s01_id = next(s.id for s in rnd.schools if s.code == "S01")
    refused = _post(client, f"/admin/rounds/{rid}/schools/{s01_id}/remove", {}, page=f"/admin/rounds/{rid}")
    assert refused.status_code == 302
    msg = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "“城关第一小学”已有 1 份回答，不能删除" in msg
    removed = _post(client, f"/admin/rounds/{rid}/schools/{s06.id}/remove", {}, page=f"/admin/rounds/{rid}")
    assert removed.status_code == 302
    with app.app_context():
        codes = {s.code for s in db.session.get(SurveyRound, rid).schools}
        assert codes == {"S01", "S02", "S03", "S04", "S05"}
        assert db.session.scalar(select(func.count()).select_from(EntryLink).where(EntryLink.round_id == rid)) == 23


def test_close_reopen_and_extend_in_the_browser(app, client):
    rid = _staff_and_round(app)
    login(client, "staff1")
    _post(client, f"/admin/rounds/{rid}/close", {}, page=f"/admin/rounds/{rid}")
    with app.app_context():
        link = link_for(db.session.get(SurveyRound, rid), "parent", "S01")
        code = link.code
    assert client.get(f"/s/{code}").status_code != 200 or "已结束" in client.get(f"/s/{code}").get_data(as_text=True)
    past = _post(client, f"/admin/rounds/{rid}/reopen", {"closes": "2001-01-01T08:00"})
    assert past.status_code == 422 and "已经过去" in past.get_data(as_text=True)
    ok = _post(client, f"/admin/rounds/{rid}/reopen", {"closes": "2031-01-31T17:00"})
    assert ok.status_code == 302
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        assert rnd.state() == "open" and rnd.closed_at is None and rnd.closes_at.year == 2031
    page = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "结束调查" in page and "重新开放调查" in page
    fresh = app.test_client().get(f"/s/{code}")
    assert fresh.status_code == 200 and "提交" in fresh.get_data(as_text=True)


def test_delete_round_only_without_responses_and_copy_as_next_year(app, client):
    rid = _staff_and_round(app)
    login(client, "staff1")
    copy = _post(client, f"/admin/rounds/{rid}/copy", {"name": "2027年社会认可度调查", "opens": "", "closes": ""})
    assert copy.status_code == 302
    with app.app_context():
        old = db.session.get(SurveyRound, rid)
        new = db.session.scalar(select(SurveyRound).where(SurveyRound.name == "2027年社会认可度调查"))
        assert [s.code for s in new.schools] == [s.code for s in old.schools]
        assert not {ln.code for ln in new.links} & {ln.code for ln in old.links}
        assert len(new.links) == len(old.links)
        new_id = new.id
        store_answers(link_for(old, "parent", "S02"), "满意")
    refused = _post(client, f"/admin/rounds/{rid}/delete", {}, page=f"/admin/rounds/{rid}")
    assert refused.status_code == 302
    assert "已有 1 份回答，不能删除" in client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    gone = _post(client, f"/admin/rounds/{new_id}/delete", {}, page=f"/admin/rounds/{new_id}")
    assert gone.status_code == 302
    with app.app_context():
        assert db.session.get(SurveyRound, new_id) is None and db.session.get(SurveyRound, rid) is not None
        assert db.session.scalar(select(func.count()).select_from(School).where(School.round_id == new_id)) == 0


def test_evaluator_cannot_correct_and_other_county_is_404(app, client):
    rid = _staff_and_round(app)
    with app.app_context():
        make_user("ev1", "evaluator", ("110101",))
        make_user("staff2", "staff", ("220202",))
    login(client, "ev1")
    assert client.get(f"/admin/rounds/{rid}/edit").status_code == 403
    other = app.test_client()
    login(other, "staff2")
    assert other.get(f"/admin/rounds/{rid}/edit").status_code == 404


def test_round_reopen_and_create_without_county_name_from_the_command_line(app, database_url, tmp_path):
    roster = tmp_path / "名单.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    made = run(database_url, "round", "create", "--county", "330106", "--name", "2026年调查", "--schools", str(roster))
    assert made.returncode == 0, made.stderr
    round_id = made.stdout.strip()
    assert made.stdout == f"{round_id}\n" and "浙江省 330106 县（待改名）" in made.stderr
    not_closed = run(database_url, "round", "reopen", round_id)
    assert not_closed.returncode == 2 and "正在收集中" in not_closed.stderr
    assert run(database_url, "round", "close", round_id).returncode == 0
    past = run(database_url, "round", "reopen", round_id, "--closes", "2001-01-01T00:00")
    assert past.returncode == 2 and "--closes" in past.stderr and "已经过去" in past.stderr
    with app.app_context():
        assert db.session.get(SurveyRound, int(round_id)).state() == "closed"
    ok = run(database_url, "round", "reopen", round_id, "--closes", "2031-06-30T18:00")
    assert ok.returncode == 0, ok.stderr
    assert "重新开放调查" in ok.stderr and "2031年6月30日 18:00" in ok.stderr
    missing = run(database_url, "round", "reopen", "999999")
    assert missing.returncode == 2 and "调查轮次 999999 不存在" in missing.stderr
    with app.app_context():
        rnd = db.session.get(SurveyRound, int(round_id))
        assert rnd.state() == "open" and rnd.closes_at.isoformat().startswith("2031-06-30T10:00")
        assert db.session.scalar(select(County.name).where(County.code == "330106")) == "浙江省 330106 县（待改名）"
        kinds = [c.kind for c in db.session.scalars(select(RoundChange).order_by(RoundChange.id))]
        assert kinds == ["close", "reopen"]


def test_reopen_clears_a_passed_closing_time(app):
    from survey.services.corrections import reopen_round

    with app.app_context():
        now = utcnow()
        rnd = make_round("110101", opens_at=now - timedelta(days=10), closes_at=now - timedelta(days=1))
        assert rnd.state() == "closed"
        reopen_round(rnd, by=None)
        db.session.commit()
        assert rnd.state() == "open" and rnd.closes_at is None


def test_poster_page_warns_about_loopback_or_unset_public_address(app, client):
    rid = _staff_and_round(app)
    login(client, "staff1")
    url = f"/admin/rounds/{rid}/posters?group=npc_deputy"
    page = client.get(url).get_data(as_text=True)  # PUBLIC_BASE_URL is http://survey.test/
    assert 'class="screen-note warn"' not in page and page.count('class="poster"') == 1
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000/"
    page = client.get(url).get_data(as_text=True)
    assert "这是本机地址，家长的手机无法打开" in page and "PUBLIC_BASE_URL" in page
    app.config["PUBLIC_BASE_URL"] = None
    page = client.get(url).get_data(as_text=True)  # the test client's host is localhost
    assert "这是本机地址" in page and "http://localhost/" in page
    lan, base = app.test_client(), "http://192.168.1.20:5000"
    form = lan.get("/login", base_url=base).get_data(as_text=True)
    lan.post("/login", base_url=base, data={"username": "staff1", "password": PASSWORD, "csrf_token": csrf_from(form)})
    page = lan.get(url, base_url=base).get_data(as_text=True)
    assert "没有设置对外网址（PUBLIC_BASE_URL）" in page and "http://192.168.1.20:5000/" in page


def test_new_round_in_the_browser_without_a_county_name_gets_a_placeholder(app, client):
    import io

    with app.app_context():
        make_user("admin1", "admin")
    login(client, "admin1")
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    resp = client.post("/admin/rounds/new", data={
        "csrf_token": token, "county_code": "440981", "county_name": "", "name": "2026年调查",
        "ruleset": "national-2017", "stop_when_full": "y",
        "roster": (io.BytesIO(roster_xlsx(ROSTER_ROWS)), "名单.xlsx"),
    }, content_type="multipart/form-data", follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "县 440981 暂定名为“广东省 440981 县（待改名）”" in page
    with app.app_context():
        assert db.session.scalar(select(County.name).where(County.code == "440981")) == "广东省 440981 县（待改名）"
