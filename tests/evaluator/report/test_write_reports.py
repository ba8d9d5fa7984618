"""write_reports: the four files, JSON round trip, no leftovers, and the real engine's dict."""

from __future__ import annotations

import json

import openpyxl
import pytest
from docx import Document

from evaluator.report import write_reports
from evaluator.report.display import format_value

from .conftest import ITEM_CODES


def test_writes_four_files(sample, tmp_path):
    out = tmp_path / "nested" / "out"
    paths = write_reports(sample, out)
    assert [p.name for p in paths] == ["report.json", "report.html", "report.docx", "report.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no .part left over
    text = (out / "report.json").read_text(encoding="utf-8")
    assert json.loads(text) == sample
    assert "华侨城小学" in text and text.startswith('{\n  "verdict"')  # ensure_ascii=False, indent=2


def test_minimal_contract_dict(minimal, tmp_path):
    paths = write_reports(minimal, tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_failure_leaves_no_partial_file(sample, tmp_path):
    sample["items"][0]["rectification"] = {"measures": object()}  # not JSON serialisable
    with pytest.raises(TypeError):
        write_reports(sample, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_real_engine_demo_county_renders(tmp_path):
    """The engine's own demo county (evaluator.workbook.demo_workbook) through every writer."""
    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import demo_workbook, read_workbook

    workbook = read_workbook(demo_workbook(tmp_path / "demo.xlsx"))
    report = evaluate_workbook(workbook, load_ruleset()).to_dict()
    paths = write_reports(report, tmp_path / "out")
    html = paths[1].read_text(encoding="utf-8")
    for code in ITEM_CODES:
        assert f">{code} " in html, code
    split = [s["label"] for s in report["schools"] if s.get("school_type") == "九年一贯制"]
    assert split and all(label in html for label in split)
    doc = Document(str(paths[2]))
    items = next(t for t in doc.tables if t.rows[0].cells[0].text == "指标")
    assert len(items.rows) == 1 + len(report["items"]) + 5
    wb = openpyxl.load_workbook(paths[3])
    matrix = wb["学校指标"]
    assert matrix.cell(row=2 + len(report["schools"]), column=1).value == report["schools"][-1]["label"]
    totals = report["shortfall_totals"]
    assert totals
    for t in totals:
        assert f"共缺少{format_value(t['amount'], 'num')}{t['unit']}{t['what']}" in html


def test_real_recognition_estimate_renders(tmp_path):
    """Simulated answers through the real estimator (evaluator.recognition) into every writer."""
    import numpy as np
    import pandas as pd

    from evaluator.recognition import recognize
    from evaluator.recognition.responses import rules_of
    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import demo_workbook, read_workbook

    ruleset = load_ruleset()
    workbook = read_workbook(demo_workbook(tmp_path / "demo.xlsx"))
    rng = np.random.default_rng(7)
    codes = list(workbook.schools["school_code"])
    labels = ["满意", "比较满意", "基本满意", "不满意", "不了解"]
    rows = []
    for group, n in [("parent", 240), ("student", 120), ("teacher", 60), ("principal", 20),
                     ("npc_deputy", 12), ("cppcc_member", 10), ("public", 30)]:
        for _ in range(n):
            school = codes[rng.integers(len(codes))] if group in ("parent", "student", "teacher", "principal") else ""
            answers = rng.choice(labels, size=6, p=[0.5, 0.2, 0.12, 0.1, 0.08])
            rows.append({"group": group, "school_code": school, "duration_seconds": float(rng.integers(15, 400)),
                         **{f"q{k + 1}": a for k, a in enumerate(answers)}})
    recognition = recognize(pd.DataFrame(rows), workbook.schools, rules_of(ruleset)).to_dict()
    report = evaluate_workbook(workbook, ruleset, recognition=recognition).to_dict()
    paths = write_reports(report, tmp_path / "out")
    html = paths[1].read_text(encoding="utf-8")
    rec = report["recognition"]
    assert f"社会认可度为{format_value(rec['score'], 'pct')}" in html
    for key, group in rec["groups"].items():
        assert format_value(group["score"], "pct") in html, key
    ws = openpyxl.load_workbook(paths[3])["社会认可度"]
    cell = next(r for r in ws.iter_rows() if r[0].value == "社会认可度（加权）")[1]
    assert cell.value == rec["score"]
    shown = [r[0].value for r in ws.iter_rows() if r[0].value and str(r[0].value).isdigit()]
    assert shown and set(shown) <= set(rec["schools"])
