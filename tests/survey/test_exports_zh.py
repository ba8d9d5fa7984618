"""Exports people open (issue 11, item 6): `round export --labels zh`, the web download, and
SPSS .sav with variable and value labels (read back with pyreadstat); the §3 machine format
stays the CLI default."""

from __future__ import annotations

import io

import pandas as pd
import pyreadstat
from openpyxl import load_workbook

from survey.db import db
from survey.models import School, SurveyRound
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_cli import run


def _round_with_answers(app) -> int:
    with app.app_context():
        rnd = make_round("110101")
        school = db.session.query(School).filter_by(round_id=rnd.id, code="S02").one()
        school.name = "=HYPERLINK(\"http://x\")中学"  # a formula-looking name must not run in Excel
        db.session.commit()
        store_answers(link_for(rnd, "parent", "S01"), "比较满意")
        store_answers(link_for(rnd, "teacher", "S02"), {"t01": "不满意", "t02": "不了解"})
        store_answers(link_for(rnd, "npc_deputy"), "满意", duration=5)
        return rnd.id


def test_round_export_labels_zh_and_default_machine_format(app, database_url, tmp_path):
    rid = str(_round_with_answers(app))
    out = tmp_path / "回答.xlsx"
    res = run(database_url, "round", "export", rid, "--out", str(out), "--labels", "zh")
    assert res.returncode == 0, res.stderr
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["回答编号", "调查对象", "学校代码", "学校名称", "提交时间（北京时间）", "用时（秒）"]
    assert "s01 您对县政府推进义务教育均衡发展、促进教育公平的工作是否满意？" in header
    assert "作答过快" in header and not any(h.startswith("flag_") for h in header)
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    by_group = {r["调查对象"]: r for r in rows}
    assert set(by_group) == {"家长", "教师", "人大代表"}
    assert by_group["家长"]["学校名称"] == "城关第一小学"
    assert by_group["教师"]["学校名称"].startswith("'=HYPERLINK")
    assert by_group["人大代表"]["学校名称"] == "全县（不分学校）"
    assert by_group["人大代表"]["作答过快"] == "是" and by_group["家长"]["作答过快"] == "否"
    assert by_group["家长"]["问卷版本"].endswith("（第 1 版）")
    when = by_group["家长"]["提交时间（北京时间）"]
    assert len(when) == 19 and "T" not in when and "+" not in when

    csv_out = tmp_path / "回答.csv"
    assert run(database_url, "round", "export", rid, "--out", str(csv_out), "--labels", "zh").returncode == 0
    assert csv_out.read_bytes().startswith("\ufeff回答编号,调查对象".encode())

    machine = tmp_path / "m.csv"
    assert run(database_url, "round", "export", rid, "--out", str(machine)).returncode == 0
    frame = pd.read_csv(machine, keep_default_na=False)
    assert list(frame.columns[:5]) == ["group", "school_code", "response_id", "submitted_at", "duration_seconds"]
    assert set(frame["group"]) == {"parent", "teacher", "npc_deputy"}
    assert frame["submitted_at"].str.endswith("+00:00").all()

    bad = run(database_url, "round", "export", rid, "--out", str(tmp_path / "x.txt"))
    assert bad.returncode == 2 and "--out" in bad.stderr and not (tmp_path / "x.txt").exists()
    bad = run(database_url, "round", "export", rid, "--out", str(tmp_path / "y.csv"), "--labels", "en")
    assert bad.returncode == 2 and not (tmp_path / "y.csv").exists()


def test_spss_sav_carries_variable_and_value_labels(app, database_url, tmp_path):
    rid = str(_round_with_answers(app))
    out = tmp_path / "回答.sav"
    res = run(database_url, "round", "export", rid, "--out", str(out))
    assert res.returncode == 0, res.stderr
    df, meta = pyreadstat.read_sav(str(out), user_missing=True)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["group"] == "调查对象" and labels["school_name"] == "学校名称"
    assert labels["s01"].startswith("s01 您对县政府")
    assert meta.variable_value_labels["s01"] == {1.0: "满意", 2.0: "比较满意", 3.0: "基本满意", 4.0: "不满意", 5.0: "不了解"}
    assert meta.variable_value_labels["group"][2.0] == "家长"
    assert meta.variable_value_labels["flag_speeder"] == {1.0: "是", 0.0: "否"}
    parent = df[df["group"] == 2.0].iloc[0]
    assert parent["s01"] == 2.0 and parent["school_name"] == "城关第一小学"
    teacher = df[df["group"] == 3.0].iloc[0]
    assert teacher["t01"] == 4.0 and teacher["t02"] == 5.0
    assert meta.missing_ranges["t02"] == [{"lo": 5.0, "hi": 5.0}]


def test_web_download_in_chinese_and_spss(app, client):
    rid = _round_with_answers(app)
    with app.app_context():
        make_user("ev1", "evaluator", ("110101",))
        name = db.session.get(SurveyRound, rid).name
    login(client, "ev1")
    page = client.get(f"/admin/rounds/{rid}").get_data(as_text=True)
    assert "导出回答（Excel）" in page and "导出 SPSS 文件（.sav）" in page
    resp = client.get(f"/admin/rounds/{rid}/answers.xlsx")
    from urllib.parse import quote

    assert resp.status_code == 200 and quote(f"{name}_回答.xlsx") in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["B1"].value == "调查对象" and ws.freeze_panes == "A2"
    sav = client.get(f"/admin/rounds/{rid}/answers.sav")
    assert sav.status_code == 200 and sav.data[:4] == b"$FL2"
    assert client.get(f"/admin/rounds/{rid}/answers.pdf").status_code == 404


def test_links_and_machine_exports_neutralise_formula_like_names(app, client, database_url):
    rid = _round_with_answers(app)
    with app.app_context():
        make_user("boss", "admin")
    login(client, "boss")
    links = client.get(f"/admin/rounds/{rid}/links.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in links and ",=HYPERLINK" not in links
    cli = run(database_url, "round", "links", str(rid))
    assert cli.returncode == 0 and "'=HYPERLINK" in cli.stdout and ",=HYPERLINK" not in cli.stdout
