"""Writers tolerate any subset of the extension keys and odd values (never recompute, never crash)."""

from __future__ import annotations

import copy
import json
import math

import openpyxl
import pytest
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.report import render_html, write_docx, write_json, write_xlsx

from .conftest import _SAMPLE

TOP = ["recognition", "shortfalls", "shortfall_totals", "reasons", "county", "provenance", "cv_limits",
       "cv_notes", "cv_mode", "schools", "cv", "items"]
ITEM = ["area", "problem", "missing", "rectification", "detail", "title", "status"]
SCHOOL = ["label", "school_type", "students", "excluded", "indicators", "met_count", "pass", "name"]
REC = ["ci", "se", "df", "groups", "items", "schools", "deff", "unfiltered", "dropped", "threshold",
       "dont_know_as_no", "status", "score"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=st.sets(st.sampled_from(TOP)), item=st.sets(st.sampled_from(ITEM)),
       school=st.sets(st.sampled_from(SCHOOL)), rec=st.sets(st.sampled_from(REC)),
       rec_nulls=st.sets(st.sampled_from(REC)), top_nulls=st.sets(st.sampled_from(TOP)))
def test_any_keys_absent_or_null(tmp_path, top, item, school, rec, rec_nulls, top_nulls):
    report = copy.deepcopy(_SAMPLE)
    for it in report["items"]:
        for key in item:
            it.pop(key, None)
    for s in report["schools"]:
        for key in school:
            s.pop(key, None)
    for key in rec:
        report["recognition"].pop(key, None)
    for key in rec_nulls:
        report["recognition"][key] = None
    for key in top:
        report.pop(key, None)
    for key in top_nulls:
        report[key] = None
    html = render_html(report)
    assert "评估结论" in html
    Document(str(write_docx(report, tmp_path / "r.docx", charts_font=False)))
    openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))


def test_nan_is_shown_as_missing_and_refused_in_json(sample, tmp_path):
    sample["schools"][0]["indicators"]["qualified_teachers"]["value"] = math.nan
    assert ">—<" in render_html(sample)
    ws = openpyxl.load_workbook(write_xlsx(sample, tmp_path / "r.xlsx"))["学校指标"]
    assert ws["D3"].value is None
    with pytest.raises(ValueError):
        write_json(sample, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_json_round_trip_keeps_unicode(sample, tmp_path):
    path = write_json(sample, tmp_path / "r.json")
    assert json.loads(path.read_text(encoding="utf-8")) == sample


def test_numpy_scalars_are_written_as_numbers(sample, tmp_path):
    import numpy as np

    sample["schools"][0]["students"] = np.int64(1860)
    sample["cv"]["primary"]["qualified_teachers"] = np.float64(0.0712)
    path = write_json(sample, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schools"][0]["students"] == 1860 and data["cv"]["primary"]["qualified_teachers"] == 0.0712
    with pytest.raises(TypeError, match="无法写入 JSON"):
        write_json({"verdict": object()}, tmp_path / "bad.json")


def test_numpy_scalars_render_as_numbers(sample, tmp_path):
    import numpy as np

    sample["schools"][0]["students"] = np.int64(1860)
    sample["schools"][0]["indicators"]["teaching_area"]["value"] = np.float64(4.12)
    assert ">1860<" in render_html(sample) and ">4.12<" in render_html(sample)
    ws = openpyxl.load_workbook(write_xlsx(sample, tmp_path / "r.xlsx"))["学校指标"]
    assert ws["C3"].value == 1860 and ws["G3"].value == 4.12 and ws["C3"].number_format == "0"
