"""The live results page renders the estimator's result for the round's answers.

Hand-checkable case: everyone approves except one parent in three (11 items each, no
不了解), one parent speeder is dropped. Parents answer at one school, so within-group
weights are equal: p_parent = 22/33; every other group 1. With the national weights
(parent 0.40) P = 0.40 × 2/3 + 0.60 × 1 = 0.8667.
"""

from __future__ import annotations

from evaluator.groups import GROUPS
from survey.db import db
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers


def test_results_page_shows_weighted_score_groups_and_dropped_answers(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid = rnd.id
        for g in GROUPS.values():
            ln = link_for(rnd, g.key, "S01" if g.school_linked else None)
            ln.quota = 10
            db.session.commit()
            for _ in range(2):
                store_answers(ln, "满意")
        parent = link_for(rnd, "parent", "S01")
        store_answers(parent, "不满意")
        store_answers(parent, "满意", duration=5)  # speeder: dropped
    login(client, "boss")
    page = client.get(f"/admin/rounds/{rid}/results").get_data(as_text=True)
    assert '<div class="score pass" id="score">86.7%</div>' in page
    row = page[page.index('data-group="parent"'):]
    row = row[: row.index("</tr>")]
    assert "66.7%" in row and "<td class=\"num\">3</td>" in row
    dropped = page[page.index('id="dropped"'):]
    assert dropped.count("<tr>") == 2 and "过快作答" in dropped  # header + one row
    assert "有效 15 份，筛除 1 份（共 16 份）" in page


def test_results_page_says_why_it_cannot_compute_yet(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        store_answers(link_for(rnd, "parent", "S01"), "满意")
        rid = rnd.id
    login(client, "boss")
    resp = client.get(f"/admin/rounds/{rid}/results")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "暂时无法计算" in page and "不会把缺少的组悄悄去掉" in page
