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

Read routing (issue 12 item 5): a view decorated with ``read_only`` sends its queries to the
read engine (``DATABASE_READ_URL``, a PostgreSQL streaming replica) unless the replica is down
or lags more than ``READ_REPLICA_MAX_LAG`` seconds; a write in such a request raises
``ReadOnlyRequestError`` whichever engine serves it.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
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


class RoutingSession(_FlaskSession):
    """Flask-SQLAlchemy's session; inside a ``read_only`` view every query goes to the engine
    chosen for the request (replica or primary) and every write raises."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        route = g.get("read_route") if has_app_context() else None
        if route is None or bind is not None:
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if self._flushing or getattr(clause, "is_dml", False):
            raise ReadOnlyRequestError(f"a read-only view tried to write ({clause if clause is not None else 'flush'})")
        return route.engine


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})

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
    init_read_routing(app)
    if app.config.get("AUTO_MIGRATE"):
        upgrade_schema(app)


# --- Read routing: read-only views on a streaming replica -------------------------------------

log = logging.getLogger(__name__)


class ReadOnlyRequestError(RuntimeError):
    """A ``read_only`` view wrote (or flushed): a programming error, never user input."""


@dataclass(frozen=True)
class ReadRoute:
    """Where one read-only request reads: ``source`` is "replica" or "primary"; ``lag`` the
    replica's delay in seconds and ``as_of`` the time its data reaches (replica only)."""

    engine: sa.engine.Engine
    source: str
    lag: float | None = None
    as_of: datetime | None = None
    reason: str | None = None  # why the primary serves: "none", "down", "lag"


class _Replica:
    """The read engine of one process, made on first use (never before gunicorn forks), and
    when the replica was last found down (it is not asked again for ``READ_REPLICA_RETRY_SECONDS``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: sa.engine.Engine | None = None
        self.down_until = 0.0
        self.lock = threading.Lock()

    def get_engine(self) -> sa.engine.Engine:
        with self.lock:
            if self.engine is None:
                args = {"connect_timeout": 2} if self.url.startswith("postgresql") else {}
                self.engine = sa.create_engine(self.url, pool_pre_ping=True, connect_args=args)
            return self.engine

    def dispose(self) -> None:
        with self.lock:
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None


_LAG_SQL = text(
    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), clock_timestamp(),"
    " pg_wal_lsn_diff(CAST(:primary AS pg_lsn), pg_last_wal_replay_lsn())")


def _primary_lsn(primary: sa.engine.Engine) -> str | None:
    if primary.dialect.name != "postgresql":
        return None
    try:
        with primary.connect() as conn:
            return conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar()
    except sa.exc.DBAPIError:  # the request itself will meet the lost primary
        return None


def replica_lag(read_engine: sa.engine.Engine, primary: sa.engine.Engine) -> tuple[float, datetime | None]:
    """The replica's delay in seconds and the time its data reaches.

    The primary's current WAL position is read first; a replica that has replayed up to it (or
    is no standby at all, or no PostgreSQL) is caught up: 0. Behind: now − the commit time of
    the last transaction it replayed (``pg_last_xact_replay_timestamp()``), an upper bound of how
    old its data is; never replayed anything while behind: infinite. One query on each server;
    raises the driver's error when the replica cannot be reached."""
    if read_engine.dialect.name != "postgresql":
        return 0.0, None
    primary_lsn = _primary_lsn(primary)
    with read_engine.connect() as conn:
        recovering, replay_ts, now, behind = conn.execute(_LAG_SQL, {"primary": primary_lsn}).one()
    if not recovering or (behind is not None and behind <= 0):
        return 0.0, now
    if replay_ts is None:
        return float("inf"), None
    return max(0.0, (now - replay_ts).total_seconds()), replay_ts


def choose_read_route() -> ReadRoute:
    """The engine this read-only request reads from: the replica when it answers and lags at
    most ``READ_REPLICA_MAX_LAG`` seconds, the primary otherwise (never an error page)."""
    primary = db.engine
    replica: _Replica | None = current_app.extensions.get("yzjh_read_replica")
    if replica is None:
        return ReadRoute(primary, "primary", reason="none")
    if time.monotonic() < replica.down_until:
        return ReadRoute(primary, "primary", reason="down")
    try:
        engine = replica.get_engine()
        lag, as_of = replica_lag(engine, primary)
    except (sa.exc.DBAPIError, OSError) as exc:
        replica.down_until = time.monotonic() + float(current_app.config["READ_REPLICA_RETRY_SECONDS"])
        log.warning("read replica unreachable, reading from the primary: %s", str(exc).splitlines()[0])
        return ReadRoute(primary, "primary", reason="down")
    if lag > float(current_app.config["READ_REPLICA_MAX_LAG"]):
        log.info("read replica %.1f s behind, reading from the primary", lag)
        return ReadRoute(primary, "primary", lag=lag, as_of=as_of, reason="lag")
    return ReadRoute(engine, "replica", lag=lag, as_of=as_of)


def read_only(view):
    """Decorator (below the access check) of a view that only reads: its queries go to the
    route ``choose_read_route`` picks; any write in it raises ``ReadOnlyRequestError``. The
    route stays for the rest of the request, so a streamed download reads from it too."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        db.session.flush()  # whatever the access check changed (session touch) goes to the primary first
        g.read_route = choose_read_route()
        return view(*args, **kwargs)

    return wrapped


@contextmanager
def primary_writes():
    """Inside a ``read_only`` view, a block whose reads and writes go to the primary: a page that
    only reads may still bring derived data up to date there (the results page's cell sums,
    survey.services.cell_sums), and reads the rest from its route. Elsewhere it does nothing.
    Usable as a decorator."""
    route = g.get("read_route") if has_app_context() else None
    if route is None:
        yield
        return
    g.read_route = None
    try:
        yield
        db.session.flush()  # pending objects of the block go to the primary, not through the route
    finally:
        g.read_route = route


def read_route() -> ReadRoute | None:
    """The current request's read route (None outside a ``read_only`` view)."""
    return g.get("read_route") if has_app_context() else None


def read_bind() -> sa.engine.Engine:
    """The engine a streamed read (server-side cursor on its own connection) should use: the
    request's read route inside a ``read_only`` view, the primary otherwise."""
    route = read_route()
    return route.engine if route is not None else db.engine


def _replica_banner() -> dict:
    """Template variable ``replica_lag``: when this page was read from a replica that lags, the
    Beijing time its data reaches and the delay in whole seconds (base.html shows the banner)."""
    route = read_route()
    if (route is None or route.source != "replica" or route.lag is None or route.as_of is None
            or route.lag < float(current_app.config["READ_REPLICA_BANNER_LAG"])):
        return {"replica_lag": None}
    from zoneinfo import ZoneInfo

    local = route.as_of.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    return {"replica_lag": {"as_of": local.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(route.lag)}}


def init_read_routing(app: Flask) -> None:
    url = app.config.get("DATABASE_READ_URL")
    if url:
        from survey.config import normalise_db_url

        app.extensions["yzjh_read_replica"] = _Replica(normalise_db_url(url))
    app.context_processor(_replica_banner)


def dispose_read_engine(app: Flask) -> None:
    """Close the read engine's pooled connections (tests, before their replica stops)."""
    replica = app.extensions.get("yzjh_read_replica")
    if replica is not None:
        replica.dispose()
