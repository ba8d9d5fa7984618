"""Reading and validating data workbooks: each malformed input gives the precise location."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.workbook import demo_frames, read_workbook, write_template
from tests.evaluator.builders import default_schools, write


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set a cell of a CSV file; ``row`` is the Excel-style number (header = 1)."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        read_workbook(path)
    return exc.value


@pytest.mark.parametrize(("sheet", "row", "column", "value", "expected_col", "words"), [
    ("classes", 3, "school_code", "ZZZ", "school_code", "学校代码“ZZZ”不在 schools 表中"),
    ("rooms", 2, "school_code", "ZZZ", "school_code", "不在 schools 表中"),
    ("schools", 3, "school_code", "P1", "school_code", "学校代码“P1”重复（第 2 行已使用）"),
    ("schools", 4, "sports_area", "-5", "sports_area", "不能为负数"),
    ("schools", 2, "students_primary", "一千", "students_primary", "“一千”不是数值；应为非负整数"),
    ("schools", 2, "teachers_primary", "60.5", "teachers_primary", "应为整数"),
    ("schools", 5, "students_junior", "0", "teachers_junior", "初中学生数为 0，但teachers_junior为 64"),
    ("schools", 2, "students_junior", "300", "students_junior", "学校类型为小学，不应有初中数据"),
    ("schools", 2, "school_type", "幼儿园", "school_type", "应为 小学/初中/九年一贯制/十二年一贯制/完全中学/教学点"),
    ("schools", 2, "curriculum_complete", "也许", "curriculum_complete", "应为 是/否"),
    ("schools", 2, "qualified_teachers_primary", "99", "qualified_teachers_primary", "超过该学段专任教师数 60"),
    ("rooms", 2, "area", "0", "area", "面积应大于 0"),
    ("classes", 2, "stage", "初中", "stage", "不应有初中班级"),
])
def test_malformed_cells_name_file_sheet_row_and_column(tmp_path: Path, sheet: str, row: int, column: str,
                                                        value: str, expected_col: str, words: str) -> None:
    folder = write(tmp_path, default_schools())
    _edit_csv(folder / f"{sheet}.csv", row, column, value)
    err = _error(folder)
    assert err.file == f"{sheet}.csv" and err.row == row and err.column is not None
    assert err.column.startswith(expected_col), err
    assert words in str(err), str(err)


def test_class_count_must_match_the_classes_sheet(tmp_path: Path) -> None:
    folder = write(tmp_path, default_schools())
    _edit_csv(folder / "schools.csv", 2, "classes_primary", "25")
    err = _error(folder)
    assert err.file == "classes.csv" and "与 schools 表 classes_primary（25）不一致" in str(err)


def test_unknown_column_and_county_key(tmp_path: Path) -> None:
    folder = write(tmp_path, default_schools())
    rows = list(csv.reader((folder / "schools.csv").read_text(encoding="utf-8").splitlines()))
    rows[0][3] = "localty"
    with (folder / "schools.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    err = _error(folder)
    assert (err.row, err.column) == (1, "localty") and "未知的列“localty”" in str(err)
    folder = write(tmp_path / "b", default_schools())
    with (folder / "county.csv").open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["rotated_teacher", "3", ""])
    err = _error(folder)
    assert err.file == "county.csv" and err.column == "key" and "未知的县级指标键“rotated_teacher”" in str(err)


def test_xlsx_errors_name_the_sheet(tmp_path: Path) -> None:
    path = write(tmp_path, default_schools(), xlsx=True)
    wb = openpyxl.load_workbook(path)
    header = [c.value for c in wb["schools"][1]]
    col = header.index("体育运动场馆面积") + 1
    wb["schools"].cell(row=4, column=col, value="很多")
    wb.save(path)
    err = _error(path)
    assert str(err).startswith("文件 data.xlsx，工作表 schools，第 4 行，列 sports_area（体育运动场馆面积，S列）：")


def test_empty_cells_are_missing_not_zero(tmp_path: Path) -> None:
    folder = write(tmp_path, default_schools())
    _edit_csv(folder / "schools.csv", 2, "equipment_value", "")
    wb = read_workbook(folder)
    assert wb.schools["equipment_value"].isna().sum() == 1


def test_chinese_headers_gbk_csv_and_yes_no_spellings(tmp_path: Path) -> None:
    folder = write(tmp_path / "x.xlsx".replace(".xlsx", ""), default_schools())
    text = (folder / "schools.csv").read_text(encoding="utf-8")
    text = text.replace("school_code", "学校代码", 1).replace("school_name", "学校名称", 1)
    text = text.replace(",True,", ",Y,")
    (folder / "schools.csv").write_bytes(text.encode("gb18030"))
    wb = read_workbook(folder)
    assert list(wb.schools["school_code"])[:2] == ["P1", "P2"]
    assert wb.schools["has_charter_and_ict"].tolist()[0] is True


def test_template_then_filled_template_reads_back(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    assert {"说明", "schools", "classes", "rooms", "county"} <= set(wb.sheetnames)
    ws = wb["schools"]
    assert ws["A2"].value.startswith("示例")  # example row, skipped when read
    assert ws["A1"].comment is not None and "school_code" in ws["A1"].comment.text
    frames = demo_frames(seed=3, schools=10)
    headers = [c.value for c in ws[1]]
    from evaluator.workbook.schema import SCHOOL_COLUMNS
    keys = {c.zh: c.key for c in SCHOOL_COLUMNS}
    for rec in frames["schools"].to_dict("records"):
        ws.append([("是" if rec[keys[h]] else "否") if isinstance(rec[keys[h]], bool) else rec[keys[h]]
                   for h in headers])
    wc = wb["county"]
    for r in range(2, wc.max_row + 1):
        key = wc.cell(row=r, column=1).value
        v = frames["county"].get(key)
        wc.cell(row=r, column=2, value=("是" if v else "否") if isinstance(v, bool) else v)
    wb.save(path)
    read = read_workbook(path)
    assert len(read.schools) == 10 and read.classes is not None and read.classes.empty
    assert read.county["county_name"] == frames["county"]["county_name"] and read.county["layout_plan_ok"] is True


def test_blank_template_is_rejected_with_a_location(tmp_path: Path) -> None:
    err = _error(write_template(tmp_path / "t.xlsx"))
    assert (err.file, err.sheet) == ("t.xlsx", "schools") and "没有学校" in str(err)


def test_county_part_larger_than_its_whole_is_rejected(tmp_path: Path) -> None:
    from tests.evaluator.builders import county

    folder = write(tmp_path, default_schools(), county(certified_teachers=401))
    err = _error(folder)
    assert err.file == "county.csv" and err.column == "value" and err.row is not None
    assert "certified_teachers（401）不能大于 full_time_teachers（400）" in str(err)


def test_missing_sheet_and_unrelated_csv_files(tmp_path: Path) -> None:
    folder = write(tmp_path, default_schools())
    (folder / "notes.csv").write_bytes(b"\xff\xfe junk")  # ignored: not a sheet of the workbook
    wb = read_workbook(folder)
    assert [n for n, _ in wb.inputs] == ["schools.csv", "classes.csv", "rooms.csv", "county.csv"]
    (folder / "county.csv").unlink()
    err = _error(folder)
    assert "缺少 county 工作表（或 county.csv）" in str(err)
