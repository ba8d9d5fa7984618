"""The workspace follows the chosen rule-set's local items (issue 8, deliverable 3): the template
download takes ``?rules=``, and an upload evaluated with dalian-2019 reads its local columns."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd

from evaluator.rules import load_ruleset
from evaluator.workbook import write_workbook
from tests.evaluator.builders import classes_for, county, rooms_for
from tests.evaluator.test_local_items import dalian_schools
from tests.survey.conftest import csrf_from
from tests.survey.helpers import login, make_user
from tests.survey.test_workspace import count, evaluation_id, upload


def test_template_per_ruleset_and_unknown_ruleset_is_404(app, client):
    with app.app_context():
        make_user("staff", "staff", ("370391",), names={"370391": "测试区"})
    login(client, "staff")
    national = openpyxl.load_workbook(io.BytesIO(client.get("/evaluations/template.xlsx").data))["schools"]
    dalian = openpyxl.load_workbook(io.BytesIO(client.get("/evaluations/template.xlsx?rules=dalian-2019").data))
    headers = [c.value for c in dalian["schools"][1]]
    assert "学业水平合格学生数（小学）" in headers and len(headers) == len(list(national[1])) + 8
    missing = client.get("/evaluations/template.xlsx?rules=../../etc")
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True)
    assert "template.xlsx?rules=dalian-2019" in client.get("/evaluations/new").get_data(as_text=True)


def test_upload_with_dalian_rules_judges_local_items_and_national_rules_refuse_the_columns(app, client, tmp_path):
    with app.app_context():
        make_user("staff", "staff", ("370391",), names={"370391": "测试区"})
    login(client, "staff")
    schools = dalian_schools()
    schools[0]["academic_passed_primary"] = 900  # 一小 90% < 95%
    frames = {"schools": pd.DataFrame(schools), "county": county(), "classes": pd.DataFrame(classes_for(schools)),
              "rooms": pd.DataFrame(rooms_for(schools))}
    path = write_workbook(tmp_path / "大连数据.xlsx", frames, rules=load_ruleset("dalian-2019"))
    refused = upload(client, path)  # national-2017: the local columns are unknown
    assert refused.status_code == 422 and "地方指标的字段须选择定义它的规则集" in refused.get_data(as_text=True)
    assert count(app) == 0
    eid = evaluation_id(upload(client, path, ruleset="dalian-2019"))
    report = json.loads(client.get(f"/evaluations/{eid}/report.json").get_data())
    l1 = next(i for i in report["items"] if i["code"] == "L1")
    assert l1["status"] == "fail" and l1["problem"].startswith("一小90%")
    assert report["verdict"] == "not_recognized" and report["rules"] == "dalian-2019"
    page = client.get(f"/evaluations/{eid}/report").get_data(as_text=True)
    assert "L1 学生学业合格率达到95%以上" in page
    # staff enter a rectification for the local item like for any failing item
    form = client.get(f"/evaluations/{eid}/rectification").get_data(as_text=True)
    assert 'data-code="L1"' in form and 'data-code="L2"' not in form  # L2 passes
    resp = client.post(f"/evaluations/{eid}/rectification", data={
        "csrf_token": csrf_from(form), "measures-L1": "开展学业质量提升行动", "deadline-L1": "2026年7月",
        "department-L1": "区教育文体局"})
    assert resp.status_code == 302
    assert "开展学业质量提升行动" in client.get(f"/evaluations/{eid}/report.html").get_data(as_text=True)
