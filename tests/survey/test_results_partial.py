"""Results people read (issue 11, item 5): while weighted groups are missing the page shows the
groups, items and schools that have answers and names what is missing, the county score
stays pending; charts (intervals, option distribution, answers per day) and a 方法说明 section.

Hand-checkable: parents at S01 answer 2 × 满意 and 1 × 不满意 on every item (p = 2/3), students
at S01 answer 满意 (p = 1); the other weighted groups have nothing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from evaluator.groups import GROUPS
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", page, flags=re.S)]


def test_partial_results_name_missing_groups_and_keep_county_pending(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid = rnd.id
        parent = link_for(rnd, "parent", "S01")
        for choice in ("满意", "满意", "不满意"):
            store_answers(parent, choice)
        store_answers(link_for(rnd, "student", "S01"), "满意")
    login(client, "boss")
    resp = client.get(f"/admin/rounds/{rid}/results")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "尚缺：教师、校长、人大代表、政协委员、社会人士" in page
    assert '<div class="score pending" id="score">待定</div>' in page
    row = page[page.index('data-group="parent"'):]
    row = row[: row.index("</tr>")]
    assert "66.7%" in row and '<td class="num">3</td>' in row
    row = page[page.index('data-group="student"'):]
    assert "100.0%" in row[: row.index("</tr>")]
    assert 'data-group="npc_deputy"' in page and "尚无有效回答" in page
    # the method details are folded away, not in the body text
    method = page[page.index('<details class="method"'):page.index("</details>")]
    assert "泰勒线性化" in method and "logit" in method and "N_gs" in method
    body = page.replace(method, "")
    assert "泰勒线性化" not in body and "logit" not in body
    # charts: group intervals, option distribution with the five labels, answers per day
    svgs = _svgs(page)
    titles = [s.get("aria-label") for s in svgs]
    assert "各调查对象的认可度（黑线为置信区间）" in titles and "各调查对象的答案分布" in titles
    assert "每天收到的回答（北京时间）" in titles
    dist = svgs[titles.index("各调查对象的答案分布")]
    texts = {t.text for t in dist.iter("{http://www.w3.org/2000/svg}text")}
    assert {"满意", "比较满意", "基本满意", "不满意", "不了解"} <= texts and {"家长", "学生"} <= texts
    assert "67%" in texts and "33%" in texts  # parents: 2/3 满意, 1/3 不满意
    days = svgs[titles.index("每天收到的回答（北京时间）")]
    assert "4" in {t.text for t in days.iter("{http://www.w3.org/2000/svg}text")}


def test_complete_round_shows_county_score_and_no_missing_note(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid = rnd.id
        for g in GROUPS.values():
            store_answers(link_for(rnd, g.key, "S01" if g.school_linked else None), "满意")
    login(client, "boss")
    page = client.get(f"/admin/rounds/{rid}/results").get_data(as_text=True)
    assert 'id="missing"' not in page and '<div class="score pass" id="score">100.0%</div>' in page
    assert "全县" in [t.text for s in _svgs(page) for t in s.iter("{http://www.w3.org/2000/svg}text")]


def test_no_answers_at_all_says_so(app, client):
    with app.app_context():
        rid = make_round().id
        make_user("boss", "admin")
    login(client, "boss")
    resp = client.get(f"/admin/rounds/{rid}/results")
    assert resp.status_code == 200 and "还没有任何有效回答" in resp.get_data(as_text=True)
