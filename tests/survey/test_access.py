"""Roles and county scope: a staff user of county A sees nothing of county B."""

from __future__ import annotations

import re

import pytest

from survey.db import db
from tests.survey.conftest import csrf_from
from tests.survey.helpers import PASSWORD, link_for, login, make_round, make_user


def _round_urls(app, round_id: int, code: str, school_id: int | None = None) -> list[tuple[str, str]]:
    """Every admin URL that takes a round id, as (method, url)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "round_id" not in rule.arguments:
            continue
        values = {"round_id": round_id, "code": code, "ext": "png", "school_id": school_id}
        if rule.endpoint == "admin.round_export":
            values["ext"] = "csv"
        if rule.endpoint == "admin.round_export_zh":
            values["ext"] = "xlsx"
        if rule.endpoint in ("admin.school_remove", "admin.round_delete"):
            continue  # checked below for county B; would remove what the loop still visits
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_staff_of_county_a_gets_404_on_every_county_b_page_and_file(app, client):
    with app.app_context():
        a = make_round("110101")
        b = make_round("220202")
        make_user("staff_a", "staff", ("110101",))
        a_id, b_id = a.id, b.id
        b_code = link_for(b, "parent", "S01").code
        a_code = link_for(a, "parent", "S01").code
        a_school, b_school = a.schools[0].id, b.schools[0].id
    login(client, "staff_a")
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    urls = _round_urls(app, b_id, b_code, b_school)
    urls += [("POST", f"/admin/rounds/{b_id}/schools/{b_school}/remove"), ("POST", f"/admin/rounds/{b_id}/delete")]
    assert len(urls) >= 9
    for method, url in urls:
        resp = client.open(url, method=method, data={"csrf_token": token})
        assert resp.status_code == 404, (method, url, resp.status_code)
    # another round's school through this county's round is not found either
    assert client.get(f"/admin/rounds/{a_id}/schools/{b_school}").status_code == 404
    # …while their own county's pages work
    for method, url in _round_urls(app, a_id, a_code, a_school):
        if method == "GET":
            assert client.get(url).status_code == 200, url
    listing = client.get("/admin/").get_data(as_text=True)
    assert "测试县110101" in listing and "测试县220202" not in listing


def test_staff_cannot_create_a_round_for_another_county(app, client):
    import io

    from tests.survey.conftest import ROSTER_ROWS, roster_xlsx

    with app.app_context():
        make_user("staff_a", "staff", ("110101",))
    login(client, "staff_a")
    token = csrf_from(client.get("/admin/rounds/new").get_data(as_text=True))
    resp = client.post("/admin/rounds/new", data={
        "csrf_token": token, "county_code": "220202", "county_name": "别县", "name": "x",
        "ruleset": "national-2017", "stop_when_full": "y",
        "roster": (io.BytesIO(roster_xlsx(ROSTER_ROWS)), "名单.xlsx"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "只能为本县（110101）创建调查" in resp.get_data(as_text=True)


def test_evaluator_reads_assigned_county_but_cannot_change_it(app, client):
    with app.app_context():
        rnd = make_round("110101")
        make_user("insp", "evaluator", ("110101",))
        rid = rnd.id
    login(client, "insp")
    assert client.get(f"/admin/rounds/{rid}").status_code == 200
    assert client.get(f"/admin/rounds/{rid}/progress").status_code == 200
    token = csrf_from(client.get(f"/admin/rounds/{rid}").get_data(as_text=True))
    assert client.post(f"/admin/rounds/{rid}/close", data={"csrf_token": token}).status_code == 403
    assert client.get("/admin/rounds/new").status_code == 403


def test_pages_need_login(app, client):
    with app.app_context():
        rid = make_round().id
    resp = client.get(f"/admin/rounds/{rid}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_forms_without_csrf_token_are_refused(app, client):
    with app.app_context():
        rid = make_round().id
        make_user("boss", "admin")
    login(client, "boss")
    resp = client.post(f"/admin/rounds/{rid}/close", data={})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    with app.app_context():
        from survey.models import SurveyRound

        assert db.session.get(SurveyRound, rid).closed_at is None


def test_login_attempts_are_rate_limited_per_account(app, client):
    """Issue 10 (finding 7) replaced the hard per-(address, account) limit by a per-account
    exponential delay: tests/survey/test_sessions.py pins it in full."""
    with app.app_context():
        make_user("boss", "admin")
    page = client.get("/login").get_data(as_text=True)
    token = csrf_from(page)
    codes = [client.post("/login", data={"username": "boss", "password": "wrong", "csrf_token": token}).status_code
             for _ in range(7)]
    assert codes[:6] == [200] * 6 and codes[6] == 429
    # the right password waits too, but only for the (short, growing) delay
    limited = client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    assert limited.status_code == 429 and "尝试次数过多" in limited.get_data(as_text=True)
    # another account from the same address is not affected
    other = client.post("/login", data={"username": "someone", "password": "x", "csrf_token": token})
    assert other.status_code == 200


@pytest.mark.parametrize("wrong", ["", "nope"])
def test_wrong_password_message_is_chinese_and_password_is_hashed(app, client, wrong):
    with app.app_context():
        user = make_user("boss", "admin")
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")
    resp = login(client, "boss", wrong)
    page = resp.get_data(as_text=True)
    assert "用户名或密码不正确" in page or "请填写密码" in page
    assert re.search(r"登录", page)
