"""Benchmark: the province scale-out recipe of deploy/ run on this machine (issue 12 item 5).

    .venv/bin/python bench/scaleout.py [--counties 100] [--schools 30] [--concurrency 200] [--seconds 60]
                                       [--phases baseline,shared,recipe,replica]

Starts its own PostgreSQL primary (initdb on a free port, in a temporary directory) and a
streaming replica of it (``pg_basebackup -R`` on a second port; tests/deploy/replica.py), builds
``--counties`` counties of ``--schools`` schools in it, one open survey round per county (a round
belongs to one county; the province watches them all in the overview), a staff user of the first
county; Redis holds the login throttle (own key prefix, removed afterwards). Then, against the
same database:

1. **baseline** — one instance (``run.py serve``, one gunicorn master) without nginx;
2. **shared** — two independent instances (two gunicorn masters, as two hosts would run) behind
   Debian nginx configured from deploy/nginx-yzjh-scaleout.conf (temp prefix, not /etc), the staff
   pages balanced over the same two instances (the recipe before the staff upstream);
3. **recipe** — the same with the staff pages on a third instance of their own (the template's
   ``yzjh_staff`` upstream), reading from the primary;
4. **replica** — the recipe with the staff instance reading its read-only pages from the replica
   (``DATABASE_READ_URL``); the replication lag is sampled on the primary (pg_stat_replication)
   while the load runs, and the pages that said their data was late are counted.

Each phase drives ``--concurrency`` respondents spread over the counties for ``--seconds``
(bench/scaleout_driver.py, its own process) while this process signs in as the staff user and
times the results page of the first county's round every few seconds (through nginx). Prints stored/s, POST
and respondent p50/p99, server CPU per stored response (instances + nginx, from /proc),
acknowledged vs stored per phase, the results-page times, and a last line
``scaleout: … targets=met|missed``. Everything it starts is stopped at the end, also on
Ctrl-C or failure.

Targets (ours, this shared 2-core machine, where both instances and nginx share the same two
cores, so no speed-up over one instance is possible here): stored = acknowledged and no
duplicate in both phases, no server error or dropped connection, the recipe's stored/s at least
0.8 of the single instance's (what nginx and a second master cost), results page p95 ≤ 3 s
while the load runs (in the recipe and replica phases).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scaleout_stack import Browser, Instance, Nginx  # noqa: E402
from tests.deploy.replica import Cluster, Replica  # noqa: E402

PASSWORD = "correct horse 1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PHASES = ("baseline", "shared", "recipe", "replica")
BANNER = re.compile(r"副本延迟约 (\d+) 秒")


def _roster_csv(county: int, schools: int) -> bytes:
    lines = ["school_code,school_name,school_type,students_primary,students_junior,teachers_primary,teachers_junior"]
    for s in range(schools):
        if s % 3 == 2:
            lines.append(f"C{county:03d}S{s:02d},第{county}县第{s}初级中学,初中,,{600 + 7 * s},,{45 + s}")
        else:
            lines.append(f"C{county:03d}S{s:02d},第{county}县第{s}小学,小学,{700 + 9 * s},,{40 + s},")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_province(url: str, counties: int, schools: int) -> tuple[list[list[str]], int]:
    """Counties, rounds and links through the services (one process; the CLI would start an
    interpreter per county). Returns the respondent entry codes per county and the first round's id."""
    from evaluator.roster import read_roster
    from survey import create_app
    from survey.db import db
    from survey.instruments import catalogue
    from survey.models import EntryLink
    from survey.services.rounds import get_or_create_county, open_round, recognition_rules
    from survey.services.users import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-scaleout"})
    codes: list[list[str]] = []
    first_round = None
    with app.app_context():
        rules = recognition_rules("national-2017")
        for c in range(counties):
            county = get_or_create_county(f"{500100 + c:06d}", f"基准{c}县")
            roster = read_roster(io.BytesIO(_roster_csv(c, schools)), filename=f"县{c}.csv")
            rnd = open_round(county=county, name=f"基准{c}县2026年社会认可度调查", roster=roster, catalogue=catalogue(),
                             rules=rules, target_n=2_000_000)
            db.session.flush()
            codes.append([ln.code for ln in db.session.query(EntryLink).filter(
                EntryLink.round_id == rnd.id, EntryLink.group.in_(("parent", "student")))])
            if first_round is None:
                first_round = rnd.id
                create_user("staff0", PASSWORD, "staff", [county])
        db.session.commit()
        db.engine.dispose()
    return codes, first_round


def stored(url: str) -> tuple[int, int]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM responses").fetchone()


def cpu_seconds(pids: list[int]) -> float:
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def nginx_pids(nginx: Nginx) -> list[int]:
    try:
        kids = Path(f"/proc/{nginx.proc.pid}/task/{nginx.proc.pid}/children").read_text().split()
    except OSError:
        kids = []
    return [nginx.proc.pid, *map(int, kids)]


class ResultsProbe(threading.Thread):
    """The staff user of the first county timing its round's results page: signed in and warmed
    (each worker's first rendering loads chart code), a few times at rest, then every ``every``
    seconds while the load runs."""

    def __init__(self, port: int, round_id: int, every: float = 4) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.every = port, f"/admin/rounds/{round_id}/results", every
        self.times: list[float] = []
        self.errors: list[str] = []
        self.late: list[int] = []  # the lag the page said it had (副本延迟约 N 秒), when it said so
        self.stop = threading.Event()
        self.browser = Browser()
        status = self.browser.login(port, "staff0", PASSWORD)
        if status != 302:
            raise RuntimeError(f"staff sign-in through port {port}: HTTP {status}")

    def once(self) -> float | None:
        t = time.perf_counter()
        try:
            code, page = self.browser.request(self.port, "GET", self.path)
        except OSError as exc:
            self.errors.append(type(exc).__name__)
            return None
        if code != 200 or "认可度" not in page:
            self.errors.append(f"results {code}")
            return None
        took = time.perf_counter() - t
        if m := BANNER.search(page):
            self.late.append(int(m.group(1)))
        return took

    def at_rest(self, warm: int, timed: int) -> list[float]:
        for _ in range(warm):
            self.once()
        return [t for t in (self.once() for _ in range(timed)) if t is not None]

    def run(self) -> None:
        while not self.stop.wait(self.every):
            t = self.once()
            if t is not None:
                self.times.append(t)


def replica_transactions(dsn: str | None) -> int:
    """Transactions the replica has served (its own statistics): proof that pages read there."""
    if not dsn:
        return 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(conn.execute("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database").fetchone()[0])


class LagProbe(threading.Thread):
    """The replica's lag seen by the primary every ``every`` seconds: replay_lag (seconds; none
    when it has caught up and nothing is written) and the WAL bytes not yet replayed."""

    def __init__(self, dsn: str, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.dsn, self.every = dsn, every
        self.seconds: list[float] = []
        self.bytes: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(self.every):
                row = conn.execute("SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag), 0), "
                                   "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication").fetchone()
                if row:
                    self.seconds.append(float(row[0]))
                    self.bytes.append(int(row[1] or 0))


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def phase(name: str, port: int, pids, codes_file: str, url: str, round_id: int, args, workers: int,
          lag_dsn: str | None = None, replica_dsn: str | None = None) -> dict:
    before = stored(url)
    probe = ResultsProbe(port, round_id, every=args.probe_every)
    rest = probe.at_rest(warm=2 * workers, timed=3)
    replica_tx0 = replica_transactions(replica_dsn)
    lag = LagProbe(lag_dsn) if lag_dsn else None
    cpu0 = cpu_seconds(pids())
    probe.start()
    if lag:
        lag.start()
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "scaleout_driver.py"), "--base", f"http://127.0.0.1:{port}/",
                          "--codes-file", codes_file, "--concurrency", str(args.concurrency),
                          "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                         capture_output=True, text=True, timeout=args.seconds + args.warmup + 300)
    probe.stop.set()
    probe.join(timeout=120)
    if lag:
        lag.stop.set()
        lag.join(timeout=10)
    if out.returncode:
        raise RuntimeError(f"driver failed: {out.stderr[-3000:]}")
    res = json.loads(out.stdout)
    cpu = cpu_seconds(pids()) - cpu0
    replica_tx = replica_transactions(replica_dsn) - replica_tx0
    after = stored(url)
    acked = res["acknowledged"] + res["warmup_acknowledged"]
    return {"name": name, "stored_per_s": res["acknowledged"] / res["elapsed"], "acknowledged": acked,
            "stored": after[0] - before[0], "distinct": after[1] - before[1],
            "errors": {**res["warmup_errors"], **res["errors"]},
            "post_p50": pct(res["post_ms"], 50), "post_p99": pct(res["post_ms"], 99),
            "resp_p50": pct(res["respondent_ms"], 50), "resp_p99": pct(res["respondent_ms"], 99),
            "cpu_ms": 1000 * cpu / max(1, acked), "results_s": probe.times, "results_rest_s": rest, "results_errors": probe.errors,
            "late_pages": probe.late, "replica_tx": replica_tx, "lag_s": lag.seconds if lag else [], "lag_bytes": lag.bytes if lag else []}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, default=100)
    ap.add_argument("--schools", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per respondent instance")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker")
    ap.add_argument("--staff-workers", type=int, default=1, help="gunicorn workers of the staff instance")
    ap.add_argument("--probe-every", type=float, default=2, help="seconds between two timed results pages")
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated, among " + ",".join(PHASES))
    args = ap.parse_args()
    wanted = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not wanted or set(wanted) - set(PHASES):
        ap.error(f"--phases: among {','.join(PHASES)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill` tears down like Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    prefix = f"yzjh-bench-{uuid.uuid4().hex[:8]}:"
    results = []
    spreads: dict[str, dict] = {}
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    with ExitStack() as stack:
        stack.callback(lambda: [r.delete(k) for k in r.scan_iter(f"{prefix}*")])
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="yzjh-scaleout-"))
        t = time.perf_counter()
        primary = Cluster()
        stack.callback(primary.stop)
        primary.start()
        url = primary.url.replace("postgresql://", "postgresql+psycopg://")
        codes, round_id = build_province(url, args.counties, args.schools)
        replica = None
        if "replica" in wanted:
            replica = Replica(primary)
            stack.callback(replica.stop)
            replica.start()  # a base backup of the built province, then streaming
            with (replica.data / "postgresql.auto.conf").open("a") as conf:
                conf.write("hot_standby_feedback = on\n")  # as deploy/README.md advises: no cancelled page reads
            replica.sql("SELECT pg_reload_conf()")
            replica.caught_up(timeout=120)
        setup_s = time.perf_counter() - t
        codes_file = str(Path(tmp) / "codes.json")
        Path(codes_file).write_text(json.dumps(codes))
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench-scaleout", "FINGERPRINT_KEY": "bench-scaleout-fp",
               "PUBLIC_BASE_URL": "http://127.0.0.1/", "RATELIMIT_STORAGE_URI": REDIS_URL,
               "LOGIN_THROTTLE_REDIS_PREFIX": prefix, "ACCESS_LOG": "off"}

        if "baseline" in wanted:
            with ExitStack() as run:
                single = Instance(env, args.workers, args.threads)
                run.callback(single.close)
                single.wait_ready()
                results.append(phase("baseline", single.port, single.pids, codes_file, url, round_id, args,
                                     args.workers))

        proxied = dict(env, PROXY_FIX_X_FOR="1")
        for name in [p for p in wanted if p != "baseline"]:
            with ExitStack() as run:
                pair = [Instance(proxied, args.workers, args.threads) for _ in range(2)]
                staff = []
                if name != "shared":
                    staff_env = dict(proxied, DATABASE_READ_URL=replica.url) if name == "replica" else proxied
                    staff = [Instance(staff_env, args.staff_workers, args.threads)]
                for inst in pair + staff:
                    run.callback(inst.close)
                for inst in pair + staff:
                    inst.wait_ready()
                nginx = Nginx([i.port for i in pair], staff_ports=[i.port for i in staff] or None)
                run.callback(nginx.close)
                results.append(phase(name, nginx.port,
                                     lambda pair=pair, staff=staff, nginx=nginx:
                                     [p for i in pair + staff for p in i.pids()] + nginx_pids(nginx),
                                     codes_file, url, round_id, args,
                                     args.staff_workers if staff else 2 * args.workers,
                                     lag_dsn=primary.url if name == "replica" else None,
                                     replica_dsn=replica.url if name == "replica" else None))
                spreads[name] = nginx.upstreams_seen()
                if staff:
                    here = f"127.0.0.1:{staff[0].port}"
                    spreads[name] = {a.replace(here, f"staff {here}"): n for a, n in spreads[name].items()}

    print(f"bench/scaleout: {args.counties} counties × {args.schools} schools ({args.counties * args.schools} schools, "
          f"{sum(map(len, codes))} parent/student links, setup {setup_s:.0f} s), {args.concurrency} concurrent "
          f"respondents, {args.seconds:.0f} s per phase, gunicorn {args.workers}×{args.threads} per respondent "
          f"instance, staff instance {args.staff_workers}×{args.threads}, PostgreSQL primary"
          f"{' + streaming replica' if replica else ''} (private clusters), Redis, {os.cpu_count()} CPUs")
    print(f"load average before the run: {load_before}; after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"{'':10}{'stored/s':>9}{'POST p50':>10}{'POST p99':>10}{'resp p50':>10}{'resp p99':>10}{'CPU/resp':>10}"
          f"{'acked':>8}{'stored':>8}{'distinct':>9}{'results at rest':>16}{'under load p50/p95/max (n)':>30}  errors")
    for x in results:
        rs = x["results_s"]
        rtxt = (f"{np.percentile(rs, 50):.2f}/{np.percentile(rs, 95):.2f}/{max(rs):.2f} s ({len(rs)})" if rs else "—")
        rest = f"{np.median(x['results_rest_s']):.2f} s" if x["results_rest_s"] else "—"
        print(f"{x['name']:10}{x['stored_per_s']:9.1f}{x['post_p50']:8.0f}ms{x['post_p99']:8.0f}ms{x['resp_p50']:8.0f}ms"
              f"{x['resp_p99']:8.0f}ms{x['cpu_ms']:8.2f}ms{x['acknowledged']:8d}{x['stored']:8d}{x['distinct']:9d}"
              f"{rest:>16}{rtxt:>30}  {x['errors'] or '-'} {x['results_errors'] or ''}")
    for name, spread in spreads.items():
        print(f"requests per instance through nginx ({name}): {spread}")
    by = {x["name"]: x for x in results}
    rep = by.get("replica")
    if rep:
        lag = rep["lag_s"]
        print(f"replica lag while the load ran (primary's pg_stat_replication every 0.5 s, {len(lag)} samples): "
              f"replay_lag p50 {pct(lag, 50):.3f} s, p95 {pct(lag, 95):.3f} s, max {max(lag, default=float('nan')):.3f} s; "
              f"WAL not replayed p95 {pct(rep['lag_bytes'], 95) / 1024:.0f} KiB; {rep['replica_tx']} transactions on the "
              f"replica (the staff instance's reads and these counts); results pages that said their data was "
              f"late: {len(rep['late_pages'])} of {len(rep['results_s'])}"
              + (f" (副本延迟约 {sorted(set(rep['late_pages']))} 秒)" if rep["late_pages"] else ""))

    def p95(x: dict) -> float:
        return float(np.percentile(x["results_s"], 95)) if x["results_s"] else float("inf")

    base = by.get("baseline")
    front = by.get("recipe") or by.get("replica") or by.get("shared") or base
    ratio = front["stored_per_s"] / base["stored_per_s"] if base and base["stored_per_s"] else float("nan")
    staffed = [x for x in results if x["name"] in ("recipe", "replica")] or [front]
    checks = {
        "acked_eq_stored": all(x["stored"] == x["acknowledged"] == x["distinct"] for x in results),
        "no_errors": not any(x["errors"] or x["results_errors"] for x in results),
        "ratio_ge_0.8": ratio >= 0.8 if base and front is not base else True,
        "results_p95_le_3s": all(p95(x) <= 3 for x in staffed),
    }
    for k, ok in checks.items():
        print(f"  {'PASS' if ok else 'MISS'}  {k}")
    extra = "".join(f" {n}_results_p95_s={p95(by[n]):.2f}" for n in PHASES if n in by)
    lag_txt = f" replica_lag_p95_s={pct(rep['lag_s'], 95):.3f} late_pages={len(rep['late_pages'])}" if rep else ""
    print(f"scaleout: stored_per_s={front['stored_per_s']:.1f} "
          f"baseline_stored_per_s={base['stored_per_s'] if base else float('nan'):.1f} "
          f"ratio={ratio:.2f} post_p99_ms={front['post_p99']:.0f} acknowledged={front['acknowledged']} "
          f"stored={front['stored']}{extra}{lag_txt} cpu_ms={front['cpu_ms']:.2f} "
          f"load_avg={Path('/proc/loadavg').read_text().split()[0]} targets={'met' if all(checks.values()) else 'missed'}")
    return 0 if checks["acked_eq_stored"] else 1


if __name__ == "__main__":
    sys.exit(main())
