"""Database: models' base, schema migration (Alembic) and the one transaction boundary.

Services add and ``flush()``; they never commit. The request's single commit happens in
``commit_request`` (registered as ``after_request``: successful responses commit, error
responses roll back) and a CLI command's in ``cli_transaction``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, Response
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, text
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


db = SQLAlchemy(model_class=Base)

_MIGRATION_LOCK = 7_340_721  # PostgreSQL advisory lock id: workers starting together migrate once


def alembic_config(connection=None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_schema(app: Flask) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), "head")


def commit_request(response: Response) -> Response:
    """The request's one commit: successful responses commit, everything else rolls back."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@contextmanager
def cli_transaction():
    """The CLI command's one commit; any exception rolls everything back (nothing half-written)."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def init_app(app: Flask) -> None:
    db.init_app(app)
    app.after_request(commit_request)
    if app.config.get("AUTO_MIGRATE"):
        upgrade_schema(app)
