"""A private PostgreSQL cluster and a gunicorn server for the fault suite.

The cluster is created with initdb in a temporary directory, run as an unprivileged user
(``postgres`` when the tests run as root), listening on 127.0.0.1 on a free port with its own
socket directory, so restarting it never touches anyone else's database.
"""

from __future__ import annotations

import glob
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Cluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="yzjh-pg-"))
        self.data, self.sock, self.log = self.dir / "data", self.dir / "sock", self.dir / "pg.log"
        self.sock.mkdir()
        self.user = None
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the unprivileged postgres user
            self.user = pwd.getpwnam("postgres")
            for p in (self.dir, self.sock):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user.pw_name, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True, cwd=self.dir)

    def start(self) -> None:
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self.pg_ctl("start")

    def pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=60"
        self._run(pg_bin("pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", opts, *extra)

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"


class Server:
    """``python run.py serve`` (gunicorn, app preloaded) on a free port; the master is this process."""

    def __init__(self, env: dict, workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        self.logfile = tempfile.NamedTemporaryFile(prefix="yzjh-gunicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "run.py", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--threads", str(threads)],
            cwd=ROOT, env=dict(os.environ, **env), stdout=self.logfile, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.logfile.name).read_text()[-3000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/login")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200 and len(self.workers()) >= workers:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def workers(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def log(self) -> str:
        return Path(self.logfile.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.logfile.close()
        os.unlink(self.logfile.name)
