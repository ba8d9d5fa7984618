"""Read-only pages on a real PostgreSQL streaming replica (``DATABASE_READ_URL``): served from the
replica, a Chinese banner while it lags, the primary above ``READ_REPLICA_MAX_LAG`` and when the
replica is down. The test makes its own primary (initdb) and replica (pg_basebackup -R)."""

from __future__ import annotations

import re
import time

import pytest
from flask import g

from survey import create_app
from survey.db import db, dispose_read_engine
from tests.deploy.replica import Cluster, Replica
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers

TOTAL = re.compile(r"合计：(\d+) / ")
BANNER = re.compile(r"数据截至 (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)（副本延迟约 (\d+) 秒）")


@pytest.fixture(scope="module")
def stack():
    primary = Cluster()
    replica = Replica(primary)
    app = None
    try:
        primary.start()
        replica.start()
        app = create_app({"SQLALCHEMY_DATABASE_URI": primary.url, "DATABASE_READ_URL": replica.url,
                          "SECRET_KEY": "replica-test", "TESTING": True, "PUBLIC_BASE_URL": "http://survey.test/",
                          "READ_REPLICA_MAX_LAG": 3600, "READ_REPLICA_RETRY_SECONDS": 0})
        sources: list[tuple[str, str | None]] = []

        @app.after_request
        def _seen(resp):
            route = g.get("read_route")
            sources.append((route.source, route.reason) if route else ("none", None))
            return resp

        with app.app_context():
            rnd = make_round("110101")
            make_user("staff1", "staff", ("110101",))
            link = link_for(rnd, "parent", "S01")
            for _ in range(3):
                store_answers(link, "满意")
            round_id, code = rnd.id, link.code
        replica.caught_up()
        client = app.test_client()
        assert login(client, "staff1").status_code == 302
        yield {"app": app, "client": client, "replica": replica, "primary": primary, "round_id": round_id,
               "link": code, "sources": sources}
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            dispose_read_engine(app)
        replica.stop()
        primary.stop()


def _add_response(stack) -> None:
    from survey.models import EntryLink

    with stack["app"].app_context():
        store_answers(db.session.query(EntryLink).filter_by(code=stack["link"]).one(), "满意")


def _progress(stack) -> tuple[int, re.Match | None, tuple]:
    resp = stack["client"].get(f"/admin/rounds/{stack['round_id']}/progress")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return int(TOTAL.search(html).group(1)), BANNER.search(html), stack["sources"][-1]


def test_pages_read_from_the_caught_up_replica_without_a_banner(stack):
    stack["replica"].caught_up()
    done, banner, source = _progress(stack)
    assert source == ("replica", None)
    assert banner is None
    for path in (f"/admin/rounds/{stack['round_id']}/results", f"/admin/rounds/{stack['round_id']}/integrity",
                 f"/admin/rounds/{stack['round_id']}/export.csv", "/overview/"):
        assert stack["client"].get(path).status_code == 200, path
        assert stack["sources"][-1] == ("replica", None), path
    # an ordinary page is not routed at all
    assert stack["client"].get(f"/admin/rounds/{stack['round_id']}").status_code == 200
    assert stack["sources"][-1] == ("none", None)


def test_a_lagging_replica_shows_old_data_with_the_banner_then_the_primary_above_the_max_lag(stack):
    app, replica = stack["app"], stack["replica"]
    replica.caught_up()
    before, _, _ = _progress(stack)
    replica.sql("SELECT pg_wal_replay_pause()")
    try:
        time.sleep(1.2)  # the last replayed commit is now over a second old
        _add_response(stack)  # the primary moves on, the replica does not replay it
        done, banner, source = _progress(stack)
        assert source == ("replica", None)
        assert done == before, "the page was not read from the replica"
        assert banner is not None, "no lag banner"
        assert int(banner.group(2)) >= 1
        app.config["READ_REPLICA_MAX_LAG"] = 1
        done, banner, source = _progress(stack)
        assert source == ("primary", "lag")
        assert done == before + 1 and banner is None  # current data, so no banner
    finally:
        app.config["READ_REPLICA_MAX_LAG"] = 3600
        replica.sql("SELECT pg_wal_replay_resume()")
    replica.caught_up()
    done, banner, source = _progress(stack)
    assert source == ("replica", None) and done == before + 1 and banner is None


def test_replica_down_falls_back_to_the_primary(stack):
    replica = stack["replica"]
    replica.caught_up()
    replica.pg_ctl("stop", "-m", "immediate")
    try:
        _add_response(stack)
        done, banner, source = _progress(stack)
        assert source == ("primary", "down") and banner is None
        assert stack["client"].get(f"/admin/rounds/{stack['round_id']}/results").status_code == 200
        assert stack["sources"][-1] == ("primary", "down")
    finally:
        replica.pg_ctl("start")
    replica.caught_up()
    assert _progress(stack)[2] == ("replica", None)  # back on the replica once it answers again
