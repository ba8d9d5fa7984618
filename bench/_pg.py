"""Throw-away PostgreSQL databases for benchmarks (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import psycopg

DSN = os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


@contextmanager
def scratch_database(prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        params = dict(p.split("=", 1) for p in DSN.split())
        try:
            yield f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
