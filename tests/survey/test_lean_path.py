"""The respondent's fast path before Flask (survey.collect.lean, PostgreSQL): it answers the
common requests with the view's bytes and headers, and hands everything else to the view
before it has written anything."""

from __future__ import annotations

import gzip
import re

import psycopg
import pytest
from sqlalchemy import func, select

from survey.collect import lean
from survey.db import db
from survey.models import EntryLink, LinkStart, Response, SurveyRound
from survey.services.responses import load_entry
from tests.survey.helpers import aged, answer_all, link_for, make_round

pytestmark = pytest.mark.postgres_only

_TOKEN = re.compile(r'(name="token"[^>]*value=")[^"]+(")')
_UA = {"User-Agent": "Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0"}


@pytest.fixture
def code(app):
    with app.app_context():
        return link_for(make_round(), "parent", "S01").code


class _Counting:
    """How many requests the fast path answered itself."""

    def __init__(self, monkeypatch) -> None:
        self.answered = 0
        real = lean.LeanRespondent.__call__
        counter = self

        def call(self_, environ, start_response):
            seen = []

            def start(status, headers, exc_info=None):
                seen.append(status)
                return start_response(status, headers, exc_info)

            referred = []
            real_next = self_.next

            def to_view(env, sr):
                referred.append(True)
                return real_next(env, sr)

            self_.next = to_view
            try:
                out = real(self_, environ, start)
            finally:
                self_.next = real_next
            if seen and not referred:
                counter.answered += 1
            return out

        monkeypatch.setattr(lean.LeanRespondent, "__call__", call)


@pytest.fixture
def fast(monkeypatch):
    return _Counting(monkeypatch)


def _normal(resp) -> tuple[int, dict, str]:
    """Status, headers and page with what differs per request (tokens, cookie value, date) blanked."""
    headers = {k: v for k, v in resp.headers.items() if k != "Date"}
    if "Set-Cookie" in headers:
        headers["Set-Cookie"] = re.sub(r"^yzjh_b=[^;]+;(.*?Expires=)[^;]+", r"yzjh_b=…;\1…", headers["Set-Cookie"])
    body = resp.get_data()
    assert int(headers.pop("Content-Length")) == len(body)  # true; the figure varies with the token's length
    if resp.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return resp.status_code, headers, _TOKEN.sub(r"\1…\2", body.decode())


def _both(app, request):
    """``request(client)`` through the fast path and through the view, each on a new phone."""
    app.config["LEAN_RESPONDENT_PATH"] = True
    a = request(app.test_client())
    app.config["LEAN_RESPONDENT_PATH"] = False
    try:
        b = request(app.test_client())
    finally:
        app.config["LEAN_RESPONDENT_PATH"] = True
    return a, b


def test_the_blank_form_is_the_views_page_with_its_headers(app, code, fast):
    app.test_client().get(f"/s/{code}")  # the first visit in this process renders the page (the view)
    for headers in ({"Accept-Encoding": "gzip, deflate, br", **_UA}, _UA, {}):
        before = fast.answered
        lean_resp, view_resp = _both(app, lambda c, h=headers: c.get(f"/s/{code}", headers=h))
        assert fast.answered == before + 1
        assert _normal(lean_resp) == _normal(view_resp)
        assert lean_resp.status_code == 200 and "Set-Cookie" in lean_resp.headers
    with app.app_context():  # each of the 7 visits recorded its start, the fast ones too
        assert db.session.scalar(select(func.sum(LinkStart.starts))) == 7
        assert db.session.scalar(select(func.sum(LinkStart.fresh))) == 7


def test_a_post_is_stored_as_the_view_stores_it(app, code, fast):
    app.test_client().get(f"/s/{code}")

    def post(client):
        data = aged(app, client, code, answer_all(client.get(f"/s/{code}", headers=_UA).get_data(as_text=True)))
        return client.post(f"/s/{code}", data=data, headers={"Origin": "http://localhost", **_UA})

    before = fast.answered
    lean_resp, view_resp = _both(app, post)
    assert fast.answered == before + 2  # the first phone's form and POST (the second phone's go to the view)
    assert lean_resp.status_code == 303 and _normal(lean_resp) == _normal(view_resp)
    with app.app_context():
        rows = db.session.scalars(select(Response).order_by(Response.id)).all()
        assert len(rows) == 2
        keep = ("round_id", "link_id", "school_id", "group", "instrument", "instrument_version", "answers",
                "ip_hash", "ua_class", "counted")
        assert [getattr(rows[0], k) for k in keep] == [getattr(rows[1], k) for k in keep]
        assert rows[0].browser_hash != rows[1].browser_hash and rows[0].idempotency_key != rows[1].idempotency_key
        assert abs(rows[0].duration_seconds - rows[1].duration_seconds) < 5
        assert db.session.scalar(select(EntryLink.responses_count).where(EntryLink.code == code)) == 2
        assert db.session.scalar(select(func.count()).where(Response.chain_seq.is_(None))) == 0  # both chained


def test_the_thank_you_page_kept_by_the_view_is_served_as_it(app, code, fast):
    client = app.test_client()
    first = client.get(f"/s/{code}/done")  # the view reads the link and keeps the page
    before = fast.answered
    again = client.get(f"/s/{code}/done")
    assert fast.answered == before + 1
    assert _normal(again) == _normal(first)


@pytest.mark.parametrize("case", ["closed", "full", "unknown", "answered", "foreign_token", "missing", "cross_site",
                                  "nul", "twice", "full_at_post", "multipart"])
def test_uncommon_requests_are_the_views(app, code, fast, case):
    """Each is handed to the view before anything is written: both paths give the same page."""
    app.test_client().get(f"/s/{code}")
    with app.app_context():
        if case == "closed":
            rnd = db.session.scalars(select(SurveyRound)).one()
            from survey.models import utcnow

            rnd.closed_at = utcnow()
            db.session.commit()
        if case == "full":
            db.session.execute(EntryLink.__table__.update().where(EntryLink.code == code).values(quota=0))
            db.session.commit()

    def request(client):
        target = "/s/nosuchcode" if case == "unknown" else f"/s/{code}"
        if case == "full_at_post":
            with app.app_context():
                db.session.execute(EntryLink.__table__.update().where(EntryLink.code == code).values(quota=100))
                db.session.commit()
        page = client.get(target, headers=_UA)
        if case in ("closed", "full", "unknown"):
            return page
        data = aged(app, client, code, answer_all(page.get_data(as_text=True)))
        headers = {"Origin": "http://localhost", **_UA}
        if case == "answered":
            assert client.post(target, data=data, headers=headers).status_code == 303
            return client.get(target, headers=_UA)
        if case == "foreign_token":
            other = app.test_client()
            other.get(target)
            data = aged(app, other, code, data)
        if case == "missing":
            data.pop(sorted(k for k in data if k != "token")[0])
        if case == "cross_site":
            headers["Origin"] = "https://evil.example"
        if case == "nul":
            data[sorted(k for k in data if k != "token")[0]] = "满意\x00"
        if case == "full_at_post":  # the link filled between the form and the POST
            with app.app_context():
                db.session.execute(EntryLink.__table__.update().where(EntryLink.code == code).values(quota=0))
                db.session.commit()
        if case == "twice":
            assert client.post(target, data=data, headers=headers).status_code == 303
        if case == "multipart":
            return client.post(target, data=data, headers=headers, content_type="multipart/form-data")
        return client.post(target, data=data, headers=headers)

    lean_resp, view_resp = _both(app, request)
    assert _normal(lean_resp) == _normal(view_resp), case
    with app.app_context():
        stored = db.session.scalar(select(func.count(Response.id)))
    assert stored == {"answered": 2, "twice": 2, "multipart": 2}.get(case, 0), case


def test_a_connection_lost_at_the_insert_is_retried_by_the_view(app, code, fast, monkeypatch):
    client = app.test_client()
    client.get(f"/s/{code}")
    data = aged(app, client, code, answer_all(client.get(f"/s/{code}").get_data(as_text=True)))
    real = lean.LeanRespondent._connection
    broken = []

    def connection(self_):
        cur, raw = real(self_)

        class Dying:
            def execute(self, sql, params=None):
                if sql.startswith("WITH"):
                    broken.append(raw)
                    raw.driver_connection.close()  # as a server restart leaves it
                    raise psycopg.OperationalError("server closed the connection unexpectedly")
                return cur.execute(sql, params)

            def close(self):
                cur.close()

        return Dying(), raw

    monkeypatch.setattr(lean.LeanRespondent, "_connection", connection)
    resp = client.post(f"/s/{code}", data=data, headers={"Origin": "http://localhost"})
    assert resp.status_code == 303 and broken
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1


def test_the_link_is_read_as_the_service_reads_it(app, code):
    with app.app_context():
        rnd = db.session.scalars(select(SurveyRound)).one()
        from datetime import timedelta

        rnd.closes_at = rnd.opens_at + timedelta(days=30) if rnd.opens_at else None
        rnd.repeat_groups = ["student"]
        db.session.commit()
        path = lean.LeanRespondent(None, app)
        cur, raw = path._connection()
        try:
            assert path._entry(cur, code) == load_entry(code)
        finally:
            lean._release(cur, raw)


def test_behind_a_proxy_the_fast_path_hashes_the_forwarded_address(app, code, fast, tmp_path):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from survey import create_app
    from survey.icons import IconMiddleware
    from survey.services.responses import salted_hash

    # create_app puts ProxyFix outermost, so every layer below (icons, the fast path) sees the client
    layered = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "SECRET_KEY": "x",
                          "TESTING": True, "PROXY_FIX_X_FOR": 1}).wsgi_app
    assert isinstance(layered, ProxyFix) and isinstance(layered.app, IconMiddleware)
    assert isinstance(layered.app.app, lean.LeanRespondent)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # the same layers on the PostgreSQL app
    client = app.test_client()
    fwd = {"X-Forwarded-For": "203.0.113.9", "Origin": "http://localhost"}
    client.get(f"/s/{code}", headers=fwd)
    data = aged(app, client, code, answer_all(client.get(f"/s/{code}", headers=fwd).get_data(as_text=True)))
    before = fast.answered
    assert client.post(f"/s/{code}", data=data, headers=fwd).status_code == 303
    assert fast.answered == before + 1
    with app.app_context():
        row = db.session.scalars(select(Response)).one()
        salt = db.session.scalar(select(SurveyRound.ip_salt))
        assert row.ip_hash == salted_hash(salt, "ip", "203.0.113.9")


def test_sqlite_or_switched_off_means_the_view(app, tmp_path):
    from survey import create_app

    path = lean.LeanRespondent(None, app)
    assert path.enabled()
    app.config["LEAN_RESPONDENT_PATH"] = False
    assert not path.enabled()
    app.config["LEAN_RESPONDENT_PATH"] = True
    sqlite = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.sqlite3'}", "SECRET_KEY": "x",
                         "TESTING": True})
    assert not lean.LeanRespondent(None, sqlite).enabled()
