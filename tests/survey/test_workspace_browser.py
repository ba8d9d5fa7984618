"""End to end in Debian chromium (Playwright): an evaluator uploads the demo county's
workbook, runs, reads the report in the page and prints it to PDF; a staff member of the
county fills rectification at a phone viewport and downloads the Word file, which carries it."""

from __future__ import annotations

import re
import subprocess

import pytest
from docx import Document

from evaluator.workbook import demo_workbook
from tests.survey.helpers import PASSWORD, make_user
from tests.survey.test_browser import PHONE, browser, live  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_upload_run_view_rectify_download_docx(app, live, browser, tmp_path):  # noqa: F811
    with app.app_context():
        make_user("insp", "evaluator", ("370300",), names={"370300": "演示县"})
        make_user("staff", "staff", ("370300",))
    workbook = demo_workbook(tmp_path / "演示县数据.xlsx")

    desk = browser.new_context(**DESKTOP, accept_downloads=True)
    page = desk.new_page()
    sign_in(page, live, "insp")
    page.get_by_role("link", name="评估与报告").click()
    page.get_by_role("link", name="新建评估").click()
    page.get_by_label("数据工作簿（.xlsx，或 CSV 文件夹的 .zip）").set_input_files(str(workbook))
    assert page.get_by_label("评估规则").input_value() == "national-2017"
    page.get_by_role("button", name="运行评估").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+$"))
    evaluation_url = page.url
    assert page.locator("p.verdict").inner_text() == "未达到优质均衡发展要求"
    report = page.frame_locator("iframe.report")
    assert report.get_by_text("未达到县域义务教育优质均衡发展督导评估认定标准").first.is_visible()
    # evaluators read the rectification but cannot edit it
    page.get_by_role("link", name=re.compile("查看整改措施")).click()
    assert page.locator("textarea").count() == 0
    assert page.get_by_role("button", name="保存整改措施").count() == 0

    # the printable report: its own URL, printed to A4 PDF
    page.goto(evaluation_url + "/report")
    assert page.pdf(format="A4")[:4] == b"%PDF"
    # the signature sheet prints on one A4 page
    page.goto(evaluation_url + "/sign")
    pdf = tmp_path / "sign.pdf"
    pdf.write_bytes(page.pdf(format="A4"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "评估组组长（签字）" in text and "未达到优质均衡发展要求" in text

    phone = browser.new_context(**PHONE, accept_downloads=True)
    p2 = phone.new_page()
    sign_in(p2, live, "staff")
    p2.goto(live + "evaluations/")
    p2.locator("section.county").get_by_role("link", name="未达到优质均衡发展要求").first.tap()
    p2.get_by_role("link", name=re.compile("填写整改措施")).tap()
    p2.get_by_label("2.4 整改措施").fill("新建城北小学，分流超规模学校学生")
    p2.get_by_label("2.4 整改时限").fill("2027年8月")
    p2.get_by_label("2.4 责任部门").fill("县教育和体育局")
    p2.get_by_role("button", name="保存整改措施").tap()
    p2.wait_for_url(re.compile(r"/evaluations/\d+$"))
    assert "整改内容已保存" in p2.content()
    with p2.expect_download() as info:
        p2.get_by_role("link", name="下载 Word").tap()
    download = info.value
    assert download.suggested_filename.startswith("演示县2024年") and download.suggested_filename.endswith(".docx")
    path = tmp_path / "report.docx"
    download.save_as(path)
    doc = Document(path)
    rows = [[c.text for c in r.cells] for t in doc.tables for r in t.rows]
    row = next(r for r in rows if "新建城北小学，分流超规模学校学生" in r)
    assert "2027年8月" in row and "县教育和体育局" in row
    for ctx in (desk, phone):
        ctx.close()
