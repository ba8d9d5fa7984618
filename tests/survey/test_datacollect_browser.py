"""填报 end to end in Debian chromium (Playwright): staff open a data round from a roster and
print the schools' QR cards; a phone with JavaScript disabled scans one (decoded with OpenCV),
fills the school's form, saves a draft, is refused at the field, submits; the bureau returns it
with a comment; the school corrects and resubmits."""

from __future__ import annotations

import re

import pytest

from tests.survey.conftest import ROSTER_ROWS, roster_xlsx
from tests.survey.helpers import PASSWORD, make_user
from tests.survey.test_browser import ARGS, CHROMIUM, PHONE, browser, decode_qr, live  # noqa: F401

pytestmark = pytest.mark.browser

FIELDS = {  # 山口教学点 (S05, 教学点, 30 primary students)
    "班级数（小学）": "2", "专任教师数（小学）": "3", "高于规定学历教师数（小学）": "3",
    "县级以上骨干教师数（小学）": "1", "体育艺术专任教师数（小学）": "1", "教学及辅助用房面积": "200",
    "体育运动场馆面积": "300", "教学仪器设备值": "60000", "网络多媒体教室数": "1", "公用经费": "72000",
    "公用经费预算": "72000", "教师培训经费": "4000",
}
SELECTS = {"城乡类别": "乡村", "章程与信息化": "是", "德育与校园文化评价": "良好", "课程开齐开足": "是"}


def press(page, name: str) -> None:
    """Tap a submit button and wait for the server's page (no JavaScript: a real navigation)."""
    with page.expect_navigation():
        page.get_by_role("button", name=name).tap()


def test_school_fills_drafts_submits_is_returned_and_resubmits(app, live, browser, tmp_path):  # noqa: F811
    with app.app_context():
        make_user("clerk_b", "staff", ("110101",), names={"110101": "测试县"})
    roster = tmp_path / "学校名单.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    page.goto(live + "login")
    page.get_by_label("用户名").fill("clerk_b")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="数据填报").click()
    page.get_by_role("link", name="新建填报").click()
    page.get_by_label("填报年度").fill("2026")
    page.get_by_label("名称", exact=True).fill("2026年度指标数据填报")
    page.get_by_label("或上传学校名单（.xlsx 或 .csv）或上一年的数据表").set_input_files(str(roster))
    page.get_by_role("button", name="创建并生成各校填报链接").click()
    page.wait_for_url(re.compile(r"/data/\d+$"))
    assert "共 5 所学校" in page.content()
    round_url = page.url
    page.get_by_role("link", name="各校链接与二维码").click()
    url = decode_qr(page.locator("#school-S05 svg").screenshot())
    assert re.fullmatch(re.escape(live) + r"d/[A-Za-z0-9_-]{32}", url)

    phone = browser.new_context(java_script_enabled=False, **PHONE)
    form = phone.new_page()
    form.goto(url)
    assert "山口教学点" in form.content() and "未填写" in form.content()
    assert form.get_by_label("在校生数（小学）").input_value() == "30"  # prefilled from the roster
    assert form.get_by_label("在校生数（初中）").count() == 0  # a 教学点 has no junior stage
    for label, value in FIELDS.items():
        form.get_by_label(label, exact=True).fill(value)
    for label, value in SELECTS.items():
        form.get_by_label(label, exact=True).select_option(value)
    form.get_by_label("第 1 行年级").fill("1")
    form.get_by_label("第 1 行学生数").fill("15")
    press(form, "保存草稿")
    assert "草稿已保存" in form.content()
    assert form.get_by_label("专任教师数（小学）", exact=True).input_value() == "3"
    # one class missing from the list and too many qualified teachers: refused at the fields
    form.get_by_label("高于规定学历教师数（小学）", exact=True).fill("4")
    press(form, "提交")
    assert "未能提交" in form.content()
    err = form.locator("#qualified_teachers_primary-err")
    assert err.is_visible() and "不能超过小学专任教师数（3）" in err.inner_text()
    assert "班级名单中有小学班级 1 个" in form.content()
    form.get_by_label("高于规定学历教师数（小学）", exact=True).fill("3")
    form.get_by_label("第 2 行年级").fill("2")
    form.get_by_label("第 2 行学生数").fill("15")
    press(form, "提交")
    assert "已提交" in form.content()
    assert form.get_by_role("button", name="提交").count() == 0

    page.goto(round_url)
    page.get_by_role("link", name="山口教学点").click()
    page.get_by_label("退回原因（学校可见）").fill("体育运动场馆面积请按实测面积填写")
    page.get_by_role("button", name="退回").click()
    assert "已退回山口教学点" in page.content()

    form.goto(url)
    assert "体育运动场馆面积请按实测面积填写" in form.content() and "已退回" in form.content()
    form.get_by_label("体育运动场馆面积", exact=True).fill("320")
    press(form, "提交")
    assert "已提交" in form.content()

    page.goto(round_url)
    row = page.locator("tr", has_text="山口教学点")
    assert "已提交" in row.inner_text()
    page.get_by_role("link", name="修改记录").click()
    assert page.locator("td", has_text="sports_area").count() >= 2  # 300 (draft) then 320 (resubmit)

    # the school form fits a phone screen (no sideways scrolling) with JavaScript on
    js_phone = browser.new_context(**PHONE)
    p3 = js_phone.new_page()
    p3.goto(url)
    assert p3.evaluate("document.documentElement.scrollWidth") <= 390
    for ctx in (desk, phone, js_phone):
        ctx.close()
