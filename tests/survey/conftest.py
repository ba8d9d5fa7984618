"""App and client fixtures on every configured database.

TEST_DATABASES (default "sqlite,postgresql") lists the backends; each survey test runs once
per backend. The PostgreSQL database is created for the session and dropped afterwards.
"""

from __future__ import annotations

import io
import os
import re
import uuid

import psycopg
import pytest
from openpyxl import Workbook
from sqlalchemy import text

from survey import create_app
from survey.db import Base, db

BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
PG_DSN = os.environ.get("TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    name = f"yzjh_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_DSN} is not reachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_DSN.split())
    yield f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _clean(app) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def app(database_url):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "RATELIMIT_ENABLED": True,
        "PUBLIC_BASE_URL": "http://survey.test/",
    })
    from survey.extensions import limiter

    limiter.reset()
    yield app
    _clean(app)


@pytest.fixture
def client(app):
    return app.test_client()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def roster_xlsx(rows: list[list], headers: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "schools"
    ws.append(headers or ["school_code", "school_name", "school_type", "students_primary",
                          "students_junior", "teachers_primary", "teachers_junior"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


ROSTER_ROWS = [
    ["S01", "城关第一小学", "小学", 1200, None, 60, None],
    ["S02", "城关中学", "初中", None, 900, None, 70],
    ["S03", "实验学校", "九年一贯制", 600, 450, 40, 35],
    ["S04", "河西完全中学", "完全中学", None, 800, None, 60],
    ["S05", "山口教学点", "教学点", 30, None, 3, None],
]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres_only`` are not collected on SQLite (rather than skipped: in CI a
    skip fails the run)."""
    drop = [item for item in items if item.get_closest_marker("postgres_only")
            and getattr(item, "callspec", None) is not None and item.callspec.params.get("database_url") == "sqlite"]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]
