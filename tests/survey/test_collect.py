"""The respondent page: form, validation, storage, integrity, friendly refusals, size budget."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

from sqlalchemy import func, select

from survey.db import db
from survey.models import Response, utcnow
from tests.survey.helpers import aged, answer_all, link_for, make_round

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; V2154A) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5075 MMWEBSDK/20230504 "
             "MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 Weixin NetType/4G Language/zh_CN")


def _count() -> int:
    return db.session.scalar(select(func.count(Response.id)))


def test_form_renders_questionnaire_of_the_links_group(app, client):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "parent", "S01").code
    resp = client.get(f"/s/{code}", headers={"User-Agent": WECHAT_UA})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "社会卷" in html and "城关第一小学" in html and "家长" in html
    # 11 questions × 5 answers, each radio inside its own label, each question a fieldset with legend
    assert html.count('type="radio"') == 55
    assert html.count("<fieldset") == 11 and html.count("<legend>") == 11
    assert len(re.findall(r'<label class="opt"><input[^>]+type="radio"', html)) == 55


def test_submission_is_stored_once_with_instrument_version_and_no_personal_data(app, client):
    with app.app_context():
        rnd = make_round()
        code = link_for(rnd, "teacher", "S03").code
    html = client.get(f"/s/{code}").get_data(as_text=True)
    data = aged(app, client, code, answer_all(html, "比较满意"))
    r1 = client.post(f"/s/{code}", data=data, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r1.status_code == 303 and r1.headers["Location"].endswith(f"/s/{code}/done")
    r2 = client.post(f"/s/{code}", data=data)  # the double tap / retried POST
    assert r2.status_code == 303
    assert "提交成功" in client.get(f"/s/{code}/done").get_data(as_text=True)
    with app.app_context():
        assert _count() == 1
        resp = db.session.scalars(select(Response)).one()
        assert (resp.group, resp.instrument, resp.instrument_version) == ("teacher", "staff", 1)
        assert set(resp.answers) == {f"t{i:02d}" for i in range(1, 12)}
        assert set(resp.answers.values()) == {"比较满意"}
        assert resp.school.code == "S03"
        assert "10.1.2.3" not in resp.ip_hash and len(resp.ip_hash) == 32
        assert 119 <= resp.duration_seconds < 180
        assert link_for(resp.link.round, "teacher", "S03").responses_count == 1


def test_missing_answers_are_reported_in_chinese_and_given_answers_kept(app, client):
    with app.app_context():
        code = link_for(make_round(), "student", "S01").code
    html = client.get(f"/s/{code}").get_data(as_text=True)
    data = answer_all(html, "满意")
    del data["p03"], data["p07"]
    data["p01"] = "基本满意"
    resp = client.post(f"/s/{code}", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "还有 2 道题没有回答" in page and page.count("请选择一项") == 2
    assert 'href="#q-p03"' in page and 'href="#q-p07"' in page
    assert re.search(r'<input checked[^>]*name="p01"[^>]*value="基本满意"', page) or \
        re.search(r'name="p01"[^>]*value="基本满意"[^>]*checked', page)
    with app.app_context():
        assert _count() == 0


def test_an_answer_outside_the_scale_is_refused(app, client):
    with app.app_context():
        code = link_for(make_round(), "public").code
    data = answer_all(client.get(f"/s/{code}").get_data(as_text=True))
    data["s01"] = "非常满意"
    page = client.post(f"/s/{code}", data=data).get_data(as_text=True)
    assert "请从给出的选项中选择" in page
    with app.app_context():
        assert _count() == 0


def test_same_browser_cannot_answer_the_same_link_twice_but_may_answer_another_school(app, client):
    with app.app_context():
        rnd = make_round()
        a, b = link_for(rnd, "parent", "S01").code, link_for(rnd, "parent", "S02").code
    first = client.get(f"/s/{a}").get_data(as_text=True)
    second_tab = client.get(f"/s/{a}").get_data(as_text=True)  # opened twice before submitting
    assert client.post(f"/s/{a}", data=answer_all(first)).status_code == 303
    again = client.get(f"/s/{a}")
    assert again.status_code == 409 and "已经提交过" in again.get_data(as_text=True)
    dup = client.post(f"/s/{a}", data=answer_all(second_tab))
    assert dup.status_code == 409
    other = client.get(f"/s/{b}")
    assert other.status_code == 200
    assert client.post(f"/s/{b}", data=answer_all(other.get_data(as_text=True))).status_code == 303
    with app.app_context():
        assert _count() == 2


def test_forged_or_foreign_start_token_is_not_stored(app, client):
    with app.app_context():
        rnd = make_round()
        a, b = link_for(rnd, "parent", "S01").code, link_for(rnd, "parent", "S02").code
    data = answer_all(client.get(f"/s/{a}").get_data(as_text=True))
    forged = dict(data, token=data["token"][:-3] + "abc")
    page = client.post(f"/s/{a}", data=forged).get_data(as_text=True)
    assert "页面已过期" in page
    page = client.post(f"/s/{b}", data=data).get_data(as_text=True)  # token of another link
    assert "页面已过期" in page
    with app.app_context():
        assert _count() == 0


def test_unknown_code_gets_a_friendly_404(client, app):
    resp = client.get("/s/zzzzzzzzzz")
    assert resp.status_code == 404
    assert "重新扫描" in resp.get_data(as_text=True)


def test_round_not_open_yet_closed_or_full(app, client):
    now = utcnow()
    with app.app_context():
        later = link_for(make_round("110102", opens_at=now + timedelta(days=1)), "public").code
        ended = link_for(make_round("110103", closes_at=now - timedelta(minutes=1)), "public").code
        full_rnd = make_round("110104")
        full = link_for(full_rnd, "principal", "S01")
        full.quota = 0
        db.session.commit()
        full = full.code
    r = client.get(f"/s/{later}")
    assert r.status_code == 403 and "尚未开始" in r.get_data(as_text=True)
    r = client.get(f"/s/{ended}")
    assert r.status_code == 410 and "已经结束" in r.get_data(as_text=True)
    r = client.get(f"/s/{full}")
    assert r.status_code == 403 and "名额已满" in r.get_data(as_text=True)


def test_full_quota_keeps_collecting_when_configured(app, client):
    with app.app_context():
        rnd = make_round(stop_when_full=False)
        ln = link_for(rnd, "principal", "S02")
        ln.quota = 1
        db.session.commit()
        code = ln.code
    for _ in range(2):
        c = app.test_client()
        assert c.post(f"/s/{code}", data=answer_all(c.get(f"/s/{code}").get_data(as_text=True))).status_code == 303
    with app.app_context():
        assert _count() == 2


def test_quota_stops_collection_when_reached(app):
    with app.app_context():
        ln = link_for(make_round(), "principal", "S02")
        ln.quota = 1
        db.session.commit()
        code = ln.code
    c1, c2 = app.test_client(), app.test_client()
    p1, p2 = c1.get(f"/s/{code}").get_data(as_text=True), c2.get(f"/s/{code}").get_data(as_text=True)
    assert c1.post(f"/s/{code}", data=aged(app, c1, code, answer_all(p1))).status_code == 303
    late = c2.post(f"/s/{code}", data=aged(app, c2, code, answer_all(p2)))
    assert late.status_code == 403 and "名额已满" in late.get_data(as_text=True)
    with app.app_context():
        assert _count() == 1


def test_page_budget_gzip_no_third_party_no_fonts_no_script(app, client):
    with app.app_context():
        code = link_for(make_round(), "parent", "S01").code
    resp = client.get(f"/s/{code}", headers={"Accept-Encoding": "gzip", "User-Agent": WECHAT_UA})
    assert resp.headers.get("Content-Encoding") == "gzip"
    body = resp.get_data()
    assert len(body) <= 30 * 1024, len(body)
    html = gzip.decompress(body).decode()
    assert not re.search(r'(src|href)="(https?:)?//', html), "third-party request"
    assert "<script" not in html and "@font-face" not in html and "<link" not in html


def test_oversize_respondent_post_is_refused(app, client):
    with app.app_context():
        code = link_for(make_round(), "public").code
    resp = client.post(f"/s/{code}", data={"s01": "满意" * 40_000})
    assert resp.status_code == 413
    assert "过大" in resp.get_data(as_text=True)
