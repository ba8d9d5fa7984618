"""Issue 10, finding 11: roster size cap in configuration, long pages paginated."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from survey.db import db
from survey.models import SurveyRound
from tests.survey.helpers import login, make_round, make_user
from tests.survey.test_rounds import _create

ROOT = Path(__file__).resolve().parents[2]


def _csv(n: int) -> bytes:
    head = "school_code,school_name,school_type,students_primary,students_junior,teachers_primary,teachers_junior\n"
    return (head + "".join(f"S{i:06d},第{i}小学,小学,300,,20,\n" for i in range(n))).encode()


def test_a_roster_above_the_default_cap_is_refused_quickly(app, client):
    assert app.config["MAX_ROSTER_SCHOOLS"] == 2000
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    resp = _create(client, _csv(2001), filename="名单.csv")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "2001 所学校，超过上限 2000" in page and "名单.csv" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(SurveyRound.id))) == 0


def test_a_100000_school_roster_is_refused_before_any_row_is_checked():
    import io

    from evaluator.errors import InputError
    from evaluator.roster import read_roster

    t = time.monotonic()
    try:
        read_roster(io.BytesIO(_csv(100_000)), filename="big.csv", max_schools=2000)
    except InputError as exc:
        assert "100000 所学校" in str(exc)
    else:
        raise AssertionError("accepted")
    assert time.monotonic() - t < 5


def test_the_cap_is_configurable_and_the_cli_honours_it(app, client, database_url, tmp_path):
    app.config["MAX_ROSTER_SCHOOLS"] = 3
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    assert _create(client, _csv(4), filename="名单.csv").status_code == 422
    assert _create(client, _csv(3), filename="名单.csv").status_code == 302
    roster = tmp_path / "r.csv"
    roster.write_bytes(_csv(5))
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="x", MAX_ROSTER_SCHOOLS="4")
    r = subprocess.run([sys.executable, "run.py", "round", "create", "--county", "330101", "--name", "x",
                        "--schools", str(roster)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "超过上限 4" in r.stderr and r.stdout == ""


def test_round_page_and_posters_are_paginated(app, client):
    app.config.update(LINKS_PER_PAGE=4, POSTERS_PER_PAGE=3)
    with app.app_context():
        rid = make_round().id
        make_user("boss", "admin")
        n_links = len(db.session.get(SurveyRound, rid).links)
    login(client, "boss")
    first = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert first.count('class="quota"') == 4 and "下一页" in first and f"共 {n_links} 项" in first
    pages = -(-n_links // 4)
    last = client.get(f"/admin/rounds/{rid}?page={pages}").get_data(as_text=True)
    assert last.count('class="quota"') == n_links - 4 * (pages - 1) and "上一页" in last
    seen = set()
    for p in range(1, pages + 1):
        html = client.get(f"/admin/rounds/{rid}?page={p}").get_data(as_text=True)
        seen |= set(__import__("re").findall(r'name="quota-(\d+)"', html))
    assert len(seen) == n_links
    posters = client.get(f"/admin/rounds/{rid}/posters?page=2").get_data(as_text=True)
    assert posters.count('<section class="poster"') == 3 and "第 2 / " in posters
    assert client.get(f"/admin/rounds/{rid}?page=abc").status_code == 200
