"""Fixtures of the report-writer tests: the hand-made sample report and a contract-only one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
_SAMPLE = json.loads((DATA / "sample_report.json").read_text(encoding="utf-8"))
ITEM_CODES = (
    [f"1.{i}" for i in range(1, 10)]
    + [f"2.{i}" for i in range(1, 16)]
    + [f"3.{i}" for i in range(1, 10)]
    + [f"4.{i}" for i in range(1, 7)]
    + ["5"]
)


@pytest.fixture
def sample() -> dict[str, Any]:
    """The hand-made sample report (a fresh copy per test)."""
    return copy.deepcopy(_SAMPLE)


@pytest.fixture
def minimal() -> dict[str, Any]:
    """Only the docs/interfaces.md §4 keys: no extensions, no recognition, no provenance."""
    items = [{"code": c, "title": f"指标{c}", "status": "pending" if c == "5" else "pass", "detail": ""}
             for c in ITEM_CODES]
    school = copy.deepcopy(_SAMPLE["schools"][0])
    contract_school = {k: school[k] for k in ("school_code", "name", "stage", "met_count", "pass")}
    contract_school["indicators"] = {
        k: {f: v[f] for f in ("value", "threshold", "met")} for k, v in school["indicators"].items()
    }
    return {
        "verdict": "incomplete",
        "rules": "national-2017",
        "items": items,
        "schools": [contract_school],
        "cv": {"primary": {"qualified_teachers": None}, "junior": {}},
        "recognition": None,
        "shortfalls": [{"school_code": school["school_code"], "what": "音乐专用教室", "amount": 2, "unit": "间"}],
    }
