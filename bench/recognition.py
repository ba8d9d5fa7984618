"""Benchmark of the social-recognition estimator (issue 5, point 9).

    .venv/bin/python bench/recognition.py [--responses 2000000] [--schools 20000] [--items 12] [--seed 1]

Synthetic county: 7 groups, ``--schools`` schools, ``--items`` items per respondent, answers
already coded as the survey database stores them (int8 index into the scale, −1 = not
answered). Ours = quality filters + cell totals (county and per item) + estimate, SE, CI,
group, item and school breakdowns (``cells_from_codes`` + ``estimate_from_cells``).
Statsmodels = WLS of a/v on a constant with weights w·v and cluster-robust SE, one fit
per group, on the same kept respondents (its inputs prepared outside the timing, which
favours it). Peak memory is measured with tracemalloc (numpy allocations included) for
each side separately. Targets on the 2-core dev machine: ≤ 0.5 s, ≤ 400 MB, ≥ 4× faster.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.recognition import RecognitionRules, cells_from_codes, estimate_from_cells  # noqa: E402
from evaluator.recognition.estimator import GROUP_KEYS, LINKED  # noqa: E402
from evaluator.rules import load_ruleset  # noqa: E402

SHARES = {"parent": 0.45, "student": 0.25, "teacher": 0.15, "npc_deputy": 0.002,
          "cppcc_member": 0.002, "public": 0.136}  # principals: one per school, added on top


def make_data(n: int, n_schools: int, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    principals = n_schools
    others = n - principals
    keys = list(SHARES)
    probs = np.array([SHARES[g] for g in keys])
    g_other = rng.choice([GROUP_KEYS.index(g) for g in keys], size=others, p=probs / probs.sum())
    group = np.concatenate([g_other, np.full(principals, GROUP_KEYS.index("principal"))]).astype(np.int64)
    school = np.concatenate([rng.integers(0, n_schools, others), np.arange(n_schools)])
    school = np.where(LINKED[group], school, -1)
    effect = rng.normal(0, 0.5, n_schools)
    shift = np.where(school >= 0, effect[np.maximum(school, 0)], 0.3)
    # code 1..5 = 满意, 比较满意, 基本满意, 不满意, 不了解, 0 = not answered (column-major, as a
    # column store returns it); skewed towards approval by the school effect
    u = rng.random((k, n), dtype=np.float32) - (shift[None, :] * 0.1).astype(np.float32)
    codes = (np.digitize(u, np.array([0.45, 0.65, 0.78, 0.92, 0.97], dtype=np.float32)) + 1).astype(np.uint8)
    codes[codes == 6] = 0
    codes = codes.T  # n × k, Fortran order
    duration = rng.lognormal(5, 0.6, n)
    duration[rng.random(n) < 0.02] = np.nan
    students = rng.integers(50, 3000, n_schools)
    teachers = np.maximum(students // 15, 3)
    frame = pd.DataFrame({"school_code": [f"S{i:05d}" for i in range(n_schools)],
                          "students": students, "teachers": teachers})
    return {"group": group, "school": school, "codes": codes, "duration": duration, "frame": frame}


def ours(data: dict, rules: RecognitionRules, schools: tuple[str, ...], items: tuple[str, ...], weights: dict):
    cells = cells_from_codes(data["group"], data["school"], schools, data["codes"], items, data["duration"], rules)
    return estimate_from_cells(cells, data["frame"], rules, weights, item_texts={})


def ours_groups(data: dict, rules: RecognitionRules, schools: tuple[str, ...], items: tuple[str, ...],
                weights: dict):
    """The job statsmodels does below: filters, weights, group and county estimates with
    their SEs (no item histograms; school domains still computed)."""
    cells = cells_from_codes(data["group"], data["school"], schools, data["codes"], items, data["duration"], rules,
                             per_item=False)
    return estimate_from_cells(cells, data["frame"], rules, weights)


def statsmodels_prep(data: dict, rules: RecognitionRules) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per group: y = a/v, WLS weights w·v, cluster ids — from the same kept respondents."""
    from evaluator.recognition.estimator import respondent_sums
    from evaluator.recognition.filters import quality_flags

    codes = data["codes"]
    per = respondent_sums(codes, rules)
    keep = ~quality_flags(per["t"], codes, data["duration"], rules).drop
    g, s, c = data["group"][keep], data["school"][keep], codes[keep]
    a = np.isin(c, [1, 2, 3]).sum(axis=1).astype(float)
    v = np.isin(c, [1, 2, 3, 4]).sum(axis=1).astype(float)
    frame = data["frame"]
    size = {"students": frame["students"].to_numpy(float), "teachers": frame["teachers"].to_numpy(float)}
    out = []
    for gi, gk in enumerate(GROUP_KEYS):
        sel = g == gi
        if not sel.any():
            continue
        if LINKED[gi]:
            sch = s[sel]
            n_gs = np.bincount(sch, minlength=len(frame))[sch]
            from evaluator.groups import GROUPS

            pop = GROUPS[gk].population
            N = np.ones(len(sch)) if pop == "one" else size[pop][sch]
            w = N / n_gs
            clusters = sch
        else:
            w = np.ones(int(sel.sum()))
            clusters = np.arange(int(sel.sum()))
        vv = v[sel]
        y = np.where(vv > 0, a[sel] / np.where(vv > 0, vv, 1), 0.0)
        out.append((gk, y, w * vv, clusters))
    return out


def statsmodels_run(prepared) -> dict[str, tuple[float, float]]:
    import statsmodels.api as sm

    res = {}
    for gk, y, wts, clusters in prepared:
        fit = sm.WLS(y, np.ones((len(y), 1)), weights=wts).fit(
            cov_type="cluster", cov_kwds={"groups": clusters, "use_correction": False})
        m = len(np.unique(clusters))
        res[gk] = (float(fit.params[0]), float(np.sqrt(fit.cov_params()[0, 0] * m / (m - 1))))
    return res


def measure(fn, *args, repeat: int = 1):
    """Best wall time of ``repeat`` untraced runs, then one run under tracemalloc for the
    peak (tracing slows allocation-heavy numpy code, so it is not timed)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, best, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=2_000_000)
    ap.add_argument("--schools", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each side; the best is reported")
    args = ap.parse_args()
    rules = RecognitionRules.from_ruleset(load_ruleset("national-2017"))
    weights = dict(rules.group_weights)
    t0 = time.perf_counter()
    data = make_data(args.responses, args.schools, args.items, args.seed)
    print(f"data: {args.responses:,} responses, {args.schools:,} schools, {len(GROUP_KEYS)} groups, "
          f"{args.items} items (generated in {time.perf_counter() - t0:.1f} s)")
    schools = tuple(data["frame"]["school_code"])
    items = tuple(f"q{j + 1:02d}" for j in range(args.items))

    result, sec, mem = measure(ours, data, rules, schools, items, weights, repeat=args.repeat)
    print(f"ours:        {sec:7.3f} s  peak {mem:7.1f} MB   P = {result.score:.6f}, SE = {result.se:.6f}, "
          f"df = {result.df}, {len(result.groups)} groups, {len(result.items)} items, {len(result.schools)} schools")

    lean, lean_sec, lean_mem = measure(ours_groups, data, rules, schools, items, weights, repeat=args.repeat)
    print(f"ours, groups only: {lean_sec:7.3f} s  peak {lean_mem:7.1f} MB   (same job as statsmodels below)")
    prepared, prep_sec, _ = measure(statsmodels_prep, data, rules)
    sm_res, sm_sec, sm_mem = measure(statsmodels_run, prepared, repeat=args.repeat)
    print(f"statsmodels: {sm_sec:7.3f} s  peak {sm_mem:7.1f} MB   (WLS, cluster-robust SE, one fit per group; "
          f"group SEs only, no item or school breakdowns)")
    print(f"             + {prep_sec:.3f} s to prepare its inputs (filters, a/v, weights) from the same codes")
    worst = max(abs(result.group(g).se - se) / se for g, (_, se) in sm_res.items())
    print(f"ratio, same job (groups): {sm_sec / lean_sec:.1f}× the statsmodels fits alone, "
          f"{(sm_sec + prep_sec) / lean_sec:.1f}× with its preparation from the codes")
    print(f"ratio, full breakdowns vs statsmodels groups: {sm_sec / sec:.1f}× (fits alone), "
          f"{(sm_sec + prep_sec) / sec:.1f}× (with preparation); group SEs agree to {worst:.1e} relative")
    ok = sec <= 0.5 and mem <= 400 and sm_sec / lean_sec >= 4
    print(f"targets (≤0.5 s full, ≤400 MB, ≥4× on the same job): {'met' if ok else 'NOT met'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
