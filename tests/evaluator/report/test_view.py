"""The display model: polarity, grouping, labels, totals and absent keys (no recomputation)."""

from __future__ import annotations

from evaluator.report.sections import items_table, matrix_table, shortfall_tables
from evaluator.report.view import build_view


def _row(table, code):
    return next(r for r in table.rows if r[0].text.startswith(f"{code} "))


def test_item_table_has_seed_002_columns_and_area_groups(sample):
    table = items_table(sample)
    assert table.headers == ("指标", "是否达标", "存在问题", "整改措施", "整改时限", "责任部门")
    assert len(table.rows) == 40
    assert list(dict.fromkeys(table.groups)) == ["资源配置", "政府保障程度", "教育质量", "否决性指标", "社会认可度"]


def test_status_words_and_veto_polarity(sample):
    table = items_table(sample)
    assert _row(table, "1.1")[1].text == "是"
    assert _row(table, "1.4")[1].text == "否"
    assert _row(table, "3.9")[1].text == "待定"
    assert _row(table, "2.7")[1].text == "不适用"
    # veto: status "pass" means the practice is absent -> 是 (seed 002's polarity)
    assert _row(table, "4.1")[1].text == "是"
    assert _row(table, "4.3")[1].text == "否"


def test_rectification_columns_come_from_the_dict(sample):
    row = _row(items_table(sample), "4.3")
    assert [c.text for c in row[2:]] == [
        "实验中学设有重点班（实验班2个）。", "立即撤销实验班，均衡编班。", "2023年9月", "教育和体育事业中心"]
    plain = _row(items_table(sample), "2.4")
    assert [c.text for c in plain[3:]] == ["", "", ""]
    assert _row(items_table(sample), "1.1")[2].text == "无"


def test_pending_item_names_missing_fields(sample):
    text = _row(items_table(sample), "3.9")[2].text
    assert text.startswith("未抽测；缺少数据：") and "（monitoring_status）" in text
    sample["items"][0]["missing"] = ["teaching_area", "no_such_field"]
    text = _row(items_table(sample), "1.1")[2].text
    assert text.startswith("缺少数据：") and text.endswith("（teaching_area）、no_such_field")
    assert len(text) > len("缺少数据：（teaching_area）、no_such_field")  # a Chinese name was added


def test_matrix_uses_bands_and_labels_from_the_dict(sample):
    sample["schools"][0]["indicators"]["qualified_teachers"]["band"] = "near"  # writers must not recompute
    table = matrix_table(sample)
    labels = [r[0].text for r in table.rows]
    assert "宝鑫新经典学校（小学部）" in labels and "宝鑫新经典学校（初中部）" in labels
    assert table.rows[0][3].band == "near"
    assert table.rows[-1][-1].text == "不参评"
    assert table.rows[-1][6].band == "missing" and table.rows[-1][6].text == "—"


def test_split_school_label_derived_when_label_absent(minimal):
    minimal["schools"][0].update(school_type="九年一贯制", name="实验学校")
    assert matrix_table(minimal).rows[0][0].text == "实验学校（小学部）"


def test_shortfall_totals_prefer_the_dicts_own(sample):
    sample["shortfall_totals"][0]["amount"] = 99  # differs from the sum of the rows on purpose
    _, totals = shortfall_tables(sample)
    assert totals.rows[0][2].value == 99
    assert totals.rows[0][4].text == "共缺少99间音乐专用教室"


def test_shortfall_totals_summed_only_when_absent(sample):
    del sample["shortfall_totals"]
    _, totals = shortfall_tables(sample)
    music = next(r for r in totals.rows if r[1].text == "音乐专用教室")
    assert music[2].value == 7
    assert "汇总" in totals.note


def test_absent_extensions_read_as_not_given(minimal):
    view = build_view(minimal)
    texts = "\n".join(p for s in view.sections for p in s.paragraphs)
    assert "未提供社会认可度调查结果" in texts
    assert "评估未完成" in view.verdict_text
    prov = next(s for s in view.sections if s.title == "数据来源与版本").tables[0]
    assert prov.rows[0][1].text.endswith("（national-2017）")  # falls back to the contract key "rules", titled
    assert prov.rows[1][1].text == "未提供"


def test_verdict_reasons_listed(sample):
    first = build_view(sample).sections[0]
    assert "结论：未达到县域义务教育优质均衡发展督导评估认定标准。" in first.paragraphs
    assert any(p.startswith("5. 4.3 存在重点学校") for p in first.paragraphs)


def test_control_characters_are_dropped(sample):
    sample["items"][0]["problem"] = "坏\x01字符"
    assert _row(items_table(sample), "1.1")[2].text == "坏字符"


def test_rectification_plan_sorted_by_deadline(sample):
    from evaluator.report.sections import rectification_table

    sample["items"][0]["rectification"] = {"measures": "补充招聘", "deadline": "2023-03", "department": "人事部"}
    sample["items"][1]["rectification"] = {"measures": "待研究", "deadline": "视情况而定", "department": ""}
    table = rectification_table(sample)
    deadlines = [r[0].text for r in table.rows]
    assert deadlines == ["2023-03", "2023年9月", "2024年9月", "2024年9月", "2024年9月", "视情况而定", "未定"]
    assert table.rows[1][1].text.startswith("4.3 ") and table.rows[1][2].text == "否"


def test_recognition_paragraphs_report_filters_and_sensitivity(sample):
    from evaluator.report.recognition_view import recognition_paragraphs

    result, filters = recognition_paragraphs(sample["recognition"])
    assert result.startswith("社会认可度为88.6%（95%置信区间85.5%～91.1%），达到85.0%的标准。")
    assert "若将“不了解”计为不认可，认可度为84.0%，未达到标准（结论随之改变）。" in result
    sample["recognition"]["dont_know_as_no_status"] = "pass"
    assert "认可度为84.0%，达到标准。" in recognition_paragraphs(sample["recognition"])[0]
    sample["recognition"]["warnings"] = ["教师组样本少于30人"]
    assert recognition_paragraphs(sample["recognition"])[-1] == "注意：教师组样本少于30人"
    assert filters == ("质量筛查剔除答卷28份（作答过快21份、快速且答案雷同7份），保留578份。"
                       "不经筛查时认可度为88.9%（95%置信区间85.8%～91.4%，606份）。")
    sample["recognition"]["borderline"] = True
    assert "临界" in recognition_paragraphs(sample["recognition"])[0]


def test_prerequisite_and_failing_school_reasons(sample, minimal):
    from evaluator.report.sections import school_issue_table

    first = build_view(sample).sections[0].paragraphs
    assert "前提条件（通过基本均衡认定满规定年限）：是。2015年通过基本均衡认定，2023年评估，相隔8年（要求≥3年）。" in first
    assert "前提条件（通过基本均衡认定满规定年限）：未提供。" in build_view(minimal).sections[0].paragraphs
    table = school_issue_table(sample)
    assert [r[0].text for r in table.rows] == ["第一小学", "华侨城小学", "实验中学", "宝鑫新经典学校（初中部）"]
    assert table.rows[2][3].text == "未提供"  # 实验中学 fails but the dict gives no reason
    assert "3.71低于标准的85%" in table.rows[1][3].text


def test_provenance_rows_including_unknown_keys(sample):
    from evaluator.report.sections import provenance_tables

    sample["provenance"]["ruleset_sources"] = ["national-2017.yaml", "shandong-2021.yaml"]
    sample["provenance"]["round_id"] = "R-7"
    meta, inputs = provenance_tables(sample)
    rows = {r[0].text: r[1].text for r in meta.rows}
    assert rows["规则文件"] == "national-2017.yaml、shandong-2021.yaml"
    assert rows["round_id"] == "R-7" and rows["规则版本"] == "1"
    assert [r[0].text for r in inputs.rows] == ["高新区2023年数据.xlsx", "responses<2023>.csv"]


def test_key_figures_read_off_the_dict(sample, minimal):
    from evaluator.report.sections import key_figures_table

    rows = {r[0].text: r[1] for r in key_figures_table(sample).rows}
    assert rows["参评学校（部）"].value == 6  # the excluded 教学点 is not counted
    assert rows["未达到1.8要求的学校（部）"].value == 4
    assert rows["差异系数超过限值"].text == "1项（共14项，1项无法计算）"
    assert rows["存在的否决性情形"].text == "4.3 设重点学校或重点班"
    sample["schools"][0]["pass"] = True  # the dict decides, even against its own bands
    assert {r[0].text: r[1] for r in key_figures_table(sample).rows}["未达到1.8要求的学校（部）"].value == 3
    assert {r[0].text: r[1].text for r in key_figures_table(minimal).rows}["社会认可度"] == "未提供"


def test_heading_numbers():
    from evaluator.report.display import heading_number

    assert [heading_number(1, i) for i in (1, 9, 10, 11, 20, 23)] == ["一、", "九、", "十、", "十一、", "二十、", "二十三、"]
    assert heading_number(2, 3) == "（三）"


def test_number_formats():
    from evaluator.report.display import format_value

    assert format_value(1234567.0, "num") == "1234567"
    assert format_value(706.8, "num") == "706.8" and format_value(2, "num") == "2"
    assert format_value(0.51231, "cv") == "0.512" and format_value(0.8861, "pct") == "88.6%"
    assert format_value(None, "pct") == "—" and format_value(float("nan"), "dec2") == "—"


def test_borderline_recognition_flagged_in_the_verdict_section(sample):
    assert not any(p.startswith("提示：") for p in build_view(sample).sections[0].paragraphs)
    sample["recognition"].update(borderline=True, ci=[0.84, 0.91])
    assert build_view(sample).sections[0].paragraphs[-1].startswith(
        "提示：社会认可度88.6%的置信区间84.0%～91.0%包含85.0%，结论处于临界状态")
