"""The printed report (issue 11, item 8): Chromium → A4 PDF → pdftotext page by page. No page
(but the last) is nearly blank, and no page ends with a heading or a table title whose
content starts on the next page. Run on the demo county's report and on the hand-made sample;
the PDFs are kept under tests/artifacts/ for a person to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evaluator.report import render_html
from evaluator.rules import load_ruleset
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import demo_workbook, read_workbook

from .test_browser import ARGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
MIN_CHARS = 200  # a page with less text than this (a stray note, one heading) counts as near-blank


def _print(html: str, pdf: Path) -> list[str]:
    """Print ``html`` to ``pdf`` (A4); return the texts of headings and table titles."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() or shutil.which("pdftotext") is None:
        pytest.fail("需要 Debian chromium 和 poppler-utils（见 README 测试命令）")
    src = pdf.with_suffix(".html")
    src.write_text(html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(src.as_uri(), wait_until="load")
            page.pdf(path=str(pdf), format="A4", print_background=True)
            heads = page.eval_on_selector_all("h1, h2, h3, caption", "els => els.map(e => e.innerText)")
        finally:
            browser.close()
    return ["".join(h.split()) for h in heads if h.strip()]


def _pages(pdf: Path) -> list[list[str]]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    pages = []
    for i in range(1, n + 1):
        text = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        lines = ["".join(line.split()) for line in text.splitlines() if line.strip()]
        pages.append([line for line in lines if not re.fullmatch(r"—\d+/\d+—", line)])  # page-number footer
    return pages


def _check(pages: list[list[str]], heads: list[str]) -> None:
    assert len(pages) >= 2
    for i, lines in enumerate(pages[:-1], start=1):
        chars = sum(len(line) for line in lines)
        assert chars >= MIN_CHARS, f"第 {i} 页几乎空白（{chars} 字）：{lines}"
        assert lines[-1] not in heads, f"第 {i} 页以标题“{lines[-1]}”结尾，内容在下一页"


@pytest.mark.browser
def test_demo_report_prints_without_blank_pages_or_orphaned_headings(tmp_path):
    wb = read_workbook(demo_workbook(tmp_path / "demo.xlsx"))
    report = evaluate_workbook(wb, load_ruleset("national-2017")).to_dict()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report_demo.pdf"
    heads = _print(render_html(report), pdf)
    pages = _pages(pdf)
    _check(pages, heads)
    flat = "".join("".join(p) for p in pages)
    # readers' words, not machine strings
    assert "evaluator0.1" not in flat and "优质均衡督导评估工具0.1版" in flat
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", flat) and "（北京时间）" in flat
    assert "国家标准，教督〔2017〕6号" in flat
    assert "--responses" not in flat


@pytest.mark.browser
def test_sample_report_prints_without_blank_pages_or_orphaned_headings(sample, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report_sample.pdf"
    heads = _print(render_html(sample), pdf)
    _check(_pages(pdf), heads)
