"""Server-side staff sessions: revocable, idle-limited, shorter-lived than Flask's default.

The signed Flask session cookie carries the user id and a random token; the database keeps
only the token's SHA-256 (``StaffSession``). A copied cookie is worth nothing once its row is
ended: by logout (``end_session``), by a password change (``password_changed``) or by
deactivation (``end_sessions``), or when the session has been idle for
``STAFF_SESSION_IDLE_SECONDS`` or alive for ``STAFF_SESSION_MAX_SECONDS``.

Services add and flush, never commit (the request's one commit does).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from survey.db import db
from survey.models import StaffSession, User, utcnow

_TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new session for ``user``; returns the token to keep in the signed cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(StaffSession(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now))
    db.session.flush()
    return token


def session_user(user_id: str | int, token: str | None) -> User | None:
    """The user of a live session (right user, not ended, not idle, not too old, account
    active), touching its ``last_seen_at``; None otherwise (the session is then ended)."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    row = db.session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.user_id != uid:
        return None
    now = utcnow()
    cfg = current_app.config
    if (now - row.last_seen_at > timedelta(seconds=cfg["STAFF_SESSION_IDLE_SECONDS"])
            or now - row.created_at > timedelta(seconds=cfg["STAFF_SESSION_MAX_SECONDS"])
            or not row.user.active):
        row.ended_at = now
        db.session.flush()
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        db.session.flush()
    return row.user


def end_session(token: str | None) -> None:
    """End one session (logout)."""
    if token:
        db.session.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token),
                                                      StaffSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every live session of ``user`` (deactivation, password change, "sign out everywhere"),
    except the one with token ``keep``; returns how many were ended."""
    stmt = update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    if keep:
        stmt = stmt.where(StaffSession.token_hash != _hash(keep))
    return db.session.execute(stmt.values(ended_at=utcnow())).rowcount or 0


def password_changed(user: User, *, keep: str | None = None) -> int:
    """Hook for every password change: all other sessions of the user end."""
    return end_sessions(user, keep=keep)


def deactivated(user: User) -> int:
    """Hook for deactivation: every session of the user ends."""
    return end_sessions(user)
