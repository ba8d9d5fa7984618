"""report.html in headless Debian chromium: no network requests, printed to A4 PDF, text checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from evaluator.report import write_reports

from .conftest import ITEM_CODES

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm


def _print_pdf(html_path: Path, pdf_path: Path) -> list[str]:
    """Load the page with every request routed through a guard; print A4; return the requests seen."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"找不到 {CHROMIUM}：CI 安装 Debian chromium，浏览器测试需要它")
    requests: list[str] = []

    def guard(route):
        url = route.request.url
        requests.append(url)
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", guard)
            page.goto(html_path.as_uri(), wait_until="load")
            page.pdf(path=str(pdf_path), format="A4", print_background=True)
        finally:
            browser.close()
    return requests


def _pdftotext(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("找不到 pdftotext：CI 安装 Debian poppler-utils")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    sizes = []
    for line in info.splitlines():
        if "size:" in line and "pts" in line:
            w, _, h = line.split("size:")[1].split("pts")[0].split()[:3]
            sizes.append((float(w), float(h)))
    return sizes


def _assert_items(flat: str, items: list[dict]) -> None:
    """Every item code is printed with the start of its title (whitespace removed)."""
    assert [it["code"] for it in items] == ITEM_CODES
    for it in items:
        head = "".join(it["title"].split())[:4]
        assert f"{it['code']}{head}" in flat, it["code"]


@pytest.mark.browser
def test_html_prints_to_a4_pdf_with_verdict_and_item_codes(sample, tmp_path):
    html = write_reports(sample, tmp_path)[1]
    pdf = tmp_path / "report.pdf"
    requests = _print_pdf(html, pdf)
    assert [u for u in requests if not u.startswith("file:")] == []
    sizes = _page_sizes(pdf)
    assert len(sizes) >= 5
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in sizes), sizes
    text = _pdftotext(pdf)
    flat = "".join(text.split())
    assert "评估结论：未达到县域义务教育优质均衡发展督导评估认定标准" in flat
    _assert_items(flat, sample["items"])
    for expected in ("4.3设重点学校或重点班", "宝鑫新经典学校（初中部）", "共缺少7间音乐专用教室", "七、数据来源与版本"):
        assert expected in flat, expected
    # the header row of the long item table repeats on the pages it spans
    pages = ["".join(page.split()) for page in text.split("\f")]
    assert f"—1/{len(sizes)}—" in pages[0] and f"—2/{len(sizes)}—" in pages[1]  # @page footer
    assert sum("存在问题" in page and "整改措施" in page for page in pages) >= 2


@pytest.mark.browser
def test_incomplete_verdict_printed(minimal, tmp_path):
    html = write_reports(minimal, tmp_path)[1]
    pdf = tmp_path / "report.pdf"
    _print_pdf(html, pdf)
    flat = "".join(_pdftotext(pdf).split())
    assert "评估结论：评估未完成：存在待定指标，暂不能作出认定结论" in flat


@pytest.mark.browser
def test_engine_demo_county_prints(tmp_path):
    """The real engine's report of its demo county, printed: verdict wording and every item."""
    from evaluator.report.view import VERDICT_TEXT
    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import demo_workbook, read_workbook

    report = evaluate_workbook(read_workbook(demo_workbook(tmp_path / "demo.xlsx")), load_ruleset()).to_dict()
    html = write_reports(report, tmp_path / "out")[1]
    pdf = tmp_path / "report.pdf"
    assert [u for u in _print_pdf(html, pdf) if not u.startswith("file:")] == []
    flat = "".join(_pdftotext(pdf).split())
    assert f"评估结论：{VERDICT_TEXT[report['verdict']]}" in flat
    _assert_items(flat, report["items"])
