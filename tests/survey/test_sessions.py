"""Issue 10, findings 6–8: server-side sessions, the shared login throttle, the password policy."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from evaluator.errors import InputError
from survey import create_app
from survey.db import db
from survey.models import StaffSession, User
from survey.services import sessions
from survey.services.passwords import check_password_strength
from survey.services.users import authenticate, create_user
from tests.survey.conftest import csrf_from
from tests.survey.helpers import PASSWORD, login, make_user


def _post_login(client, username, password, **kw):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kw)


def _dispose(*apps) -> None:
    """Close the pooled connections of an extra app instance (no unclosed connection left to GC)."""
    for a in apps:
        with a.app_context():
            db.session.remove()
            db.engine.dispose()


def _cookie(client) -> str:
    return client.get_cookie("session").value


# ---------------------------------------------------------------- 6 sessions
def test_a_copied_cookie_dies_with_logout(app, client):
    with app.app_context():
        make_user("boss", "admin")
    assert login(client, "boss").status_code == 302
    stolen = _cookie(client)
    assert client.get("/admin/").status_code == 200
    token = csrf_from(client.get("/evaluations/new").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/admin/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_password_change_and_deactivation_end_every_session(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    other = app.test_client()
    login(other, "boss")
    assert client.get("/admin/").status_code == other.get("/admin/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "boss"))
        assert sessions.password_changed(user) == 2
        db.session.commit()
    assert client.get("/admin/").status_code == 302 and other.get("/admin/").status_code == 302

    login(client, "boss")
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "boss"))
        assert sessions.deactivated(user) == 1
        db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_deactivated_account_is_signed_out_at_once(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "boss")).active = False
        db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_idle_and_absolute_lifetime(app, client):
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    with app.app_context():
        row = db.session.scalars(select(StaffSession)).one()
        row.last_seen_at -= timedelta(seconds=app.config["STAFF_SESSION_IDLE_SECONDS"] + 1)
        db.session.commit()
    assert client.get("/admin/").status_code == 302  # idle too long

    login(client, "boss")
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        row = db.session.scalars(select(StaffSession).where(StaffSession.ended_at.is_(None))).one()
        row.created_at -= timedelta(seconds=app.config["STAFF_SESSION_MAX_SECONDS"] + 1)
        db.session.commit()
    assert client.get("/admin/").status_code == 302  # alive too long, however active


def test_staff_cookie_is_short_lived(app, client):
    with app.app_context():
        make_user("boss", "admin")
    resp = login(client, "boss")
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime <= timedelta(hours=12)
    with app.app_context():
        row = db.session.scalars(select(StaffSession)).one()
        assert len(row.token_hash) == 64 and row.token_hash not in cookie  # only a hash is stored


# ---------------------------------------------------------------- 7 throttle
def test_failures_delay_exponentially_and_the_right_password_works_after_the_delay(app, client):
    app.config.update(LOGIN_FREE_ATTEMPTS=2, LOGIN_DELAY_BASE_SECONDS=1)
    with app.app_context():
        make_user("boss", "admin")
    assert [_post_login(client, "boss", "wrong").status_code for _ in range(3)] == [200, 200, 200]
    blocked = _post_login(client, "boss", PASSWORD)
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "1"
    assert "秒后再试" in blocked.get_data(as_text=True)
    time.sleep(1.1)
    assert _post_login(client, "boss", "wrong").status_code == 200  # 4th failure: 2 s
    assert _post_login(client, "boss", PASSWORD).headers["Retry-After"] == "2"
    time.sleep(2.1)
    assert _post_login(client, "boss", PASSWORD).status_code == 302  # never a hard lockout
    # a success clears the account's count
    client2 = app.test_client()
    assert [_post_login(client2, "boss", "wrong").status_code for _ in range(2)] == [200, 200]


def test_usernames_are_normalised_and_counted_per_account_whatever_the_address(app, client):
    app.config.update(LOGIN_FREE_ATTEMPTS=3)
    with app.app_context():
        make_user("boss", "admin")
    for i, name in enumerate(["boss", "BOSS", " Boss ", "ｂｏｓｓ"]):
        _post_login(client, name, "wrong", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
    resp = _post_login(client, "boss", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert resp.status_code == 429


def test_two_workers_share_the_count(app, database_url):
    """Two app instances (as two gunicorn workers) on the same database: one limit, not two."""
    app.config.update(LOGIN_FREE_ATTEMPTS=4)
    second = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
                         "LOGIN_FREE_ATTEMPTS": 4})
    with app.app_context():
        make_user("boss", "admin")
    a, b = app.test_client(), second.test_client()
    try:
        codes = [_post_login(c, "boss", "wrong").status_code for c in (a, b, a, b, a, b)]
    finally:
        _dispose(second)
    assert codes == [200, 200, 200, 200, 200, 429]


def test_redis_store_when_configured(database_url):
    import redis

    prefix = f"yzjh-test:{uuid.uuid4().hex}:"
    cfg = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "LOGIN_THROTTLE_REDIS_PREFIX": prefix,
           "LOGIN_FREE_ATTEMPTS": 2}
    one, two = create_app(cfg), create_app(cfg)
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        codes = [_post_login(c.test_client(), "nobody", "wrong").status_code for c in (one, two, one, two)]
        assert codes == [200, 200, 200, 429]
        assert int(r.hget(f"{prefix}user:nobody", "failures")) == 3
        assert 0 < r.ttl(f"{prefix}user:nobody") <= cfg.get("LOGIN_FAILURE_WINDOW_SECONDS", 24 * 3600)
    finally:
        for key in r.scan_iter(f"{prefix}*"):
            r.delete(key)
        r.close()
        _dispose(one, two)


def test_app_starts_with_redis_configured_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True,
                      "LOGIN_THROTTLE_REDIS_PREFIX": f"yzjh-test:{uuid.uuid4().hex}:"})
    try:
        assert app.test_client().get("/login").status_code == 200
    finally:
        _dispose(app)


# ---------------------------------------------------------------- 8 passwords
@pytest.mark.parametrize("password,username", [("12345678", "wang"), ("password", "wang"),
                                               ("wangwei2026", "wangwei"), ("qwertyuiop", "li"),
                                               ("zhangsan", "zhangsan"), ("Password1", "li")])
def test_weak_passwords_are_refused_in_chinese(password, username):
    with pytest.raises(InputError) as err:
        check_password_strength(password, username)
    assert "密码" in str(err.value)


def test_strong_password_is_accepted():
    check_password_strength("correct horse 1", "wang")
    check_password_strength("河边的柳树-2026-sunny", "wang")


def test_create_user_applies_the_policy(app):
    with app.app_context(), pytest.raises(InputError, match="太容易被猜到"):
        create_user("wang", "password123", "admin", [])


def test_deactivated_unknown_and_active_accounts_take_the_same_time(app):
    with app.app_context():
        make_user("active", "admin")
        make_user("gone", "admin").active = False
        db.session.commit()

        def median(name: str, password: str) -> float:
            times = []
            for _ in range(5):
                t = time.perf_counter()
                assert authenticate(name, password) is None
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        active = median("active", "wrong password")
        gone = median("gone", PASSWORD)
        unknown = median("nobody", PASSWORD)
    assert gone > 0.5 * active and unknown > 0.5 * active, (active, gone, unknown)
