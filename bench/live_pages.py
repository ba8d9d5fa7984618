"""Benchmark of the live pages at scale (issue 12 item 2).

    .venv/bin/python bench/live_pages.py [--sizes 10000,100000,1000000] [--schools 200]
                                         [--baseline-max 1000000] [--export-max 1000000]
                                         [--flags-max 1000000] [--seed 1]

A 200-school round on a scratch PostgreSQL database (127.0.0.1:5432), grown to each size in
turn by bulk loading responses with COPY (random answers with 不了解, speeders and fast
straight-liners, chained as the service chains them). At each size, through the Flask test
client signed in as an admin:

- ``cold``: the first results page after the bulk load with the round's cell sums emptied, so
  the refresh sums every response (the integrity flags marked as just computed);
- ``flags``: the integrity flags computed alone (survey.integrity over every response: the one
  O(responses) part, redone at most every LIVE_FLAGS_MAX_AGE_SECONDS when responses arrive;
  only up to ``--flags-max`` responses; read link by link since issue 12, so the default is every size);
- ``warm``: the results page after 100 new responses (the refresh adds those; flags kept);
- ``same``: the results page again, nothing new;
- ``progress``: the progress page;
- ``export``: the CSV download ``/admin/rounds/<id>/export.csv`` read to the end (whatever the
  export service is; only up to ``--export-max`` responses; it streams since issue 12, so the default is every size);
- ``baseline``: the old page's cell query — every response's JSON unnested (four passes, as
  the page ran it: kept, item, unfiltered cells and the dropped counts), on the same data.

Each page is timed in wall seconds and in this process's CPU seconds (``*_cpu``: Flask, the
estimator, Jinja; PostgreSQL's own work is in its server process), steadier under contention.

Targets: results page (warm) ≤ 0.5 s at 1M responses; the progress page flat (at the largest
size at most twice the smallest size's, or under 0.1 s). Last line:
``live_pages: key=value … targets=met|missed``; exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._pg import scratch_database  # noqa: E402

SHARES = {"parent": 0.45, "student": 0.25, "teacher": 0.15, "npc_deputy": 0.003, "cppcc_member": 0.003,
          "public": 0.144}
PASSWORD = "quiet violet harbour 9"
COLUMNS = ("round_id", "link_id", "school_id", "group", "instrument", "instrument_version", "answers",
           "started_at", "submitted_at", "duration_seconds", "idempotency_key", "browser_hash", "ip_hash",
           "ua_class", "counted", "chain_seq")


def make_round(n_schools: int):
    from evaluator.roster import RosterSchool
    from survey.db import db
    from survey.instruments import catalogue
    from survey.services.rounds import get_or_create_county, open_round, recognition_rules
    from survey.services.users import create_user

    roster = [RosterSchool(f"B{i:04d}", f"基准学校{i}", "九年一贯制", 800 + 7 * i, 500 + 3 * i, 0, 2000)
              for i in range(n_schools)]
    rnd = open_round(county=get_or_create_county("130100", "基准县"), name="基准调查", roster=roster,
                     catalogue=catalogue(), rules=recognition_rules("national-2017"))
    for ln in rnd.links:
        ln.quota = 10_000_000
    create_user("bench", PASSWORD, "admin", [])
    db.session.commit()
    return rnd.id


class Loader:
    """Random responses for the round's links, written with COPY (one text buffer per batch)."""

    def __init__(self, round_id: int, seed: int):
        from sqlalchemy import select

        from survey.db import db
        from survey.instruments import catalogue
        from survey.models import EntryLink, SurveyRound
        from survey.pins import round_questionnaire

        rnd = db.session.get(SurveyRound, round_id)
        self.round_id = round_id
        self.rng = np.random.default_rng(seed)
        links = db.session.execute(select(EntryLink.id, EntryLink.school_id, EntryLink.group)
                                   .where(EntryLink.round_id == round_id)).all()
        self.links = {g: [(lid, sid) for lid, sid, grp in links if grp == g] for g in {ln[2] for ln in links}}
        self.q = {g: round_questionnaire(rnd, catalogue(), g) for g in self.links}
        self.seq = rnd.chain_length or 0
        self.start = datetime(2026, 11, 1, tzinfo=UTC)

    def rows(self, n: int):
        rng, groups = self.rng, [g for g in SHARES if g in self.links]
        probs = np.array([SHARES[g] for g in groups])
        picks = rng.choice(len(groups), size=n, p=probs / probs.sum())
        kinds, link_draw, ips = rng.random(n), rng.random(n), rng.integers(20_000, size=n)
        width = max(len(q.items) for q in self.q.values())
        labels = rng.choice(5, size=(n, width), p=[0.45, 0.25, 0.12, 0.1, 0.08])
        ordinary = rng.lognormal(5, 0.5, n)
        for k in range(n):
            g = groups[picks[k]]
            lid, sid = self.links[g][int(link_draw[k] * len(self.links[g]))]
            q = self.q[g]
            if kinds[k] < 0.05:  # fast straight-liner
                codes, dur = [0] * len(q.items), 31 + 28 * kinds[k] * 20
            else:
                codes, dur = labels[k, :len(q.items)], 5.0 if kinds[k] < 0.08 else float(ordinary[k])  # speeder
            self.seq += 1
            sub = self.start + timedelta(seconds=int(self.seq * 2.3))
            answers = json.dumps({it.id: q.scale[c] for it, c in zip(q.items, codes, strict=True)},
                                 ensure_ascii=False)
            yield (self.round_id, lid, sid, g, q.id, q.version, answers,
                   sub - timedelta(seconds=dur), sub, dur,
                   f"b{self.seq:x}", f"h{self.seq:x}", f"ip{ips[k]}", "wechat-android", dur >= 30, self.seq)

    def load(self, dsn_url: str, n: int, batch: int = 100_000) -> None:
        import psycopg

        dsn = dsn_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            left = n
            while left:
                m = min(batch, left)
                with conn.cursor() as cur, cur.copy(
                        f"COPY responses ({', '.join(chr(34) + c + chr(34) for c in COLUMNS)}) FROM STDIN") as copy:
                    for row in self.rows(m):
                        copy.write_row(row)
                left -= m
            conn.execute("UPDATE rounds SET chain_length = %s WHERE id = %s", (self.seq, self.round_id))
            conn.commit()
            conn.execute("ANALYZE responses")


CPU: dict[str, float] = {}


def timed(fn, repeat: int = 1, cpu: str | None = None) -> float:
    """Best wall time of ``repeat`` calls; the CPU time of that call kept under ``cpu``."""
    best = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best = wall
            if cpu:
                CPU[cpu] = time.process_time() - c0
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--schools", type=int, default=200)
    ap.add_argument("--baseline-max", type=int, default=1_000_000)
    ap.add_argument("--export-max", type=int, default=1_000_000)
    ap.add_argument("--flags-max", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with scratch_database("bench_live") as url:
        from survey import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                          "RATELIMIT_ENABLED": False, "LIVE_FLAGS_MAX_AGE_SECONDS": 300})
        with app.app_context():
            rid = make_round(args.schools)
            loader = Loader(rid, args.seed)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"username": "bench", "password": PASSWORD,
                                           "csrf_token": token}).status_code in (302, 303)

        def get(path: str) -> None:
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
            for _ in resp.response:  # read a streamed body to the end
                pass

        results, loaded, figures = f"/admin/rounds/{rid}/results", 0, {}
        for size in sizes:
            t0 = time.perf_counter()
            loader.load(url, size - loaded)
            loaded = size
            load_s = time.perf_counter() - t0
            with app.app_context():
                from sqlalchemy import text

                from survey.db import db
                from survey.models import SurveyRound
                from survey.services import cell_sums
                from survey.services.rounds import round_recognition_rules

                for table in ("link_cells", "item_cells", "answer_cells", "dropped_responses", "response_buckets",
                              "flagged_responses", "cell_states"):
                    db.session.execute(text(f"DELETE FROM {table}"))
                # cells empty; flags marked just computed, so that ``cold`` is the cells' refresh + page
                # and ``flags`` is timed on its own
                key = cell_sums.rules_key(round_recognition_rules(db.session.get(SurveyRound, rid)))
                db.session.execute(text("INSERT INTO cell_states (round_id, watermark, rules_key, flags_seq, flags_at) "
                                        "VALUES (:r, 0, :k, -1, :now)"), {"r": rid, "k": key, "now": datetime.now(UTC)})
                db.session.commit()
            f = {"load": load_s, "cold": timed(lambda: get(results))}
            if size <= args.flags_max:
                with app.app_context():
                    rnd = db.session.get(SurveyRound, rid)
                    f["flags"] = timed(lambda r=rnd: cell_sums.refresh_flags(r, round_recognition_rules(r), 0))
                    db.session.commit()
            else:
                f["flags"] = float("nan")
            loader.load(url, 100)
            loaded += 100
            f["warm"] = timed(lambda: get(results), cpu="warm_cpu")
            f["same"] = timed(lambda: get(results), repeat=3, cpu="same_cpu")
            f["progress"] = timed(lambda: get(f"/admin/rounds/{rid}/progress"), repeat=3, cpu="progress_cpu")
            f["export"] = timed(lambda: get(f"/admin/rounds/{rid}/export.csv")) if size <= args.export_max \
                else float("nan")
            if size <= args.baseline_max:
                with app.app_context():
                    rnd = db.session.get(SurveyRound, rid)
                    rules = round_recognition_rules(rnd)
                    f["baseline"] = timed(lambda r=rnd, rr=rules: cell_sums.direct_cells(r, rr))
            else:
                f["baseline"] = float("nan")
            f.update(CPU)
            figures[size] = f
            print(f"n={size}: " + " ".join(f"{k}={v:.3f}s" for k, v in f.items())
                  + f" ratio_baseline_warm={f['baseline'] / f['warm']:.0f}x load_avg={os.getloadavg()[0]:.2f}", flush=True)
    big, small = figures[max(sizes)], figures[min(sizes)]
    flat = big["progress"] <= max(2 * small["progress"], 0.1)
    met = max(sizes) >= 1_000_000 and big["warm"] <= 0.5 and flat
    print("live_pages: " + " ".join(
        f"{k}_{n // 1000}k={v:.3f}" for n, f in figures.items() for k, v in f.items() if k != "load")
        + f" progress_flat={'yes' if flat else 'no'} load_avg={os.getloadavg()[0]:.2f}"
          f" targets={'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
