"""Benchmark of the evaluation engine on a synthetic province.

Generates COUNTIES county workbooks of SCHOOLS schools each (evaluator.workbook.demo_frames,
written as XLSX; generation is not timed), then for each county times reading and
validating the workbook, the full evaluation and the report dict serialised to JSON,
and measures the process's peak resident memory during that county (Linux: VmHWM,
reset per county through /proc/self/clear_refs).

    .venv/bin/python bench/evaluate.py [--counties 100] [--schools 200] [--rules national-2017]

Target (issue 3): ≤ 0.5 s and ≤ 300 MB for a 200-school county.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.rules import load_ruleset  # noqa: E402
from evaluator.verdict import evaluate_workbook  # noqa: E402
from evaluator.workbook import demo_frames, read_workbook, write_workbook  # noqa: E402


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
    args = ap.parse_args(argv)
    rules = load_ruleset(args.rules)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
