"""GET shows the questionnaire; POST stores it once, then redirects to the thank-you page.

The lean respondent path (issue 12 item 1): no session, no CSRF token (survey.collect.guard
says what protects the POST instead), answers checked against the scale directly
(survey.collect.answers), and the database reached with as few round trips as it allows:

- a GET runs its reads and its start-record upsert on an autocommit connection: no BEGIN, no
  COMMIT (each statement is its own transaction, and the upsert is one statement);
- a POST on PostgreSQL reads the link, then takes the quota place and inserts the response
  in ONE statement (survey.services.responses), also in autocommit; a link with slip codes,
  and SQLite (which chains inside the insert's transaction), use one ordinary transaction.

On PostgreSQL the common case of each request is answered before Flask by survey.collect.lean
with these same statements and pages; this view answers the first request of a link in a
process (it renders and keeps the pages), every refusal, error and re-shown form, and SQLite.
"""

from __future__ import annotations

import time

from flask import abort, make_response, redirect, render_template, request, url_for
from markupsafe import escape
from sqlalchemy.exc import IntegrityError

from evaluator.groups import GROUPS
from survey import tokens
from survey.collect import bp
from survey.collect.answers import Answers, read_answers
from survey.collect.guard import check_origin
from survey.db import db
from survey.instruments import catalogue
from survey.integrity.starts import record_start
from survey.models import utcnow
from survey.pins import pinned_questionnaire
from survey.services.responses import (
    Entry,
    Fingerprint,
    RefusedResponse,
    already_answered,
    check_open,
    find_by_key,
    fingerprint,
    load_entry,
    record_response,
    salted_hash,
    use_autocommit,
)
from survey.services.retry import retry_on_disconnect

_REFUSED_STATUS = {"scheduled": 403, "closed": 410, "full": 403, "answered": 409, "browser": 403, "slip": 403}

bp.before_request(check_origin)


def _entry(code: str) -> Entry:
    entry = load_entry(code)
    if entry is None:
        abort(404)
    return entry


_TOKEN_SLOT, _SLIP_SLOT = "__token_slot__", "__slip_slot__"
_PAGES: dict[tuple, str] = {}
_MAX_PAGES = 4096  # ≈ 100 MB at worst; a county round has a few hundred links


def _cached(key: tuple, render) -> str:
    """A page that is the same for every respondent of a link, rendered once per process.
    Everything shown is part of the key, so a renamed school or county is never served stale."""
    page = _PAGES.get(key)
    if page is None:
        if len(_PAGES) >= _MAX_PAGES:
            _PAGES.clear()
        page = _PAGES[key] = render()
    return page


def blank_page_key(entry: Entry, q) -> tuple:
    return ("form", entry.code, entry.county_name, entry.school_name, entry.group, q.key, q.sha256,
            entry.code_required, entry.repeat_allowed)


def done_page_key(entry: Entry) -> tuple:
    return ("done", entry.code, entry.county_name, entry.school_name, entry.group, entry.repeat_allowed)


def _blank_page(entry: Entry, q) -> str:
    """The unanswered page of an entry link (this request's tokens are filled into its slots)."""
    return _cached(blank_page_key(entry, q), lambda: render_template(
        "collect/form.html", entry=entry, q=q, form=None, group=GROUPS[entry.group], token=_TOKEN_SLOT,
        slip=_SLIP_SLOT))


def _refused(entry: Entry, reason: str):
    return render_template("collect/refused.html", entry=entry, reason=reason,
                           group=GROUPS[entry.group]), _REFUSED_STATUS[reason]


def _browser() -> tuple[str, str | None]:
    """(browser id, cookie value to set or None)."""
    bid = tokens.read_browser_id(request.cookies.get(tokens.BROWSER_COOKIE))
    if bid:
        return bid, None
    return tokens.new_browser_cookie()


def _with_cookie(resp, cookie: str | None):
    if cookie:
        resp.set_cookie(tokens.BROWSER_COOKIE, cookie, max_age=365 * 24 * 3600, httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return resp


def _stored(key: str) -> bool:
    """Whether the response of this start token is stored, after undoing this attempt."""
    db.session.rollback()
    use_autocommit()
    return find_by_key(key) is not None


@bp.route("/<code>", methods=["GET", "POST"])
@retry_on_disconnect
def answer(code: str):
    posting = request.method == "POST"
    # Reads (and the GET's one-statement upsert) need no transaction; SQLite's POST does.
    if not posting or db.engine.dialect.name == "postgresql":
        use_autocommit()
    entry = _entry(code)
    q = pinned_questionnaire(catalogue(), entry.round_id, entry.ip_salt, entry.group)  # the round's version
    bid, cookie = _browser()
    fp = fingerprint(entry.ip_salt, browser_id=bid, ip=request.remote_addr or "",
                     user_agent=request.user_agent.string)
    now = utcnow()
    slip = (request.values.get("slip") or "").strip()[:32] if entry.code_required else ""

    def page(answers: Answers | None, status: int, token: str | None = None):
        if answers is None:  # the blank form: a cached page with this request's tokens filled in
            html = (_blank_page(entry, q).replace(_TOKEN_SLOT, tokens.new_start_token(entry.code, now, bid))
                    .replace(_SLIP_SLOT, escape(slip)))
        else:
            html = render_template("collect/form.html", entry=entry, q=q, form=answers, group=GROUPS[entry.group],
                                   token=token, slip=slip)
        return _with_cookie(make_response(html, status), cookie)

    def refused(reason: str):
        return _with_cookie(make_response(_refused(entry, reason)), cookie)

    if not posting:  # GET and HEAD (werkzeug drops HEAD's body)
        try:
            check_open(entry, now)
        except RefusedResponse as exc:
            return refused(exc.reason)
        # A browser id minted for this request (``cookie``) has answered nothing yet.
        if not entry.repeat_allowed and cookie is None and already_answered(entry, fp):
            return refused("answered")
        record_start(link_id=entry.link_id, ip_hash=fp.ip_hash, ua_class=fp.ua_class, now=now,
                     fresh=cookie is not None)
        return page(None, 200)

    token = request.form.get("token", "")
    answers = read_answers(q, request.form)
    started = tokens.read_start_token(token, entry.code, bid)
    if started is None:
        answers.form_errors.append("expired")
        return page(answers, 422, tokens.new_start_token(entry.code, now, bid))
    if not started[2]:  # a start token issued to another browser (or before the cookie was dropped)
        return refused("browser")
    if not answers.ok:
        return page(answers, 422, token)
    if entry.repeat_allowed:  # a shared phone or lab computer: one stored answer per started form
        fp = Fingerprint(salted_hash(entry.ip_salt, "browser", f"{bid}|{started[0]}"), fp.ip_hash, fp.ua_class)
    if entry.code_required:
        db.session.rollback()  # the slip code is spent in the same transaction as the insert: leave autocommit
    try:
        record_response(entry=entry, questionnaire=q, answers=answers.values, idempotency_key=started[0],
                        started_at=started[1], fp=fp, now=now, slip=slip)
    except RefusedResponse as exc:
        if exc.reason == "slip":  # a mistyped or used code: keep the answers, ask again
            db.session.rollback()
            answers.form_errors.append("slip")
            return page(answers, 422, token)
        if not _stored(started[0]):  # a double tap that filled the link or met its close is stored
            return refused(exc.reason)
    except IntegrityError:  # a retried POST (same key) or a second answer from this browser
        if not _stored(started[0]):
            return refused("answered")
    return _with_cookie(redirect(url_for(".done", code=entry.code), 303), cookie)


# The thank-you page of a link, kept per process for a few seconds without reading the link
# again: under load every respondent of a school fetches the same page right after posting.
# A renamed school, or a group allowed to answer repeatedly, shows there within this delay.
DONE_PAGE_SECONDS = 5.0
_DONE: dict[str, tuple[float, str]] = {}


@bp.get("/<code>/done")
@retry_on_disconnect
def done(code: str):
    now = time.monotonic()
    hit = _DONE.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    use_autocommit()
    entry = _entry(code)
    page = _cached(done_page_key(entry), lambda: render_template("collect/done.html", entry=entry, group=GROUPS[entry.group]))
    if len(_DONE) >= _MAX_PAGES:
        _DONE.clear()
    _DONE[code] = (now + DONE_PAGE_SECONDS, page)
    return page
