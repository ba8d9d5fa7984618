"""Golden outlines of the three formats rendered from the sample report (text and structure, not bytes).

Each outline is the reader-visible content: headings, captions, every table cell's text, and for
XLSX the sheet layout (frozen panes, filters, number formats). A deliberate change to the
reports is recorded by regenerating the goldens:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/evaluator/report/test_golden.py

and reviewing the diff of tests/evaluator/report/data/golden_*.json.
"""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document

from evaluator.report import display, render_html, write_docx, write_xlsx

from .conftest import DATA


@pytest.fixture(autouse=True)
def _fixed_field_names(monkeypatch):
    """Field names come from another module (evaluator.workbook); pin them so its wording can change."""
    monkeypatch.setattr(display, "_field_names", lambda: {"monitoring_status": "质量监测抽测情况"})


class _Outline(HTMLParser):
    """Headings, the verdict box, paragraphs and table cells of report.html, in document order."""

    BLOCKS = {"h1", "h2", "h3", "p", "caption", "th", "td", "div"}

    def __init__(self) -> None:
        super().__init__()
        self.out: list[Any] = []
        self.stack: list[str] = []
        self.buf: list[str] = []
        self.row: list[str] | None = None
        self.in_svg = 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.in_svg += 1
            self.out.append("[svg]")
        if self.in_svg:
            return
        if tag == "tr":
            self.row = []
        if tag == "br":
            self.buf.append("\n")
        if tag in self.BLOCKS:
            self.stack.append(tag)
            self.buf = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg -= 1
            return
        if self.in_svg:
            return
        if tag in self.BLOCKS and self.stack and self.stack[-1] == tag:
            self.stack.pop()
            text = "".join(self.buf)
            if tag in ("th", "td") and self.row is not None:
                self.row.append(text)
            else:
                self.out.append(f"{tag}: {text}")
        if tag == "tr" and self.row is not None:
            self.out.append(self.row)
            self.row = None

    def handle_data(self, data):
        if not self.in_svg:
            self.buf.append(data)


def html_outline(report: dict) -> list[Any]:
    parser = _Outline()
    parser.feed(render_html(report))
    return parser.out


def docx_outline(report: dict, path: Path) -> dict[str, Any]:
    doc = Document(str(write_docx(report, path, charts_font=False)))
    body = doc.element.body
    out: list[Any] = []
    tables = iter(doc.tables)
    paragraphs = iter(doc.paragraphs)
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = next(paragraphs)
            if p.text:
                out.append(f"{p.style.name}: {p.text}")
        elif tag == "tbl":
            table = next(tables)
            out.append([[c.text for c in row.cells] for row in table.rows])
    return {"body": out}


def xlsx_outline(report: dict, path: Path) -> dict[str, Any]:
    wb = openpyxl.load_workbook(write_xlsx(report, path))
    out: dict[str, Any] = {}
    for ws in wb:
        formats = sorted({c.number_format for row in ws.iter_rows() for c in row
                          if isinstance(c.value, int | float) and not isinstance(c.value, bool)})
        out[ws.title] = {
            "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "number_formats": formats,
            "rows": [list(r) for r in ws.iter_rows(values_only=True)],
        }
    return out


def _check(name: str, outline: Any) -> None:
    path = DATA / f"golden_{name}.json"
    actual = json.loads(json.dumps(outline, ensure_ascii=False))
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not path.exists():
        pytest.fail(f"缺少 {path.name}：用 UPDATE_GOLDEN=1 生成并审阅")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected, f"{name} 与 {path.name} 不一致；若为有意修改，用 UPDATE_GOLDEN=1 重新生成并审阅差异"


def test_html_golden(sample):
    _check("html", html_outline(sample))


def test_docx_golden(sample, tmp_path):
    _check("docx", docx_outline(sample, tmp_path / "r.docx"))


def test_xlsx_golden(sample, tmp_path):
    _check("xlsx", xlsx_outline(sample, tmp_path / "r.xlsx"))


def test_outline_sees_changes(sample, tmp_path):
    """The outlines are sensitive to a one-cell change (so the goldens can fail)."""
    before = (html_outline(sample), docx_outline(sample, tmp_path / "a.docx"), xlsx_outline(sample, tmp_path / "a.xlsx"))
    sample["items"][3]["rectification"]["deadline"] = "2025年9月"
    after = (html_outline(sample), docx_outline(sample, tmp_path / "b.docx"), xlsx_outline(sample, tmp_path / "b.xlsx"))
    assert all(b != a for b, a in zip(before, after, strict=True))
