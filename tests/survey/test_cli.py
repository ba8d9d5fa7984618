"""`python run.py …` as bureau scripts call it (docs/interfaces.md §1), in a real subprocess."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from survey.db import db
from survey.models import County, SurveyRound, User
from tests.survey.conftest import ROSTER_ROWS, roster_xlsx

ROOT = Path(__file__).resolve().parents[2]


def run(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="cli-test", PUBLIC_BASE_URL="https://wj.example.cn")
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_round_lifecycle_from_the_command_line(app, database_url, tmp_path):
    roster = tmp_path / "学校名单.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    made = run(database_url, "round", "create", "--county", "330101", "--county-name", "示范县",
               "--name", "2026年调查", "--schools", str(roster), "--opens", "2026-01-01T08:00")
    assert made.returncode == 0, made.stderr
    round_id = made.stdout.strip()
    assert made.stdout == f"{round_id}\n" and round_id.isdigit()

    links = run(database_url, "round", "links", round_id)
    assert links.returncode == 0, links.stderr
    rows = list(csv.DictReader(io.StringIO(links.stdout)))
    assert links.stdout.startswith("school_code,school_name,group,url\n")
    assert len(rows) == 5 * 4 + 3
    county_rows = [r for r in rows if r["school_code"] == ""]
    assert sorted(r["group"] for r in county_rows) == ["cppcc_member", "npc_deputy", "public"]
    assert all(r["url"].startswith("https://wj.example.cn/s/") for r in rows)

    out = tmp_path / "answers.csv"
    exported = run(database_url, "round", "export", round_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[:5]) == ["group", "school_code", "response_id", "submitted_at", "duration_seconds"]
    assert len(frame) == 0

    closed = run(database_url, "round", "close", round_id)
    assert closed.returncode == 0, closed.stderr
    with app.app_context():
        rnd = db.session.get(SurveyRound, int(round_id))
        assert rnd.state() == "closed" and rnd.county.name == "示范县"


def test_bad_roster_exits_2_naming_the_cell_and_writes_nothing(app, database_url, tmp_path):
    rows = [list(r) for r in ROSTER_ROWS]
    rows[1][2] = "中学"
    roster = tmp_path / "名单.xlsx"
    roster.write_bytes(roster_xlsx(rows))
    res = run(database_url, "round", "create", "--county", "330101", "--county-name", "示范县",
              "--name", "x", "--schools", str(roster))
    assert res.returncode == 2 and res.stdout == ""
    assert "文件 名单.xlsx，工作表 schools，第 3 行，列 学校类型（school_type）：学校类型“中学”无效" in res.stderr
    res = run(database_url, "round", "create", "--county", "33010", "--name", "x", "--schools", str(tmp_path / "none.xlsx"))
    assert res.returncode == 2 and "无法读取文件" in res.stderr
    res = run(database_url, "round", "create", "--county", "330101", "--county-name", "示范县", "--name", "x",
              "--schools", str(tmp_path / "名单.xlsx"), "--opens", "tomorrow")
    assert res.returncode == 2 and "--opens" in res.stderr and "ISO 8601" in res.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyRound)) == 0
        assert db.session.scalar(select(func.count()).select_from(County)) == 0


def test_users_create_reads_password_from_stdin(app, database_url, tmp_path):
    roster = tmp_path / "r.xlsx"
    roster.write_bytes(roster_xlsx(ROSTER_ROWS))
    assert run(database_url, "round", "create", "--county", "330101", "--county-name", "示范县",
               "--name", "x", "--schools", str(roster)).returncode == 0
    ok = run(database_url, "users", "create", "--username", "zhang", "--role", "staff", "--county", "330101",
             stdin="s3cret-pass-wide-river\n")
    assert ok.returncode == 0, ok.stderr
    bad = run(database_url, "users", "create", "--username", "lisi", "--role", "staff", stdin="s3cret-pass-wide-river\n")
    assert bad.returncode == 2 and "--county" in bad.stderr
    weak = run(database_url, "users", "create", "--username", "wang", "--role", "admin", stdin="123\n")
    assert weak.returncode == 2 and "密码至少 8 位" in weak.stderr
    unknown = run(database_url, "users", "create", "--username", "zhao", "--role", "king", stdin="s3cret-pass-wide-river\n")
    assert unknown.returncode == 2 and "--role" in unknown.stderr
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.username == "zhang" and user.county.code == "330101"
        assert "s3cret-pass-wide-river" not in user.password_hash


def test_evaluate_with_round_fills_item_5_from_the_database(app, database_url, tmp_path):
    import json

    from evaluator.groups import GROUPS
    from evaluator.roster import read_roster
    from evaluator.workbook import demo_workbook
    from survey.instruments import catalogue
    from survey.services.rounds import get_or_create_county, open_round, recognition_rules
    from tests.survey.helpers import link_for, make_round, store_answers

    workbook = demo_workbook(tmp_path / "县数据.xlsx")
    with app.app_context():
        roster = read_roster(workbook)  # the round surveys the workbook's own schools
        rnd = open_round(county=get_or_create_county("370300", "示范县"), name="2026年社会认可度调查", roster=roster,
                         catalogue=catalogue(), rules=recognition_rules("national-2017"))
        db.session.commit()
        other = make_round("110101")
        first = roster[0].school_code
        for g in GROUPS.values():
            ln = link_for(rnd, g.key, first if g.school_linked else None)
            ln.quota = 10
            db.session.commit()
            store_answers(ln, "满意")
            store_answers(ln, "不满意" if g.key == "parent" else "比较满意")
        rid, other_id = rnd.id, other.id
    res = run(database_url, "evaluate", "--data", str(workbook), "--round", str(rid), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    item5 = next(i for i in report["items"] if i["code"] == "5")
    # hand check: parents 1/2 approve, every other group 2/2 → 0.40 × 0.5 + 0.60 × 1 = 0.80
    assert abs(report["recognition"]["score"] - 0.80) < 1e-12
    assert item5["status"] == "fail"
    assert any(i["name"].startswith(f"调查轮次 {rid}") for i in report["provenance"]["inputs"])
    wrong = run(database_url, "evaluate", "--data", str(workbook), "--round", str(other_id), "--out", str(tmp_path / "x"))
    assert wrong.returncode == 2 and "与数据表的县代码 370300 不一致" in wrong.stderr
    assert not (tmp_path / "x").exists()


def test_demo_loads_a_county_round_answers_and_evaluation_and_is_safe_twice(app, database_url):
    from survey.models import Evaluation, Response

    first = run(database_url, "demo")
    assert first.returncode == 0, first.stderr
    assert "已模拟" in first.stdout and "demo-2026" in first.stdout
    with app.app_context():
        counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (SurveyRound, Response, Evaluation, User)]
        rnd = db.session.scalars(select(SurveyRound)).one()
        assert len(rnd.schools) >= 30
        assert {"九年一贯制", "完全中学"} <= {s.school_type for s in rnd.schools}
        assert counts[1] > 300 and counts[2] == 1 and counts[3] == 3
    second = run(database_url, "demo")
    assert second.returncode == 0, second.stderr
    assert "已存在" in second.stdout
    with app.app_context():
        assert [db.session.scalar(select(func.count()).select_from(m))
                for m in (SurveyRound, Response, Evaluation, User)] == counts
