"""Chaining responses into their round's log on PostgreSQL without serialising submitters.

Holding a per-round lock from a response's insert to its commit caps a round at one response
per commit (the WAL flush) and builds a convoy under load. Instead a response is inserted
unchained (chain_seq NULL) and, once its request has committed (``teardown_request``), its
round is handed to the process's chaining thread (``_Chainer``), which takes the round's
advisory lock and chains every committed, still unchained response of the round in id order,
with one commit for a whole batch of submissions; the respondent's answer does not wait for
it. SQLite serialises writers anyway and chains inside the insert's transaction
(survey.services.responses).

A response inserted by hand in the database between two submissions would be chained by the
next one: the log protects what was there when its head was read or sealed, which is why the
head is shown on the round page and the sign sheet and kept in every sealed archive.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask, current_app, g, has_request_context
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


def chain_pending(round_id: int) -> int:
    """Chain the round's committed unchained responses (in the caller's transaction, which
    must commit). Returns how many were chained."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, :round_id)"),
                     {"space": _LOCK_SPACE, "round_id": round_id})
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


class _Chainer:
    """The process's chaining thread (PostgreSQL). A request that stored a response hands its
    round over after its commit (``submit``) and answers at once; the thread waits up to
    ``CHAIN_BATCH_SECONDS`` for more, then chains every pending round of every app in one
    transaction per app: a burst of submissions costs one chaining transaction per batch
    instead of one per response. Several processes chain the same round one after another
    (the round's advisory lock); what one has chained the next finds chained.

    A batch that fails (the database restarting) keeps its rounds pending and is tried again
    after 1, 2, 4 … 10 s; responses stay stored and unchained meanwhile, and any later chaining
    of their round takes them too (also another process's, or ``cell_sums.refresh``). At exit
    (gunicorn stopping a worker) what is pending is chained before the process ends.

    ``flush`` waits until everything submitted before it has been tried: tests and the
    ``CHAIN_IN_BACKGROUND = False`` mode (the default under TESTING) wait for their own chaining
    that way, with no dependence on timing. The thread is started on first use, so never in a
    gunicorn master before it forks (a forked child starts its own)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[Flask, set[int]] = {}
        self._submitted = 0  # tickets: submissions so far
        self._tried = 0  # every submission up to this ticket has been tried (chained, or failed)
        self._hurry = False
        self._busy = False  # a batch is being chained
        self._thread: threading.Thread | None = None
        self._retry_delay = 0.0

    def submit(self, app: Flask, rounds) -> int:
        with self._cond:
            self._pending.setdefault(app, set()).update(rounds)
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="chaining", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return self._submitted

    def flush(self, ticket: int | None = None, timeout: float = 30.0) -> bool:
        """Wait until every submission up to ``ticket`` (default: all so far, and a new try of
        what a failed batch left pending) has been tried; returns whether nothing is pending then."""
        with self._cond:
            if ticket is None:
                self._submitted += 1
                ticket = self._submitted
            if self._pending or self._busy:
                self._hurry = True
                self._cond.notify_all()
            self._cond.wait_for(lambda: self._tried >= ticket or not (self._pending or self._busy), timeout)
            return not self._pending

    def _run(self) -> None:
        while True:
            try:
                self._batch()
            except Exception:  # noqa: BLE001 - never let the thread die; pending rounds stay pending
                log.exception("the chaining thread failed; it goes on")
                time.sleep(1)

    def _batch(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending)
            delay = self._retry_delay or min(float(a.config.get("CHAIN_BATCH_SECONDS", 0.05)) for a in self._pending)
            self._cond.wait_for(lambda: self._hurry, delay)  # gather a batch (flush cuts it short)
            self._hurry = False
            work, self._pending = self._pending, {}
            ticket, self._busy = self._submitted, True
        failed: dict[Flask, set[int]] = {}
        for app, rounds in work.items():
            if not self._chain(app, rounds):
                failed[app] = rounds
        with self._cond:
            for app, rounds in failed.items():
                self._pending.setdefault(app, set()).update(rounds)
            self._retry_delay = min(10.0, 2 * self._retry_delay or 1.0) if failed else 0.0
            self._tried, self._busy = ticket, False
            self._hurry = self._hurry and bool(self._pending)  # a flush waiting for what came meanwhile
            self._cond.notify_all()

    @staticmethod
    def _chain(app: Flask, rounds: set[int]) -> bool:
        with app.app_context():
            try:
                for round_id in sorted(rounds):  # always in one order: two processes never deadlock
                    chain_pending(round_id)
                db.session.commit()
                return True
            except Exception:  # noqa: BLE001 - the responses are stored; the next batch chains them
                log.exception("chaining responses of rounds %s failed; it is tried again", sorted(rounds))
                try:
                    db.session.rollback()
                except Exception:  # noqa: BLE001 - the connection is gone; removed below
                    pass
                return False
            finally:
                db.session.remove()


_CHAINER = _Chainer()
os.register_at_fork(after_in_child=_CHAINER._reset)  # a forked worker has no thread of its parent's
atexit.register(lambda: _CHAINER.flush(timeout=10))


def flush(timeout: float = 30.0) -> bool:
    """Chain now what this process has pending; True when nothing is left pending."""
    return _CHAINER.flush(timeout=timeout)


def hand_over(app: Flask, rounds) -> None:
    """After the commit of responses of ``rounds``: the chaining thread takes them (tests, with
    ``CHAIN_IN_BACKGROUND`` unset, wait for it). The respondent fast path (survey.collect.lean)
    calls this itself; a Flask request does in its teardown."""
    ticket = _CHAINER.submit(app, rounds)
    if not _background(app):
        _CHAINER.flush(ticket)


def _after_request_commit(exc: BaseException | None) -> None:
    rounds = getattr(g, "integrity_chain_rounds", None)
    if rounds:
        hand_over(current_app._get_current_object(), rounds)


def _background(app: Flask) -> bool:
    setting = app.config.get("CHAIN_IN_BACKGROUND")
    return not app.testing if setting is None else bool(setting)


def init_app(app: Flask) -> None:
    app.teardown_request(_after_request_commit)
