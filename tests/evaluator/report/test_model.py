"""The typed stored report: Report.from_dict / to_dict, schema versions, and old stored JSON.

``data/stored_v1.json`` is an evaluation's stored report written by the code before
``schema_version`` existed (main 142cb97, through survey.services.evaluations.evaluate_inputs,
with a responses file and one rectification): it must keep loading and rendering unchanged.
"""

from __future__ import annotations

import json

import pytest

from evaluator.recognition import RecognitionSummary
from evaluator.report import render_html
from evaluator.report.__main__ import main
from evaluator.report.model import SCHEMA_VERSION, Report, ReportItem, SchoolRow
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import demo_frames, read_workbook, write_workbook

from .conftest import DATA

STORED_V1 = DATA / "stored_v1.json"


def _v1() -> dict:
    return json.loads(STORED_V1.read_text(encoding="utf-8"))


def test_stored_v1_loads_typed_and_round_trips_key_for_key():
    stored = _v1()
    assert "schema_version" not in stored
    report = Report.from_dict(stored)
    assert report.schema_version == 1 and report.verdict == "not_recognized"
    assert isinstance(report.recognition, RecognitionSummary) and report.recognition.status == "fail"
    assert report.recognition.score == stored["recognition"]["score"]
    ci = stored["recognition"]["ci"]
    assert report.recognition.ci == (tuple(ci) if ci else None)
    assert report.recognition.groups == stored["recognition"]["groups"]
    assert all(isinstance(i, ReportItem) for i in report.items) and all(isinstance(s, SchoolRow) for s in report.schools)
    assert report.item("2.2").rectification == {"measures": "新建音乐教室2间", "deadline": "2025年9月",
                                                "department": "县教育局"}
    assert report.provenance.inputs[-1]["name"] == "答卷2024.csv"
    assert report.shortfall_totals and report.shortfall_totals[0].amount > 0
    again = report.to_dict()
    assert again == stored and json.dumps(again, ensure_ascii=False) == json.dumps(stored, ensure_ascii=False)


def test_stored_v1_renders_from_the_dict_and_from_the_typed_report_alike():
    stored = _v1()
    html = render_html(stored)
    assert html == render_html(Report.from_dict(stored))
    assert "新建音乐教室2间" in html and "未达到县域义务教育优质均衡发展督导评估认定标准" in html
    assert stored["schools"][0]["name"] in html


def test_sparse_dicts_keep_what_they_have_and_unknown_keys():
    sparse = {"verdict": "incomplete", "items": [{"code": "5", "status": "pending", "note": "手填"}],
              "custom": {"a": 1}, "recognition": None}
    report = Report.from_dict(sparse)
    assert report.items[0].detail == "" and report.items[0].extra == {"note": "手填"}
    assert report.recognition is None and report.shortfall_totals is None
    assert report.to_dict() == sparse


def test_a_new_report_carries_the_schema_version_and_loads_back(tmp_path):
    import tempfile
    from pathlib import Path


    with tempfile.TemporaryDirectory() as tmp:
        wb = read_workbook(write_workbook(Path(tmp) / "d.xlsx", demo_frames(1, schools=8)))
    evaluation = evaluate_workbook(wb, __import__("evaluator.rules", fromlist=["x"]).load_ruleset())
    data = evaluation.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    typed = evaluation.report()
    assert typed.schema_version == SCHEMA_VERSION and typed.to_dict() == data
    assert typed.recognition is None and typed.item("5").status == "pending"


def test_a_newer_schema_version_is_refused_with_a_message(tmp_path, capsys):
    stored = _v1() | {"schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(ValueError, match="版本"):
        Report.from_dict(stored)
    path = tmp_path / "future.json"
    path.write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "future.json" in err and "schema_version" in err and not (tmp_path / "out").exists()
