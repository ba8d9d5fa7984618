"""Evaluations (issue 11, item 7): label (自评 / 市级复核 / 省级评估 / 年度监测), archive, delete;
the comparison defaults to older → newer by assessment year; rule-sets are chosen by their
Chinese titles with national-2017 the default on both forms."""

from __future__ import annotations

import re

import pytest

from evaluator.workbook import demo_workbook
from survey.db import db
from survey.models import Evaluation
from tests.survey.conftest import csrf_from
from tests.survey.helpers import login, make_user
from tests.survey.test_workspace import DEMO, better_year, evaluation_id, upload


@pytest.fixture
def workbook(tmp_path):
    return demo_workbook(tmp_path / "演示县数据.xlsx")


def _token(client, url="/evaluations/"):
    return csrf_from(client.get(url).get_data(as_text=True))


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, flags=re.S).group(1)
    tag = next(t for t in re.findall(r"<option[^>]*>", select) if re.search(r"\bselected\b", t))
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_label_archive_delete_and_compare_default(app, client, workbook, tmp_path):
    with app.app_context():
        make_user("staff_a", "staff", (DEMO,), names={DEMO: "演示县"})
        make_user("ev_a", "evaluator", (DEMO,))
    login(client, "staff_a")
    newer = evaluation_id(upload(client, better_year(workbook, tmp_path / "2025.xlsx")))  # run first: 2025
    older = evaluation_id(upload(client, workbook))  # run second: the earlier year (2024)
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert _selected(listing, "a") == str(older) and _selected(listing, "b") == str(newer)
    assert "县域义务教育优质均衡发展督导评估（国家标准，教督〔2017〕6号）" in listing

    resp = client.post(f"/evaluations/{older}/label", data={"csrf_token": _token(client), "label": "city_review"})
    assert resp.status_code == 302
    bad = client.post(f"/evaluations/{older}/label", data={"csrf_token": _token(client), "label": "boss"},
                      follow_redirects=True)
    assert "评估类型应为 自评、市级复核、省级评估、年度监测 之一" in bad.get_data(as_text=True)
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert "市级复核" in listing

    client.post(f"/evaluations/{older}/archive", data={"csrf_token": _token(client)})
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert f'/evaluations/{older}"' not in listing and "显示已归档的评估（1 次）" in listing
    shown = client.get("/evaluations/?archived=1").get_data(as_text=True)
    assert f'/evaluations/{older}"' in shown and "已归档" in shown
    assert client.get(f"/evaluations/{older}/report.docx").status_code == 200  # archived, still whole

    # an evaluator reads but does not manage
    reader = app.test_client()
    login(reader, "ev_a")
    assert reader.post(f"/evaluations/{newer}/delete", data={"csrf_token": _token(reader)}).status_code == 403

    assert client.post(f"/evaluations/{newer}/delete", data={"csrf_token": _token(client)}).status_code == 302
    with app.app_context():
        assert db.session.get(Evaluation, newer) is None
        ev = db.session.get(Evaluation, older)
        assert ev.label == "city_review" and ev.archived_at is not None
    assert client.get(f"/evaluations/{newer}").status_code == 404


def test_rule_sets_by_title_with_national_2017_default_on_both_forms(app, client):
    with app.app_context():
        make_user("staff_a", "staff", (DEMO,), names={DEMO: "演示县"})
    login(client, "staff_a")
    for url in ("/admin/rounds/new", "/evaluations/new"):
        page = client.get(url).get_data(as_text=True)
        assert _selected(page, "ruleset") == "national-2017", url
        assert "（综合差异系数口径）（composite-2017）" in page
        first = re.search(r'<select[^>]*name="ruleset"[^>]*>\s*<option[^>]*value="([^"]+)"', page).group(1)
        assert first == "national-2017"


def test_round_answers_are_scored_with_the_chosen_rule_set_and_errors_name_it(app, client, workbook):
    from tests.survey.helpers import link_for, store_answers

    with app.app_context():
        make_user("staff_a", "staff", (DEMO,), names={DEMO: "演示县"})
        from evaluator.roster import read_roster
        from survey.instruments import catalogue
        from survey.services.rounds import get_or_create_county, open_round, recognition_rules

        # opened under national-2017, from the workbook's own schools (a mismatched round is refused first)
        rnd = open_round(county=get_or_create_county(DEMO, "演示县"), name="2026年社会认可度调查",
                         roster=read_roster(workbook), catalogue=catalogue(), rules=recognition_rules("national-2017"))
        db.session.commit()
        store_answers(link_for(rnd, "parent", rnd.schools[0].code), "满意")
        rid = rnd.id
    login(client, "staff_a")
    resp = upload(client, workbook, round_id=rid, ruleset="wusi-2017")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    error = re.search(r'id="evaluation-error">(.*?)</div>', page, flags=re.S).group(1)
    assert "wusi-2017.yaml" in error and "national-2017" not in error
