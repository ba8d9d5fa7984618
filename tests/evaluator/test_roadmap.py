"""Roadmap workbook (seed 000's annex table and building projects): read, write back, and
errors that name file, sheet, row and column."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from evaluator.errors import InputError
from evaluator.projection import Project
from evaluator.roadmap import Roadmap, read_roadmap, write_roadmap

DALIAN = Roadmap(
    target_year=2025,
    measures={("2.3", 2019): "合理调整和改造各学校音乐、美术教室的布局和结构，确保音乐、美术专用教室数量和面积达标。",
              ("2.5", 2019): "完成理工附校大班额消除任务，全区中小学彻底消除大班额。",
              ("2.5", 2020): "小学、初中起始年级班级规模分别不超过45人、50人，严格控制班额，不新增超标准班额。"},
    projects=(
        Project("17中", 2019, "new", "DL17", name="17中学新校舍", school_name="大连17中学", school_type="初中",
                locality="城区", seats_junior=2250, added={"classes_junior": 45, "teaching_area": 52253.0}),
        Project("大华", 2020, "new", "DLDH", name="大华小区配套九年一贯制学校", school_name="大华学校",
                school_type="九年一贯制", seats_primary=1080, seats_junior=540, transfer_schools=("S01", "S02"),
                added={"classes_primary": 27, "classes_junior": 18}, music_rooms=4, music_room_area=96.0,
                art_rooms=4, art_room_area=90.0),
        Project("理工", 2021, "extension", "S03", name="理工附校综合楼", added={"teaching_area": 9000.0}),
    ),
    enrolment=pd.DataFrame([{"school_code": "S01", "year": 2021, "students_primary": 1500, "students_junior": None}]),
)


def test_roadmap_round_trip(tmp_path):
    path = write_roadmap(tmp_path / "规划.xlsx", DALIAN, titles={"2.3": "音乐美术专用教室"})
    back = read_roadmap(path)
    assert back.target_year == 2025
    assert back.measures == DALIAN.measures
    assert back.projects == DALIAN.projects
    assert back.enrolment.to_dict("records") == [{"school_code": "S01", "year": 2021, "students_primary": 1500,
                                                  "students_junior": None}]


def test_template_has_every_item_and_an_example_that_is_not_imported(tmp_path):
    path = write_roadmap(tmp_path / "t.xlsx")
    wb = load_workbook(path)
    assert [r[0].value for r in wb["推进规划"].iter_rows(min_row=2)][:3] == ["1.1", "1.2", "1.3"]
    wb["规划"]["B1"] = 2025
    wb.save(path)
    rm = read_roadmap(path)
    assert rm.projects == () and rm.measures == {} and rm.target_year == 2025


def _edit(tmp_path, sheet: str, cell: str, value):
    path = write_roadmap(tmp_path / "规划.xlsx", DALIAN)
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path


@pytest.mark.parametrize(("sheet", "cell", "value", "message"), [
    ("建设项目", "C3", "新修", "文件 规划.xlsx，工作表 建设项目，第 3 行，列 C（项目类型）：项目类型“新修”应为 新建/改扩建/撤并"),
    ("建设项目", "B2", "明年", "文件 规划.xlsx，工作表 建设项目，第 2 行，列 B（完成年份）：“明年”不是数字"),
    ("建设项目", "G3", "", "文件 规划.xlsx，工作表 建设项目，第 3 行，列 G（学校类型）：新建学校须填写学校类型"),
    ("建设项目", "I3", -5, "文件 规划.xlsx，工作表 建设项目，第 3 行，列 I（新增学位（小学））：“-5”应为非负数"),
    ("建设项目", "AC3", None, "文件 规划.xlsx，工作表 建设项目，第 3 行，列 AC（美术教室每间面积）：新增专用教室时须填写每间面积"),
    ("建设项目", "B4", 2030, "项目“理工附校综合楼”的完成年份 2030 晚于目标验收年份 2025"),
    ("推进规划", "A5", "9.9", "文件 规划.xlsx，工作表 推进规划，第 5 行，列 A（指标编号）：指标编号“9.9”不是国家指标表中的编号"),
    ("推进规划", "D1", "后年", "文件 规划.xlsx，工作表 推进规划，第 1 行，列 D（后年）：未知的列"),
    ("学生数预测", "C2", 12.5, "文件 规划.xlsx，工作表 学生数预测，第 2 行，列 C（在校生数（小学））：“12.5”应为整数"),
    ("规划", "B1", 1890, "文件 规划.xlsx，工作表 规划，第 1 行，列 B：年份 1890 不在 2000–2100 之间"),
])
def test_errors_name_file_sheet_row_and_column(tmp_path, sheet, cell, value, message):
    path = _edit(tmp_path, sheet, cell, value)
    with pytest.raises(InputError) as err:
        read_roadmap(path)
    assert message in str(err.value)


def test_missing_plan_sheet_and_wrong_suffix(tmp_path):
    wb = Workbook()
    wb.active.title = "其他"
    wb.save(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="缺少“规划”工作表"):
        read_roadmap(tmp_path / "x.xlsx")
    (tmp_path / "x.csv").write_text("a")
    with pytest.raises(InputError, match=r"文件 x\.csv：规划文件应为 \.xlsx"):
        read_roadmap(tmp_path / "x.csv")
