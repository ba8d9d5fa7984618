"""End to end in Debian chromium (Playwright) at a phone viewport with a WeChat user agent:
staff creates a round from a roster file, prints posters, a phone scans the QR code (decoded
with OpenCV from a screenshot), answers, and the progress page counts it; then the same with
JavaScript disabled."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from werkzeug.serving import make_server

from evaluator.groups import GROUPS
from tests.survey.conftest import ROSTER_ROWS, roster_xlsx
from tests.survey.helpers import PASSWORD, make_user
from tests.survey.test_collect import WECHAT_UA

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "user_agent": WECHAT_UA, "locale": "zh-CN"}


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}/"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian chromium is not installed: apt-get install chromium (see README test command)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def decode_qr(png: bytes) -> str:
    """Decode a screenshot with OpenCV's QR detector; a tight crop of a small code (an element
    screenshot has no quiet zone) is retried with a white margin and enlarged, as a phone
    camera would see it from closer."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    detector = cv2.QRCodeDetector()
    framed = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    for candidate in (image, framed, cv2.resize(framed, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)):
        text, points, _ = detector.detectAndDecode(candidate)
        if points is not None and text:
            return text
    raise AssertionError("no QR code decoded from the poster screenshot")


def answer_page(page, choice_by_index=lambda i: "满意") -> int:
    """Tap an answer for every question like a thumb would (on the label); returns the count."""
    fieldsets = page.locator("fieldset")
    n = fieldsets.count()
    for i in range(n):
        fieldsets.nth(i).locator("label.opt", has_text=re.compile(f"^{choice_by_index(i)}$")).tap()
    return n


def test_round_poster_scan_answer_progress(app, live, browser, tmp_path):
    with app.app_context():
        make_user("staff_a", "staff", ("110101",), names={"110101": "测试县"})
    roster = tmp_path / "学校名单.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))

    staff = browser.new_context(**PHONE)
    page = staff.new_page()
    page.goto(live + "login")
    page.get_by_label("用户名").fill("staff_a")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="新建调查轮次").click()
    assert page.get_by_label("县级行政区划代码（6 位）").input_value() == "110101"
    page.get_by_label("调查轮次名称").fill("2026年社会认可度调查")
    page.get_by_label("学校名单（.xlsx 或 .csv）").set_input_files(str(roster))
    page.get_by_role("button", name="创建并生成二维码").click()
    page.wait_for_url(re.compile(r"/admin/rounds/\d+$"))
    assert "已创建调查" in page.content()
    round_url = page.url

    page.get_by_role("link", name="打印海报（A4）").click()
    poster = page.locator("section.poster", has_text="实验学校").filter(has_text="家长问卷")
    assert poster.count() == 1
    url = decode_qr(poster.locator(".qr").screenshot())
    assert url.startswith(live + "s/")
    pdf = page.pdf(format="A4")  # the print layout renders
    assert pdf[:4] == b"%PDF"

    phone = browser.new_context(**PHONE)
    form = phone.new_page()
    form.goto(url)
    assert "实验学校" in form.content() and "家长" in form.content()
    n = answer_page(form, lambda i: "比较满意" if i % 2 else "满意")
    assert n == 11
    form.get_by_role("button", name="提交").tap()
    form.wait_for_url(re.compile(r"/done$"))
    assert form.get_by_role("heading", name="提交成功，谢谢您的参与！").is_visible()

    page.goto(round_url + "/progress")
    cell = page.locator('tr[data-school="S03"] td[data-stored]').nth(list(GROUPS).index("parent"))
    assert cell.get_attribute("data-stored") == "1"  # stored; a form answered this fast takes no quota place
    assert page.locator('tr[data-school="S01"] td[data-stored="1"]').count() == 0

    # The same submission with JavaScript disabled, at another school's teacher link.
    page.goto(round_url + "/posters?school=S01&group=teacher")
    url2 = decode_qr(page.locator("section.poster .qr").first.screenshot())
    nojs = browser.new_context(java_script_enabled=False, **PHONE)
    p2 = nojs.new_page()
    p2.goto(url2)
    with p2.expect_navigation():
        p2.get_by_role("button", name="提交").tap()  # nothing answered: server-side errors
    assert "还有 11 道题没有回答" in p2.content()
    assert p2.locator("p.msg").count() == 11
    assert answer_page(p2) == 11
    p2.get_by_role("button", name="提交").tap()
    p2.wait_for_url(re.compile(r"/done$"))
    assert "提交成功" in p2.content()
    page.goto(round_url + "/progress")
    teacher_col = list(GROUPS).index("teacher")
    assert page.locator('tr[data-school="S01"] td[data-stored]').nth(teacher_col).get_attribute("data-stored") == "1"
    for ctx in (staff, phone, nojs):
        ctx.close()
