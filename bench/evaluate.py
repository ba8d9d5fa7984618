"""Benchmark of the evaluation engine on a synthetic province.

Generates COUNTIES county workbooks of SCHOOLS schools each (evaluator.workbook.demo_frames,
written as XLSX; generation is not timed), then for each county times reading and
validating the workbook, the full evaluation and the report dict serialised to JSON,
and measures the process's peak resident memory during that county (Linux: VmHWM,
reset per county through /proc/self/clear_refs).

    .venv/bin/python bench/evaluate.py [--counties 100] [--schools 200] [--rules national-2017]
    .venv/bin/python bench/evaluate.py --counties 0 --large 3000 [--repeat 3]

Target (issue 3): ≤ 0.5 s and ≤ 300 MB for a 200-school county.

``--large N`` (issue 12 item 4) adds one county of N schools (a large city; 3,000 schools is
≈80,000 class rows and ≈15,000 room rows, a 2 MB / 23 MB-uncompressed XLSX) and prints, best
of ``--repeat`` runs, the time of each step: reading the XLSX cells (``read_xlsx``),
validation (the rest of ``read_workbook``: frames, types, cross-sheet checks), the evaluation
and ``to_dict`` + ``json.dumps``; the baseline measured in the same run is openpyxl's
read-only mode reading the cells of the same file (``iter_rows(values_only=True)``, every
sheet). Target: read + validate + evaluate + to_dict ≤ 2 s, judged on this process's CPU time
(the wall time is printed too: on the shared machine it includes time given to others).
The last line is ``evaluate: … targets=met|missed``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.rules import load_ruleset  # noqa: E402
from evaluator.verdict import evaluate_workbook  # noqa: E402
from evaluator.workbook import demo_frames, read_workbook, write_workbook  # noqa: E402
from evaluator.workbook.read import read_xlsx  # noqa: E402

LARGE_TARGET_S = 2.0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, default=100)
    ap.add_argument("--schools", type=int, default=200)
    ap.add_argument("--rules", default="national-2017")
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    ap.add_argument("--large", type=int, default=0, help="also time one county of this many schools (e.g. 3000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the --large county (best is reported)")
    args = ap.parse_args(argv)
    rules = load_ruleset(args.rules)
    summary = [f"load={os.getloadavg()[0]:.1f}"]
    ok_all = True
    if args.counties:
        ok_all = _province(args, rules, summary)
    if args.large:
        ok_all = _large(args, rules, summary) and ok_all
    print("evaluate: " + " ".join(summary) + f" targets={'met' if ok_all else 'missed'}")
    return 0


def _timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _serialise(result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False)


def _openpyxl_cells(path: Path) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += len(row)
    wb.close()
    return n


def _large(args, rules, summary: list[str]) -> bool:
    """One county of ``args.large`` schools, each step timed (best of ``args.repeat``)."""
    steps = ("reading", "validation", "evaluation", "to_dict", "total", "openpyxl")
    best = {k: (float("inf"), float("inf")) for k in steps}  # (wall, cpu)

    def keep(name: str, wall: float, cpu: float) -> None:
        w, c = best[name]
        best[name] = (min(w, wall), min(c, cpu))

    with tempfile.TemporaryDirectory() as tmp:
        path = write_workbook(Path(tmp) / "city.xlsx", demo_frames(seed=7, schools=args.large))
        size = path.stat().st_size
        for _ in range(args.repeat):
            sheets, w_read, c_read = _timed(read_xlsx, path)
            workbook, w_all, c_all = _timed(read_workbook, path, rules)
            result, w_eval, c_eval = _timed(evaluate_workbook, workbook, rules)
            _, w_dict, c_dict = _timed(_serialise, result)
            _, w_base, c_base = _timed(_openpyxl_cells, path)
            keep("reading", w_read, c_read)
            keep("validation", max(0.0, w_all - w_read), max(0.0, c_all - c_read))
            keep("evaluation", w_eval, c_eval)
            keep("to_dict", w_dict, c_dict)
            keep("total", w_all + w_eval + w_dict, c_all + c_eval + c_dict)
            keep("openpyxl", w_base, c_base)
    cells = sum(len(r) for rows in sheets.values() for r in rows)
    print(f"large county: {args.large} schools, {len(workbook.classes)} class rows, {len(workbook.rooms)} room rows, "
          f"{cells} cells, XLSX {size / 1e6:.1f} MB; best of {args.repeat}, load average {os.getloadavg()[0]:.1f}")
    for name in steps:
        w, c = best[name]
        label = {"openpyxl": "baseline: openpyxl read-only, cells only", "total": "read + validate + evaluate + to_dict",
                 "validation": "validation (read_workbook − reading)"}.get(name, name)
        print(f"  {label:<42} wall {w:6.3f} s   CPU {c:6.3f} s")
    ratio = best["openpyxl"][1] / best["reading"][1]
    print(f"  reading vs openpyxl read-only (CPU): {ratio:.1f}× faster")
    ok = best["total"][1] <= LARGE_TARGET_S
    print(f"target ≤{LARGE_TARGET_S:g} s for a {args.large}-school county (CPU time of this process): "
          + ("met" if ok else "NOT met") + f"; best wall {best['total'][0]:.3f} s")
    summary += [f"large_schools={args.large}", f"large_total_cpu_s={best['total'][1]:.3f}",
                f"large_total_wall_s={best['total'][0]:.3f}", f"large_read_cpu_s={best['reading'][1]:.3f}",
                f"openpyxl_read_cpu_s={best['openpyxl'][1]:.3f}"]
    return ok


def _province(args, rules, summary: list[str]) -> bool:
    times: list[float] = []
    cpus: list[float] = []
    peaks: list[float] = []
    verdicts: dict[str, int] = {}
    resettable = _reset_peak()
    with tempfile.TemporaryDirectory() as tmp:
        total_start = time.perf_counter()
        for c in range(args.counties):
            path = write_workbook(Path(tmp) / f"county{c}.xlsx", demo_frames(seed=c, schools=args.schools))
            _reset_peak()
            start, cpu_start = time.perf_counter(), time.process_time()
            workbook = read_workbook(path)
            report = evaluate_workbook(workbook, rules).to_dict()
            json.dumps(report, ensure_ascii=False, allow_nan=False)
            elapsed = time.perf_counter() - start
            cpus.append(time.process_time() - cpu_start)
            peak = _peak_mb()
            times.append(elapsed)
            peaks.append(peak)
            verdicts[report["verdict"]] = verdicts.get(report["verdict"], 0) + 1
            path.unlink()
            if not args.quiet:
                print(f"county {c:3d}: {elapsed:.3f} s, peak {peak:.0f} MB, {len(report['schools'])} school parts, "
                      f"{report['verdict']}")
        wall = time.perf_counter() - total_start
    print(f"counties: {args.counties} × {args.schools} schools ({args.rules})")
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    print(f"per county (read + validate + evaluate + JSON), wall: median {statistics.median(times):.3f} s, "
          f"p95 {p95:.3f} s, max {max(times):.3f} s, total {sum(times):.1f} s")
    print(f"per county, CPU time of this process: median {statistics.median(cpus):.3f} s, max {max(cpus):.3f} s "
          "(wall minus CPU = time the shared machine gave to others)")
    print(f"peak memory per county: median {statistics.median(peaks):.0f} MB, max {max(peaks):.0f} MB"
          + ("" if resettable else " (peak not resettable here: process-wide maximum)"))
    print(f"wall clock including workbook generation: {wall:.1f} s; verdicts: {verdicts}")
    ok = statistics.median(times) <= 0.5 and max(cpus) <= 0.5 and max(peaks) <= 300
    print("target ≤0.5 s and ≤300 MB per 200-school county (median wall, max CPU, max memory): "
          + ("met" if ok else "NOT met"))
    summary += [f"counties={args.counties}", f"median_s={statistics.median(times):.3f}",
                f"max_cpu_s={max(cpus):.3f}", f"max_peak_mb={max(peaks):.0f}"]
    return ok


if __name__ == "__main__":
    sys.exit(main())
