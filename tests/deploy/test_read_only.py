"""``read_only`` views: a write in one fails loudly (on every database, replica or not), reads
work, and the session's writes before the view (the staff-session touch) still reach the primary."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select, update

from survey.db import ReadOnlyRequestError, db, read_bind, read_only
from survey.models import User
from tests.survey.helpers import make_user


@pytest.fixture
def views(app):
    @app.get("/_test/read")
    @read_only
    def _read():
        return str(db.session.scalar(select(func.count()).select_from(User)))

    @app.get("/_test/bind")
    @read_only
    def _bind():
        return "route" if read_bind() is g.read_route.engine else "other"

    @app.get("/_test/flush")
    @read_only
    def _flush():
        db.session.scalars(select(User)).first().username = "changed"
        db.session.flush()
        return "written"

    @app.get("/_test/dml")
    @read_only
    def _dml():
        db.session.execute(update(User).values(username="changed"))
        return "written"

    @app.get("/_test/add")
    @read_only
    def _add():
        db.session.add(User(username="new", password_hash="x", role="staff"))
        return str(db.session.scalar(select(func.count()).select_from(User)))  # autoflush

    with app.app_context():
        make_user("admin1", "admin")
    return app.test_client()


def test_reads_work_and_every_kind_of_write_raises(views, app):
    assert views.get("/_test/read").get_data(as_text=True) == "1"
    assert views.get("/_test/bind").get_data(as_text=True) == "route"
    with app.app_context():
        assert read_bind() is db.engine  # outside a read-only view: the primary
    for path in ("/_test/flush", "/_test/dml", "/_test/add"):
        with pytest.raises(ReadOnlyRequestError):
            views.get(path)
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["admin1"]  # nothing was written
