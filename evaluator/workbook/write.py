"""Writing a data workbook: the blank template (with notes) and filled workbooks or CSV folders.

openpyxl is imported only when an XLSX file is written.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluator.errors import InputError
from evaluator.workbook.schema import (
    CLASS_COLUMNS,
    COUNTY_KEYS,
    EXAMPLE_PREFIX,
    MONITOR_KEY,
    RECTIFICATION_COLUMNS,
    ROOM_COLUMNS,
    SCHOOL_COLUMNS,
    SUBJECT_NAMES,
    Column,
    CountyKey,
    local_county_keys,
    local_school_columns,
    ruleset_notes,
)


def _rows_for(columns: tuple[Column, ...], frame: pd.DataFrame | None) -> list[list[Any]]:
    if frame is None:
        return []
    out = []
    for rec in frame.to_dict("records"):
        row = []
        for c in columns:
            v = rec.get(c.key)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                row.append(None)
            elif isinstance(v, bool) or c.kind == "yesno":
                row.append("是" if v else "否")
            elif isinstance(v, float | np.floating) and float(v).is_integer():
                row.append(int(v))
            else:
                row.append(v.item() if isinstance(v, np.generic) else v)
        out.append(row)
    return out


def write_workbook(path: str | Path, frames: Mapping[str, Any], *, notes: bool = False, rules: Any = None) -> Path:
    """Write a data workbook: ``frames`` maps sheet → DataFrame (county: dict key → value).

    ``path`` ending in .xlsx → one workbook (with Chinese headers and, with ``notes``, an
    example row and a 说明 sheet); otherwise a folder of CSV files with English headers.
    With ``rules`` the sheets carry the data fields of the rule-set's local items too, and
    the notes follow the rule-set (e.g. the 3.1 cohort length)."""
    path = Path(path)
    local_cols, local_keys = local_school_columns(rules), local_county_keys(rules)
    specs = {"schools": SCHOOL_COLUMNS + local_cols, "classes": CLASS_COLUMNS, "rooms": ROOM_COLUMNS}
    county: Mapping[str, Any] = frames.get("county", {})
    keys = ruleset_notes(COUNTY_KEYS, rules) + local_keys
    by_key = {k.key: k for k in keys}
    county_rows = [[k.key, _cell(county.get(k.key)), k.note if k.note != k.zh else k.zh] for k in keys]
    monitoring = sorted(k for k in county if MONITOR_KEY.match(k))
    if notes and not county:  # template: rows for the usual subjects, to fill or delete
        monitoring = [f"monitoring_{s}_{w}" for s in ("chinese", "math", "science") for w in ("level", "diff")]
    for key in monitoring:
        m = MONITOR_KEY.match(key)
        assert m is not None
        subject = SUBJECT_NAMES.get(m["subject"], m["subject"])
        note = (f"3.9 {subject}学业水平等级（Ⅰ–Ⅳ）" if m["what"] == "level" else f"3.9 {subject}校际差异率（0–1）")
        if notes and not county:
            note += "；已抽测时填写，未监测的科目请删除此行"
        county_rows.append([key, _cell(county.get(key)), note])
    if path.suffix.lower() != ".xlsx":
        path.mkdir(parents=True, exist_ok=True)
        for sheet, cols in specs.items():
            if sheet in frames and frames[sheet] is not None:
                with open(path / f"{sheet}.csv", "w", newline="", encoding="utf-8") as fh:
                    w = csv.writer(fh)
                    w.writerow([c.key for c in cols])
                    w.writerows(_rows_for(cols, frames[sheet]))
        with open(path / "county.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["key", "value", "note"])
            w.writerows(county_rows)
        return path

    from openpyxl import Workbook as XWorkbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    wb = XWorkbook()
    wb.remove(wb.active)
    head_font = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    example_font = Font(italic=True, color="808080")
    for sheet, cols in specs.items():
        ws = wb.create_sheet(sheet)
        ws.append([c.zh for c in cols])
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = head_font, fill
            if notes:
                cell.comment = Comment(f"{c.key}：{c.note}" + ("" if c.required else "（可选）"), "template")
            ws.column_dimensions[cell.column_letter].width = max(10, min(24, len(c.zh) * 2 + 2))
        if notes:
            ex = [c.example for c in cols]
            ex[0] = f"{EXAMPLE_PREFIX}{ex[0]}"
            ws.append(ex)
            for j in range(1, len(cols) + 1):
                ws.cell(row=2, column=j).font = example_font
        for row in _rows_for(cols, frames.get(sheet)):
            ws.append(row)
        ws.freeze_panes = "A2"
    ws = wb.create_sheet("county")
    ws.append(["key", "value", "note"])
    for j in range(1, 4):
        ws.cell(row=1, column=j).font, ws.cell(row=1, column=j).fill = head_font, fill
    for row in county_rows:
        if notes and not county:
            spec = by_key.get(row[0])
            if spec is not None:
                row = [row[0], None, f"{spec.zh}；示例：{spec.example}" + (f"（{spec.note}）" if spec.note != spec.zh else "")]
        ws.append(row)
    ws.column_dimensions["A"].width, ws.column_dimensions["C"].width = 32, 60
    ws = wb.create_sheet("rectification")
    ws.append([c.zh for c in RECTIFICATION_COLUMNS])
    for r in frames.get("rectification") or []:
        ws.append(list(r))
    if notes:
        _notes_sheet(wb, local_cols, local_keys, rules)
    wb.save(path)
    return path


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def _notes_sheet(wb: Any, local_cols: tuple[Column, ...] = (), local_keys: tuple[CountyKey, ...] = (),
                 rules: Any = None) -> None:
    ws = wb.create_sheet("说明", 0)
    lines = [
        ["县域义务教育优质均衡发展督导评估 数据工作簿（教督〔2017〕6号）"],
        ["填写说明：每个工作表第 1 行为表头（中文名或英文键均可）。以“示例”开头的行是示例，不参与计算，可删除。"],
        ["空单元格表示“缺少数据”，不会按 0 处理；相关指标将显示为“待补充”。是/否 可填 是/否、Y/N、true/false、1/0。"],
        ["classes（每班一行）与 rooms（每间音乐、美术专用教室一行）为可选表；缺少时 2.5、2.3 为待补充。"],
        ["county 表每行一个键：key 列勿改，在 value 列填写；质量监测科目按 monitoring_<科目>_level / monitoring_<科目>_diff 增加行，"
         "如 monitoring_math_level = Ⅲ、monitoring_math_diff = 0.12。"],
        ["rectification（可选）：按指标编号填写整改措施、整改时限、责任部门，将写入报告。"],
        [],
        ["工作表", "列（英文键）", "中文表头", "类型", "说明", "示例"],
    ]
    kinds = {"code": "文字（必填）", "text": "文字", "enum": "选项", "count": "非负整数", "number": "非负数",
             "yesno": "是/否", "year": "年份"}
    for sheet, cols in (("schools", SCHOOL_COLUMNS), ("classes", CLASS_COLUMNS), ("rooms", ROOM_COLUMNS),
                        ("rectification", RECTIFICATION_COLUMNS)):
        for c in cols:
            lines.append([sheet, c.key, c.zh, kinds[c.kind], c.note + ("" if c.required else "（可选）"), c.example])
    if rules is not None:
        lines.insert(1, [f"规则集：{rules.id}（{rules.title}）"])
    for c in local_cols:
        lines.append(["schools", c.key, c.zh, kinds[c.kind], c.note, c.example])
    for k in local_keys:
        lines.append(["county", k.key, k.zh, kinds.get(k.kind, k.kind), k.note, k.example])
    for ws_row in lines:
        ws.append(ws_row)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["E"].width = 50


def write_template(path: str | Path, rules: Any = None) -> Path:
    """Blank data workbook (docs/interfaces.md §2) with field notes and one example row per sheet.

    Without ``rules`` the national template; with a RuleSet its local items' fields are
    added (schools columns and county rows, with Chinese names and notes)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError("模板文件名应以 .xlsx 结尾", file=str(path), field="--out")
    return write_workbook(path, {}, notes=True, rules=rules)


