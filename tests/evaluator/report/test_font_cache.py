"""Charts get a CJK font even when matplotlib's font cache was built before the fonts were
installed (issue 11, item 8): the README's order (serve, then test) used to reproduce it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

BUILD_CACHE = "import matplotlib.font_manager"  # importing builds the cache in MPLCONFIGDIR

CHECK = r"""
import json, sys, warnings
from matplotlib import font_manager
cached = {f.name for f in font_manager.fontManager.ttflist}
from evaluator.report import charts
font = charts.find_cjk_font()
sample = json.loads(open("tests/evaluator/report/data/sample_report.json", encoding="utf-8").read())
png = charts.png_chart("recognition", sample, font) if font else None
print(json.dumps({"cjk_in_cache": any("CJK" in n for n in cached), "font": font,
                  "png": bool(png) and png[:4] == b"\x89PNG"}))
"""


def _run(code: str, mplconfig: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLCONFIGDIR=str(mplconfig), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_stale_font_cache_without_cjk_still_draws_chinese_charts(tmp_path):
    mpl = tmp_path / "mpl"
    mpl.mkdir()
    built = _run(BUILD_CACHE, mpl)
    assert built.returncode == 0, built.stderr
    caches = list(mpl.glob("fontlist-*.json"))
    assert caches, "matplotlib wrote no font cache"
    # make the cache what it was before fonts-noto-cjk was installed: no CJK font in it
    data = json.loads(caches[0].read_text())
    data["ttflist"] = [f for f in data["ttflist"] if "CJK" not in f["name"] and "cjk" not in f["fname"].lower()]
    caches[0].write_text(json.dumps(data))

    res = _run(CHECK, mpl)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["cjk_in_cache"] is False  # the stale cache really lacks the font …
    assert out["font"] == "Noto Sans CJK SC"  # … and the font is found all the same
    assert out["png"] is True  # and a chart with Chinese text is drawn without missing glyphs
