"""Database: models' base, schema migration (Alembic) and the one transaction boundary.

Services add and ``flush()``; they never commit. The request's single commit happens in
``commit_request`` (registered as ``after_request``) and a CLI command's in ``cli_transaction``.

Transactions follow the request's *outcome*, not its HTTP status: ``commit_request`` commits
unless the request raised (every error page goes through ``survey.errors``, which calls
``fail_request``) or a service refused (constructing a ``ServiceError`` inside a request calls
``fail_request``, so a view that catches the refusal and re-renders its form commits nothing
the service half-did). Views that catch an ``InputError`` call ``refused()``. A service doing
several writes that must be all-or-nothing inside a larger request wraps them in
``savepoint()``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, Response, g, has_request_context
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


_FAILED = "_transaction_failed"


def fail_request() -> None:
    """Signal that this request's outcome is a failure: ``commit_request`` rolls back.

    Outside a request (CLI, tests calling services directly) it does nothing: there the
    exception itself reaches ``cli_transaction``."""
    if has_request_context():
        setattr(g, _FAILED, True)


def request_failed() -> bool:
    return has_request_context() and bool(g.get(_FAILED))


def refused() -> None:
    """A view caught a refusal (``InputError``/``ServiceError``) and renders it: undo now (the
    page then shows what is stored) and commit nothing at the end of the request."""
    db.session.rollback()
    fail_request()


def commit_request(response: Response) -> Response:
    """The request's one commit, by outcome: commit unless the request failed (``fail_request``).

    A request that never used the session costs no database round trip (respondents' GETs)."""
    if not db.session.registry.has():
        return response
    session = db.session()
    if not session.in_transaction():
        return response
    if request_failed():
        session.rollback()
    else:
        session.commit()
    return response


@contextmanager
def savepoint():
    """All-or-nothing for several writes inside the request's (or command's) transaction.

    ``with savepoint(): …`` runs the block in ``SAVEPOINT``/``RELEASE``; an exception rolls back
    to the savepoint only (and propagates). On SQLite the outer transaction is begun explicitly
    first: pysqlite begins lazily, and a ``RELEASE`` of a savepoint that opened the transaction
    would commit it."""
    session = db.session()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN")
    with session.begin_nested():
        yield session


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
