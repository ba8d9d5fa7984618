"""The stuffing attack of issue 9 against a served app (werkzeug server in a thread, real
HTTP): one client on one address fetches questionnaires without keeping cookies between
pages, waits past the speeder filter and posts them all at once. Posting a start token with
another browser's cookie is refused; what gets stored is found by `round integrity` and in
the export's integrity_flags; the integrity page, the round page and the sealed archive show
it; the score is given with and without the flagged responses."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from survey.db import db
from survey.models import EntryLink, SurveyRound, utcnow
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_collect import WECHAT_UA

ROOT = Path(__file__).resolve().parents[2]
ATTACK = 60  # questionnaires fetched and posted by the script (the filed attack used 100)


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def request(port: int, method: str, path: str, body: dict | None = None, cookie: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"User-Agent": WECHAT_UA}
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    cookies = "; ".join(c.split(";", 1)[0] for c in resp.headers.get_all("Set-Cookie") or [])
    conn.close()
    return resp.status, text, cookies


def form_data(html: str, choice: str = "满意") -> dict[str, str]:
    data = {"token": re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)}
    for item in sorted(set(re.findall(r'name="([a-z]\d\d)"', html))):
        data[item] = choice
    return data


def run(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="test-secret", PUBLIC_BASE_URL="http://survey.test/")
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_stuffing_attack_is_refused_or_flagged_end_to_end(app, client, live, database_url, tmp_path):
    fast = tmp_path / "e2e-fast.yaml"  # the same rules with a 1-second speeder filter, so the test need not wait 31 s
    fast.write_text("extends: national-2017\nid: e2e-fast\nversion: 1\ntitle: 测试\n"
                    "recognition:\n  filters:\n    speeder_seconds: 1\n", encoding="utf-8")
    with app.app_context():
        rnd = make_round(ruleset=str(fast))
        make_user("boss", "admin")
        target = link_for(rnd, "parent", "S01")
        target.quota = 500
        db.session.commit()
        # genuine answers elsewhere, in the Beijing daytime: stored "now" they would be night answers
        # (off_hours) whenever the suite runs between 16:00 and 21:00 UTC
        day = utcnow().replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 Beijing
        day -= timedelta(days=1) if day > utcnow() else timedelta()
        for ln in (link_for(rnd, "parent", "S02"), link_for(rnd, "parent", "S03")):
            for i in range(12):
                store_answers(ln, "比较满意" if i % 3 else "满意", duration=150, at=day + timedelta(minutes=3 * i))
        rid, code = rnd.id, target.code

    # 1. the script fetches the questionnaires, dropping the cookie before each page …
    pages = []
    t0 = time.monotonic()
    for _ in range(ATTACK):
        status, html, cookie = request(live, "GET", f"/s/{code}")
        assert status == 200 and cookie
        pages.append((form_data(html), cookie))
    fetch_seconds = time.monotonic() - t0
    # … a token posted with another browser's cookie (or none) is refused with a clear page
    status, html, _ = request(live, "POST", f"/s/{code}", pages[0][0], cookie=pages[1][1])  # browser 1's cookie
    assert status == 403 and "请重新打开链接作答" in html
    status, html, _ = request(live, "POST", f"/s/{code}", pages[0][0])
    assert status in (400, 403)  # without any cookie the browser binding refuses it
    # 2. waits past the (here 1-second) speeder filter, then posts every form with its own cookie
    time.sleep(1.2)
    t1 = time.monotonic()
    statuses = [request(live, "POST", f"/s/{code}", data, cookie=cookie)[0] for data, cookie in pages]
    post_seconds = time.monotonic() - t1
    assert statuses == [303] * ATTACK
    print(f"fetched {ATTACK} forms in {fetch_seconds:.2f} s, posted them in {post_seconds:.2f} s")

    # 3. `round integrity` finds it
    report = run(database_url, "round", "integrity", str(rid))
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["round_id"] == rid and data["responses"] == ATTACK + 24
    kinds = {f["kind"]: f for f in data["flags"] if f["school_code"] == "S01"}
    assert {"burst", "token_farming", "device_cluster"} <= set(kinds)
    assert kinds["token_farming"]["responses"] == ATTACK and kinds["token_farming"]["group"] == "parent"
    assert "Cookie" in kinds["token_farming"]["detail"]
    assert data["flagged"] == ATTACK  # the genuine answers at the other schools carry no flag

    # 4. … and so does the export (CSV and XLSX), per response
    out = tmp_path / "export.csv"
    exported = run(database_url, "round", "export", str(rid), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert "integrity_flags" in rows[0]
    flagged = [r for r in rows if r["integrity_flags"]]
    assert len(flagged) == ATTACK and all(r["school_code"] == "S01" for r in flagged)
    assert all({"burst", "token_farming", "device_cluster"} <= set(r["integrity_flags"].split(";")) for r in flagged)
    assert all(r["integrity_flags"] == "" for r in rows if r["school_code"] != "S01")

    # 5. staff see it on the integrity page (flags, timeline, score with and without), the round page shows
    #    the chain head and key fingerprint, and the sealed archive verifies
    login(client, "boss")
    page = client.get(f"/admin/rounds/{rid}/integrity").get_data(as_text=True)
    assert 'data-kind="burst"' in page and 'data-kind="token_farming"' in page and "<svg" in page
    assert "不含带信号的 60 份" in page and 'id="with-without"' in page
    with app.app_context():
        head = db.session.get(SurveyRound, rid).chain_head
    detail = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert head in detail and 'id="fingerprint"' in detail
    sealed = client.get(f"/admin/rounds/{rid}/sealed.zip")
    assert sealed.status_code == 200
    archive = tmp_path / "sealed.zip"
    archive.write_bytes(sealed.data)
    checked = run(database_url, "verify", str(archive))
    assert checked.returncode == 0 and "封存包完整" in checked.stdout, checked.stdout + checked.stderr


def test_speeders_are_stored_but_take_no_quota_place(app, client):
    with app.app_context():
        ln = link_for(make_round(), "principal", "S02")
        ln.quota = 1
        db.session.commit()
        code = ln.code
    fast = app.test_client()
    html = fast.get(f"/s/{code}").get_data(as_text=True)
    assert fast.post(f"/s/{code}", data=form_data(html)).status_code == 303  # 0 s: a speeder
    real = app.test_client()
    html = real.get(f"/s/{code}").get_data(as_text=True)
    assert "名额已满" not in html  # the speeder did not lock the real respondent out
    from tests.survey.helpers import aged

    assert real.post(f"/s/{code}", data=aged(app, real, code, form_data(html))).status_code == 303
    with app.app_context():
        ln = db.session.query(EntryLink).filter_by(code=code).one()
        assert ln.responses_count == 1
        from survey.models import Response

        assert sorted(r.counted for r in db.session.query(Response).filter_by(link_id=ln.id)) == [False, True]
