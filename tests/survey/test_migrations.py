"""The Alembic migrations build exactly the schema the models describe, on both databases,
and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.db import Base, alembic_config, db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        with db.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with db.engine.connect() as conn:
            assert {t.name for t in Base.metadata.sorted_tables} <= set(db.inspect(conn).get_table_names())
