"""A respondent request that loses its database connection is retried once, on a fresh one.

During a PostgreSQL restart (or failover) the pooled connections die. ``retry_on_disconnect``
wraps a view: its work *and the commit* run inside; on a connection-level error
(``OperationalError``/``InterfaceError``, or a statement on an invalidated connection) the
session is rolled back, the pool discarded, and after ``DB_RETRY_DELAY_SECONDS`` the whole view
runs again. That is safe for the respondent POST because it is idempotent by its key: if
the first commit did land, the retry meets the unique key and answers "already stored".
A second failure propagates; errors.py turns it into a friendly 503 "请稍后重试" page.
"""

from __future__ import annotations

import time
from functools import wraps

from flask import current_app
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)

from survey.db import db


def is_disconnect(exc: BaseException) -> bool:
    """A database-unavailable error (not a constraint or a bug), also when it is the cause of
    the exception raised (e.g. a session left needing a rollback by a dropped connection)."""
    import psycopg

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PendingRollbackError
                      | psycopg.OperationalError | psycopg.InterfaceError):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _reset() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded below anyway
        pass
    db.session.remove()
    db.engine.dispose()  # this process's other pooled connections died with the server too


def retry_on_disconnect(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        for attempt in (1, 2):
            try:
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code < 400:
                    db.session.commit()  # inside the retry: a commit cut off by the restart is redone
                return response
            except DBAPIError as exc:
                if attempt == 2 or not is_disconnect(exc):
                    raise
                _reset()
                time.sleep(current_app.config["DB_RETRY_DELAY_SECONDS"])
        raise AssertionError("unreachable")

    return wrapper
