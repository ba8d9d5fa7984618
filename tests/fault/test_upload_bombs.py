"""(b) Upload bombs (issue 10, findings 1 and 3): refused with a Chinese message naming the
sheet, CLI exit 2 with nothing written, peak memory of the refusing process ≤ 300 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evaluator.errors import InputError
from evaluator.workbook import demo_workbook, read_workbook
from evaluator.workbook.xlsx import Limits, read_sheets
from tests.fault import bombs

ROOT = Path(__file__).resolve().parents[2]
PEAK_MB = 300

# A wrapper that runs one command and reports its child's peak resident memory.
_MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys, time
    t = time.monotonic()
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=240)
    print(json.dumps({"rc": p.returncode, "stderr": p.stderr, "stdout": p.stdout,
                      "seconds": time.monotonic() - t,
                      "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
""")


def measured(*args: str, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, **(env or {})))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


BOMBS = {
    "row 200000000": bombs.huge_row_number,
    "column ZZZZZZ": bombs.far_column,
    "200 MB of <row/>": bombs.empty_rows,
    "60 MB of <c/> in one row": bombs.cells_without_refs,
    "100 MB cell": bombs.giant_cell,
}


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bombs")
    return {name: build(tmp) for name, build in BOMBS.items()}


@pytest.mark.parametrize("name", list(BOMBS))
def test_cli_evaluate_refuses_a_bomb_within_the_memory_bound(bomb_files, tmp_path, name):
    path = bomb_files[name]
    assert path.stat().st_size < 1024 * 1024  # small uploads, far below the 8 MB body limit
    out = tmp_path / "out"
    r = measured(sys.executable, "run.py", "evaluate", "--data", str(path), "--out", str(out))
    assert r["rc"] == 2, r["stderr"][-2000:]
    assert "工作表 schools" in r["stderr"] and "Traceback" not in r["stderr"]
    assert not out.exists() or not any(out.iterdir())
    print(f"\nBOMB {name}: {path.stat().st_size // 1024} KB, peak {r['peak_mb']:.0f} MB, {r['seconds']:.1f} s")
    assert r["peak_mb"] <= PEAK_MB, r
    assert r["seconds"] < 60, r


@pytest.mark.parametrize("name", ["row 200000000", "200 MB of <row/>"])
def test_cli_round_create_refuses_a_roster_bomb(bomb_files, tmp_path, name):
    db_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    r = measured(sys.executable, "run.py", "round", "create", "--county", "330101", "--county-name", "示范县",
                 "--name", "调查", "--schools", str(bomb_files[name]),
                 env={"DATABASE_URL": db_url, "SECRET_KEY": "x"})
    assert r["rc"] == 2, r["stderr"][-2000:]
    assert "工作表 schools" in r["stderr"] and r["stdout"] == ""
    assert r["peak_mb"] <= PEAK_MB, r


def test_entity_expansion_is_refused(tmp_path):
    with pytest.raises(InputError, match="无法作为 Excel（.xlsx）文件打开"):
        read_workbook(bombs.entity_expansion(tmp_path))


def test_truncated_sheet_xml_is_an_input_error_naming_the_sheet(tmp_path):
    with pytest.raises(InputError) as err:
        read_workbook(bombs.truncated_sheet(tmp_path))
    assert err.value.sheet == "schools" and "无法作为 Excel（.xlsx）文件打开" in str(err.value)


@pytest.mark.parametrize("damage", [bombs.bad_crc, bombs.falsified_size, bombs.encrypted_flag])
def test_damaged_zip_is_exit_2_not_a_traceback(tmp_path, damage):
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(damage(demo_workbook(tmp_path / "base.xlsx").read_bytes()))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "run.py", "evaluate", "--data", str(path), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "damaged.xlsx" in r.stderr and "无法作为 Excel（.xlsx）文件打开" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_time_limit(tmp_path):
    path = demo_workbook(tmp_path / "demo.xlsx")
    with pytest.raises(InputError, match="读取超过"):
        read_sheets(path, "demo.xlsx", limits=Limits(max_seconds=0))


def test_limits_come_from_the_environment(tmp_path, monkeypatch):
    path = demo_workbook(tmp_path / "demo.xlsx")
    monkeypatch.setenv("XLSX_MAX_ROWS", "5")
    with pytest.raises(InputError, match="行数超过 5"):
        read_workbook(path)
    monkeypatch.delenv("XLSX_MAX_ROWS")
    assert read_workbook(path).schools.shape[0] > 5
