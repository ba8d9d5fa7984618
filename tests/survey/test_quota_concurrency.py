"""Quotas are checked inside the insert's transaction: parallel submitters never overshoot."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from survey.db import db
from survey.models import EntryLink, Response
from tests.survey.helpers import aged, answer_all, link_for, make_round

QUOTA, SUBMITTERS = 5, 16


def test_parallel_submissions_never_overshoot_the_quota(app):
    with app.app_context():
        ln = link_for(make_round(), "teacher", "S01")
        ln.quota = QUOTA
        db.session.commit()
        code = ln.code
    # Every respondent opens the form first (all see a free place), then all submit at once.
    clients = [app.test_client() for _ in range(SUBMITTERS)]
    forms = [aged(app, c, code, answer_all(c.get(f"/s/{code}").get_data(as_text=True))) for c in clients]
    barrier = threading.Barrier(SUBMITTERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        barrier.wait()
        status = clients[i].post(f"/s/{code}", data=forms[i]).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [303] * QUOTA + [403] * (SUBMITTERS - QUOTA)
    with app.app_context():
        stored = db.session.scalar(select(func.count(Response.id)))
        assert stored == QUOTA
        counter = db.session.scalar(select(EntryLink.responses_count).where(EntryLink.code == code))
        assert counter == QUOTA
