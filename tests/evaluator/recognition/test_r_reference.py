"""The committed R outputs (data/county_*_r.csv, which test_estimator compares with our
estimator to 1e-9) are what reference.R computes with R's survey package today.

Runs Rscript on a copy of the inputs (never writing into the checkout). Without R the test
is skipped, and with CI=true a skip fails the run (tests/conftest.py): the README's test
command installs r-base-core and r-cran-survey.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
COUNTIES = ("county_a", "county_b")


def _values(path: Path) -> dict[tuple[str, str, str], float]:
    with path.open(encoding="utf-8") as fh:
        return {(r["what"], r["key"], r["stat"]): float(r["value"]) for r in csv.DictReader(fh)}


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_reference_r_script_reproduces_the_committed_outputs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    shutil.copy(HERE / "reference.R", tmp_path)
    for county in COUNTIES:
        for part in ("responses", "schools"):
            shutil.copy(HERE / "data" / f"{county}_{part}.csv", tmp_path / "data")
    run = subprocess.run(["Rscript", "reference.R"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for county in COUNTIES:
        fresh, committed = _values(tmp_path / "data" / f"{county}_r.csv"), _values(HERE / "data" / f"{county}_r.csv")
        assert fresh.keys() == committed.keys() and len(fresh) > 20
        for key, value in committed.items():
            assert fresh[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
