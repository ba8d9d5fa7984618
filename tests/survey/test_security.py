"""Issue 10: open redirect, NUL and overflow 500s, HEAD, chunked bodies, security headers."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Response
from tests.survey.conftest import csrf_from
from tests.survey.helpers import PASSWORD, answer_all, link_for, login, make_round, make_user


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/%0a/evil.example/", "/\\evil.example/",
                                    "//evil.example/", "https://evil.example/", "/%5cevil.example",
                                    "%2F%2Fevil.example", " /\t/evil.example"])
def test_login_never_redirects_off_site(app, client, target):
    with app.app_context():
        make_user("boss", "admin")
    page = client.get("/login").get_data(as_text=True)
    resp = client.post(f"/login?next={target}", data={"username": "boss", "password": PASSWORD,
                                                      "csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "evil" not in location and location.startswith("/admin")


def test_login_keeps_a_same_site_next(app, client):
    with app.app_context():
        make_user("boss", "admin")
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login?next=/evaluations/%3Fcounty%3D1", data={
        "username": "boss", "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert resp.headers["Location"] == "/evaluations/?county=1"


@pytest.mark.parametrize("path", ["/s/%00", "/s/%00/done", "/s/ab%00cd", "/admin/rounds/%00"])
def test_nul_in_the_path_is_a_404_page(app, client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)


def test_compare_with_ids_beyond_the_integer_range_is_404(app, client):
    with app.app_context():
        make_user("boss", "admin")
    from tests.survey.helpers import login

    login(client, "boss")
    for query in ("a=1&b=2147483648", "a=99999999999999999999&b=1", "a=-5&b=1"):
        resp = client.get(f"/evaluations/compare?{query}")
        assert resp.status_code == 404, query


def test_head_on_a_respondent_link_answers_like_get_without_body(app, client):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "parent", "S01").code
    head = client.head(f"/s/{code}")
    get = client.get(f"/s/{code}")
    assert head.status_code == get.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


@pytest.mark.parametrize("size", [70 * 1024, 7 * 1024 * 1024, 10 * 1024 * 1024])
def test_chunked_respondent_bodies_are_limited_on_the_stream(app, client, size):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "parent", "S01").code
    html = client.get(f"/s/{code}").get_data(as_text=True)
    data = answer_all(html)
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode() + b"&pad=" + b"x" * size
    # gunicorn sets wsgi.input_terminated for a chunked body (no Content-Length)
    resp = client.post(f"/s/{code}", input_stream=io.BytesIO(body),
                       content_type="application/x-www-form-urlencoded",
                       environ_overrides={"wsgi.input_terminated": True},
                       headers={"Transfer-Encoding": "chunked"})
    assert resp.status_code == 413
    assert "过大" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


def test_small_chunked_respondent_body_is_still_accepted(app, client):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "parent", "S01").code
    html = client.get(f"/s/{code}").get_data(as_text=True)
    from urllib.parse import urlencode

    body = urlencode(answer_all(html)).encode()
    resp = client.post(f"/s/{code}", input_stream=io.BytesIO(body),
                       content_type="application/x-www-form-urlencoded",
                       environ_overrides={"wsgi.input_terminated": True},
                       headers={"Transfer-Encoding": "chunked"})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1


def test_security_headers_on_respondent_and_staff_pages(app, client):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "parent", "S01").code
    resp = client.get(f"/s/{code}")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # public URL is http in tests
    login_page = client.get("/login")
    assert "frame-ancestors" in login_page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in login_page.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_hsts_when_the_public_url_is_https(database_url):
    from survey import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True,
                      "PUBLIC_BASE_URL": "https://wj.example.gov.cn/"})
    try:
        resp = app.test_client().get("/login")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_report_html_download_has_one_charset(app, client, tmp_path):
    from evaluator.workbook import demo_workbook
    from tests.survey.helpers import login
    from tests.survey.test_workspace import DEMO, evaluation_id, upload

    with app.app_context():
        make_user("staff", "staff", (DEMO,), names={DEMO: "演示县"})
    login(client, "staff")
    eid = evaluation_id(upload(client, demo_workbook(tmp_path / "演示县数据.xlsx")))
    resp = client.get(f"/evaluations/{eid}/report.html")
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_database_lost_while_loading_the_signed_in_user_gives_the_503_page(app, client, monkeypatch):
    """Seen in the PostgreSQL-restart drill: the staff session's lookup met "the database system is
    shutting down"; the 503 page then loaded the user again for its header and became a 500."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from survey.extensions import login_manager

    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    calls = []

    def lost(user_id):
        calls.append(user_id)
        raise OperationalError("SELECT …", {}, psycopg.OperationalError("the database system is shutting down"))

    monkeypatch.setattr(login_manager, "_user_callback", lost)
    resp = client.get("/admin/")
    assert resp.status_code == 503, resp.status_code
    assert "请稍后重试" in resp.get_data(as_text=True) and resp.headers["Retry-After"] == "5"
    assert len(calls) == 1  # the error page did not ask the lost database again
