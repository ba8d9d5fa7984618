"""Readers' wording of details (issue 11, item 8): workbook keys by their Chinese names, Beijing
time, the software and rule-set by name."""

from __future__ import annotations

from evaluator.report import display


def test_keys_become_chinese_names():
    names = display._field_names()
    text = display.plain("教师平均工资收入与公务员平均工资收入之比102.28%；performance_pay_ok=是")
    assert "performance_pay_ok" not in text and f"{names['performance_pay_ok']}：是" in text
    text = display.plain("缺少数据：equipment_value、teaching_area")
    assert text == f"缺少数据：{names['equipment_value']}、{names['teaching_area']}"
    # a key already shown beside its Chinese name, and unknown words, stay as they are
    assert display.plain("缺少数据：质量监测抽测情况（monitoring_status）") == "缺少数据：质量监测抽测情况（monitoring_status）"
    assert display.plain("no_such_field=是") == "no_such_field=是"
    assert display.plain("未提供社会认可度调查结果（--responses 或 --round）") == \
        "未提供社会认可度调查结果（上传社会认可度答卷文件或选择调查轮次）"


def test_times_software_and_rule_set_names():
    assert display.beijing_time("2026-12-01T10:15:56+00:00") == "2026年12月1日 18:15（北京时间）"
    assert display.beijing_time("2026-12-01T10:15:56") == "2026年12月1日 18:15（北京时间）"  # naive = UTC
    assert display.beijing_time("昨天") == "昨天"
    assert display.software_name("evaluator 0.1") == "优质均衡督导评估工具 0.1 版"
    assert display.ruleset_name("national-2017").startswith("县域义务教育优质均衡发展督导评估（国家标准")
    assert display.ruleset_name("/elsewhere/custom.yaml") == "/elsewhere/custom.yaml"
