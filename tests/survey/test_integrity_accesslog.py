"""`serve` (gunicorn) writes an access log without raw client addresses or entry/slip codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from survey.integrity.accesslog import redact
from tests.survey.conftest import ROSTER_ROWS, roster_xlsx

ROOT = Path(__file__).resolve().parents[2]


def test_redact_removes_codes_and_queries():
    assert redact("/s/ab3k9mnpqr?slip=zzzz2345") == "/s/…"
    assert redact("/s/ab3k9mnpqr/done") == "/s/…/done"
    assert redact("/admin/rounds/3") == "/admin/rounds/3"


def test_served_access_log_has_no_address_and_no_entry_code(app, database_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="log-test", PUBLIC_BASE_URL="http://x.test/")
    env.pop("ACCESS_LOG", None)
    roster = tmp_path / "r.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    made = subprocess.run([sys.executable, "run.py", "round", "create", "--county", "110101", "--county-name", "测试县",
                           "--name", "日志", "--schools", str(roster)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    links = subprocess.run([sys.executable, "run.py", "round", "links", made.stdout.strip()], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120).stdout.splitlines()
    code = links[1].rsplit("/", 1)[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "run.py", "serve", "--port", str(port), "--workers", "1",
                                 "--threads", "1"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/{code}?slip=abcd2345", timeout=5) as r:
                        assert r.status == 200
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(30)
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if '"GET ' in ln]
    assert lines, text
    assert '"GET /s/… HTTP/1.1" 200' in lines[-1]
    assert code not in text and "abcd2345" not in text and "127.0.0.1 " not in " ".join(lines)
