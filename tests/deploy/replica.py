"""A private PostgreSQL primary and a streaming replica made from it with ``pg_basebackup -R``
(issue 12 item 5), both on free ports in temporary directories, never the shared server."""

from __future__ import annotations

import time

import psycopg

from tests.fault.cluster import Cluster, pg_bin


class Replica(Cluster):
    """A hot standby of ``primary``: base backup with streamed WAL and a standby.signal."""

    def __init__(self, primary: Cluster) -> None:
        super().__init__()
        self.primary = primary

    def start(self) -> None:
        self._run(pg_bin("pg_basebackup"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.primary.port),
                  "-U", "postgres", "-X", "stream", "-R", "--no-sync", "-c", "fast")
        self.pg_ctl("start")

    def caught_up(self, timeout: float = 20) -> None:
        """Wait (bounded) until the replica has replayed everything the primary wrote so far."""
        with psycopg.connect(self.primary.dsn, autocommit=True) as p:
            target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.dsn, autocommit=True) as r:
            while time.monotonic() < deadline:
                if r.execute("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s) >= 0", (target,)).fetchone()[0]:
                    return
                time.sleep(0.05)
        raise AssertionError("the replica did not catch up")

    def sql(self, statement: str):
        with psycopg.connect(self.dsn, autocommit=True) as r:
            return r.execute(statement).fetchone()
