"""Storing one questionnaire answer: quota, idempotency and duplicate control in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from evaluator.questionnaire import Questionnaire
from survey.db import db
from survey.models import EntryLink, Response, SurveyRound, utcnow


class RefusedResponse(Exception):
    """Why an answer cannot be taken: ``reason`` in {'scheduled', 'closed', 'full', 'answered'}."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fingerprint:
    """Fraud features kept with a response; nothing here identifies a person."""

    browser_hash: str
    ip_hash: str
    ua_class: str


def salted_hash(salt: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{salt}|{kind}|{value}".encode()).hexdigest()[:32]


def ua_class(user_agent: str) -> str:
    """Coarse device class only (never the full string): enough to spot a flood from one kind."""
    ua = (user_agent or "").lower()
    app = "wechat" if "micromessenger" in ua else ("qq" if " qq/" in ua else "browser")
    if "android" in ua:
        os_ = "android"
    elif "iphone" in ua or "ipad" in ua or "ios" in ua:
        os_ = "ios"
    elif "windows" in ua or "macintosh" in ua or "linux" in ua:
        os_ = "desktop"
    else:
        os_ = "other"
    return f"{app}-{os_}"


def fingerprint(rnd: SurveyRound, *, browser_id: str, ip: str, user_agent: str) -> Fingerprint:
    return Fingerprint(
        salted_hash(rnd.ip_salt, "browser", browser_id),
        salted_hash(rnd.ip_salt, "ip", ip or ""),
        ua_class(user_agent),
    )


def check_open(link: EntryLink, now: datetime | None = None) -> None:
    state = link.round.state(now)
    if state != "open":
        raise RefusedResponse(state)
    if link.round.stop_when_full and link.responses_count >= link.quota:
        raise RefusedResponse("full")


def already_answered(link: EntryLink, fp: Fingerprint) -> bool:
    return db.session.scalar(
        select(Response.id).where(Response.link_id == link.id, Response.browser_hash == fp.browser_hash)
    ) is not None


def find_by_key(key: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.idempotency_key == key))


def record_response(
    *,
    link: EntryLink,
    questionnaire: Questionnaire,
    answers: dict[str, str],
    idempotency_key: str,
    started_at: datetime,
    fp: Fingerprint,
    now: datetime | None = None,
) -> Response:
    """Store one response, or raise ``RefusedResponse``.

    The quota counter is incremented by a conditional UPDATE in the same transaction as the
    INSERT: on PostgreSQL the row lock serialises concurrent submitters and the condition is
    re-checked after the lock, so a quota can never be overshot; on SQLite writers are
    serialised by the database lock. A duplicate idempotency key or browser raises
    ``IntegrityError`` at flush; the caller rolls back and looks the original up.
    """
    now = now or utcnow()
    check_open(link, now)
    cond = EntryLink.id == link.id
    if link.round.stop_when_full:
        cond = cond & (EntryLink.responses_count < EntryLink.quota)
    taken = db.session.execute(
        update(EntryLink).where(cond).values(responses_count=EntryLink.responses_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise RefusedResponse("full")
    resp = Response(
        round_id=link.round_id, link_id=link.id, school_id=link.school_id, group=link.group,
        instrument=questionnaire.id, instrument_version=questionnaire.version,
        answers={it.id: answers[it.id] for it in questionnaire.items if answers.get(it.id)},
        started_at=started_at, submitted_at=now,
        duration_seconds=max(0.0, (now - started_at.astimezone(UTC)).total_seconds()),
        idempotency_key=idempotency_key, browser_hash=fp.browser_hash, ip_hash=fp.ip_hash,
        ua_class=fp.ua_class,
    )
    db.session.add(resp)
    db.session.flush()
    return resp
