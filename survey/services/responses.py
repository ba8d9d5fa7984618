"""Storing one questionnaire answer: quota, idempotency and duplicate control in one transaction.

This is the respondent hot path (a whole school may answer within minutes), so it reads
what it needs about an entry link in one Core query (``load_entry``) and writes with Core
statements, not ORM objects. On PostgreSQL the quota place and the insert are one statement
(``_take_and_insert``): it is atomic by itself, so the respondent view runs it on an autocommit
connection (``use_autocommit``) and the POST costs two round trips, the link's read and this.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update

from evaluator.questionnaire import Questionnaire
from survey.db import db
from survey.integrity.chain import link_hash
from survey.integrity.chaining import defer_chaining
from survey.models import (
    County,
    EntryLink,
    Response,
    School,
    SlipCode,
    SurveyRound,
    round_state,
    utcnow,
)


class RefusedResponse(Exception):
    """Why an answer cannot be taken: ``reason`` in {'scheduled', 'closed', 'full', 'answered',
    'slip'} ('slip': the link needs a one-time slip code and none valid and unused was given)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """What the respondent pages need about an entry link and its round."""

    link_id: int
    code: str
    group: str
    quota: int
    responses_count: int
    round_id: int
    school_id: int | None
    school_name: str | None
    county_name: str
    opens_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    stop_when_full: bool
    ip_salt: str
    ruleset: str = "national-2017"
    code_required: bool = False
    repeat_groups: tuple | list | None = None

    @property
    def repeat_allowed(self) -> bool:
        """One browser may answer this link more than once (computer room, shared phone)."""
        return self.group in (self.repeat_groups or ())

    def state(self, now: datetime | None = None) -> str:
        return round_state(self.opens_at, self.closes_at, self.closed_at, now)


_ENTRY = (
    select(
        EntryLink.id, EntryLink.code, EntryLink.group, EntryLink.quota, EntryLink.responses_count,
        EntryLink.round_id, EntryLink.school_id, School.name, County.name, SurveyRound.opens_at,
        SurveyRound.closes_at, SurveyRound.closed_at, SurveyRound.stop_when_full, SurveyRound.ip_salt,
        SurveyRound.ruleset, EntryLink.code_required, SurveyRound.repeat_groups,
    )
    .join(SurveyRound, EntryLink.round_id == SurveyRound.id)
    .join(County, SurveyRound.county_id == County.id)
    .outerjoin(School, EntryLink.school_id == School.id)
)


# Statements built once: per request only parameters are bound, and they run on the
# session's connection (Core), skipping the ORM's per-statement work.
_ENTRY_BY_CODE = _ENTRY.where(EntryLink.code == bindparam("code"))
_ANSWERED = select(Response.id).where(Response.link_id == bindparam("link_id"),
                                      Response.browser_hash == bindparam("browser_hash")).limit(1)
_BY_KEY = select(Response.id).where(Response.idempotency_key == bindparam("key"))
_TAKE_PLACE = update(EntryLink).where(EntryLink.id == bindparam("link_id")).values(
    responses_count=EntryLink.responses_count + 1)
_TAKE_PLACE_IF_FREE = _TAKE_PLACE.where(EntryLink.responses_count < EntryLink.quota)
_INSERT = insert(Response)
# The round's log: bumping its length takes the round row's lock (PostgreSQL) or the database
# write lock (SQLite) until commit, so concurrent submitters are chained one after another.
_CHAIN_NEXT = (update(SurveyRound).where(SurveyRound.id == bindparam("round_id"))
               .values(chain_length=SurveyRound.chain_length + 1)
               .returning(SurveyRound.chain_head, SurveyRound.chain_length))
_CHAIN_HEAD = update(SurveyRound).where(SurveyRound.id == bindparam("round_id")).values(
    chain_head=bindparam("head"))
_USE_SLIP = delete(SlipCode).where(SlipCode.code_hash == bindparam("code_hash"),
                                   SlipCode.link_id == bindparam("link_id"))


_INSERT_COLUMNS = ("round_id", "link_id", "school_id", "group", "instrument", "instrument_version", "answers",
                   "started_at", "submitted_at", "duration_seconds", "idempotency_key", "browser_hash", "ip_hash",
                   "ua_class", "counted")


def _take_and_insert(guarded: bool):
    """PostgreSQL: ``WITH take AS (UPDATE entry_links … RETURNING id) INSERT INTO responses
    SELECT … FROM take``. The UPDATE's row lock serialises a link's submitters and its quota
    condition is re-checked after the lock (READ COMMITTED), so a quota is never overshot;
    when the link is full ``take`` is empty and nothing is inserted (rowcount 0). A unique
    violation (retried key, second answer of a browser) undoes the UPDATE with the statement."""
    take = _TAKE_PLACE_IF_FREE if guarded else _TAKE_PLACE
    cte = take.returning(EntryLink.id).cte("take")
    cols = Response.__table__.c
    # Values are bound as ``r_<column>``: parameters named like entry_links' columns would be
    # taken by SQLAlchemy as extra SET values of the UPDATE.
    row = select(*(bindparam(f"r_{c}", type_=cols[c].type) for c in _INSERT_COLUMNS)).select_from(cte)
    stmt = insert(Response).from_select(list(_INSERT_COLUMNS), row).add_cte(cte)
    return stmt.execution_options(preserve_rowcount=True)  # SQLAlchemy keeps rowcount for UPDATE/DELETE only


_TAKE_AND_INSERT = {True: _take_and_insert(True), False: _take_and_insert(False)}
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def use_autocommit() -> None:
    """Give this request's session an autocommit connection: its reads, and single statements
    that are atomic by themselves, then cost no BEGIN/COMMIT round trips. Call before the
    session's first statement (the connection's isolation is reset when it returns to the pool);
    ``db.session.rollback()`` leaves it, and the next statement starts an ordinary transaction."""
    db.session.connection(execution_options=_AUTOCOMMIT)


def _in_autocommit(conn) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def _run(statement, params: dict):
    return db.session.connection().execute(statement, params)


def load_entry(code: str) -> Entry | None:
    row = _run(_ENTRY_BY_CODE, {"code": code.lower()}).first()
    return None if row is None else Entry(*row)


@dataclass(frozen=True)
class Fingerprint:
    """Fraud features kept with a response; nothing here identifies a person."""

    browser_hash: str
    ip_hash: str
    ua_class: str


def salted_hash(salt: str, kind: str, value: str) -> str:
    """HMAC-SHA-256 with the installation's fingerprint key (not in the database) and the
    round's salt: a copy of the database cannot be reversed by enumerating addresses."""
    key = current_app.config["FINGERPRINT_KEY"].encode()
    return hmac.new(key, f"{salt}|{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]


def slip_hash(link_code: str, slip: str) -> str:
    """Keyed hash of a one-time slip code (the code itself is never stored)."""
    return salted_hash(link_code, "slip", slip.strip().lower())


@lru_cache(maxsize=64)
def speeder_seconds(ruleset: str) -> float:
    from survey.services.rounds import recognition_rules

    return recognition_rules(ruleset).speeder_seconds


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


def fingerprint(ip_salt: str, *, browser_id: str, ip: str, user_agent: str) -> Fingerprint:
    """Per-round salted hashes: the same phone or address cannot be linked across rounds."""
    return Fingerprint(
        salted_hash(ip_salt, "browser", browser_id),
        salted_hash(ip_salt, "ip", ip or ""),
        ua_class(user_agent),
    )


def check_open(entry: Entry, now: datetime | None = None) -> None:
    state = entry.state(now)
    if state != "open":
        raise RefusedResponse(state)
    if entry.stop_when_full and entry.responses_count >= entry.quota:
        raise RefusedResponse("full")


def already_answered(entry: Entry, fp: Fingerprint) -> bool:
    return _run(_ANSWERED, {"link_id": entry.link_id, "browser_hash": fp.browser_hash}).first() is not None


def find_by_key(key: str) -> int | None:
    return _run(_BY_KEY, {"key": key}).scalar()


def response_row(*, entry: Entry, questionnaire: Questionnaire, answers: dict[str, str], idempotency_key: str,
                 started_at: datetime, fp: Fingerprint, now: datetime) -> dict:
    """The ``responses`` row of one answer (the columns of ``_INSERT_COLUMNS``). ``counted`` is
    False for a speeder (faster than the rule-set's filter): stored, but it takes no quota place."""
    duration = max(0.0, (now - started_at.astimezone(UTC)).total_seconds())
    return dict(
        round_id=entry.round_id, link_id=entry.link_id, school_id=entry.school_id, group=entry.group,
        instrument=questionnaire.id, instrument_version=questionnaire.version,
        answers={it.id: answers[it.id] for it in questionnaire.items if answers.get(it.id)},
        started_at=started_at, submitted_at=now, duration_seconds=duration, idempotency_key=idempotency_key,
        browser_hash=fp.browser_hash, ip_hash=fp.ip_hash, ua_class=fp.ua_class,
        counted=duration >= speeder_seconds(entry.ruleset),
    )


def record_response(
    *,
    entry: Entry,
    questionnaire: Questionnaire,
    answers: dict[str, str],
    idempotency_key: str,
    started_at: datetime,
    fp: Fingerprint,
    now: datetime | None = None,
    slip: str | None = None,
) -> None:
    """Store one response, or raise ``RefusedResponse``.

    The quota counter is incremented by a conditional UPDATE atomically with the INSERT: on
    PostgreSQL both are one statement (``_take_and_insert``: the row lock serialises
    concurrent submitters and the condition is re-checked after the lock, so a quota can
    never be overshot); on SQLite they run in the caller's transaction, where writers are
    serialised by the database lock. A duplicate idempotency key or browser raises
    ``IntegrityError``; the caller rolls back and looks the original up.

    A speeder (faster than the rule-set's filter) is stored, and dropped by the estimator,
    but takes no quota place: a 1-second answer never locks out the next real parent. A link
    that requires slip codes consumes one unused code in the same transaction (so never on an
    autocommit connection). Last, the response is chained into the round's tamper-evident log
    (survey.integrity.chain): on SQLite in this transaction, on PostgreSQL right after the
    commit (survey.integrity.chaining).
    """
    now = now or utcnow()
    check_open(entry, now)
    row = response_row(entry=entry, questionnaire=questionnaire, answers=answers, idempotency_key=idempotency_key,
                       started_at=started_at, fp=fp, now=now)
    counted, stored = row["counted"], row["answers"]
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if entry.code_required:
        if _in_autocommit(conn):
            raise RuntimeError("a slip code is spent in the insert's transaction: not on an autocommit connection")
        if not slip or _run(_USE_SLIP, {"code_hash": slip_hash(entry.code, slip),
                                        "link_id": entry.link_id}).rowcount != 1:
            raise RefusedResponse("slip")
    elif not postgres and _in_autocommit(conn):
        raise RuntimeError("SQLite chains a response inside the insert's transaction: not on autocommit")
    if postgres:  # one statement: the quota place (when counted) and the row
        if counted:
            params = {f"r_{c}": v for c, v in row.items()}
            params["link_id"] = entry.link_id
            if conn.execute(_TAKE_AND_INSERT[entry.stop_when_full], params).rowcount != 1:
                raise RefusedResponse("full")
        else:
            conn.execute(_INSERT, row)
        defer_chaining(entry.round_id)  # chained right after the commit, in batches (survey.integrity.chaining)
        return
    if counted:  # SQLite: writers are serialised by the database lock, in this transaction
        take = _TAKE_PLACE_IF_FREE if entry.stop_when_full else _TAKE_PLACE
        if _run(take, {"link_id": entry.link_id}).rowcount != 1:
            raise RefusedResponse("full")
    prev, seq = _run(_CHAIN_NEXT, {"round_id": entry.round_id}).one()
    chained = link_hash(prev, seq=seq, link=entry.code, instrument=questionnaire.id,
                        version=questionnaire.version, answers=stored, started_at=started_at, submitted_at=now)
    _run(_CHAIN_HEAD, {"round_id": entry.round_id, "head": chained})
    _run(_INSERT, dict(row, chain_seq=seq, chain_hash=chained))
