"""`run.py serve` (issue 11, item 9): `kill PID` of the process it started stops the whole
server, gunicorn master and workers (also after `kill -9` of the master, on Linux), and the
favicon phones ask for is a real icon, not a 404 page. Runs once (its own SQLite file), in a
subprocess; reads /proc (Linux, like the Debian test machine)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start(tmp_path: Path):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}", SECRET_KEY="serve-test")
    env.pop("PUBLIC_BASE_URL", None)
    proc = subprocess.Popen([sys.executable, "run.py", "serve", "--port", str(port), "--workers", "2"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/favicon.ico")
            resp = conn.getresponse()
            body = resp.read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("serve did not answer within 90 s")
            time.sleep(0.3)
    # one worker may answer before the other has forked: wait (bounded) until both are there
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 30
    workers = [int(p) for p in children.read_text().split()]
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = [int(p) for p in children.read_text().split()]
    return proc, port, conn, resp, body, workers


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_kill_stops_master_and_workers_and_favicon_is_served(tmp_path):
    proc, port, conn, resp, body, workers = _start(tmp_path)
    try:
        assert resp.status == 200 and resp.getheader("Content-Type") == "image/x-icon"
        assert body[:4] == b"\x00\x00\x01\x00" and "max-age" in resp.getheader("Cache-Control", "")
        assert len(workers) == 2
        # an idle keep-alive connection is open (conn): the server must still stop promptly
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert _wait_gone(workers, 5) == []
    finally:
        conn.close()
        proc.kill()
        proc.wait(timeout=20)  # reaped even when an assertion failed (no stray server, no ResourceWarning)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    proc, port, conn, resp, body, workers = _start(tmp_path)
    conn.close()
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        assert _wait_gone(workers, 5) == [], "workers outlived a killed master"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
