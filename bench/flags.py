"""Benchmark of the integrity signals at scale (issue 12 items 2–3).

    .venv/bin/python bench/flags.py [--sizes 100000,1000000] [--baseline-max 100000] [--schools 200] [--seed 1]

A ``--schools``-school round (1,003 links at 200) on a scratch PostgreSQL database
(bench/_pg.py), grown to each size by COPY with bench/live_pages.py's loader (random answers
with 不了解, 3 % speeders, 5 % fast straight-liners). At each size, each computation runs in its
own child process; wall and CPU time are the computation's own (measured in the child, app
start excluded), peak RSS comes from ``os.wait4``'s rusage, "above" is the peak minus the
child's RSS just before the computation (the app's own memory):

- ``old`` (baseline, only up to ``--baseline-max``): the signals as computed before issue 12,
  the whole round in one frame (``round_frames`` + tests/evaluator/integrity_reference.py);
- ``stream``: ``round_integrity`` as the export, the seal and the pages call it (the round
  read link by link, evaluator.integrity.Signals).

Both print a digest of their report (flags with detail text and order, the kinds of every
response, the flagged timeline bins); ``same`` says the digests are equal where both ran.

Targets at 1M responses: stream ≤ 15 s CPU and ≤ 80 MB above the app's own memory, and the same
report as the old computation. Last line: ``flags: key=value … targets=met|missed``; exit
status 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import scratch_database  # noqa: E402

CHILD = """
import hashlib, json, sys, time
from survey import create_app
from survey.db import db
from survey.models import SurveyRound

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

def digest(report):
    bins = {k: sorted(str(b) for b in v) for k, v in report.flagged_bins.items()}
    blob = json.dumps([report.responses, report.flags, sorted((str(i), k) for i, k in report.by_response.items()),
                       sorted(bins.items())], ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

mode, url, rid = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
with app.app_context():
    from survey.integrity.report import integrity_rules, round_frames, round_integrity
    from tests.evaluator.integrity_reference import detect_reference
    rnd = db.session.get(SurveyRound, rid)
    rnd.ruleset, list(rnd.schools)
    before = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "old":
        responses, starts, meta = round_frames(rnd)
        report = detect_reference(responses, starts, integrity_rules(rnd.ruleset), {s.code: s.name for s in rnd.schools},
                                  meta)
    else:
        report = round_integrity(rnd)[0]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "before_mb": before, "digest": digest(report),
                  "responses": report.responses, "flags": len(report.flags), "flagged": report.flagged}))
"""


def child(mode: str, url: str, rid: int) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode, url, str(rid)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{mode} child failed with status {status}")
    res = json.loads(out)
    res["peak_mb"] = usage.ru_maxrss / 1024
    res["above_mb"] = res["peak_mb"] - res["before_mb"]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--baseline-max", type=int, default=100_000)
    ap.add_argument("--schools", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    from bench.live_pages import Loader, make_round

    figures: dict[str, float | str] = {}
    same = True
    with scratch_database("bench_flags") as url:
        from survey import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            rid = make_round(args.schools)
            loader = Loader(rid, args.seed)
        loaded = 0
        for size in sizes:
            t0 = time.perf_counter()
            loader.load(url, size - loaded)
            loaded = size
            print(f"n={size}: loaded in {time.perf_counter() - t0:.1f}s", flush=True)
            runs = {}
            for mode in ("old", "stream") if size <= args.baseline_max else ("stream",):
                runs[mode] = r = child(mode, url, rid)
                print(f"n={size} {mode}: wall={r['wall']:.2f}s cpu={r['cpu']:.2f}s peak={r['peak_mb']:.0f}MB "
                      f"above={r['above_mb']:.0f}MB flags={r['flags']} flagged={r['flagged']} digest={r['digest']} "
                      f"load={os.getloadavg()[0]:.2f}", flush=True)
                tag = f"{mode}_{size // 1000}k"
                figures.update({f"{tag}_s": r["wall"], f"{tag}_cpu": r["cpu"], f"{tag}_mb": r["peak_mb"],
                                f"{tag}_above_mb": r["above_mb"]})
            if "old" in runs:
                same = same and runs["old"]["digest"] == runs["stream"]["digest"]
    big = max(sizes)
    met = (big >= 1_000_000 and same and figures[f"stream_{big // 1000}k_cpu"] <= 15
           and figures[f"stream_{big // 1000}k_above_mb"] <= 80)
    print("flags: " + " ".join(f"{k}={v:.2f}" for k, v in figures.items())
          + f" same={'yes' if same else 'no'} load_avg={os.getloadavg()[0]:.2f} targets={'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
