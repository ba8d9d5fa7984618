"""Files of the overview: the county table as XLSX, the city review report (市级复核) as DOCX;
the printable HTML is a template fed by the same ``review_data``. Every user-supplied string
in a spreadsheet cell goes through ``evaluator.cells.neutralise``."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaluator.cells import neutralise
from evaluator.labels import STATUS_WORD, VERDICT_SHORT
from evaluator.projection import ASSUMPTIONS
from evaluator.rules import INDICATOR_KEYS, STAGE_LABELS, STAGES
from survey.i18n import _
from survey.overview.rows import CountyRow

INDICATOR_ZH = {"qualified_teachers": "每百名学生拥有高于规定学历教师数", "backbone_teachers": "每百名学生拥有县级以上骨干教师数",
                "pe_art_teachers": "每百名学生拥有体育艺术专任教师数", "teaching_area": "生均教学及辅助用房面积",
                "sports_area": "生均体育运动场馆面积", "equipment_value": "生均教学仪器设备值",
                "multimedia_rooms": "每百名学生拥有网络多媒体教室数"}
VERDICT_ZH = VERDICT_SHORT
STATUS_ZH = {**STATUS_WORD, None: "—"}
def headers() -> list[str]:
    return [_("县代码"), _("县名称"), _("计划验收年份"), _("最近评估编号"), _("评估年度"), _("评估日期"), _("结论"),
            _("未达标项"), _("待定项"), _("短缺合计"), _("调查轮次"), _("回收/配额"), _("社会认可度"),
            _("置信区间"), _("预计达标年份"), _("进度"), _("进度说明")]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f}%"


def table_rows(rows: Sequence[CountyRow]) -> list[list[Any]]:
    out = []
    for r in rows:
        rnd = r.rounds[0] if r.rounds else None
        out.append([
            r.county.code, r.county.name, r.plan.target_year if r.plan else None,
            r.latest.id if r.latest else None, r.latest.assessment_year if r.latest else None,
            r.latest.created_at.date().isoformat() if r.latest else None,
            VERDICT_ZH.get(r.latest.verdict, r.latest.verdict) if r.latest else _("尚无评估"),
            "、".join(r.failing), "、".join(r.pending), "；".join(r.shortfalls),
            rnd.round.name if rnd else "", f"{rnd.collected}/{rnd.quota}" if rnd else "",
            _pct(rnd.score) if rnd else "", (f"{_pct(rnd.ci[0])}–{_pct(rnd.ci[1])}" if rnd and rnd.ci else ""),
            r.verdict_year, r.light.label, r.light.reason,
        ])
    return out


def overview_xlsx(rows: Sequence[CountyRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("县域进展总览")
    ws.append([neutralise(title)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(headers())
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in table_rows(rows):
        ws.append([neutralise(v) for v in row])
    for col, width in zip("ABCDEFGHIJKLMNOPQ", (9, 14, 8, 8, 8, 11, 22, 18, 12, 36, 24, 10, 10, 16, 10, 10, 60),
                          strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "C3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class ReviewData:
    title: str
    rows: Sequence[CountyRow]
    cv_rows: list[tuple[str, str, list[float | None], float | None]]  # stage, indicator, per county, limit
    failing_codes: list[tuple[str, str, list[str]]]  # code, title, status per county
    counties: list[str]


def review_data(rows: Sequence[CountyRow], title: str) -> ReviewData:
    """Comparison tables across counties: the 14 CVs of each latest evaluation, and every item
    failing (or pending) in at least one county with its status everywhere."""
    cv_rows = []
    for stage in STAGES:
        for key in INDICATOR_KEYS:
            values = [((r.cv or {}).get(stage) or {}).get(key) for r in rows]
            limits = [((r.latest.report or {}).get("cv_limits") or {}).get(stage) for r in rows if r.latest]
            cv_rows.append((STAGE_LABELS[stage], INDICATOR_ZH[key], values, limits[0] if limits else None))
    titles: dict[str, str] = {}
    statuses: list[dict[str, str]] = []
    for r in rows:
        items = (r.latest.report or {}).get("items", []) if r.latest else []
        statuses.append({it["code"]: it.get("status") for it in items})
        for it in items:
            titles.setdefault(it["code"], it.get("title", ""))
    codes = [c for c in titles if any(s.get(c) in ("fail", "pending") for s in statuses)]
    failing = [(c, titles[c], [STATUS_ZH.get(s.get(c), "—") for s in statuses]) for c in codes]
    return ReviewData(title, rows, cv_rows, failing, [r.county.name for r in rows])


def items_of(row: CountyRow, statuses: tuple[str, ...] = ("fail", "pending")) -> list[Mapping[str, Any]]:
    items = (row.latest.report or {}).get("items", []) if row.latest else []
    return [it for it in items if it.get("status") in statuses]


def review_docx(data: ReviewData) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(10.5)
    doc.add_heading(data.title, level=0)
    doc.add_paragraph(_("共 %(n)s 个县（市、区）。每县一节：最近一次评估的结论、未达标和待定指标、短缺合计、"
                        "推进规划的预计达标年份及与规划的对照；文末为各县差异系数和未达标指标对照表。", n=len(data.rows)))
    for r in data.rows:
        doc.add_heading(_("%(name)s（%(code)s）", name=r.county.name, code=r.county.code), level=1)
        plan = _("计划 %(y)s 年验收。", y=r.plan.target_year) if r.plan else _("尚未录入推进规划。")
        if r.latest:
            doc.add_paragraph(plan + _("最近一次评估：第 %(id)s 号，%(year)s 年度，%(v)s。进度：%(l)s（%(why)s）。",
                                       id=r.latest.id, year=r.latest.assessment_year or "",
                                       v=VERDICT_ZH.get(r.latest.verdict, r.latest.verdict), l=r.light.label,
                                       why=r.light.reason))
        else:
            doc.add_paragraph(plan + _("尚无评估。"))
        if r.verdict_year:
            doc.add_paragraph(_("按推进规划测算，%(y)s 年达到认定要求。", y=r.verdict_year))
        if r.tracking is not None:
            doc.add_paragraph(r.tracking.summary())
        open_items = items_of(r)
        if open_items:
            t = doc.add_table(rows=1, cols=3)
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, (_("指标"), _("状态"), _("存在问题")), strict=True):
                cell.text = text
            for it in open_items:
                cells = t.add_row().cells
                cells[0].text = f"{it['code']} {it.get('title', '')}"
                cells[1].text = STATUS_ZH.get(it.get("status"), "")
                cells[2].text = it.get("problem") or it.get("detail") or ""
        if r.shortfalls:
            doc.add_paragraph(_("短缺合计：%(list)s。", list="；".join(r.shortfalls)))
    doc.add_heading(_("各县差异系数对照（最近一次评估）"), level=1)
    t = doc.add_table(rows=1, cols=3 + len(data.counties))
    t.style = "Table Grid"
    for cell, text in zip(t.rows[0].cells, [_("学段"), _("指标"), *data.counties, _("标准")], strict=True):
        cell.text = text
    for stage, name, values, limit in data.cv_rows:
        cells = t.add_row().cells
        cells[0].text, cells[1].text = stage, name
        for i, v in enumerate(values):
            cells[2 + i].text = "—" if v is None else f"{v:.3f}" + (_("（超标）") if limit is not None and v > limit else "")
        cells[-1].text = "" if limit is None else f"≤{limit:.2f}"
    doc.add_heading(_("未达标和待定指标对照"), level=1)
    if data.failing_codes:
        t = doc.add_table(rows=1, cols=1 + len(data.counties))
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, [_("指标"), *data.counties], strict=True):
            cell.text = text
        for code, title, statuses in data.failing_codes:
            cells = t.add_row().cells
            cells[0].text = f"{code} {title.split('，')[0]}"
            for i, s in enumerate(statuses):
                cells[1 + i].text = s
    else:
        doc.add_paragraph(_("各县最近一次评估均无未达标或待定指标。"))
    doc.add_heading(_("测算假设"), level=1)
    for a in ASSUMPTIONS:
        doc.add_paragraph(a, style="List Number")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
