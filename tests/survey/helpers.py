"""Shared steps of the survey tests (plain functions, so each test reads top to bottom)."""

from __future__ import annotations

import io
import re
from datetime import datetime

from evaluator.roster import read_roster
from survey.db import db
from survey.instruments import catalogue
from survey.models import EntryLink, SurveyRound
from survey.services.rounds import get_or_create_county, open_round, recognition_rules
from survey.services.users import create_user
from tests.survey.conftest import ROSTER_ROWS, csrf_from, roster_xlsx

PASSWORD = "correct horse 1"


def make_user(username: str, role: str, county_codes: tuple[str, ...] = (), names: dict | None = None):
    counties = [get_or_create_county(c, (names or {}).get(c, f"测试县{c}")) for c in county_codes]
    user = create_user(username, PASSWORD, role, counties)
    db.session.commit()
    return user


def make_round(county_code: str = "110101", *, rows=None, **kw) -> SurveyRound:
    county = get_or_create_county(county_code, f"测试县{county_code}")
    roster = read_roster(io.BytesIO(roster_xlsx(rows or ROSTER_ROWS)), filename="名单.xlsx")
    rnd = open_round(county=county, name=kw.pop("name", "2026年社会认可度调查"), roster=roster,
                     catalogue=catalogue(), rules=recognition_rules("national-2017"), **kw)
    db.session.commit()
    return rnd


def link_for(rnd: SurveyRound, group: str, school_code: str | None = None) -> EntryLink:
    for ln in rnd.links:
        if ln.group == group and ((ln.school.code if ln.school else None) == school_code):
            return ln
    raise AssertionError(f"no link {group} {school_code}")


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})


def answer_all(html: str, choice: str = "满意") -> dict[str, str]:
    """Form data answering every question of the page with ``choice``."""
    data = {"token": re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)}  # no CSRF token (issue 12)
    for item in sorted(set(re.findall(r'name="([a-z]\d\d)"', html))):
        data[item] = choice
    return data


def store_answers(link: EntryLink, choice: str | dict, duration: float = 120.0, at: datetime | None = None) -> None:
    """Store one response through the service with a given duration (the web path cannot
    fake the server-signed start time, which is the point), submitted ``at`` (default now)."""
    import secrets
    from datetime import timedelta

    from survey.models import utcnow
    from survey.pins import round_questionnaire
    from survey.services.responses import Fingerprint, load_entry, record_response

    q = round_questionnaire(link.round, catalogue(), link.group)
    answers = choice if isinstance(choice, dict) else {it.id: choice for it in q.items}
    now = at or utcnow()
    record_response(entry=load_entry(link.code), questionnaire=q, answers=answers, idempotency_key=secrets.token_hex(16),
                    started_at=now - timedelta(seconds=duration),
                    fp=Fingerprint(secrets.token_hex(8), "ip", "wechat-android"), now=now)
    db.session.commit()


def aged(app, client, code: str, data: dict[str, str], seconds: float = 120.0) -> dict[str, str]:
    """``data`` with its start token re-issued as if this browser had opened the form
    ``seconds`` ago: an answer a real person takes time over, which takes a quota place
    (a faster one is a speeder: stored, but not counted against the quota)."""
    from datetime import timedelta

    from survey import tokens
    from survey.models import utcnow

    with app.test_request_context():
        bid = tokens.read_browser_id(client.get_cookie(tokens.BROWSER_COOKIE).value)
        return dict(data, token=tokens.new_start_token(code, utcnow() - timedelta(seconds=seconds), bid))
