"""The scale-out recipe (deploy/nginx-yzjh-scaleout.conf): two independent ``run.py serve``
masters on one PostgreSQL database, Redis as the shared login-throttle store, Debian nginx
balancing between them. Staff login limits hold across the instances, and a signed-in user
keeps the session whichever instance nginx picks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
import redis

from bench.scaleout_stack import ROOT, Browser, Instance, Nginx
from tests.survey.conftest import PG_DSN

PASSWORD = "correct horse 1"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def recipe():
    name = f"yzjh_test_{uuid.uuid4().hex[:12]}"
    prefix = f"yzjh-test-{uuid.uuid4().hex[:8]}:"
    params = dict(p.split("=", 1) for p in PG_DSN.split())
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    r = redis.Redis.from_url(REDIS_URL)
    env = {"DATABASE_URL": f"postgresql://{params['user']}@{params['host']}:{params['port']}/{name}",
           "SECRET_KEY": "two-instances", "FINGERPRINT_KEY": "two-instances-fp", "PUBLIC_BASE_URL": "http://127.0.0.1/",
           "PROXY_FIX_X_FOR": "1", "RATELIMIT_STORAGE_URI": REDIS_URL, "LOGIN_THROTTLE_REDIS_PREFIX": prefix,
           "LOGIN_DELAY_BASE_SECONDS": "60"}
    instances, nginx = [], None
    try:
        for user in ("boss", "clerk"):
            made = subprocess.run([sys.executable, "run.py", "users", "create", "--username", user, "--role", "admin"],
                                  input=PASSWORD + "\n", cwd=ROOT, env=dict(os.environ, **env), capture_output=True,
                                  text=True, timeout=120)
            assert made.returncode == 0, made.stderr
        instances = [Instance(env, workers=1, threads=2), Instance(env, workers=1, threads=2)]
        for inst in instances:
            inst.wait_ready()
        nginx = Nginx([i.port for i in instances])
        yield {"a": instances[0].port, "b": instances[1].port, "nginx": nginx, "redis": r, "prefix": prefix,
               "dsn": f"host={params['host']} port={params['port']} user={params['user']} dbname={name}"}
    finally:
        if nginx is not None:
            nginx.close()
        for inst in instances:
            inst.close()
        for key in r.scan_iter(f"{prefix}*"):
            r.delete(key)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_staff_login_limits_hold_across_both_instances(recipe):
    a, b = recipe["a"], recipe["b"]
    browser = Browser()
    for i in range(5):  # the free failures, all on instance A
        assert browser.login(a, "boss", f"wrong-{i}") == 200
    assert browser.login(b, "boss", "wrong-5", form_port=a) == 200  # the sixth, on B: the account is now delayed
    # the right password is refused on both instances: they count in the same store
    assert Browser().login(a, "boss", PASSWORD) == 429
    assert Browser().login(b, "boss", PASSWORD) == 429
    keys = {k.decode() for k in recipe["redis"].scan_iter(f"{recipe['prefix']}*")}
    assert f"{recipe['prefix']}user:boss" in keys
    assert int(recipe["redis"].hget(f"{recipe['prefix']}user:boss", "failures")) == 6
    with psycopg.connect(recipe["dsn"]) as conn:  # Redis, not the database fallback, holds the counts
        assert conn.execute("SELECT count(*) FROM login_throttle").fetchone()[0] == 0


def test_nginx_balances_between_the_instances_and_the_session_holds_on_both(recipe):
    nginx = recipe["nginx"]
    browser = Browser()
    assert browser.login(nginx.port, "clerk", PASSWORD) == 302
    statuses = [browser.request(nginx.port, "GET", "/admin/")[0] for _ in range(12)]
    assert statuses == [200] * 12
    deadline = time.monotonic() + 5  # nginx flushes its log buffer every second
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        seen = nginx.upstreams_seen()
        if sum(seen.values()) >= 14:
            break
        time.sleep(0.2)
    assert set(seen) == {f"127.0.0.1:{recipe['a']}", f"127.0.0.1:{recipe['b']}"}, seen
    # signed in through nginx, the same cookie is good on each instance directly
    assert browser.request(recipe["a"], "GET", "/admin/")[0] == 200
    assert browser.request(recipe["b"], "GET", "/admin/")[0] == 200
