"""(a) Faults under load (issue 10, finding 4): gunicorn with 2 workers on a private
PostgreSQL cluster, 50 concurrent respondents with client retries; mid-run the cluster is
restarted and a worker SIGKILLed. Every acknowledged answer is stored exactly once, quotas
are exact, and the respondent path never answers 500 (staff pages: 503 at worst)."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import psycopg
import pytest

from tests.fault.cluster import ROOT, Cluster, Server, pg_bin
from tests.survey.helpers import answer_all

RESPONDENTS = 50
RUN_SECONDS = 14
RESTART_AT, KILL_AT = 3.0, 7.0
QUOTA = 5  # three links fill fast (quotas contended under the faults) …
OPEN_QUOTA = 100_000  # … the other seven never fill, so answers keep arriving across the restart, at any load
N_LINKS = 10


class Client:
    """One phone: its own cookies, a new connection per request, retries like a patient user."""

    def __init__(self, port: int, stats: Counter, lock: threading.Lock) -> None:
        self.port, self.stats, self.lock, self.cookies = port, stats, lock, {}

    def _once(self, method: str, path: str, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "User-Agent": "Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        for h in resp.headers.get_all("Set-Cookie") or []:
            k, v = h.split(";", 1)[0].split("=", 1)
            self.cookies[k] = v
        return resp.status, data

    def request(self, method: str, path: str, body: bytes | None = None, deadline: float = 40):
        end = time.monotonic() + deadline
        while True:
            try:
                status, data = self._once(method, path, body)
            except (OSError, http.client.HTTPException):  # reset by a killed worker, refused while it restarts
                status, data = None, b""
            with self.lock:
                self.stats[f"{method} {status}"] += 1
            if status is not None and status < 500:
                return status, data
            if time.monotonic() > end:
                return status, data
            time.sleep(0.3)


def _respondent(port, codes, stop, results, stats, lock, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        code = rng.choice(codes)
        c = Client(port, stats, lock)
        status, html = c.request("GET", f"/s/{code}")
        if status != 200:
            continue  # full, or never recovered (counted in stats)
        form = answer_all(html.decode(), rng.choice(["满意", "比较满意", "一般"]))
        time.sleep(rng.uniform(0.05, 0.4))  # reading and answering
        t = time.monotonic()
        status, _ = c.request("POST", f"/s/{code}", urlencode(form).encode())
        with lock:
            results.append({"code": code, "token": form["token"], "status": status, "t": t,
                            "done": time.monotonic()})


@pytest.fixture
def cluster():
    if os.geteuid() == 0:
        pytest.importorskip("pwd").getpwnam("postgres")
    if pg_bin("initdb") is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found")
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _roster(tmp_path):
    head = "school_code,school_name,school_type,students_primary,students_junior,teachers_primary,teachers_junior\n"
    path = tmp_path / "名单.csv"
    path.write_text(head + "".join(f"S{i:02d},第{i}小学,小学,800,,40,\n" for i in range(1, 6)), encoding="utf-8")
    return path


def test_restart_and_killed_worker_lose_nothing_and_never_500(cluster, tmp_path):
    env = {"DATABASE_URL": cluster.url, "SECRET_KEY": "fault-suite", "PUBLIC_BASE_URL": "http://127.0.0.1/"}
    # The drill's clients answer at once; with the national 30 s speeder filter every answer would be
    # stored without taking a quota place (issue 9), and quotas would never be contended.
    rules = tmp_path / "fault-drill.yaml"
    rules.write_text("extends: national-2017\nid: fault-drill\nversion: 1\ntitle: 故障演练规则（答题用时不设下限）\n"
                     "source: 测试\nrecognition:\n  filters:\n    speeder_seconds: 0\n", encoding="utf-8")
    made = subprocess.run([sys.executable, "run.py", "round", "create", "--county", "330101", "--county-name",
                           "示范县", "--name", "故障演练", "--schools", str(_roster(tmp_path)),
                           "--rules", str(rules)], cwd=ROOT,
                          env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    round_id = int(made.stdout)
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        codes = [r[0] for r in conn.execute(
            "SELECT code FROM entry_links WHERE round_id = %s AND school_id IS NOT NULL ORDER BY id LIMIT %s",
            (round_id, N_LINKS))]
        conn.execute("UPDATE entry_links SET quota = %s WHERE code = ANY(%s)", (QUOTA, codes[:3]))
        conn.execute("UPDATE entry_links SET quota = %s WHERE code = ANY(%s)", (OPEN_QUOTA, codes[3:]))
    user = subprocess.run([sys.executable, "run.py", "users", "create", "--username", "boss", "--role", "admin"],
                          cwd=ROOT, env=dict(os.environ, **env), input="correct horse battery 9\n",
                          capture_output=True, text=True, timeout=120)
    assert user.returncode == 0, user.stderr

    server = Server(env, workers=2, threads=4)
    try:
        stats, lock, results, stop = Counter(), threading.Lock(), [], threading.Event()
        threads = [threading.Thread(target=_respondent, args=(server.port, codes, stop, results, stats, lock, i),
                                    daemon=True) for i in range(RESPONDENTS)]
        staff = Client(server.port, Counter(), threading.Lock())
        status, page = staff.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
        assert staff.request("POST", "/login", urlencode({"username": "boss", "password": "correct horse battery 9",
                                                          "csrf_token": token}).encode())[0] == 302
        staff_codes: Counter = Counter()
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(RESTART_AT)
        restart_started = time.monotonic()
        restarter = threading.Thread(target=cluster.restart)
        restarter.start()
        while restarter.is_alive():  # staff pages during the restart: friendly 503 at worst
            try:
                staff_codes[staff._once("GET", "/admin/")[0]] += 1
            except (OSError, http.client.HTTPException):
                staff_codes["reset"] += 1
            time.sleep(0.05)
        restarter.join()
        restart_done = time.monotonic()
        time.sleep(max(0.0, KILL_AT - (time.monotonic() - t0)))
        killed = server.kill_worker()
        time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - t0)))
        stop.set()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads)
        for _ in range(3):
            staff_codes[staff._once("GET", "/admin/")[0]] += 1
        log = server.log()
    finally:
        server.stop()

    with psycopg.connect(cluster.dsn) as conn:
        stored = conn.execute("SELECT count(*) FROM responses WHERE round_id = %s", (round_id,)).fetchone()[0]
        keys = conn.execute("SELECT count(DISTINCT idempotency_key) FROM responses").fetchone()[0]
        per_link = {row[0]: row[1:] for row in conn.execute(
            "SELECT l.code, l.quota, l.responses_count, count(r.id) FROM entry_links l "
            "LEFT JOIN responses r ON r.link_id = l.id WHERE l.code = ANY(%s) "
            "GROUP BY l.code, l.quota, l.responses_count", (codes,))}

    acknowledged = [r for r in results if r["status"] == 303]
    after = sorted(r["done"] for r in acknowledged if r["t"] >= restart_started)
    figures = {
        "respondents": RESPONDENTS, "submissions": len(results), "acknowledged": len(acknowledged),
        "stored": stored, "distinct_keys": keys,
        "refused_full": sum(r["status"] == 403 for r in results),
        "respondent_500s": stats["GET 500"] + stats["POST 500"],
        "respondent_503s": stats["GET 503"] + stats["POST 503"],
        "connection_errors": stats["GET None"] + stats["POST None"],
        "restart_seconds": round(restart_done - restart_started, 2),
        "recovery_seconds": round(after[0] - restart_started, 2) if after else None,
        "killed_worker": killed, "staff_during_restart": dict(staff_codes),
    }
    print("\nFAULT SUITE FIGURES", json.dumps(figures, ensure_ascii=False))
    assert figures["respondent_500s"] == 0, (figures, log[-3000:])
    assert len(acknowledged) == stored == keys, figures  # acknowledged = stored, no duplicates
    assert {r["token"] for r in acknowledged} and len({r["token"] for r in acknowledged}) == len(acknowledged)
    for code, (quota, counter, rows) in per_link.items():
        assert counter == rows <= quota, (code, quota, counter, rows)
    assert sum(rows for _q, _c, rows in per_link.values()) == stored
    assert any(rows == quota for quota, _c, rows in per_link.values()), per_link  # quotas were contended
    if 500 in staff_codes:
        print("\nSERVER TRACEBACKS\n" + _tracebacks(log))  # captured stdout is shown whole
    assert 500 not in staff_codes, staff_codes
    assert figures["recovery_seconds"] is not None


def _tracebacks(log: str) -> str:
    """The server log's tracebacks (what a 500 was), not only its tail: pytest cuts long messages."""
    blocks = re.findall(r"Traceback \(most recent call last\):.*?(?=\n\[|\nTraceback|\Z)", log, flags=re.S)
    return "\n".join(blocks)[-6000:] or log[-3000:]
