"""Seed 002's self-check table (淄博高新区 2023) reproduced by the writers from the engine's dict.

The engine's seed-002 dataset (tests/evaluator/data/seed002) plus the seed's own rectification
rows (整改措施, 整改时限, 责任部门 as printed in the seed) go through evaluate → report.xlsx; the
指标汇总 sheet must read like the seed's table. Deliberate differences (docs/rules.md): 3.9 未抽测 is
待定, not 是; 2.6 has no 村小/教学点 under 100 students in the dataset, so it is 不适用.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
from docx import Document

from evaluator.report import write_reports

SEED = Path(__file__).resolve().parents[1] / "data" / "seed002"
#: 是否达标 as printed in the seed (veto rows: 是 = the practice is absent).
SEED_COLUMN = {
    **{f"1.{i}": "是" for i in range(1, 10)}, "1.4": "否", "1.5": "否", "1.8": "否",
    **{f"2.{i}": "是" for i in range(1, 16)}, "2.1": "否", "2.3": "否", "2.4": "否", "2.5": "否",
    **{f"3.{i}": "是" for i in range(1, 10)},
    **{f"4.{i}": "是" for i in range(1, 7)},
    "5": "是",
}
OURS = SEED_COLUMN | {"3.9": "待定", "2.6": "不适用"}
RECTIFICATION = [
    ("1.4", "1.推进科学城第一实验学校、民祥路学校等新建学校建设，调整招生划片。\n2.通过第九小学招生，减少华侨城小学和第一小学学生数。",
     "2024年9月", "教育和体育事业中心、财政金融局"),
    ("2.1", "完成修订编制《高新区（含先创区）中小学、幼儿园布局专项规划（2023－2035）》工作。", "2023年12月",
     "教育和体育事业中心、发展改革局、建设局"),
    ("2.5", "1.严格控制起始年级新生不超班额。\n2.结合化解“大校额”问题进度，及时调整超班额学生数。", "2025年9月", ""),
]


def _report(tmp_path: Path) -> dict:
    from evaluator.rules import load_ruleset
    from evaluator.verdict import evaluate_workbook
    from evaluator.workbook import read_workbook

    data = tmp_path / "seed002"
    shutil.copytree(SEED, data, ignore=shutil.ignore_patterns("*.py"))
    with (data / "rectification.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item", "measures", "deadline", "department"])
        writer.writerows(RECTIFICATION)
    recognition = {"score": 0.9012, "ci": [0.88, 0.92], "se": 0.01, "df": 40, "n_kept": 600, "n_dropped": 5,
                   "status": "pass", "borderline": False, "groups": {}, "dont_know_as_no": 0.87}
    return evaluate_workbook(read_workbook(data), load_ruleset("wusi-2017"), recognition).to_dict()


def test_self_check_table_reads_like_the_seed(tmp_path):
    report = _report(tmp_path)
    paths = write_reports(report, tmp_path / "out")
    ws = openpyxl.load_workbook(paths[3])["指标汇总"]
    rows = {str(r[1]).split(" ")[0]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[1]}
    assert {code: rows[code][2] for code in OURS} == OURS
    assert "共缺少10间音乐教室" in rows["2.3"][3]
    assert "华侨城小学2789人" in rows["2.4"][3] and "第一中学2997人" in rows["2.4"][3]
    assert rows["1.4"][5] == "2024年9月" and rows["1.4"][6] == "教育和体育事业中心、财政金融局"
    assert rows["2.1"][4].startswith("完成修订编制") and rows["2.1"][5] == "2023年12月"
    assert rows["1.1"][3] == "无"
    areas = [r[0] for r in ws.iter_rows(min_row=3, max_row=43, values_only=True) if r[1]]
    assert areas[0] == "资源配置" and areas[-1] == "社会认可度" and areas[-2] == "否决性指标"


def test_rectification_reaches_docx_and_plan(tmp_path):
    report = _report(tmp_path)
    paths = write_reports(report, tmp_path / "out")
    doc = Document(str(paths[2]))
    plan = next(t for t in doc.tables if t.rows[0].cells[0].text == "整改时限")
    # a year row (seed 000's roadmap) above each year's tasks
    assert [r.cells[0].text for r in plan.rows[1:]] == ["2023年", "2023年12月", "2024年", "2024年9月", "2025年", "2025年9月"]
    assert plan.rows[6].cells[1].text.startswith("2.5 ")
