"""Chaining in a per-process background batch (issue 12 item 1, survey.integrity.chaining).

On PostgreSQL a stored response is acknowledged without waiting for its chaining; the
process's chaining thread chains the round's pending responses in one transaction per batch.
No test here depends on timing: the batch delay is set far longer than any test, so nothing is
chained until the test calls ``chaining.flush()``, which hurries the batch and waits for it.
The icons phones fetch on their first visit are answered before Flask (survey.icons)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from survey.db import db
from survey.integrity import chaining
from survey.integrity.report import verify_round
from survey.models import Response, SurveyRound
from tests.survey.helpers import aged, answer_all, link_for, make_round


@pytest.fixture
def background(app):
    """The production setting (background chaining) with a batch that waits for ``flush``."""
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"  # SQLite chains inside the insert's transaction
        rnd = make_round()
        codes = [link_for(rnd, g, s).code for g, s in (("parent", "S01"), ("parent", "S02"), ("teacher", "S03"))]
        for ln in rnd.links:
            ln.quota = 100
        db.session.commit()
        rid = rnd.id
    app.config.update(CHAIN_IN_BACKGROUND=True, CHAIN_BATCH_SECONDS=3600)
    yield rid, codes
    assert chaining.flush()  # nothing left behind for the next test's database


def _submit(app, codes: list[str], n: int) -> None:
    for i in range(n):
        client, code = app.test_client(), codes[i % len(codes)]
        data = aged(app, client, code, answer_all(client.get(f"/s/{code}").get_data(as_text=True)))
        assert client.post(f"/s/{code}", data=data).status_code == 303


def _unchained(rid: int) -> int:
    return db.session.scalar(select(func.count(Response.id)).where(Response.round_id == rid,
                                                                   Response.chain_seq.is_(None)))


@pytest.mark.postgres_only
def test_acknowledged_before_chaining_then_one_batch_chains_them_all(app, background):
    rid, codes = background
    with app.app_context():
        engine = db.engine
    locks: list[str] = []

    def watch(conn, cursor, statement, *_args):
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        _submit(app, codes, 6)
        with app.app_context():
            assert _unchained(rid) == 6  # stored and acknowledged; the batch has not run
            assert db.session.get(SurveyRound, rid).chain_length == 0
        assert locks == []
        assert chaining.flush()
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert len(locks) == 1  # six submissions, one chaining transaction
    with app.app_context():
        assert _unchained(rid) == 0
        rnd = db.session.get(SurveyRound, rid)
        assert rnd.chain_length == 6
        seqs = sorted(db.session.scalars(select(Response.chain_seq).where(Response.round_id == rid)))
        assert seqs == list(range(1, 7))
        check = verify_round(rnd)
        assert check.ok, check.message


@pytest.mark.postgres_only
def test_a_failed_batch_keeps_its_responses_pending_and_the_next_one_chains_them(app, background, monkeypatch):
    rid, codes = background
    real, calls = chaining.chain_pending, []

    def failing_once(round_id):
        calls.append(round_id)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(round_id)

    monkeypatch.setattr(chaining, "chain_pending", failing_once)
    _submit(app, codes, 3)
    assert chaining.flush() is False  # tried, failed: the round is still pending
    with app.app_context():
        assert _unchained(rid) == 3  # stored all the same
    assert chaining.flush() is True  # the retry (hurried by flush) chains them
    with app.app_context():
        assert _unchained(rid) == 0
        check = verify_round(db.session.get(SurveyRound, rid))
        assert check.ok, check.message
    assert calls == [rid, rid]


@pytest.mark.postgres_only
def test_responses_left_unchained_are_taken_by_the_next_batch_of_their_round(app, background):
    """A worker killed before its batch ran leaves its responses unchained in the database;
    whichever chaining of the round comes next (any process) chains them too, in id order."""
    rid, codes = background
    _submit(app, codes, 2)
    with chaining._CHAINER._cond:
        chaining._CHAINER._pending.clear()  # as if the process had died: its pending set is gone
    assert chaining.flush()
    with app.app_context():
        assert _unchained(rid) == 2
    _submit(app, codes, 1)
    assert chaining.flush()
    with app.app_context():
        assert _unchained(rid) == 0
        ids = db.session.execute(select(Response.id, Response.chain_seq).where(Response.round_id == rid)
                                 .order_by(Response.id)).all()
        assert [seq for _, seq in ids] == [1, 2, 3]
        check = verify_round(db.session.get(SurveyRound, rid))
        assert check.ok, check.message


@pytest.mark.postgres_only
def test_under_testing_each_request_waits_for_its_own_chaining(app):
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"  # SQLite chains inside the insert's transaction
        rnd = make_round()
        code = link_for(rnd, "teacher", "S03").code
        rid = rnd.id
    assert app.config["CHAIN_IN_BACKGROUND"] is None and app.testing
    _submit(app, [code], 2)
    with app.app_context():
        assert _unchained(rid) == 0
        assert db.session.get(SurveyRound, rid).chain_length == 2


# ------------------------------------------------------------------ icons
@pytest.mark.parametrize(("path", "name", "mimetype"), [("/favicon.ico", "favicon.ico", "image/x-icon"),
                                                          ("/apple-touch-icon.png", "apple-touch-icon.png", "image/png")])
def test_icons_are_served_before_flask_with_an_etag(app, client, path, name, mimetype):
    hooks: list[str] = []
    app.before_request(lambda: hooks.append("before"))
    body = (Path(app.static_folder) / name).read_bytes()
    resp = client.get(path)
    assert resp.status_code == 200 and resp.data == body
    assert resp.mimetype == mimetype
    assert resp.headers["ETag"] == '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    assert resp.headers["Cache-Control"] == "public, max-age=604800"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(path, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    head = client.head(path)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(len(body))
    assert hooks == []  # Flask never saw these requests
    assert client.post(path).status_code == 405  # other methods go on to the app
    assert hooks == ["before"]


# ------------------------------------------------------------------ thank-you page
def test_the_thank_you_page_is_kept_for_a_few_seconds_without_reading_the_link(app, monkeypatch):
    from survey.collect import views

    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "teacher", "S03").code
        engine = db.engine
    seen: list[str] = []

    def watch(conn, cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        client = app.test_client()
        first = client.get(f"/s/{code}/done")
        assert first.status_code == 200 and "提交成功" in first.get_data(as_text=True)
        assert len(seen) == 1  # the link's read
        again = client.get(f"/s/{code}/done")
        assert again.get_data() == first.get_data() and len(seen) == 1  # kept: no statement
        monkeypatch.setattr(views, "DONE_PAGE_SECONDS", 0.0)
        views._DONE.clear()
        client.get(f"/s/{code}/done")
        client.get(f"/s/{code}/done")
        assert len(seen) == 3  # expired at once: each request reads the link again
        assert client.get("/s/nosuchcode/done").status_code == 404
    finally:
        event.remove(engine, "before_cursor_execute", watch)
        views._DONE.clear()
