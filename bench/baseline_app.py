"""Baseline for bench/submit.py: the same stack (gunicorn, Flask, SQLAlchemy, psycopg,
PostgreSQL) doing the least a respondent endpoint can: GET returns a small page, POST
inserts one row and redirects, and the thank-you page and favicon a phone fetches are
served as constants. The survey's figures are reported as a ratio to this."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import Flask, redirect, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

metadata = MetaData()
rows = Table("baseline_rows", metadata, Column("id", Integer, primary_key=True), Column("key", String(64), unique=True),
             Column("payload", String(2000)))


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    engine.dispose()  # gunicorn --preload forks after this: no inherited connections

    @app.get("/s/<code>")
    def form(code: str):
        return f'<form method="post"><input name="token" type="hidden" value="{uuid.uuid4().hex}"></form>'

    icon = (Path(__file__).resolve().parent.parent / "survey" / "static" / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon():
        return icon, 200, {"Content-Type": "image/x-icon", "Cache-Control": "max-age=604800"}

    @app.get("/s/<code>/done")
    def done(code: str):
        return "<p>提交成功</p>"

    @app.post("/s/<code>")
    def submit(code: str):
        with engine.begin() as conn:
            conn.execute(insert(rows).values(key=request.form["token"], payload=str(dict(request.form))))
        return redirect(f"/s/{code}/done", 303)

    return app
