"""(c) Slow-body attack (issue 10, finding 9) through the shipped nginx configuration:
24 sockets sending one byte every two seconds leave normal respondents served, and an
oversized chunked answer is refused by nginx before gunicorn sees it."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.fault.cluster import ROOT, Server, free_port
from tests.survey.helpers import answer_all

SHIPPED = ROOT / "deploy" / "nginx-yzjh.conf"
SLOW_SOCKETS = 24


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        pytest.fail("nginx not installed (the README's test command installs nginx-light)")
    return found


class Nginx:
    """The shipped server block, pointed at our gunicorn, inside a throw-away prefix."""

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="yzjh-nginx-"))
        site = SHIPPED.read_text(encoding="utf-8")
        assert "server 127.0.0.1:5000;" in site and "listen 80;" in site
        site = site.replace("server 127.0.0.1:5000;", f"server 127.0.0.1:{upstream_port};")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        (self.prefix / "site.conf").write_text(site, encoding="utf-8")
        temp = "\n".join(f"  {k}_temp_path {self.prefix / k};" for k in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.prefix / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\npid {self.prefix / 'nginx.pid'};\nerror_log {self.prefix / 'error.log'} warn;\n"
            f"daemon off;\nevents {{ worker_connections 512; }}\nhttp {{\n  access_log off;\n{temp}\n"
            f"  include {self.prefix / 'site.conf'};\n}}\n", encoding="utf-8")
        self.proc = subprocess.Popen([_nginx_binary(), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stderr.close()
        shutil.rmtree(self.prefix, ignore_errors=True)


def _request(port, method, path, body=None, cookies=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
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
        if cookies is not None:
            cookies[k] = v
    return resp.status, data


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("slow")
    db = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    env = {"DATABASE_URL": db, "SECRET_KEY": "slow-body", "PUBLIC_BASE_URL": "http://127.0.0.1/",
           "PROXY_FIX_X_FOR": "1"}
    roster = tmp_path / "名单.csv"
    roster.write_text("school_code,school_name,school_type,students_primary,students_junior,teachers_primary,"
                      "teachers_junior\nS01,第一小学,小学,800,,40,\n", encoding="utf-8")
    made = subprocess.run([sys.executable, "run.py", "round", "create", "--county", "330101", "--county-name", "示范县", "--name", "慢速",
                           "--schools", str(roster)], cwd=ROOT, env=dict(os.environ, **env), capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    links = subprocess.run([sys.executable, "run.py", "round", "links", made.stdout.strip()], cwd=ROOT,
                           env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)
    code = re.search(r"/s/([a-z0-9]+)", links.stdout).group(1)
    server = Server(env, workers=2, threads=4)
    nginx = None
    try:
        nginx = Nginx(server.port)
        yield nginx, code
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()


def test_slow_bodies_do_not_starve_respondents_behind_the_shipped_nginx(stack):
    nginx, code = stack
    stop = threading.Event()
    socks = []
    for _ in range(SLOW_SOCKETS):
        s = socket.create_connection(("127.0.0.1", nginx.port), timeout=5)
        s.sendall(f"POST /s/{code} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: 60000\r\n\r\n".encode())
        socks.append(s)

    def drip():
        while not stop.is_set():
            for s in socks:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
            stop.wait(2)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(3)  # the attack is under way: every socket has sent part of its body
        latencies, statuses = [], []
        for i in range(8):
            t = time.monotonic()
            cookies: dict = {}
            status, html = _request(nginx.port, "GET", f"/s/{code}", cookies=cookies)
            assert status == 200, (i, status)
            form = answer_all(html.decode(), "满意")
            status, _ = _request(nginx.port, "POST", f"/s/{code}", urlencode(form).encode(), cookies=cookies)
            statuses.append(status)
            latencies.append(time.monotonic() - t)
        print(f"\nSLOW BODY: {SLOW_SOCKETS} slow sockets, respondents {statuses}, "
              f"max latency {max(latencies):.2f} s")
        assert statuses == [303] * 8
        assert max(latencies) < 5
    finally:
        stop.set()
        dripper.join(timeout=5)
        for s in socks:
            s.close()


def test_oversized_chunked_answer_is_refused_by_nginx(stack):
    nginx, code = stack
    s = socket.create_connection(("127.0.0.1", nginx.port), timeout=10)
    try:
        s.sendall(f"POST /s/{code} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(4):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # nginx may close as soon as the limit is passed
        reply = s.recv(200)
    finally:
        s.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply
