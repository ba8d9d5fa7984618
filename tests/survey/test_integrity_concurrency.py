"""Parallel submitters to one round still produce one valid tamper-evident chain (the round
row's lock on PostgreSQL, the write lock on SQLite, orders them)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from survey.db import db
from survey.integrity.report import verify_round
from survey.models import Response, SurveyRound
from tests.survey.helpers import aged, answer_all, link_for, make_round

SUBMITTERS = 24


def test_parallel_submissions_form_one_valid_chain(app):
    with app.app_context():
        rnd = make_round()
        codes = [link_for(rnd, g, s).code for g, s in (("parent", "S01"), ("parent", "S02"), ("teacher", "S03"),
                                                        ("student", "S01"))]
        for ln in rnd.links:
            ln.quota = 1000
        db.session.commit()
        rid = rnd.id
    clients = [app.test_client() for _ in range(SUBMITTERS)]
    targets = [codes[i % len(codes)] for i in range(SUBMITTERS)]
    forms = [aged(app, c, code, answer_all(c.get(f"/s/{code}").get_data(as_text=True)))
             for c, code in zip(clients, targets, strict=True)]
    barrier = threading.Barrier(SUBMITTERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        barrier.wait()
        status = clients[i].post(f"/s/{targets[i]}", data=forms[i]).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [303] * SUBMITTERS
    with app.app_context():
        rnd = db.session.get(SurveyRound, rid)
        seqs = sorted(db.session.scalars(select(Response.chain_seq).where(Response.round_id == rid)))
        assert seqs == list(range(1, SUBMITTERS + 1))
        assert rnd.chain_length == SUBMITTERS
        check = verify_round(rnd)
        assert check.ok, check.message
