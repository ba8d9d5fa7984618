"""The overview and the projection what-if in Debian chromium (Playwright): a city inspector
filters the county table, exports it, drills down to a county, moves a planned project and
sees the verdict year move; the printable review report prints to PDF."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from survey.db import db
from tests.survey.overview_city import ANSHAN, build_city
from tests.survey.test_browser import PHONE, browser, live  # noqa: F401  (fixtures)
from tests.survey.test_workspace_browser import DESKTOP, sign_in

pytestmark = pytest.mark.browser


def test_overview_filter_export_drill_down_and_what_if(app, live, browser, tmp_path):  # noqa: F811
    app.config["OVERVIEW_YEAR"] = 2026
    with app.app_context():
        build_city(tmp_path)
        db.session.remove()
    ctx = browser.new_context(**DESKTOP, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, live, "anshan")
    page.get_by_role("link", name="县域总览与规划").click()
    rows = page.locator("#overview tbody tr")
    assert rows.count() == len(ANSHAN)
    assert page.locator('tr[data-county="210304"] [data-light]').inner_text() == "有风险"

    page.locator('select[name="light"]').select_option(label="有风险")
    page.get_by_role("button", name="筛选").click()
    assert sorted(page.locator("#overview tbody tr").evaluate_all("rs => rs.map(r => r.dataset.county)")) == \
        ["210304", "210311", "210381"]
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    path = tmp_path / "export.xlsx"
    info.value.save_as(path)
    assert sorted(r[0] for r in load_workbook(path).active.iter_rows(min_row=3, values_only=True)) == \
        ["210304", "210311", "210381"]

    page.goto(live + "overview/")
    page.get_by_role("link", name="铁西区").click()
    page.get_by_role("link", name="逐年测算与模拟").click()
    assert page.locator("#verdict-year").inner_text() == "预计 2027 年达到优质均衡认定要求。"
    assert page.locator("svg.chart").count() == 14
    page.get_by_label(re.compile("模拟年份 三小运动场及音乐教室")).select_option("2026")
    page.get_by_role("button", name="模拟测算").click()
    assert "原规划：2027 年达到；模拟：2026 年达到。" in page.locator("#whatif-result").inner_text()

    page.goto(live + "overview/review")
    assert page.locator("section.county").count() == len(ANSHAN)
    assert page.pdf(format="A4")[:4] == b"%PDF"

    phone = browser.new_context(**PHONE)  # the table stays usable on a phone (narrow columns hidden)
    p2 = phone.new_page()
    sign_in(p2, live, "anshan")
    p2.goto(live + "overview/")
    assert p2.locator("#overview tbody tr").count() == len(ANSHAN)
    assert p2.evaluate("document.documentElement.scrollWidth") <= 390 + 1
