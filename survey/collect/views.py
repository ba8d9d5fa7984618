"""GET shows the questionnaire; POST stores it once, then redirects to the thank-you page."""

from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from evaluator.groups import GROUPS
from survey import tokens
from survey.collect import bp
from survey.collect.forms import form_class
from survey.db import db
from survey.instruments import catalogue
from survey.models import EntryLink, SurveyRound, utcnow
from survey.services.responses import (
    RefusedResponse,
    already_answered,
    check_open,
    find_by_key,
    fingerprint,
    record_response,
)

_REFUSED_STATUS = {"scheduled": 403, "closed": 410, "full": 403, "answered": 409}


def _link(code: str) -> EntryLink:
    # One query for everything the page shows (round, county, school).
    link = db.session.scalar(
        select(EntryLink).where(EntryLink.code == code.lower())
        .options(joinedload(EntryLink.round).joinedload(SurveyRound.county), joinedload(EntryLink.school))
    )
    if link is None:
        abort(404)
    return link


def _refused(link: EntryLink, reason: str):
    return render_template("collect/refused.html", link=link, reason=reason,
                           group=GROUPS[link.group]), _REFUSED_STATUS[reason]


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


@bp.route("/<code>", methods=["GET", "POST"])
def answer(code: str):
    link = _link(code)
    q = catalogue().current_for(link.group)
    bid, cookie = _browser()
    fp = fingerprint(link.round, browser_id=bid, ip=request.remote_addr or "",
                     user_agent=request.user_agent.string)
    now = utcnow()
    form = form_class(q)()

    if request.method == "POST":
        started = tokens.read_start_token(form.token.data, link.code)
        if started is None:
            form.token.data = tokens.new_start_token(link.code, now)
            form.validate()
            form.form_errors.append("expired")
        elif form.validate():
            try:
                record_response(link=link, questionnaire=q, answers=form.data,
                                idempotency_key=started[0], started_at=started[1], fp=fp, now=now)
            except RefusedResponse as refused:
                return _with_cookie(make_response(_refused(link, refused.reason)), cookie)
            except IntegrityError:
                db.session.rollback()
                if find_by_key(started[0]):
                    return redirect(url_for(".done", code=link.code), 303)
                return _with_cookie(make_response(_refused(link, "answered")), cookie)
            return _with_cookie(redirect(url_for(".done", code=link.code), 303), cookie)
    else:
        try:
            check_open(link, now)
        except RefusedResponse as refused:
            return _with_cookie(make_response(_refused(link, refused.reason)), cookie)
        if already_answered(link, fp):
            return _with_cookie(make_response(_refused(link, "answered")), cookie)
        form.token.data = tokens.new_start_token(link.code, now)

    status = 422 if request.method == "POST" else 200
    page = render_template("collect/form.html", link=link, q=q, form=form, group=GROUPS[link.group])
    return _with_cookie(make_response(page, status), cookie)


@bp.get("/<code>/done")
def done(code: str):
    link = _link(code)
    return render_template("collect/done.html", link=link, group=GROUPS[link.group])
