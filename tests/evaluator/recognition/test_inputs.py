"""Rule-set block, responses files (CSV/XLSX, Chinese, 问卷星 mapping) and errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from evaluator.errors import InputError, InstrumentError
from evaluator.recognition import (
    RecognitionRules,
    read_responses,
    read_schools,
    recognize,
    recognize_file,
)
from evaluator.recognition.responses import parse_duration
from evaluator.rules import load_ruleset

BASE = {"threshold": 0.85, "scale": ["满意", "比较满意", "基本满意", "不满意", "不了解"],
        "approve": ["满意", "比较满意", "基本满意"], "dont_know": ["不了解"],
        "group_weights": {"parent": 0.6, "public": 0.4}}


@pytest.fixture(scope="module")
def rules() -> RecognitionRules:
    return RecognitionRules.from_ruleset(load_ruleset("national-2017"))


def test_national_block(rules):
    assert rules.threshold == 0.85 and rules.speeder_seconds == 30 and rules.straightline_fast_seconds == 60
    assert rules.disapprove == ("不满意",) and rules.dont_know_policy == "exclude"
    assert sum(rules.group_weights.values()) == pytest.approx(1.0)
    assert rules.planning.minimum_n == 600 and rules.planning.per_mille == 1.5


@pytest.mark.parametrize(("patch", "field"), [
    ({"approve": ["满意", "很好"]}, "recognition.approve"),
    ({"group_weights": {"parent": 0.6, "public": 0.3}}, "recognition.group_weights"),
    ({"group_weights": {"parent": 0.6, "alien": 0.4}}, "recognition.group_weights"),
    ({"dont_know_policy": "ignore"}, "recognition.dont_know_policy"),
    ({"threshold": 85}, "recognition.threshold"),
    ({"filters": {"speeder_seconds": "thirty"}}, "recognition.filters.speeder_seconds"),
    ({"dont_know": ["满意"]}, "recognition.dont_know"),
])
def test_bad_block_names_file_and_field(patch, field):
    with pytest.raises(InstrumentError) as err:
        RecognitionRules.from_mapping({**BASE, **patch}, file="x.yaml")
    assert "文件 x.yaml" in str(err.value) and f"字段 {field}" in str(err.value)


def test_dont_know_as_no_policy():
    rules = RecognitionRules.from_mapping({**BASE, "dont_know_policy": "as_no",
                                           "group_weights": {"public": 1.0}})
    resp = pd.DataFrame({"group": ["public"] * 2, "school_code": [None] * 2, "duration_seconds": [100, 100],
                         "q1": ["满意", "不了解"], "q2": ["不满意", "满意"]})
    res = recognize(resp, None, rules)
    assert res.score == pytest.approx(2 / 4) and res.dont_know_as_no == pytest.approx(2 / 4)
    assert res.dont_know_rate == pytest.approx(1 / 4)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_chinese_headers_and_group_names(tmp_path, rules):
    f = write_csv(tmp_path / "r.csv", "组别,学校代码,作答时长,s01,s02\n家长,A,100,满意,不满意\n"
                  "人大代表,,120,比较满意,\n学生,A,2分5秒,基本满意,不了解\n", encoding="gbk")
    df = read_responses(f, rules)
    assert df["group"].tolist() == ["parent", "npc_deputy", "student"]
    assert df["duration_seconds"].tolist() == [100, 120, 125]
    assert df.index.tolist() == [2, 3, 4]
    assert pd.isna(df.loc[3, "s02"])


@pytest.mark.parametrize(("text", "needle"), [
    ("group,school_code,s01\nparent,A,满意\n外星人,A,满意\n", "文件 r.csv，第 3 行，列 group"),
    ("group,school_code,s01,s02\nparent,A,满意,满意\nparent,A,满意,还行\n", "文件 r.csv，第 3 行，列 s02.*还行"),
    ("group,school_code,s01\nparent,,满意\n", "第 2 行，列 school_code"),
    ("group,school_code,duration_seconds,s01\nparent,A,很久,满意\n", "第 2 行，列 duration_seconds"),
])
def test_bad_cells_name_row_and_column(tmp_path, rules, text, needle):
    f = write_csv(tmp_path / "r.csv", text)
    with pytest.raises(InputError, match=needle):
        recognize_file(f, None, rules)


def test_wjx_export_with_question_texts_and_codes(tmp_path, rules):
    """问卷星 "按选项序号" export: numbered question-text headers, codes 1–5, 所用时间 "…秒"."""
    header = ["序号", "提交答卷时间", "所用时间", "来源", "来自IP", "3、您的身份：", "学校代码",
              "1、您对县政府推进义务教育均衡发展、促进教育公平的工作是否满意？",
              "2、您对县里学校办学条件（校舍、运动场、教学设备等）的改善是否满意？"]
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(header)
    ws.append([1, "2026/11/1 10:00:00", "95秒", "微信", "1.2.3.4(山东)", "家长", 370390001, 1, 4])
    ws.append([2, "2026/11/1 10:01:00", "20秒", "微信", "1.2.3.5(山东)", "家长", 370390001, 1, 1])
    ws.append([3, "2026/11/1 10:02:00", "130秒", "链接", "1.2.3.6(山东)", "社会人士", None, 5, 2])
    path = tmp_path / "wjx.xlsx"
    wb.save(path)
    df = read_responses(path, rules, "wjx")
    assert list(df.columns[-2:]) == ["s01", "s02"] and "来源" not in df.columns and "来自IP" not in df.columns
    assert df["s01"].tolist() == ["满意", "满意", "不了解"] and df["s02"].tolist() == ["不满意", "满意", "比较满意"]
    assert df["school_code"].iloc[0] == "370390001"
    res = recognize_file(path, pd.DataFrame({"school_code": ["370390001"], "students": [500], "teachers": [40]}),
                         rules, {"parent": 0.5, "public": 0.5}, "wjx")
    assert res.dropped["speeder"] == 1
    assert res.score == pytest.approx(0.5 * 1 / 2 + 0.5 * 1.0)


def test_explicit_column_mapping(tmp_path, rules):
    f = write_csv(tmp_path / "r.csv", "身份类别,学校,Q1\n家长,A,满意\n")
    df = read_responses(f, rules, {"columns": {"身份类别": "group", "学校": "school_code", "Q1": "s01"}})
    assert df.columns.tolist() == ["group", "school_code", "s01", "duration_seconds"]


def test_schools_reader_workbook_columns(tmp_path):
    f = write_csv(tmp_path / "schools.csv", "学校代码,在校生数（小学）,在校生数（初中）,在校生数（高中）,"
                  "专任教师数（小学）,专任教师数（初中）\nA,100,50,30,8,4\nB,,,,,\n")
    frame = read_schools(f)
    assert frame["students"].tolist()[0] == 150 and frame["teachers"].tolist()[0] == 12
    assert math.isnan(frame["students"].iloc[1])


@pytest.mark.parametrize(("text", "seconds"), [("125", 125), ("125秒", 125), ("2分5秒", 125),
                                               ("1小时2分", 3720), (" 30.5 ", 30.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert np.isnan(parse_duration(""))
