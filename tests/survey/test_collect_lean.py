"""The lean respondent path (issue 12 item 1): no session or CSRF token, an Origin/Referer
check, answers checked against the scale without a form library, no transaction on GET,
the quota place and the insert in one statement on PostgreSQL, hooks only where they apply."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask
from sqlalchemy import event, func, select

from survey import tokens
from survey.db import db
from survey.extensions import init_skipping
from survey.models import EntryLink, Response
from tests.survey.helpers import aged, answer_all, link_for, login, make_round, make_user


def _count() -> int:
    return db.session.scalar(select(func.count(Response.id)))


@pytest.fixture
def code(app):
    with app.app_context():
        return link_for(make_round(), "teacher", "S03").code


def _form(client, code: str) -> dict[str, str]:
    return answer_all(client.get(f"/s/{code}").get_data(as_text=True), "比较满意")


# ------------------------------------------------------------------ Origin / Referer
@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost.evil.example"},
    {"Origin": "null", "Referer": "https://evil.example/page"},
    {"Referer": "https://evil.example/s/abc"},
    {"Origin": "https://localhost"},  # another scheme is another origin
])
def test_a_cross_site_post_is_refused_with_a_clear_chinese_page(app, client, code, headers):
    data = _form(client, code)
    resp = client.post(f"/s/{code}", data=data, headers=headers)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "无法提交" in page and "重新扫描海报上的二维码" in page
    assert '<html lang="zh-CN">' in page
    with app.app_context():
        assert _count() == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "http://localhost"},  # the request's own origin
    {"Origin": "http://survey.test"},  # PUBLIC_BASE_URL's (the printed links' host behind a proxy)
    {"Referer": "http://localhost/s/whatever"},
    {"Origin": "null", "Referer": "http://survey.test/s/x"},
    {},  # WeChat's in-app browser: neither header
])
def test_same_site_or_silent_posts_are_stored(app, client, code, headers):
    resp = client.post(f"/s/{code}", data=_form(client, code), headers=headers)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.app_context():
        assert _count() == 1


def test_the_origin_check_concerns_posts_only(app, client, code):
    assert client.get(f"/s/{code}", headers={"Referer": "https://weixin.qq.com/"}).status_code == 200


# ------------------------------------------------------------------ no CSRF, no session
def test_no_csrf_token_and_no_session_cookie_on_the_respondent_path(app, client, code):
    assert app.config.get("WTF_CSRF_ENABLED", True)  # CSRF is on for staff pages (test_access)
    get = client.get(f"/s/{code}")
    html = get.get_data(as_text=True)
    assert "csrf_token" not in html
    data = answer_all(html)
    assert "csrf_token" not in data
    post = client.post(f"/s/{code}", data=data)
    done = client.get(f"/s/{code}/done")
    assert post.status_code == 303 and done.status_code == 200
    for resp in (get, post, done):
        cookies = resp.headers.get_all("Set-Cookie")
        assert not any(c.startswith(app.config["SESSION_COOKIE_NAME"] + "=") for c in cookies), cookies
        assert "Cookie" not in resp.headers.get("Vary", "")
    with app.app_context():
        assert _count() == 1


def test_a_staff_session_cookie_is_neither_read_nor_rewritten_on_respondent_pages(app, client, code):
    with app.app_context():
        make_user("boss", "admin")
    assert login(client, "boss").status_code == 302
    assert client.get("/admin/").status_code == 200
    resp = client.post(f"/s/{code}", data=_form(client, code))
    assert resp.status_code == 303
    assert not any(c.startswith("session=") for c in resp.headers.get_all("Set-Cookie"))
    assert client.get("/admin/").status_code == 200  # the staff session survived untouched


def test_a_valid_token_posted_without_its_browser_cookie_is_refused(app, client, code):
    """What a cross-site form post looks like (the SameSite=Lax cookie stays home)."""
    data = _form(client, code)
    stranger = app.test_client()
    resp = stranger.post(f"/s/{code}", data=data)
    assert resp.status_code == 403 and "请重新打开链接作答" in resp.get_data(as_text=True)
    with app.app_context():
        assert _count() == 0


# ------------------------------------------------------------------ the answer scale
def test_an_answer_off_the_scale_names_the_question(app, client, code):
    data = _form(client, code)
    data["t02"] = "非常满意"
    del data["t05"]
    resp = client.post(f"/s/{code}", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r"第 2 题“[^”]+”的答案不在给出的选项中，请从选项中重新选择", page)
    assert page.count("请从给出的选项中选择") == 1 and page.count("请选择一项") == 1
    assert "还有 1 道题没有回答" in page and 'href="#q-t05"' in page
    assert re.search(r'name="t01" value="比较满意" required checked', page)  # valid answers are kept
    assert 'name="t02" value="非常满意"' not in page
    with app.app_context():
        assert _count() == 0
    fixed = dict(data, t02="满意", t05="不满意", token=re.search(r'name="token"[^>]*value="([^"]+)"', page).group(1))
    assert client.post(f"/s/{code}", data=fixed).status_code == 303
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.answers["t02"] == "满意" and stored.answers["t05"] == "不满意"


def test_a_repeated_field_counts_its_first_value_and_unknown_fields_are_ignored(app, client, code):
    from werkzeug.datastructures import MultiDict

    data = MultiDict(list(_form(client, code).items()) + [("t01", "不满意"), ("x99", "满意"), ("answers", "{}")])
    assert client.post(f"/s/{code}", data=data).status_code == 303
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.answers["t01"] == "比较满意" and set(stored.answers) == {f"t{i:02d}" for i in range(1, 12)}


# ------------------------------------------------------------------ round trips
class _Statements:
    """Every statement the engine sends, and whether a transaction was open after it (read
    from the driver: psycopg's transaction status, sqlite3's ``in_transaction``); on SQLite
    also what the driver itself sends (its implicit BEGIN/COMMIT), by sqlite3's trace hook."""

    def __init__(self, engine) -> None:
        self.engine, self.seen, self.driver_sql, self.lean = engine, [], [], 0
        event.listen(engine, "after_cursor_execute", self._after)
        if engine.dialect.name == "sqlite":
            engine.dispose()  # new connections, each traced from its first statement
            event.listen(engine, "connect", self._trace)

    def traced_lean(self, monkeypatch) -> None:
        """Also record what the fast path (survey.collect.lean) sends on its raw connection."""
        from survey.collect import lean

        real, watch = lean.LeanRespondent._connection, self

        class Traced:
            def __init__(self, cur) -> None:
                self.cur = cur

            def execute(self, sql, params=None):
                import psycopg

                out = self.cur.execute(sql, params)
                open_tx = self.cur.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
                watch.seen.append((sql.split()[0].upper(), open_tx, sql))
                watch.lean += 1
                return out

            def close(self) -> None:
                self.cur.close()

        def connection(self_):
            cur, raw = real(self_)
            return Traced(cur), raw

        monkeypatch.setattr(lean.LeanRespondent, "_connection", connection)

    def _trace(self, dbapi_conn, _record) -> None:
        dbapi_conn.set_trace_callback(self.driver_sql.append)

    def _after(self, conn, cursor, statement, params, context, executemany) -> None:
        raw = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            import psycopg

            open_tx = raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        else:
            open_tx = raw.in_transaction
        self.seen.append((statement.split()[0].upper(), open_tx, statement))

    def clear(self) -> None:
        self.seen.clear()
        self.driver_sql.clear()
        self.lean = 0

    def close(self) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after)
        if event.contains(self.engine, "connect", self._trace):
            event.remove(self.engine, "connect", self._trace)


@pytest.fixture
def statements(app, monkeypatch):
    with app.app_context():
        watch = _Statements(db.engine)
    watch.traced_lean(monkeypatch)
    yield watch
    watch.close()


def test_a_get_opens_no_transaction(app, code, statements):
    app.test_client().get(f"/s/{code}")  # a first visit also reads the round's pin (then cached)
    postgres = statements.engine.dialect.name == "postgresql"
    for returning in (False, True):
        statements.clear()
        client = app.test_client()
        if returning:  # a browser that has been here: has it answered already?
            client.set_cookie(tokens.BROWSER_COOKIE, tokens_cookie(app))
        get = client.get(f"/s/{code}")
        assert get.status_code == 200
        kinds = [k for k, _, _ in statements.seen]
        # link, answered? (not for a browser id minted just now: it has answered nothing), start record upsert
        assert kinds == (["SELECT", "SELECT", "INSERT"] if returning else ["SELECT", "INSERT"]), statements.seen
        assert statements.lean == (len(kinds) if postgres else 0)  # PostgreSQL: answered before Flask
        assert not any(open_tx for _, open_tx, _ in statements.seen), statements.seen
        assert not [s for s in statements.driver_sql if s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
        if not postgres:  # all the driver sent besides the pool's ping and isolation reset
            sent = [s for s in statements.driver_sql if not s.startswith(("PRAGMA read_uncommitted", "SELECT 1"))]
            assert len(sent) == len(kinds), statements.driver_sql
    statements.clear()
    assert app.test_client().get(f"/s/{code}/done").status_code == 200
    assert [(k, tx) for k, tx, _ in statements.seen] == [("SELECT", False)]
    assert not [s for s in statements.driver_sql if s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
    with app.app_context():  # the start was recorded all the same (it is not in a transaction left open)
        from survey.models import LinkStart

        assert db.session.scalar(select(func.sum(LinkStart.starts))) == 3


def tokens_cookie(app) -> str:
    """A signed browser cookie of a browser that has been here before."""
    with app.app_context():
        return tokens.new_browser_cookie()[1]


def test_a_postgresql_post_is_two_statements_without_a_transaction(app, code, statements):
    client = app.test_client()
    data = aged(app, client, code, _form(client, code))  # counted: it takes a quota place
    statements.clear()
    assert client.post(f"/s/{code}", data=data).status_code == 303
    if statements.engine.dialect.name != "postgresql":  # SQLite: one transaction, the response chained inside it
        assert [k for k, _, _ in statements.seen][:2] == ["SELECT", "UPDATE"]
        assert any(s.startswith("COMMIT") for s in statements.driver_sql)
        return
    before_chaining = statements.seen[:2]
    assert [k for k, _, _ in before_chaining] == ["SELECT", "WITH"]
    assert statements.lean == 2  # answered before Flask
    assert "UPDATE entry_links" in before_chaining[1][2] and "INSERT INTO responses" in before_chaining[1][2]
    assert not any(open_tx for _, open_tx, _ in before_chaining)
    with app.app_context():
        assert _count() == 1
        assert db.session.scalar(select(EntryLink.responses_count).where(EntryLink.code == code)) == 1
        assert db.session.scalar(select(func.count(Response.id)).where(Response.chain_seq.is_(None))) == 0


def test_a_full_link_stores_nothing_and_keeps_its_counter(app, code):
    with app.app_context():
        ln = db.session.scalars(select(EntryLink).where(EntryLink.code == code)).one()
        ln.quota = 1
        db.session.commit()
    a, b = app.test_client(), app.test_client()
    fa, fb = aged(app, a, code, _form(a, code)), aged(app, b, code, _form(b, code))
    assert a.post(f"/s/{code}", data=fa).status_code == 303
    assert b.post(f"/s/{code}", data=fb).status_code == 403
    assert a.post(f"/s/{code}", data=fa).status_code == 303  # the double tap: still one
    with app.app_context():
        assert _count() == 1
        assert db.session.scalar(select(EntryLink.responses_count).where(EntryLink.code == code)) == 1


# ------------------------------------------------------------------ hooks and gzip
def test_extension_hooks_are_skipped_where_they_do_not_apply():
    calls: list[str] = []

    class Counting:
        def init_app(self, app):
            app.before_request(lambda: calls.append("before"))
            app.after_request(lambda r: calls.append("after") or r)
            app.teardown_request(lambda exc=None: calls.append("teardown"))

    app = Flask(__name__)
    quiet = Blueprint("quiet", __name__)
    quiet.add_url_rule("/q", "q", lambda: "q")
    app.register_blueprint(quiet)
    app.add_url_rule("/loud", "loud", lambda: "loud")
    from flask import request

    init_skipping(Counting(), app, lambda _r=None: request.blueprint == "quiet")
    client = app.test_client()
    assert client.get("/q").get_data(as_text=True) == "q" and calls == []
    assert client.get("/loud").get_data(as_text=True) == "loud"
    assert calls == ["before", "after", "teardown"]


def test_gzip_for_the_questionnaire_only(app, client, code):
    gz = {"Accept-Encoding": "gzip"}
    assert client.get(f"/s/{code}", headers=gz).headers.get("Content-Encoding") == "gzip"
    done = client.get(f"/s/{code}/done", headers=gz)
    assert done.status_code == 200 and "Content-Encoding" not in done.headers
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    staff = client.get("/admin/", headers=gz)
    assert staff.status_code == 200 and staff.headers.get("Content-Encoding") == "gzip"
