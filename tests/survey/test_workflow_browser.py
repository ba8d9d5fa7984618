"""Issue 11 flows in Debian chromium: accounts (desktop), correcting a round and reprinting a
school's poster (desktop), the results page and the progress table on a 390×844 phone, the
rectification form at 1366 px and on a phone, the sign sheet on one A4 page whatever the
number of reasons. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from evaluator.groups import GROUPS
from evaluator.workbook import demo_workbook
from survey.db import db
from survey.models import Evaluation
from tests.survey.helpers import PASSWORD, link_for, make_round, make_user, store_answers
from tests.survey.test_browser import PHONE, browser, live  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def test_accounts_in_the_browser(app, live, browser):  # noqa: F811
    with app.app_context():
        make_user("admin1", "admin")
        make_user("seed", "staff", ("330101",), names={"330101": "示范县"})
    ctx = browser.new_context(**DESKTOP)
    page = ctx.new_page()
    sign_in(page, live, "admin1")
    page.get_by_role("link", name="账号管理").click()
    page.get_by_role("link", name="新建账号").click()
    page.get_by_label("用户名（可用汉字）").fill("李老师")
    page.get_by_label("初始密码").fill("初始密码-2026")
    page.get_by_label("角色").select_option("staff")
    page.get_by_label(re.compile("^县（")).select_option(label="示范县（330101）")
    page.get_by_role("button", name="创建账号").click()
    assert "已创建账号“李老师”" in page.locator(".flash.ok").inner_text()
    row = page.locator("tr", has_text="李老师")
    assert "示范县（330101）" in row.inner_text()
    # reset the forgotten password
    row.get_by_role("link", name="修改角色/重设密码").click()
    page.get_by_label("新密码").fill("重设后的密码-柳树-2031")
    page.get_by_label("再输入一次").fill("重设后的密码-柳树-2031")
    page.get_by_role("button", name="设置新密码").click()
    assert "已为“李老师”设置新密码" in page.locator(".flash.ok").inner_text()
    # the user signs in with it and changes it
    other = browser.new_context(**DESKTOP).new_page()
    sign_in(other, live, "李老师", "重设后的密码-柳树-2031")
    other.get_by_role("link", name="修改密码").click()
    other.get_by_label("当前密码").fill("重设后的密码-柳树-2031")
    other.get_by_label("新密码").fill("我自己的密码-河边-sunny")
    other.get_by_label("再输入一次").fill("我自己的密码-河边-sunny")
    other.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in other.locator(".flash.ok").inner_text()
    # deactivated: the open session ends
    page.goto(live + "admin/users")
    page.get_by_role("button", name="停用 李老师").click()
    assert "已停用" in page.locator("tr", has_text="李老师").inner_text()
    other.goto(live + "admin/")
    assert "/login" in other.url


def test_correct_a_round_and_reprint_one_school(app, live, browser):  # noqa: F811
    with app.app_context():
        make_user("staff1", "staff", ("110101",))
        rid = make_round("110101").id
    page = browser.new_context(**DESKTOP).new_page()
    sign_in(page, live, "staff1")
    page.goto(f"{live}admin/rounds/{rid}")
    page.get_by_role("link", name="修改设置").click()
    page.get_by_label("县名称").fill("东城区")
    page.get_by_label(re.compile("^主办单位")).fill("东城区教育局")
    page.get_by_label(re.compile("^联系方式")).fill("督导室 010-12345678")
    page.get_by_label("结束时间（留空则直到手动结束）").fill("2030-06-30T18:00")
    page.get_by_role("button", name="保存").click()
    assert "已保存" in page.locator(".flash.ok").inner_text()
    row = page.locator("#schools ~ div tr", has_text="城关第一小学")
    row.get_by_role("link", name="修改").click()
    page.get_by_label("学校名称").fill("城关第一实验小学")
    page.get_by_role("button", name="保存").click()
    assert "海报和答卷页面随之更新" in page.locator(".flash.ok").inner_text()
    # reprint only this school's posters
    page.locator("tr", has_text="城关第一实验小学").get_by_role("link", name="打印本校海报").click()
    posters = page.locator("section.poster")
    assert posters.count() == 4
    assert "城关第一实验小学" in posters.first.inner_text() and "东城区教育局" in posters.first.inner_text()
    assert "截止时间：2030年6月30日 18:00" in posters.first.inner_text()
    page.go_back()
    # close, then reopen
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="结束调查").click()
    page.get_by_role("link", name="重新开放或延期").click()
    page.get_by_role("button", name="重新开放").click()
    assert "重新开放调查" in page.locator(".flash.ok").inner_text()
    history = page.locator("#history ~ table").inner_text()
    assert "staff1" in history and "学校名称“城关第一小学”改为“城关第一实验小学”" in history
    assert "结束调查" in history and "县名称“测试县110101”改为“东城区”" in history


def test_results_and_progress_on_a_phone(app, live, browser):  # noqa: F811
    with app.app_context():
        make_user("staff1", "staff", ("110101",))
        rnd = make_round("110101")
        rid = rnd.id
        for g in ("parent", "student", "teacher"):
            for choice in ("满意", "比较满意", "不满意"):
                store_answers(link_for(rnd, g, "S01"), choice)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(**PHONE).new_page()
    sign_in(page, live, "staff1")
    page.goto(f"{live}admin/rounds/{rid}/results")
    assert "尚缺：校长、人大代表、政协委员、社会人士" in page.locator("#missing").inner_text()
    assert page.locator("#score").inner_text() == "待定"
    assert page.locator("#options svg").is_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "results_phone.png"), full_page=True)
    page.goto(f"{live}admin/rounds/{rid}/progress")
    no_sideways_scroll(page)
    card = page.locator('tr[data-school="S01"]')
    text = card.inner_text()
    assert "城关第一小学" in text and "3 / " in text
    labels = card.locator("td[data-label]").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)")
    assert labels[:4] == ['"学生"', '"家长"', '"教师"', '"校长"']  # each count says whose it is
    box = card.bounding_box()
    assert box["width"] <= 390
    page.screenshot(path=str(ARTIFACTS / "progress_phone.png"), full_page=True)
    county = page.locator('tr[data-school=""] td[data-label]').evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)")
    assert county == [f'"{g.label}"' for g in GROUPS.values() if not g.school_linked]


def test_rectification_form_at_1366_and_on_a_phone_and_sign_sheet_one_page(app, live, browser, tmp_path):  # noqa: F811
    with app.app_context():
        make_user("staff", "staff", ("370300",), names={"370300": "演示县"})
    workbook = demo_workbook(tmp_path / "演示县数据.xlsx")
    page = browser.new_context(**DESKTOP).new_page()
    sign_in(page, live, "staff")
    page.goto(live + "evaluations/new")
    page.get_by_label("数据工作簿（.xlsx，或 CSV 文件夹的 .zip）").set_input_files(str(workbook))
    page.get_by_role("button", name="运行评估").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+$"))
    evaluation_url = page.url
    eid = int(evaluation_url.rsplit("/", 1)[1])
    page.goto(evaluation_url + "/rectification")
    no_sideways_scroll(page)
    for box in [page.locator("textarea").nth(i).bounding_box() for i in range(page.locator("textarea").count())]:
        assert box["width"] >= 180, box  # room to write a measure
    problem = page.locator("td.problem").first.inner_text()
    assert not re.search(r"[a-z]+_[a-z_]+", problem), problem
    phone = browser.new_context(**PHONE).new_page()
    sign_in(phone, live, "staff")
    phone.goto(evaluation_url + "/rectification")
    no_sideways_scroll(phone)
    phone.get_by_label("2.4 整改措施").fill("新建城北小学")
    assert phone.get_by_label("2.4 整改措施").bounding_box()["width"] >= 300

    # the sign sheet stays on one A4 page even with many long reasons
    with app.app_context():
        ev = db.session.get(Evaluation, eid)
        report = dict(ev.report)
        report["reasons"] = [f"{i}.{i}（未达标）" + "某某学校、" * 40 + "不达标" for i in range(1, 31)]
        ev.report = report
        db.session.commit()
    page.goto(evaluation_url + "/sign")
    pdf = tmp_path / "sign.pdf"
    pdf.write_bytes(page.pdf(format="A4"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "另有 24 项，详见完整评估报告" in text and "评估组组长（签字）" in text
