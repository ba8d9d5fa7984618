"""The scale-out recipe of deploy/ run on this machine: independent ``run.py serve`` masters on
free ports and Debian nginx in front of them, its configuration generated from
deploy/nginx-yzjh-scaleout.conf into a temporary prefix (never /etc). Used by bench/scaleout.py
and tests/deploy; every process is started in its own session and stopped by ``close()``.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx-yzjh-scaleout.conf"
_UPSTREAM = re.compile(r"^(\s*server )10\.0\.0\.\d+:5000( [^;]*;).*$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_status(port: int, path: str = "/login", timeout: float = 2) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return None
    finally:
        conn.close()


def wait_until(ready, proc: subprocess.Popen, what: str, timeout: float, log=lambda: "") -> None:
    """Poll ``ready()`` until true; raise with the log if ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log()[-3000:]}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s:\n{log()[-3000:]}")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen, grace: float = 15) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


class Browser:
    """One browser's cookies over plain HTTP/1.1 to any of the local ports (no client library)."""

    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode(errors="replace")
        finally:
            conn.close()
        for h in resp.headers.get_all("Set-Cookie") or []:
            k, v = h.split(";", 1)[0].split("=", 1)
            self.cookies[k] = v
        return resp.status, text

    def login(self, port: int, username: str, password: str, form_port: int | None = None) -> int:
        """Sign in (the form fetched from ``form_port`` if given); the POST's status."""
        _, page = self.request(form_port or port, "GET", "/login")
        token = self.CSRF.search(page)
        return self.request(port, "POST", "/login", {"username": username, "password": password,
                                                     "csrf_token": token.group(1) if token else ""})[0]


class Instance:
    """One app instance: ``python run.py serve`` (its own gunicorn master) on a free port."""

    def __init__(self, env: dict, workers: int = 2, threads: int = 4, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="yzjh-instance-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "run.py", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--threads", str(threads)],
            cwd=ROOT, env=dict(os.environ, **env), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        wait_until(lambda: _http_status(self.port) == 200, self.proc, f"instance on port {self.port}", timeout,
                   self.log_text)

    def pids(self) -> list[int]:
        """The master and its workers (for CPU accounting)."""
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            kids = []
        return [self.proc.pid, *map(int, kids)]

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def close(self) -> None:
        _stop(self.proc)
        if not self.log.closed:
            self.log.close()
            os.unlink(self.log.name)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        raise RuntimeError("nginx not installed: apt-get install nginx-light")
    return found


_BLOCK = re.compile(r"^upstream (\w+) \{")


def site_config(upstream_ports: list[int], listen_port: int, staff_ports: list[int] | None = None) -> str:
    """deploy/nginx-yzjh-scaleout.conf on our ports: the respondent upstream (yzjh_app) on
    ``upstream_ports``; the staff upstream (yzjh_staff) on ``staff_ports`` with the respondent
    instances as backup, or, without staff instances, on the respondent instances themselves."""
    site = TEMPLATE.read_text(encoding="utf-8")
    blocks: dict[str, list[tuple[str, str]]] = {}
    block = None
    for line in site.splitlines():
        if m := _BLOCK.match(line):
            block = m.group(1)
        elif m := _UPSTREAM.match(line):
            blocks.setdefault(block, []).append(m.groups())
    if len(blocks.get("yzjh_app", ())) != 2 or not blocks.get("yzjh_staff") or "listen 80;" not in site:
        raise RuntimeError(f"{TEMPLATE.name}: expected upstreams yzjh_app (two servers), yzjh_staff and `listen 80;`")
    app_first, app_options = blocks["yzjh_app"][0]
    staff_first, staff_options = blocks["yzjh_staff"][0]
    backup = next((o for _, o in blocks["yzjh_staff"] if "backup" in o), " backup;")
    servers = {
        "yzjh_app": [f"{app_first}127.0.0.1:{p}{app_options}" for p in upstream_ports],
        "yzjh_staff": ([f"{staff_first}127.0.0.1:{p}{staff_options}" for p in staff_ports]
                       + [f"{staff_first}127.0.0.1:{p}{backup}" for p in upstream_ports]) if staff_ports
        else [f"{staff_first}127.0.0.1:{p}{staff_options}" for p in upstream_ports],
    }
    out, block = [], None
    for line in site.splitlines(keepends=True):
        if m := _BLOCK.match(line):
            block = m.group(1)
        elif _UPSTREAM.match(line):
            if block in servers:
                out.extend(f"{x}\n" for x in servers.pop(block))
            continue
        out.append(line)
    return "".join(out).replace("listen 80;", f"listen 127.0.0.1:{listen_port};")


class Nginx:
    """nginx with the generated site, in a throw-away prefix; access log with the upstream address."""

    def __init__(self, upstream_ports: list[int], workers: int = 1, staff_ports: list[int] | None = None) -> None:
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="yzjh-nginx-"))
        (self.prefix / "site.conf").write_text(site_config(upstream_ports, self.port, staff_ports), encoding="utf-8")
        temp = "\n".join(f"  {k}_temp_path {self.prefix / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.access_log = self.prefix / "access.log"
        (self.prefix / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes {workers};\npid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.prefix / 'error.log'} warn;\ndaemon off;\nevents {{ worker_connections 2048; }}\n"
            f"http {{\n  log_format up '$status $upstream_addr $request_time';\n"
            f"  access_log {self.access_log} up buffer=64k flush=1s;\n{temp}\n"
            f"  include {self.prefix / 'site.conf'};\n}}\n", encoding="utf-8")
        with (self.prefix / "error.log").open("ab") as errors:  # nginx's own start-up errors, before its error_log
            self.proc = subprocess.Popen([nginx_binary(), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")],
                                         stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        wait_until(lambda: _listening(self.port), self.proc, "nginx", 20,
                   lambda: (self.prefix / "error.log").read_text(errors="replace")
                   if (self.prefix / "error.log").exists() else "")

    def upstreams_seen(self) -> dict[str, int]:
        """Requests per upstream address so far (the log is flushed every second); a request
        nginx passed on to a second instance (``a, b`` in the log: the first refused, failed or
        timed out) counts for the one that answered, and under ``retried <first>``."""
        seen: dict[str, int] = {}
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                parts = line.split(" ", 1)
                if len(parts) < 2:
                    continue
                tried = [a.strip() for a in parts[1].rsplit(" ", 1)[0].split(",") if a.strip()]
                if tried:
                    seen[tried[-1]] = seen.get(tried[-1], 0) + 1
                for first in tried[:-1]:
                    seen[f"retried {first}"] = seen.get(f"retried {first}", 0) + 1
        return seen

    def close(self) -> None:
        _stop(self.proc, grace=10)
        shutil.rmtree(self.prefix, ignore_errors=True)
