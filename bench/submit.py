"""Benchmark: respondents submitting through gunicorn on PostgreSQL.

    .venv/bin/python bench/submit.py [--seconds 20] [--pairs 3] [--concurrency 50] [--workers 2] [--threads 4]
    .venv/bin/python bench/submit.py --profile [--respondents 400]

Serves the survey app with gunicorn (≥2 workers) on a scratch PostgreSQL database, drives
concurrent respondents from a separate process (bench/submit_driver.py: GET the form and the
favicon, POST the answers, GET the thank-you page, fresh cookies every time) for a fixed
time, then does the same against a baseline app on the same stack that only inserts one row
(bench/baseline_app.py), ``--pairs`` times back to back (the machine's other load changes within
minutes, so each survey run is compared with the baseline run next to it; the figures and the
targets are the medians over the pairs). Prints stored responses/s, p50/p99 latencies, server CPU per stored
response and the survey/baseline ratio; checks that the stored count equals the acknowledged
count and that there are no duplicates. Last line: ``submit: key=value … targets=met|missed``.
Targets (issue 12, this 2-core machine): ≥300 stored/s, POST p99 ≤250 ms at 50 respondents,
ratio ≥0.5.

``--profile``: the same four requests per respondent in this process (Flask's test client, no
server or network), timed by CPU and then profiled with cProfile: where a respondent's
server-side CPU goes, without the machine's other load in the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import psycopg
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._pg import scratch_database  # noqa: E402

PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def roster(path: Path, schools: int) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "schools"
    ws.append(["school_code", "school_name", "school_type", "students_primary", "students_junior", "teachers_primary"])
    for i in range(schools):
        ws.append([f"B{i:03d}", f"基准小学{i}", "小学", 800 + 10 * i, None, 50])
    wb.save(path)


def serve(app_spec: str, env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [GUNICORN, "-w", str(workers), "-k", "gthread", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--preload", "--log-level", "warning", app_spec],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/s/x", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then (on a loaded machine gunicorn may take longer to drain) SIGKILL."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def server_cpu_seconds(proc: subprocess.Popen) -> float:
    """User+system CPU of gunicorn's master and workers so far (from /proc): a figure that,
    unlike throughput, does not depend on what else the shared machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [proc.pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def drive(base: str, codes: list[str], args) -> dict:
    out = subprocess.run(
        [PY, str(ROOT / "bench" / "submit_driver.py"), "--base", base, "--codes", ",".join(codes),
         "--concurrency", str(args.concurrency), "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
        capture_output=True, text=True, check=True, timeout=args.seconds + args.warmup + 120,
    )
    return json.loads(out.stdout)


def count(url: str, table: str, key: str) -> tuple[int, int]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()


def summary(name: str, res: dict, stored: int, distinct: int) -> dict:
    acked = res["acknowledged"] + res["warmup_acknowledged"]
    return {
        "name": name,
        "stored_per_s": res["acknowledged"] / res["elapsed"],
        "post_p50": float(np.percentile(res["post_ms"], 50)) if res["post_ms"] else float("nan"),
        "post_p99": float(np.percentile(res["post_ms"], 99)) if res["post_ms"] else float("nan"),
        "resp_p50": float(np.percentile(res["respondent_ms"], 50)) if res["respondent_ms"] else float("nan"),
        "resp_p99": float(np.percentile(res["respondent_ms"], 99)) if res["respondent_ms"] else float("nan"),
        "acknowledged": acked, "stored": stored, "distinct": distinct, "errors": res["errors"],
        "cpu_ms": 1000 * res["server_cpu"] / max(1, acked),
    }


def make_round(env: dict, tmp: str, schools: int) -> tuple[int, list[str]]:
    """A round of ``schools`` schools made with the CLI; its id and the parent and student links' codes."""
    roster(Path(tmp) / "r.xlsx", schools)
    made = subprocess.run([PY, "run.py", "round", "create", "--county", "999999", "--county-name", "基准县",
                           "--name", "基准", "--schools", str(Path(tmp) / "r.xlsx"), "--target-n", "2000000"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if made.returncode:
        raise SystemExit(made.stderr)
    links = subprocess.run([PY, "run.py", "round", "links", made.stdout.strip()], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.splitlines()[1:]
    return int(made.stdout), [line.rsplit("/", 1)[1] for line in links if ",parent," in line or ",student," in line]


def verify_chain(env: dict, round_id: int) -> tuple[bool, str]:
    """``round verify`` after the load (the server stopped: every worker has chained what it had)."""
    out = subprocess.run([PY, "run.py", "round", "verify", str(round_id)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    return out.returncode == 0, (out.stdout.strip() or out.stderr.strip()).splitlines()[-1]


def profile(args) -> int:
    """In-process CPU per respondent (form, favicon, POST, thank-you page) and its profile."""
    import random
    import re

    with scratch_database("bench_prof") as url, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", PUBLIC_BASE_URL="http://localhost/")
        round_id, codes = make_round(env, tmp, args.schools)
        os.environ.update(DATABASE_URL=url, SECRET_KEY="bench", PUBLIC_BASE_URL="http://localhost/")
        from survey import create_app

        app = create_app()
        token_re, csrf_re = re.compile(r'name="token"[^>]*value="([^"]+)"'), re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
        items = re.compile(r'name="([a-z]\d\d)"')
        rng = random.Random(7)
        statuses: dict[int, int] = {}

        def one() -> None:
            code = rng.choice(codes)
            client = app.test_client()
            html = client.get(f"/s/{code}").get_data(as_text=True)
            client.get("/favicon.ico").close()
            data = {i: "满意" for i in set(items.findall(html))}
            data["token"] = token_re.search(html).group(1)
            if csrf_re.search(html):
                data["csrf_token"] = csrf_re.search(html).group(1)
            resp = client.post(f"/s/{code}", data=data, headers={"Origin": "http://localhost"})
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            client.get(resp.headers["Location"]).close()

        for _ in range(50):  # warm-up: caches, pool, pins
            one()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.respondents):
            one()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.respondents):
            one()
        prof.disable()
        from survey.integrity import chaining

        chaining.flush()  # the chaining thread's last batch, before the database is dropped
        chained = verify_chain(env, round_id)
        app_ctx = app.app_context()
        app_ctx.push()
        from survey.db import db

        db.engine.dispose()
        app_ctx.pop()
    if args.profile_out:
        prof.dump_stats(args.profile_out)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"in-process, {args.respondents} respondents (form + favicon + POST + thank-you page), load {load}: "
          f"CPU {1000 * cpu / args.respondents:.2f} ms, wall {1000 * wall / args.respondents:.2f} ms per respondent; "
          f"POST statuses {statuses}")
    print(f"round verify: {'PASS' if chained[0] else 'FAIL'} {chained[1]}")
    print(f"submit-profile: cpu_ms_per_respondent={1000 * cpu / args.respondents:.2f} "
          f"wall_ms_per_respondent={1000 * wall / args.respondents:.2f} load={load.split()[0]}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--schools", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=3,
                    help="runs of the survey and the baseline, back to back; figures are medians over the pairs")
    ap.add_argument("--profile", action="store_true", help="in-process CPU per respondent and a cProfile listing")
    ap.add_argument("--respondents", type=int, default=400, help="with --profile")
    ap.add_argument("--profile-out", help="with --profile: also write the cProfile data to this file (pstats)")
    args = ap.parse_args()
    if args.profile:
        return profile(args)
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    runs: list[tuple[dict, dict]] = []  # (survey, baseline) per pair, each pair back to back

    with scratch_database("bench_survey") as url, scratch_database("bench_base") as base_url, \
            tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", PUBLIC_BASE_URL="http://127.0.0.1/")
        base_env = dict(os.environ, DATABASE_URL=base_url)
        round_id, codes = make_round(env, tmp, args.schools)
        acked = {"survey": 0, "baseline": 0}
        for _ in range(args.pairs):
            pair = []
            for name, spec, run_env, run_codes in (("survey", "survey:create_app()", env, codes),
                                                    ("baseline", "bench.baseline_app:create_app()", base_env, ["x"])):
                port = free_port()
                proc = serve(spec, run_env, port, args.workers, args.threads)
                try:
                    cpu0 = server_cpu_seconds(proc)
                    res = drive(f"http://127.0.0.1:{port}/", run_codes, args)
                    res["server_cpu"] = server_cpu_seconds(proc) - cpu0
                finally:
                    stop(proc)
                acked[name] += res["acknowledged"] + res["warmup_acknowledged"]
                pair.append(summary(name, res, 0, 0))
            runs.append((pair[0], pair[1]))
        stored = {"survey": count(url, "responses", "idempotency_key"),
                  "baseline": count(base_url, "baseline_rows", "key")}
        chained = verify_chain(env, round_id)

    print(f"bench/submit: {args.concurrency} concurrent respondents, {args.seconds:.0f} s per run, {args.pairs} "
          f"pair(s) of runs (survey, then baseline), gunicorn {args.workers} workers × {args.threads} threads, "
          f"PostgreSQL, {os.cpu_count()} CPUs")
    print(f"load average before the run: {load_before}")
    print(f"{'':14}{'stored/s':>10}{'POST p50':>10}{'POST p99':>10}{'resp p50':>10}{'resp p99':>10}"
          f"{'CPU/resp':>10}{'acked':>8}  errors")
    for i, pair in enumerate(runs, 1):
        for r in pair:
            print(f"{r['name'] + f' {i}':14}{r['stored_per_s']:10.1f}{r['post_p50']:9.1f}ms{r['post_p99']:8.1f}ms"
                  f"{r['resp_p50']:8.1f}ms{r['resp_p99']:8.1f}ms{r['cpu_ms']:8.2f}ms"
                  f"{r['acknowledged']:8d}  {r['errors'] or '-'}")
        print(f"{'':14}pair {i}: ratio {pair[0]['stored_per_s'] / pair[1]['stored_per_s']:.2f}, server CPU "
              f"{pair[0]['cpu_ms'] / pair[1]['cpu_ms']:.2f}× the baseline's")

    def median(values):
        return float(np.median(values))

    surveys, bases = [p[0] for p in runs], [p[1] for p in runs]
    survey = {k: median([r[k] for r in surveys]) for k in ("stored_per_s", "post_p99", "cpu_ms")}
    base = {k: median([r[k] for r in bases]) for k in ("stored_per_s", "cpu_ms")}
    ratio = median([s["stored_per_s"] / b["stored_per_s"] for s, b in runs])
    print(f"stored = acknowledged: survey {stored['survey'][0]} of {acked['survey']} ({stored['survey'][1]} distinct), "
          f"baseline {stored['baseline'][0]} of {acked['baseline']}")
    print(f"medians over the pairs: survey {survey['stored_per_s']:.1f} stored/s, POST p99 {survey['post_p99']:.1f} ms, "
          f"server CPU {survey['cpu_ms']:.2f} ms per stored response against the baseline's {base['cpu_ms']:.2f} ms; "
          f"ratio {ratio:.2f}")
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average after the run: {load_after}")
    checks = {
        "stored == acknowledged": stored["survey"][0] == acked["survey"],
        "no duplicates": stored["survey"][0] == stored["survey"][1],
        "≥300 stored/s": survey["stored_per_s"] >= 300,
        "p99 ≤250 ms (POST)": survey["post_p99"] <= 250,
        "ratio ≥0.5": ratio >= 0.5,
        f"round verify: {chained[1]}": chained[0],
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    print(f"submit: stored_per_s={survey['stored_per_s']:.1f} post_p99_ms={survey['post_p99']:.1f} "
          f"ratio={ratio:.2f} cpu_ms_per_stored={survey['cpu_ms']:.2f} baseline_stored_per_s={base['stored_per_s']:.1f} "
          f"baseline_cpu_ms={base['cpu_ms']:.2f} pairs={args.pairs} acknowledged={acked['survey']} "
          f"stored={stored['survey'][0]} chain={'verified' if chained[0] else 'BROKEN'} load={load_before.split()[0]} "
          f"targets={'met' if all(checks.values()) else 'missed'}")
    return 0 if checks["stored == acknowledged"] and checks["no duplicates"] and chained[0] else 1


if __name__ == "__main__":
    sys.exit(main())
