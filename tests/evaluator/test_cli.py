"""`python run.py template | evaluate | rules check` (docs/interfaces.md §1, §4)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from evaluator import report as writers
from evaluator.rules import ITEM_CODES
from survey.commands import main
from tests.evaluator.builders import default_schools, write

CONTRACT_KEYS = {"verdict", "rules", "items", "schools", "cv", "recognition", "shortfalls"}
EXTENSION_KEYS = {"cv_limits", "cv_notes", "cv_mode", "shortfall_totals", "reasons", "county", "provenance"}


def test_evaluate_writes_a_report_json_a_script_can_trust(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path, default_schools(), xlsx=True)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert CONTRACT_KEYS | EXTENSION_KEYS <= set(report)
    assert [i["code"] for i in report["items"]] == list(ITEM_CODES)
    assert all(set(i) >= {"code", "title", "status", "detail", "area", "problem", "missing"} for i in report["items"])
    assert report["verdict"] == "incomplete"  # no survey result: item 5 pending
    assert report["reasons"] == [r for r in report["reasons"] if r.startswith("5（待定）")] and report["reasons"]
    school = report["schools"][0]
    assert set(school["indicators"]["qualified_teachers"]) >= {"value", "threshold", "met", "ratio", "band"}
    assert school["indicators"]["qualified_teachers"] == {"value": 5.0, "threshold": 4.2, "met": True,
                                                          "ratio": pytest.approx(5.0 / 4.2), "band": "pass"}
    assert set(report["cv"]) == {"primary", "junior"} and len(report["cv"]["primary"]) == 7
    prov = report["provenance"]
    assert prov["ruleset_id"] == "national-2017" and len(prov["ruleset_sha256"]) == 64
    assert prov["inputs"][0]["name"] == "data.xlsx" and len(prov["inputs"][0]["sha256"]) == 64
    assert "未提供社会认可度调查结果" in capsys.readouterr().out
    if hasattr(writers, "write_reports"):
        assert (out / "report.xlsx").exists() and (out / "report.html").exists()


def test_malformed_workbook_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path, default_schools(), xlsx=True)
    wb = openpyxl.load_workbook(data)
    header = [c.value for c in wb["classes"][1]]
    wb["classes"].cell(row=5, column=header.index("学校代码") + 1, value="X99")
    wb.save(data)
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "文件 data.xlsx，工作表 classes，第 5 行，列 school_code（学校代码，A列）" in err and "X99" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".evaluate-")]


def test_existing_out_dir_is_untouched_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("old", encoding="utf-8")
    assert main(["evaluate", "--data", str(tmp_path / "missing.xlsx"), "--out", str(out)]) == 2
    assert (out / "report.json").read_text(encoding="utf-8") == "old"
    assert "不存在" in capsys.readouterr().err


def test_unknown_rules_and_round_option_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'survey.sqlite3'}")  # an empty survey database
    data = write(tmp_path, default_schools())
    assert main(["evaluate", "--data", str(data), "--rules", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "找不到规则集“nope”" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(data), "--round", "7", "--out", str(tmp_path / "o")]) == 2
    assert "调查轮次 7 不存在" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(data), "--round", "x", "--out", str(tmp_path / "o")]) == 2
    assert "调查轮次编号应为数字" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _responses(path: Path, codes: list[str], approve_every: int = 10) -> Path:
    """Every ``approve_every``-th answer 不满意, the rest 满意/比较满意 (so about 90% approval)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["group", "school_code", "duration_seconds", "q1", "q2", "q3"])
        k = 0
        for group, n in (("parent", 60), ("student", 30), ("teacher", 20), ("principal", 5),
                         ("npc_deputy", 4), ("cppcc_member", 4), ("public", 10)):
            for i in range(n):
                answers = []
                for _ in range(3):
                    k += 1
                    answers.append("不满意" if k % approve_every == 0 else ("满意" if k % 2 else "比较满意"))
                school = codes[i % len(codes)] if group in ("parent", "student", "teacher", "principal") else ""
                w.writerow([group, school, 120, *answers])
    return path


def test_responses_feed_item_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evaluator import recognition

    if getattr(recognition, "recognize_file", None) is None:  # until the estimator lands
        data = write(tmp_path, default_schools())
        responses = _responses(tmp_path / "r.csv", ["P1"])
        assert main(["evaluate", "--data", str(data), "--responses", str(responses), "--out", str(tmp_path / "o")]) == 2
        assert "社会认可度计算模块尚未就绪" in capsys.readouterr().err
        return
    data = write(tmp_path, default_schools())
    responses = _responses(tmp_path / "r.csv", ["P1", "P2", "P3", "J1", "J2"])
    out = tmp_path / "o"
    assert main(["evaluate", "--data", str(data), "--responses", str(responses), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rec = report["recognition"]
    assert 0.85 < rec["score"] < 0.95 and rec["status"] == "pass"
    assert next(i for i in report["items"] if i["code"] == "5")["status"] == "pass"
    assert report["verdict"] == "recognized" and report["reasons"] == []
    assert "r.csv" in [i["name"] for i in report["provenance"]["inputs"]]
    # a responses file naming a school outside the workbook is an error, and nothing is written
    bad = _responses(tmp_path / "bad.csv", ["P1", "NOPE"])
    assert main(["evaluate", "--data", str(data), "--responses", str(bad), "--out", str(tmp_path / "o2")]) == 2
    assert "NOPE" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_template_then_evaluate_demo_and_rules_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--out", str(tmp_path / "t.xlsx")]) == 0
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames[0] == "说明"
    from evaluator.workbook import demo_workbook

    demo = demo_workbook(tmp_path / "demo.xlsx", seed=1, schools=32)
    assert main(["evaluate", "--data", str(demo), "--rules", "national-2019", "--out", str(tmp_path / "o")]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    types = {s["school_type"] for s in report["schools"]}
    assert {"九年一贯制", "完全中学", "教学点", "小学", "初中"} <= types and report["rules"] == "national-2019"
    item_23 = next(i for i in report["items"] if i["code"] == "2.3")
    assert item_23["rectification"] == {"measures": "调整功能用房，新建、改建音乐美术专用教室", "deadline": "2025年9月",
                                        "department": "教育局、财政局"}  # from the rectification sheet
    assert main(["rules", "check"]) == 0
    assert "规则集 national-2017 v1：通过" in capsys.readouterr().out


def test_rules_check_reports_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: national-2017\nid: bad\nresources:\n  cv:\n    limits: {primary: x, junior: 0.4}\n",
                   encoding="utf-8")
    assert main(["rules", "check", str(bad)]) == 2
    assert "文件 bad.yaml，字段 resources.cv.limits.primary：应为数值" in capsys.readouterr().err


def test_template_needs_an_xlsx_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--out", str(tmp_path / "t.csv")]) == 2
    assert "模板文件名应以 .xlsx 结尾" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
