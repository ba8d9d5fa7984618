"""report.xlsx: every table of the report on its own sheet, numbers kept as numbers.

Sheets: 结论, 指标汇总 (seed 002's self-check columns), 学校指标, 差异系数, 短板缺口, 社会认可度,
来源. Tables that share a sheet are stacked with their titles; the first table's header row is
frozen and the longest table gets the autofilter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from copy import copy
from numbers import Real
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from evaluator.cells import neutralise
from evaluator.report.charts import BAND_COLOURS
from evaluator.report.display import NUMBER_FORMATS, Cell, ReportView, Table
from evaluator.report.model import Report
from evaluator.report.view import build_view

FONT = "宋体"
SHEETS = ("指标汇总", "整改计划", "学校指标", "差异系数", "短板缺口", "社会认可度", "来源")
_THIN = Side(style="thin", color="808080")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEAD_FILL = PatternFill("solid", fgColor="E7E6E6")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
FILLS = {band: PatternFill("solid", fgColor=colour.lstrip("#").upper()) for band, colour in BAND_COLOURS.items()}
WRAP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


class _Styles:
    """Per-workbook cache of cell style arrays keyed by (number format, band, wrap).

    Assigning Border/Fill/Alignment objects cell by cell makes openpyxl hash them every time
    (most of the XLSX time for a 200-school county); copying a finished style array is the
    documented way to reuse a style (openpyxl docs, "Copying styles")."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str | None, str | None, bool], Any] = {}

    def apply(self, target: Any, number_format: str | None, band: str | None, wrap: bool) -> None:
        key = (number_format, band if band in FILLS else None, wrap)
        cached = self.cache.get(key)
        if cached is not None:
            target._style = copy(cached)
            return
        if number_format:
            target.number_format = number_format
        if wrap:
            target.alignment = WRAP
        target.border = BORDER
        if key[1]:
            target.fill = FILLS[key[1]]
        self.cache[key] = copy(target._style)


def _put(ws: Any, row: int, col: int, cell: Cell, styles: _Styles) -> None:
    target = ws.cell(row=row, column=col)
    number = isinstance(cell.value, Real) and not isinstance(cell.value, bool)
    if cell.fmt != "text" and number and math.isfinite(cell.value):
        target.value = cell.value
        styles.apply(target, NUMBER_FORMATS.get(cell.fmt, "General"), cell.band, wrap=False)
    else:
        target.value = None if cell.value is None or cell.text == "—" else neutralise(cell.text)
        styles.apply(target, None, cell.band, wrap=True)


def _write_table(ws: Any, table: Table, start: int, styles: _Styles) -> tuple[int, int, int]:
    """Write title, header and rows from row ``start``; return (header row, last row, n columns)."""
    offset = 1 if table.groups is not None else 0
    headers = ((table.group_header,) if offset else ()) + table.headers
    ws.cell(row=start, column=1, value=neutralise(table.title)).font = Font(name="黑体", bold=True, size=12)
    head = start + 1
    for j, name in enumerate(headers, 1):
        c = ws.cell(row=head, column=j, value=neutralise(name))
        c.font, c.fill, c.border, c.alignment = Font(name=FONT, bold=True), HEAD_FILL, BORDER, CENTER
    r = head
    for i, row in enumerate(table.rows):
        r += 1
        if offset:
            c = ws.cell(row=r, column=1, value=neutralise(table.groups[i]))
            c.fill, c.border, c.alignment = GROUP_FILL, BORDER, WRAP
        for j, cell in enumerate(row, 1 + offset):
            _put(ws, r, j, cell, styles)
    if table.note:
        ws.cell(row=r + 1, column=1, value=neutralise(table.note)).font = Font(name=FONT, italic=True, size=9)
    return head, r, len(headers)


def _sheet(ws: Any, tables: list[Table], styles: _Styles) -> None:
    row, frozen, best = 1, None, None
    widths: dict[int, float] = {}
    for table in tables:
        head, last, ncols = _write_table(ws, table, row, styles)
        if frozen is None:
            frozen = head
        if best is None or last - head > best[1] - best[0]:
            best = (head, last, ncols)
        offset = 1 if table.groups is not None else 0
        if offset:
            widths[1] = max(widths.get(1, 0), 12)
        for j, w in enumerate(table.widths, 1 + offset):
            widths[j] = max(widths.get(j, 0), w)
        row = last + (3 if table.note else 2)
    for j, w in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = w
    if frozen is not None:
        ws.freeze_panes = ws.cell(row=frozen + 1, column=1)
    if best is not None and best[1] > best[0]:
        ws.auto_filter.ref = f"A{best[0]}:{get_column_letter(best[2])}{best[1]}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if frozen is not None:
        ws.print_title_rows = f"{frozen}:{frozen}"


def _verdict_sheet(ws: Any, view: ReportView) -> None:
    ws.cell(row=1, column=1, value=neutralise(view.title)).font = Font(name="黑体", bold=True, size=16)
    ws.cell(row=2, column=1, value=neutralise(view.subtitle))
    ws.cell(row=3, column=1, value=f"评估结论：{view.verdict_text}").font = Font(name="黑体", bold=True, size=13)
    row = 5
    for par in view.sections[0].paragraphs:
        ws.cell(row=row, column=1, value=neutralise(par)).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    ws.column_dimensions["A"].width = 110


def write_xlsx(report: Report | Mapping[str, Any], path: Path | str, view: ReportView | None = None) -> Path:
    """Write report.xlsx to ``path`` (a temporary sibling renamed into place) and return the path."""
    view = view or build_view(report)
    path = Path(path)
    wb = Workbook()
    wb.properties.title, wb.properties.subject = view.title, view.subtitle
    wb.properties.creator = "县域义务教育优质均衡发展督导评估工具"
    wb.properties.language = "zh-CN"
    ws = wb.active
    ws.title = "结论"
    _verdict_sheet(ws, view)
    styles = _Styles()
    sheets: dict[str, list[Table]] = {name: [] for name in SHEETS}
    for section in view.sections[1:]:
        for table in section.tables:
            sheets.setdefault(table.sheet, []).append(table)
    sheets["指标汇总"].extend(view.sections[0].tables)
    for name, tables in sheets.items():
        ws = wb.create_sheet(name)
        if tables:
            _sheet(ws, sorted(tables, key=lambda t: not t.primary), styles)
        else:
            ws.cell(row=1, column=1, value=f"{name}：评估结果未提供。")
    tmp = path.with_name(path.name + ".part")
    wb.save(tmp)
    tmp.replace(path)
    return path
