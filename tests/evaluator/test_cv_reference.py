"""Item 1.9 against an independent implementation in R (data/r_cv/cv_reference.R).

data/r_cv/schools.csv is a 32-school county (demo seed 0: 九年一贯制, 十二年一贯制, 完全中学 and
教学点 parts included); cv_reference.csv was produced by
    Rscript cv_reference.R schools.csv cv_reference.csv
which apportions, filters and weights from docs/rules.md §2 without using our code.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from evaluator.indicators import evaluate_resources
from evaluator.rules import load_ruleset
from evaluator.workbook import read_workbook

DATA = Path(__file__).parent / "data" / "r_cv"


def _reference(path: Path) -> dict[tuple[str, str], tuple[int, float]]:
    with path.open(encoding="utf-8") as fh:
        return {(r["stage"], r["indicator"]): (int(r["n"]), float(r["cv"])) for r in csv.DictReader(fh)}


def test_weighted_cvs_agree_with_r_to_1e_12() -> None:
    result = evaluate_resources(read_workbook(DATA).schools, load_ruleset())
    reference = _reference(DATA / "cv_reference.csv")
    assert len(reference) == 14
    for (stage, key), (n, cv) in reference.items():
        assert sum(1 for p in result.parts if p.stage == stage and not p.excluded) == n
        assert result.cv[stage][key] == pytest.approx(cv, rel=1e-12, abs=0)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_stored_reference_is_what_the_r_script_produces(tmp_path: Path) -> None:
    out = tmp_path / "cv.csv"
    subprocess.run(["Rscript", str(DATA / "cv_reference.R"), str(DATA / "schools.csv"), str(out)],
                   check=True, capture_output=True, timeout=120)
    assert _reference(out) == _reference(DATA / "cv_reference.csv")
