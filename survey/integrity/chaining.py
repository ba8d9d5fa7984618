"""Chaining responses into their round's log on PostgreSQL without serialising submitters.

Holding a per-round lock from a response's insert to its commit caps a round at one response
per commit (the WAL flush) and builds a convoy under load. Instead a response is inserted
unchained (chain_seq NULL) and, right after its transaction commits (``teardown_request``),
a short transaction takes the round's advisory lock and chains every committed, still
unchained response of the round in id order, with one commit for the batch. Under a burst
one chainer takes many responses and those waiting after it find nothing left. SQLite
serialises writers anyway and chains inside the insert's transaction
(survey.services.responses).

A response inserted by hand in the database between two submissions would be chained by the
next one: the log protects what was there when its head was read or sealed, which is why the
head is shown on the round page and the sign sheet and kept in every sealed archive.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, g, has_request_context
from sqlalchemy import bindparam, select, text, update

from survey.db import db
from survey.integrity.chain import link_hash
from survey.models import EntryLink, Response, SurveyRound

log = logging.getLogger(__name__)
_LOCK_SPACE = 7_340_722  # advisory lock key space (survey.db uses 7_340_721 for migrations)
_PENDING = (  # the round's head rides along on every row: one round trip for both
    select(Response.id, EntryLink.code, Response.instrument, Response.instrument_version, Response.answers,
           Response.started_at, Response.submitted_at, SurveyRound.chain_head, SurveyRound.chain_length)
    .join(EntryLink, EntryLink.id == Response.link_id)
    .join(SurveyRound, SurveyRound.id == Response.round_id)
    .where(Response.round_id == bindparam("round_id"), Response.chain_seq.is_(None))
    .order_by(Response.id)
)
_SET_LINK = update(Response).where(Response.id == bindparam("rid")).values(
    chain_seq=bindparam("seq"), chain_hash=bindparam("h"))
_SET_HEAD = update(SurveyRound).where(SurveyRound.id == bindparam("round_id")).values(
    chain_head=bindparam("head"), chain_length=bindparam("length"))
# PostgreSQL: the batch's links and the round's new head in one statement (one round trip).
_SET_ALL_PG = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:rids AS integer[]), CAST(:seqs AS integer[]), CAST(:hashes AS varchar[]))"
    " AS v(rid, seq, h)),"
    " links AS (UPDATE responses SET chain_seq = v.seq, chain_hash = v.h FROM v WHERE responses.id = v.rid)"
    " UPDATE rounds SET chain_head = :head, chain_length = :length WHERE id = :round_id")


def defer_chaining(round_id: int) -> None:
    """After a response's insert: in a request, chain it once the request has committed;
    elsewhere (commands, the demo) chain now, in the caller's transaction."""
    if has_request_context():
        g.integrity_chain_rounds = {*getattr(g, "integrity_chain_rounds", ()), round_id}
    else:
        chain_pending(round_id)


def chain_pending(round_id: int, before_read=None) -> int:
    """Chain the round's committed unchained responses (in the caller's transaction, which
    must commit). Returns how many were chained. ``before_read`` is called once the round's
    lock is held, just before the pending rows are read."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, :round_id)"),
                     {"space": _LOCK_SPACE, "round_id": round_id})
    if before_read is not None:
        before_read()
    rows = conn.execute(_PENDING, {"round_id": round_id}).all()
    if not rows:
        return 0
    head, length = rows[0][7], rows[0][8]
    updates = []
    for rid, code, instrument, version, answers, started, submitted, _head, _length in rows:
        length += 1
        head = link_hash(head, seq=length, link=code, instrument=instrument, version=version, answers=answers,
                         started_at=started, submitted_at=submitted)
        updates.append({"rid": rid, "seq": length, "h": head})
    if conn.dialect.name == "postgresql":
        conn.execute(_SET_ALL_PG, {"rids": [u["rid"] for u in updates], "seqs": [u["seq"] for u in updates],
                                   "hashes": [u["h"] for u in updates], "head": head, "length": length,
                                   "round_id": round_id})
    else:
        conn.execute(_SET_LINK, updates)
        conn.execute(_SET_HEAD, {"round_id": round_id, "head": head, "length": length})
    return len(updates)


# Rounds for which a chainer of this process has not yet read the pending rows (it is waiting
# for the round's lock). A request that commits meanwhile need not chain: that read starts
# after its commit, so it sees and chains the new response (READ COMMITTED: each statement
# sees what was committed before it began). Under a burst this spares most chaining
# transactions. If that chainer then fails, the responses wait for the next submission, as
# after any failed chaining.
_READ_PENDING: set[int] = set()
_READ_PENDING_LOCK = threading.Lock()


def _after_request_commit(exc: BaseException | None) -> None:
    rounds = getattr(g, "integrity_chain_rounds", None)
    if not rounds:
        return
    with _READ_PENDING_LOCK:
        mine = sorted(r for r in rounds if r not in _READ_PENDING)
        _READ_PENDING.update(mine)
    waiting = set(mine)

    def reading(round_id: int) -> None:
        with _READ_PENDING_LOCK:
            if round_id in waiting:
                waiting.discard(round_id)
                _READ_PENDING.discard(round_id)

    try:
        if not mine:
            return
        db.session.rollback()  # the request's own transaction has been committed (or refused) by now
        for round_id in mine:
            chain_pending(round_id, before_read=lambda r=round_id: reading(r))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the response is stored; the next submission chains it
        db.session.rollback()
        log.exception("chaining responses of rounds %s failed; the next submission will chain them", rounds)
    finally:
        for round_id in list(waiting):
            reading(round_id)


def init_app(app: Flask) -> None:
    app.teardown_request(_after_request_commit)
