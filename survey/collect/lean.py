"""The respondent's common requests on PostgreSQL, answered before Flask (issue 12 item 1).

A phone that scans a poster makes three requests to us: the blank questionnaire, the POST of
its answers and the thank-you page. Through Flask each costs a request context, every
before/after hook, the SQLAlchemy session and Core statement machinery: more CPU than the
work itself. ``LeanRespondent`` sits in front of the Flask app and answers the *common* case of
each of them itself, with the same statements (compiled once from survey.services.responses'
Core statements) on a pooled psycopg connection in autocommit, and the same bytes and headers
as the view (tests/survey/test_lean_path.py compares them):

- ``GET /s/<code>``: the link is open, the blank page of this link and questionnaire version is
  already rendered in this process, the link needs no slip code: the start record is upserted
  and the cached page goes out with this request's tokens (and gzip when asked).
- ``POST /s/<code>``: a urlencoded body within MAX_FORM_BYTES, from this site (the Origin/Referer
  policy of survey.collect.guard), with a genuine start token of this browser, every item on the
  answer scale: the quota place and the row are one statement, the round is handed to the
  chaining thread, and the answer is 303 to the thank-you page.
- ``GET /s/<code>/done``: the thank-you page this process kept in the last DONE_PAGE_SECONDS.

Everything else — a first request of a link in this process, a closed or full link, an
answered browser, an expired token, a missing answer, a slip-code link, a second POST of the
same form, any database error — goes to the Flask view untouched, *before* anything was
written (a POST's body is handed on), and that view decides as it always did. The two paths
therefore never disagree: the fast one only answers what the view would answer the same way.
SQLite (one county, a few hundred phones) always uses the view. ``LEAN_RESPONDENT_PATH = False``
turns this off.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import time
from urllib.parse import parse_qsl

from flask import Flask
from flask_compress.flask_compress import _choose_algorithm
from werkzeug.http import dump_cookie, parse_cookie
from werkzeug.utils import redirect
from werkzeug.wsgi import get_host

from survey import security, tokens
from survey.collect import views
from survey.collect.answers import read_answers
from survey.collect.guard import is_cross_site, own_origins
from survey.extensions import RESPONDENT_GZIP_MIN_BYTES
from survey.integrity.chaining import hand_over
from survey.models import utcnow
from survey.pins import cached_questionnaire
from survey.services import responses
from survey.services.responses import Entry, Fingerprint, fingerprint, response_row, salted_hash

log = logging.getLogger(__name__)
_PATH = re.compile(r"/s/([^/\x00]+)(/done)?")
_FORM_TYPE = "application/x-www-form-urlencoded"


class _Statements:
    """survey.services.responses' Core statements compiled for one PostgreSQL dialect: SQL text,
    default parameters and bind processors (so a row is written exactly as SQLAlchemy would)."""

    def __init__(self, dialect) -> None:
        from survey.integrity.starts import _upsert

        def compiled(stmt):
            c = stmt.compile(dialect=dialect)
            procs = {}
            for name, bind in c.binds.items():
                proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if proc is not None:
                    procs[name] = proc
            return c.string, dict(c.params), procs

        self.entry = compiled(responses._ENTRY_BY_CODE)
        self.answered = compiled(responses._ANSWERED)
        self.start = compiled(_upsert(dialect.name))
        self.insert = compiled(responses._INSERT.values({c: None for c in responses._INSERT_COLUMNS}))
        self.take_and_insert = {guarded: compiled(stmt) for guarded, stmt in responses._TAKE_AND_INSERT.items()}


def _params(statement, values: dict) -> dict:
    sql, defaults, procs = statement
    out = {**defaults, **values}
    for name, proc in procs.items():
        if name in out:
            out[name] = proc(out[name])
    return out


class _Refer(Exception):
    """Not the common case: hand the request to the Flask view."""


class LeanRespondent:
    def __init__(self, wsgi_app, app: Flask) -> None:
        self.next = wsgi_app
        self.app = app
        self._statements: _Statements | None = None
        cfg = app.config
        self.public = cfg.get("PUBLIC_BASE_URL")
        self.max_form = int(cfg["MAX_FORM_BYTES"])
        self.gzip_level = int(cfg.get("COMPRESS_LEVEL", 6))
        self.gzip_types = set(cfg.get("COMPRESS_MIMETYPES") or ())
        security_headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                            ("Content-Security-Policy", security.RESPONDENT_CSP), ("X-Frame-Options", "DENY")]
        if str(self.public or "").startswith("https://"):
            security_headers.append(("Strict-Transport-Security", security.HSTS))
        self.security_headers = security_headers

    def enabled(self) -> bool:
        cfg = self.app.config
        return bool(cfg.get("LEAN_RESPONDENT_PATH", True)) and cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        match = _PATH.fullmatch(path) if path.startswith("/s/") and method in ("GET", "POST") else None
        if match is None or not self.enabled():
            return self.next(environ, start_response)
        code, done = match.group(1).lower(), match.group(2)
        try:
            if done:
                if method != "GET":
                    raise _Refer
                answer = self._done(code)
            else:
                with self.app.app_context():
                    answer = self._form(environ, code) if method == "GET" else self._post(environ, code)
        except _Refer:
            return self.next(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    # -- the three requests -------------------------------------------------------------------

    def _done(self, code: str):
        hit = views._DONE.get(code)
        if hit is None or hit[0] <= time.monotonic():
            raise _Refer
        body = hit[1].encode()
        return "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                          *self.security_headers], body

    def _form(self, environ, code: str):
        if environ.get("QUERY_STRING") and "slip=" in environ["QUERY_STRING"]:
            raise _Refer
        cur, raw = self._connection()
        try:
            entry, q, now = self._open_link(cur, code)
            page = views._PAGES.get(views.blank_page_key(entry, q))
            if page is None:
                raise _Refer
            bid, cookie = self._browser(environ)
            fp = _fingerprint(environ, entry, bid)
            if not entry.repeat_allowed and cookie is None:
                sql, _, _ = st = self._st().answered
                if cur.execute(sql, _params(st, {"link_id": entry.link_id, "browser_hash": fp.browser_hash})).fetchone():
                    raise _Refer  # the view shows "answered"
            sql, _, _ = st = self._st().start
            cur.execute(sql, _params(st, {"link_id": entry.link_id, "ip_hash": fp.ip_hash, "ua_class": fp.ua_class,
                                           "minute": now.replace(second=0, microsecond=0),
                                           "fresh": 1 if cookie is not None else 0}))
        except Exception as exc:
            _release(cur, raw, exc)
            _unexpected(exc)
            raise _Refer from None
        _release(cur, raw)
        html = page.replace(views._TOKEN_SLOT, tokens.new_start_token(entry.code, now, bid)).replace(
            views._SLIP_SLOT, "")
        body = html.encode()
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if cookie:
            headers.append(("Set-Cookie", self._cookie(environ, cookie)))
        if len(body) >= RESPONDENT_GZIP_MIN_BYTES and "text/html" in self.gzip_types:
            headers.append(("Vary", "Accept-Encoding"))
            if _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
                body = _gzip(body, self.gzip_level)
                headers.append(("Content-Encoding", "gzip"))  # (no Date: the server adds it)
        headers.insert(1, ("Content-Length", str(len(body))))
        return "200 OK", headers + self.security_headers, body

    def _post(self, environ, code: str):
        body = self._body(environ)  # from here on a refusal hands the body on
        try:
            form = self._form_fields(environ, body)
            if is_cross_site(environ.get("HTTP_ORIGIN"), environ.get("HTTP_REFERER"),
                             own_origins(environ.get("wsgi.url_scheme", "http"), get_host(environ), self.public)):
                raise _Refer
            cur, raw = self._connection()
            try:
                round_id = self._store(environ, cur, code, form)
            except _Refer:
                _release(cur, raw)
                raise
            except Exception as exc:
                _release(cur, raw, exc)
                _unexpected(exc)
                raise _Refer from None
            _release(cur, raw)
        except _Refer:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            raise
        hand_over(self.app, {round_id})
        resp = redirect(f"{environ.get('SCRIPT_NAME', '')}/s/{code}/done", 303)
        data = resp.get_data()
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))),
                   ("Location", resp.headers["Location"]), *self.security_headers]
        return "303 SEE OTHER", headers, data

    def _store(self, environ, cur, code: str, form: dict) -> int:
        """Store the answer (the round's id), or ``_Refer`` before anything is written."""
        entry, q, now = self._open_link(cur, code)
        if entry.code_required:
            raise _Refer
        bid = tokens.read_browser_id(_cookie_value(environ))
        if bid is None:
            raise _Refer  # no cookie: the view answers (its start token cannot be this browser's)
        started = tokens.read_start_token(form.get("token", ""), entry.code, bid)
        if started is None or not started[2]:
            raise _Refer
        answers = read_answers(q, form)
        if not answers.ok:
            raise _Refer
        fp = _fingerprint(environ, entry, bid)
        if entry.repeat_allowed:
            fp = Fingerprint(salted_hash(entry.ip_salt, "browser", f"{bid}|{started[0]}"), fp.ip_hash, fp.ua_class)
        row = response_row(entry=entry, questionnaire=q, answers=answers.values, idempotency_key=started[0],
                           started_at=started[1], fp=fp, now=now)
        st = self._st()
        if row["counted"]:
            stmt = st.take_and_insert[entry.stop_when_full]
            values = {f"r_{c}": v for c, v in row.items()}
            values["link_id"] = entry.link_id
        else:
            stmt, values = st.insert, row
        if cur.execute(stmt[0], _params(stmt, values)).rowcount != 1:
            raise _Refer  # full: the view says so
        return entry.round_id

    # -- pieces ---------------------------------------------------------------------------------

    def _st(self) -> _Statements:
        if self._statements is None:
            self._statements = _Statements(self._engine().dialect)
        return self._statements

    def _engine(self):
        from survey.db import db

        return db.engine

    def _connection(self):
        import psycopg
        from sqlalchemy.exc import SQLAlchemyError

        try:
            raw = self._engine().raw_connection()
        except (SQLAlchemyError, psycopg.Error):
            raise _Refer from None  # the database is away: the view retries, then says 请稍后重试 (503)
        try:
            raw.driver_connection.autocommit = True
            return raw.driver_connection.cursor(), raw
        except psycopg.Error as exc:  # a connection that died in the pool
            raw.invalidate(exc)
            raw.close()
            raise _Refer from None

    def _open_link(self, cur, code: str):
        """(link, its questionnaire, now) of an open link whose questionnaire this process knows."""
        entry = self._entry(cur, code)
        q = cached_questionnaire(self.app.extensions["questionnaires"], entry.round_id, entry.ip_salt, entry.group)
        now = utcnow()
        try:
            responses.check_open(entry, now)
        except responses.RefusedResponse:
            raise _Refer from None  # the view's refusal page
        if q is None:
            raise _Refer
        return entry, q, now

    def _entry(self, cur, code: str) -> Entry:
        sql, _, _ = st = self._st().entry
        row = cur.execute(sql, _params(st, {"code": code})).fetchone()
        if row is None:
            raise _Refer  # the view's 404 page
        return Entry(*row)

    @staticmethod
    def _browser(environ) -> tuple[str, str | None]:
        bid = tokens.read_browser_id(_cookie_value(environ))
        return (bid, None) if bid else tokens.new_browser_cookie()

    @staticmethod
    def _cookie(environ, value: str) -> str:
        return dump_cookie(tokens.BROWSER_COOKIE, value, max_age=365 * 24 * 3600, path="/", httponly=True,
                           samesite="Lax", secure=environ.get("wsgi.url_scheme") == "https")

    def _body(self, environ) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise _Refer from None  # chunked, or no length: the view's checks
        if length < 0 or length > self.max_form:
            raise _Refer  # 413 from the view
        return environ["wsgi.input"].read(length)

    @staticmethod
    def _form_fields(environ, body: bytes) -> dict:
        if (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower() != _FORM_TYPE:
            raise _Refer
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise _Refer from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if "\x00" in value or "\x00" in name:
                raise _Refer  # the view refuses NUL (400)
            form.setdefault(name, value)  # the first of a repeated name counts, as in a MultiDict
        return form



def _unexpected(exc: BaseException) -> None:
    """A database error is the view's to retry; anything else is a bug worth a log line (the
    respondent is still answered, by the view)."""
    import psycopg
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, _Refer | psycopg.Error | SQLAlchemyError):
        log.exception("respondent fast path: handing the request to the view after an error")


def _release(cur, raw, exc: BaseException | None = None) -> None:
    """Back to the pool; a connection lost in a restart is dropped (the view's retry makes a new one)."""
    import psycopg

    try:
        cur.close()
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or raw.driver_connection.closed:
            raw.invalidate(exc)
        else:
            raw.driver_connection.autocommit = False
    except psycopg.Error as lost:
        raw.invalidate(lost)
    finally:
        raw.close()


def _fingerprint(environ, entry: Entry, bid: str) -> Fingerprint:
    return fingerprint(entry.ip_salt, browser_id=bid, ip=environ.get("REMOTE_ADDR") or "",
                       user_agent=environ.get("HTTP_USER_AGENT", ""))


def _cookie_value(environ) -> str | None:
    header = environ.get("HTTP_COOKIE")
    if not header or tokens.BROWSER_COOKIE not in header:
        return None
    return parse_cookie(header).get(tokens.BROWSER_COOKIE)


def _accepts_gzip(accept: str) -> bool:
    """Flask-Compress's own reading of Accept-Encoding (q-values included)."""
    return _choose_algorithm(("gzip",), accept) == "gzip"


def _gzip(data: bytes, level: int) -> bytes:
    return gzip.compress(data, level)
