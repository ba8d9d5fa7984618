"""The recognition part of a report stays typed: RecognitionResult → RecognitionSummary, which
item 5 (evaluator.verdict.recognition_item) reads by attribute."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from evaluator.recognition import RecognitionRules, RecognitionSummary, recognize
from evaluator.rules import load_ruleset
from evaluator.verdict import as_recognition, recognition_item

DATA = Path(__file__).resolve().parent / "data"
RULES = load_ruleset("national-2017")


@pytest.fixture(scope="module")
def result():
    resp = pd.read_csv(DATA / "county_a_responses.csv", dtype={"school_code": str})
    schools = pd.read_csv(DATA / "county_a_schools.csv", dtype={"school_code": str})
    return recognize(resp, schools, RecognitionRules.from_ruleset(RULES))


def test_the_estimator_result_becomes_a_summary_with_the_same_json(result):
    flagged = {"excluded_flagged": 2, "score": 0.9, "status": "pass"}
    typed = as_recognition(dataclasses.replace(result, without_flagged=flagged))
    assert isinstance(typed, RecognitionSummary)
    assert typed.score == result.score and typed.status == result.status and typed.n_kept == result.n_kept
    assert typed.to_dict() == result.to_dict() | {"without_flagged": flagged}
    assert as_recognition(typed) is typed and as_recognition(None) is None
    item = recognition_item(typed, RULES)
    assert item.status == result.status and f"有效样本{result.n_kept}份" in item.detail


def test_item_5_reads_the_summary_attributes():
    def item(**data):
        return recognition_item(RecognitionSummary.from_dict(data), RULES)

    assert item(status="pass", score=0.84, threshold=0.85).status == "fail"  # the engine's own comparison
    assert item(status="fail", score=0.86, threshold=0.85).status == "pass"
    assert item(status="pass", score=0.80, threshold=0.8).status == "pass"
    assert item(status="pass", score=None).status == "pending"  # no score, no verdict
    assert item(status="pass", score=True).status == "pending"  # a boolean is not a score
    odd = item(status="maybe", score=0.9)
    assert odd.status == "pending" and "无法识别" in odd.detail
    ci = item(status="pass", score=0.9, threshold=0.85, ci=[0.86, 0.93], confidence=0.9, borderline=True)
    assert "90%置信区间86%–93%" in ci.detail and "临界" in ci.detail
    assert item(status="pending", score=0.9).status == "pending"
    assert recognition_item(None, RULES).status == "pending"
