"""Login throttling shared by every worker: per account (normalised username) and, more
loosely, per address, with an exponentially growing delay instead of a hard lockout.

The first ``LOGIN_FREE_ATTEMPTS`` failures of one account (``LOGIN_ADDRESS_FREE_ATTEMPTS`` of one
address) cost nothing; the k-th further failure blocks the key for ``LOGIN_DELAY_BASE_SECONDS × 2^(k-1)`` seconds,
at most ``LOGIN_DELAY_MAX_SECONDS``; a success clears the account's count, and failures older
than ``LOGIN_FAILURE_WINDOW_SECONDS`` are forgotten. An attacker at the school's address thus
slows guessing to about one try per ``LOGIN_DELAY_MAX_SECONDS`` but never locks the real user
out for longer than that. The store is Redis when ``RATELIMIT_STORAGE_URI`` is ``redis://…``
(``rediss://``), the database otherwise (table ``login_throttle``, own short transactions,
so a refused request that rolls back still counts).
"""

from __future__ import annotations

import math
import time
import unicodedata
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from survey.db import db
from survey.models import LoginThrottle, utcnow


def normalise_username(username: str | None) -> str:
    """The form people may type a username in: NFKC (full-width letters), trimmed, lower-case."""
    return unicodedata.normalize("NFKC", username or "").strip().lower()[:100]


def _policy() -> dict:
    c = current_app.config
    return {"base": c["LOGIN_DELAY_BASE_SECONDS"], "max": c["LOGIN_DELAY_MAX_SECONDS"],
            "window": c["LOGIN_FAILURE_WINDOW_SECONDS"]}


def _delay(failures: int, free: int, policy: dict) -> float:
    over = failures - free
    if over <= 0:
        return 0.0
    return float(min(policy["max"], policy["base"] * 2 ** min(over - 1, 30)))


class _DatabaseStore:
    def get(self, key: str) -> tuple[int, float] | None:
        with db.engine.connect() as conn:
            row = conn.execute(select(LoginThrottle.failures, LoginThrottle.window_start,
                                      LoginThrottle.blocked_until).where(LoginThrottle.key == key)).first()
        if row is None:
            return None
        failures, start, blocked = row
        if (utcnow() - start).total_seconds() > _policy()["window"]:
            return None
        return failures, blocked.timestamp() if blocked else 0.0

    def fail(self, key: str, free: int) -> None:
        policy = _policy()
        now = utcnow()
        for _attempt in range(3):
            try:
                with db.engine.begin() as conn:
                    row = conn.execute(select(LoginThrottle.failures, LoginThrottle.window_start)
                                       .where(LoginThrottle.key == key).with_for_update()).first()
                    if row is None:  # a concurrent first failure: the primary key makes one win
                        conn.execute(insert(LoginThrottle).values(key=key, failures=1, window_start=now,
                                                                  blocked_until=self._until(now, 1, free, policy)))
                        return
                    start = row.window_start
                    failures = 1 if (now - start).total_seconds() > policy["window"] else row.failures + 1
                    conn.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(
                        failures=failures, window_start=now if failures == 1 else start,
                        blocked_until=self._until(now, failures, free, policy)))
                    return
            except IntegrityError:
                continue  # the other worker's row now exists: count on it

    @staticmethod
    def _until(now: datetime, failures: int, free: int, policy: dict) -> datetime | None:
        d = _delay(failures, free, policy)
        return now + timedelta(seconds=d) if d else None

    def clear(self, key: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


class _RedisStore:
    """One hash per key: failures and blocked_until (epoch seconds); expires with the window."""

    _clients: dict[str, object] = {}

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix = prefix
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.r = client

    def _k(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str) -> tuple[int, float] | None:
        failures, until = self.r.hmget(self._k(key), "failures", "blocked_until")
        if failures is None:
            return None
        return int(failures), float(until or 0)

    def fail(self, key: str, free: int) -> None:
        policy = _policy()
        k = self._k(key)
        pipe = self.r.pipeline()
        pipe.hincrby(k, "failures", 1)
        pipe.expire(k, int(policy["window"]))
        failures = int(pipe.execute()[0])
        d = _delay(failures, free, policy)
        if d:
            self.r.hset(k, "blocked_until", time.time() + d)

    def clear(self, key: str) -> None:
        self.r.delete(self._k(key))


def _store():
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return _RedisStore(uri, current_app.config["LOGIN_THROTTLE_REDIS_PREFIX"])
    return _DatabaseStore()


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    c = current_app.config
    return [(f"user:{normalise_username(username)}", c["LOGIN_FREE_ATTEMPTS"]),
            (f"addr:{address}", c["LOGIN_ADDRESS_FREE_ATTEMPTS"])]


def wait_seconds(username: str, address: str) -> int:
    """Seconds before another sign-in attempt for this account (or from this address) is taken; 0: now."""
    store, now = _store(), time.time()
    wait = 0.0
    for key, _free in _keys(username, address):
        state = store.get(key)
        if state is not None:
            wait = max(wait, state[1] - now)
    return max(0, math.ceil(wait))


def record_failure(username: str, address: str) -> None:
    store = _store()
    for key, free in _keys(username, address):
        store.fail(key, free)


def record_success(username: str) -> None:
    _store().clear(f"user:{normalise_username(username)}")
