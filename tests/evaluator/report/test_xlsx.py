"""report.xlsx reopened with openpyxl: sheets, numbers as numbers with formats, frozen headers."""

from __future__ import annotations

import openpyxl

from evaluator.report import write_xlsx


def _open(report, tmp_path):
    return openpyxl.load_workbook(write_xlsx(report, tmp_path / "report.xlsx"))


def _rows(ws):
    return list(ws.iter_rows(values_only=True))


def test_sheets(sample, tmp_path):
    wb = _open(sample, tmp_path)
    assert wb.sheetnames == ["结论", "指标汇总", "整改计划", "学校指标", "差异系数", "短板缺口", "社会认可度", "来源"]
    assert wb["结论"]["A3"].value == "评估结论：未达到县域义务教育优质均衡发展督导评估认定标准"


def test_item_sheet_follows_seed_002(sample, tmp_path):
    ws = _open(sample, tmp_path)["指标汇总"]
    rows = _rows(ws)
    assert rows[1] == ("评估内容", "指标", "是否达标", "存在问题", "整改措施", "整改时限", "责任部门")
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:G42"
    veto = next(r for r in rows if r[1] and str(r[1]).startswith("4.1 "))
    assert veto[0] == "否决性指标" and veto[2] == "是"
    failed = next(r for r in rows if r[1] and str(r[1]).startswith("1.4 "))
    assert failed[2] == "否" and failed[5] == "2024年9月"


def test_school_matrix_numbers_formats_and_fills(sample, tmp_path):
    ws = _open(sample, tmp_path)["学校指标"]
    assert ws.freeze_panes == "A3"
    assert ws["A3"].value == "第一小学" and ws["C3"].value == 1860
    cell = ws["G3"]  # 1.4 teaching area of 第一小学: 4.12, near the threshold
    assert cell.value == 4.12 and isinstance(cell.value, float) and cell.number_format == "0.00"
    assert cell.fill.fgColor.rgb.endswith("FFE699")
    assert ws["G4"].fill.fgColor.rgb.endswith("F4B183")  # 华侨城小学 3.71: below 85%
    assert ws["I3"].number_format == "0"  # equipment value in whole yuan
    labels = [ws.cell(row=r, column=1).value for r in range(3, 10)]
    assert "宝鑫新经典学校（小学部）" in labels


def test_cv_sheet_keeps_full_precision(sample, tmp_path):
    ws = _open(sample, tmp_path)["差异系数"]
    row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "1.5 体育场馆")
    assert row[1].value == 0.51231 and row[1].number_format == "0.000"
    assert row[3].value == "否"
    null = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "1.7 多媒体教室")
    assert null[4].value is None and null[6].value == "无法计算"
    assert "缺少网络多媒体教室数据" in null[7].value


def test_shortfall_and_recognition_sheets(sample, tmp_path):
    wb = _open(sample, tmp_path)
    rows = _rows(wb["短板缺口"])
    assert rows[1] == ("学校代码", "学校", "指标", "缺口内容", "数量", "单位")
    assert ("2.3", "音乐专用教室", 7, "间", "共缺少7间音乐专用教室") in [r[:5] for r in rows]
    ws = wb["社会认可度"]
    score = next(r for r in ws.iter_rows() if r[0].value == "社会认可度（加权）")[1]
    assert score.value == 0.8861 and score.number_format == "0.0%"
    parent = next(r for r in ws.iter_rows() if r[0].value == "家长")
    assert parent[2].value == 291 and parent[3].number_format == "0.0%"


def test_provenance_sheet(sample, tmp_path):
    rows = _rows(_open(sample, tmp_path)["来源"])
    assert ("评估规则", "县域义务教育优质均衡发展督导评估（国家标准，教督〔2017〕6号）（national-2017）") in rows
    assert any(r[0] == "responses<2023>.csv" for r in rows)


def test_minimal_report(minimal, tmp_path):
    wb = _open(minimal, tmp_path)
    assert wb["社会认可度"]["A1"].value == "社会认可度：评估结果未提供。"
    assert any(r[0] == "规则版本" and r[1] == "未提供" for r in _rows(wb["来源"]))


def test_thresholds_table_on_the_matrix_sheet(sample, tmp_path):
    ws = _open(sample, tmp_path)["学校指标"]
    row = next(r for r in ws.iter_rows() if r[0].value == "1.5")
    assert row[1].value == "生均体育运动场馆面积"
    assert (row[3].value, row[4].value) == (7.5, 10.2) and row[3].number_format == "0.0"


def test_workbook_properties(sample, tmp_path):
    props = _open(sample, tmp_path).properties
    assert props.title == "县域义务教育优质均衡发展督导评估报告" and props.creator != "openpyxl"
