"""`region`, `roadmap` and `projection` on the command line: exit 0 on success, exit 2 with a
located Chinese message and nothing written on bad input."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from sqlalchemy import func, select

from survey.db import db
from survey.overview.models import PlanProject, Region
from tests.survey.overview_city import evaluate_county
from tests.survey.test_cli import run
from tests.survey.test_overview import _roadmap_bytes


def test_regions_roadmap_and_projection_from_the_command_line(app, database_url, tmp_path):
    from tests.survey.helpers import make_user

    with app.app_context():
        admin = make_user("cli_admin", "admin")
        evaluate_county(tmp_path, admin, "210303", "铁西区", True, True)
        make_user("cli_eval", "evaluator", ("210303",))
        db.session.commit()
    assert run(database_url, "region", "create", "--code", "21", "--name", "辽宁省", "--level", "province").returncode == 0
    made = run(database_url, "region", "create", "--code", "2103", "--name", "鞍山市", "--level", "city", "--parent", "21")
    assert made.returncode == 0, made.stderr
    bad = run(database_url, "region", "counties", "--code", "2103", "210303", "999999")
    assert bad.returncode == 2 and "以下县代码尚未登记：999999" in bad.stderr
    assert run(database_url, "region", "counties", "--code", "2103", "210303").returncode == 0
    assert run(database_url, "region", "assign", "--code", "2103", "--username", "cli_eval").returncode == 0
    with app.app_context():
        r = db.session.scalar(select(Region).where(Region.code == "2103"))
        assert [c.code for c in r.counties] == ["210303"] and r.parent.code == "21"

    good = tmp_path / "规划.xlsx"
    good.write_bytes(_roadmap_bytes(tmp_path))
    broken = tmp_path / "坏规划.xlsx"
    wb = load_workbook(good)
    wb["建设项目"]["B2"] = "明年"
    wb.save(broken)
    out = run(database_url, "roadmap", "import", "--county", "210303", str(broken))
    assert out.returncode == 2
    assert "文件 坏规划.xlsx，工作表 建设项目，第 2 行，列 B（完成年份）：“明年”不是数字" in out.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlanProject)) == 0
    assert run(database_url, "roadmap", "import", "--county", "210303", str(good)).returncode == 0
    proj = run(database_url, "projection", "--county", "210303")
    assert proj.returncode == 0, proj.stderr
    doc = json.loads(proj.stdout)
    assert doc["verdict_year"] == 2026 and doc["target_year"] == 2028
    assert doc["first_pass"]["1.8"] == 2026 and doc["depends_on"]["1.8"] == ["三小扩建"]
    assert [y["verdict"] for y in doc["years"]] == ["not_recognized", "recognized", "recognized", "recognized"]
    none = run(database_url, "projection", "--county", "110101")
    assert none.returncode == 2 and "县代码 110101 尚未登记" in none.stderr
