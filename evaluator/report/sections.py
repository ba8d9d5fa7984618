"""The tables of the printed report (items, schools, CVs, shortfalls, local items, sources),
read from a typed ``Report``; each public function also takes a report dict."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from evaluator.labels import AREAS, COMPLIANCE, STATUS_WORD
from evaluator.outcome import at_most
from evaluator.report.display import (
    INDICATORS,
    NOT_GIVEN,
    STAGE_LABEL,
    STAGES,
    STATUS_BAND,
    Cell,
    Table,
    beijing_time,
    ci_label,
    ci_text,
    format_value,
    indicator_band,
    indicator_fmt,
    item_area,
    item_heading,
    item_problem,
    missing_text,
    pct,
    plain,
    ruleset_name,
    school_label,
    software_name,
    sorted_items,
    status_cell,
    text_cell,
)
from evaluator.report.model import Report, ReportItem, SchoolRow, ShortfallTotalRow, as_report


def _passed_cell(passed: bool | None) -> Cell:
    """是/否/待定 of a school part's 1.8 result (``pass``: true, false, or null when pending)."""
    status = "pass" if passed else ("fail" if passed is False else "pending")
    return Cell(COMPLIANCE[status], band=status)


def items_table(report: Report | Mapping[str, Any]) -> Table:
    """The national item table in seed 002's columns, grouped by area."""
    area_label = dict(AREAS)
    rows: list[tuple[Cell, ...]] = []
    groups: list[str] = []
    for item in sorted_items(as_report(report).items):
        rect = item.rectification or {}
        title = item_heading(item)
        rows.append(
            (
                Cell(title),
                status_cell(item.status),
                Cell(item_problem(item)),
                text_cell(rect.get("measures")),
                text_cell(rect.get("deadline")),
                text_cell(rect.get("department")),
            )
        )
        groups.append(area_label.get(item_area(item), "其他"))
    return Table(
        sheet="指标汇总",
        title="指标达成情况及整改计划",
        headers=("指标", "是否达标", "存在问题", "整改措施", "整改时限", "责任部门"),
        rows=rows,
        widths=(28, 8, 28, 28, 10, 14),
        groups=groups,
        primary=True,
    )


_YEAR_MONTH = re.compile(r"(\d{4})\s*年\s*(?:(\d{1,2})\s*月)?|(\d{4})-(\d{1,2})")


def _deadline_key(deadline: str) -> tuple[int, int, str]:
    """Sort key of a 整改时限 such as "2024年9月" or "2024-09" (unparsed text, then none, last)."""
    m = _YEAR_MONTH.search(deadline)
    if not m:
        return (9999 if deadline else 10000, 99, deadline)
    year = m.group(1) or m.group(3)
    month = m.group(2) or m.group(4) or "12"
    return (int(year), int(month), deadline)


def rectification_table(report: Report | Mapping[str, Any]) -> Table:
    """The rectification tasks (items carrying ``rectification``) by deadline, grouped by year
    like the year-by-year roadmap of seed 000 (时间表及路线图)."""
    tasks = [(it, it.rectification) for it in sorted_items(as_report(report).items) if it.rectification]
    keyed = sorted(((_deadline_key(str(rect.get("deadline") or "")), it, rect) for it, rect in tasks),
                   key=lambda row: row[0])
    rows = [
        (
            text_cell(rect.get("deadline"), "未定"),
            Cell(item_heading(it)),
            status_cell(it.status),
            text_cell(rect.get("measures")),
            text_cell(rect.get("department")),
        )
        for _, it, rect in keyed
    ]
    groups = [f"{key[0]}年" if key[0] < 9999 else "时限未定" for key, _, _ in keyed]
    return Table(
        sheet="整改计划",
        title="整改任务清单（按整改时限排列）",
        headers=("整改时限", "指标", "是否达标", "整改措施", "责任部门"),
        rows=rows,
        widths=(12, 28, 8, 40, 16),
        groups=groups,
        group_header="年度",
        note="" if rows else "评估结果中没有整改措施。",
    )


def summary_table(report: Report | Mapping[str, Any]) -> Table:
    """Counts of items by status per area (read from the item statuses, nothing recomputed)."""
    rows: list[tuple[Cell, ...]] = []
    items = as_report(report).items
    for key, label in AREAS:
        statuses = [str(it.status) for it in items if item_area(it) == key]
        counts = [statuses.count(s) for s in ("pass", "fail", "pending", "n/a")]
        rows.append((Cell(label), Cell(len(statuses), "int"), *(Cell(c, "int") for c in counts)))
    return Table(
        sheet="指标汇总",
        title="各方面指标达成情况统计",
        headers=("评估内容", "指标数", *(STATUS_WORD[s] for s in ("pass", "fail", "pending", "n/a"))),
        rows=rows,
        widths=(16, 8, 8, 8, 8, 8),
    )


def key_figures_table(report: Report | Mapping[str, Any]) -> Table:
    """Headline figures read off the report: schools judged and failing, CVs over their limit,
    vetoes present, recognition score. Counts only; no verdict is derived here."""
    report = as_report(report)
    schools = [s for s in report.schools if not s.excluded]
    failing = [school_label(s) for s in schools if s.passed is False]
    pending = sum(1 for s in schools if s.passed is None)
    cv, limits = report.cv, cv_limits(report)
    values = [(stage, v) for stage, _ in STAGES for v in (cv.get(stage) or {}).values()]
    over = sum(1 for stage, v in values if v is not None and limits[stage] is not None
               and not at_most(v, limits[stage]))
    null = sum(1 for _, v in values if v is None)
    vetoes = [item_heading(it) for it in report.items if item_area(it) == "veto" and it.status == "fail"]
    rec = report.recognition
    rows = [
        (Cell("参评学校（部）"), Cell(len(schools), "int")),
        (Cell("未达到1.8要求的学校（部）"), Cell(len(failing), "int", "fail" if failing else "pass")),
        (Cell("1.8待定的学校（部）"), Cell(pending, "int", "pending" if pending else None)),
        (Cell("差异系数超过限值"), Cell(f"{over}项（共{len(values)}项，{null}项无法计算）",
                                      band="fail" if over else "pass")),
        (Cell("存在的否决性情形"), Cell("；".join(vetoes) or "无", band="fail" if vetoes else "pass")),
        (Cell("社会认可度"), Cell(f"{pct(rec.score)}（{ci_label(rec.confidence)}{ci_text(rec.ci)}）" if rec else NOT_GIVEN)),
    ]
    return Table("指标汇总", "主要数据", ("项目", "数值"), rows, (30, 50))


def _stage_thresholds(schools: Iterable[SchoolRow]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for school in schools:
        for key, ind in school.indicators.items():
            found.setdefault(key, {}).setdefault(school.stage, ind.threshold)
    return found


def matrix_table(report: Report | Mapping[str, Any]) -> Table:
    """School × indicator matrix: values with band colours, met count and the 1.8 result."""
    schools = as_report(report).schools
    thresholds = _stage_thresholds(schools)
    headers = ["学校", "学段", "学生数"]
    for key, code, short, _unit in INDICATORS:
        lim = thresholds.get(key, {})
        limit = "/".join(
            format_value(lim[stage], "num") for stage, _ in STAGES if lim.get(stage) is not None
        )
        headers.append(f"{code} {short}\n{limit or NOT_GIVEN}")
    headers += ["达标项数", "是否达标"]
    rows: list[tuple[Cell, ...]] = []
    for school in schools:
        cells = [
            Cell(school_label(school)),
            Cell(STAGE_LABEL.get(school.stage, school.stage)),
            Cell(school.students, "int"),
        ]
        for key, *_ in INDICATORS:
            ind = school.indicators.get(key)
            if ind is None:
                cells.append(Cell(None, band="missing"))
            else:
                cells.append(Cell(ind.value, indicator_fmt(key), indicator_band(ind)))
        cells.append(Cell(school.met_count, "int"))
        if school.excluded:
            cells.append(Cell("不参评", band="na"))
        else:
            cells.append(_passed_cell(school.passed))
        rows.append(tuple(cells))
    return Table(
        sheet="学校指标",
        title="学校资源配置指标达成矩阵",
        headers=tuple(headers),
        rows=rows,
        widths=(22, 7, 8, 10, 10, 10, 10, 10, 10, 10, 7, 7),
        note="表头第二行为小学/初中标准；单位：1.1–1.3为人/百名学生，1.4、1.5为平方米/生，1.6为元/生，"
        "1.7为间/百名学生。图例：绿色为达标；黄色为未达标但不低于标准的85%；红色为低于标准的85%；灰色为数据缺失。"
        "“不参评”为规模低于下限的教学点，不参与1.8、1.9评估。",
        compact=True,
    )


def thresholds_table(report: Report | Mapping[str, Any]) -> Table:
    """The thresholds the report's school rows were judged against, per indicator and stage."""
    report = as_report(report)
    found = _stage_thresholds(report.schools)
    fmt = {key: indicator_fmt(key) for key, *_ in INDICATORS}
    rows = [
        (Cell(code), Cell(_item_title(report, code) or short), Cell(unit),
         *(Cell(found.get(key, {}).get(stage), "num" if fmt[key] == "int" else "dec1") for stage, _ in STAGES))
        for key, code, short, unit in INDICATORS
    ]
    return Table(
        sheet="学校指标",
        title="资源配置指标标准（以上含本数）",
        headers=("指标", "名称", "单位", "小学标准", "初中标准"),
        rows=rows,
        widths=(6, 40, 10, 10, 10),
    )


_THRESHOLD_NOTE = re.compile(r"（[^）]*(?:小学|初中)[^）]*）")


def _item_title(report: Report, code: str) -> str:
    title = next((it.title for it in report.items if it.code == code), "")
    return _THRESHOLD_NOTE.sub("", title.split("：")[0])


def school_issue_table(report: Report | Mapping[str, Any]) -> Table:
    """Schools that fail or are pending in 1.8, with the engine's reason and missing fields."""
    rows: list[tuple[Cell, ...]] = []
    for school in as_report(report).schools:
        passed = school.passed
        if school.excluded or passed is True:
            continue
        reason = str(school.reason or "")
        missing = missing_text(school.missing)
        if missing and "缺少数据" not in reason:  # the engine's reason already names them in Chinese
            reason = (reason + "；" if reason else "") + missing
        rows.append(
            (
                Cell(school_label(school)),
                Cell(STAGE_LABEL.get(school.stage, school.stage)),
                _passed_cell(passed),
                Cell(reason or NOT_GIVEN),
            )
        )
    return Table(
        sheet="学校指标",
        title="未达到1.8要求或待定的学校",
        headers=("学校", "学段", "是否达标", "原因"),
        rows=rows,
        widths=(24, 7, 8, 60),
    )


def cv_limits(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """CV limits per stage from the report (``cv_limits``), None when absent."""
    limits = as_report(report).cv_limits
    return {stage: limits.get(stage) for stage, _ in STAGES}


def cv_table(report: Report | Mapping[str, Any]) -> Table:
    """One row per indicator: CV and limit for each stage, whether it is within, and why a CV is null."""
    report = as_report(report)
    cv, notes = report.cv, report.cv_notes
    limits = cv_limits(report)
    headers: list[str] = ["指标"]
    for _, label in STAGES:
        headers += [f"{label}差异系数", f"{label}限值", f"{label}是否达标"]
    headers.append("说明")
    rows: list[tuple[Cell, ...]] = []
    for key, code, short, _unit in INDICATORS:
        cells = [Cell(f"{code} {short}")]
        why: list[str] = []
        for stage, label in STAGES:
            value = (cv.get(stage) or {}).get(key)
            limit = limits[stage]
            cells.append(Cell(value, "cv"))
            cells.append(Cell(limit, "dec2"))
            if value is None:
                cells.append(Cell("无法计算", band="pending"))
                note = (notes.get(stage) or {}).get(key)
                why.append(f"{label}：{plain(note) or '未说明原因'}")
            elif limit is None:
                cells.append(Cell(NOT_GIVEN))
            else:
                ok = value <= limit
                cells.append(Cell("是" if ok else "否", band="pass" if ok else "fail"))
        cells.append(Cell("；".join(why)))
        rows.append(tuple(cells))
    composite = report.cv_composite
    if report.cv_mode == "composite" and composite:
        cells = [Cell("综合差异系数")]
        for stage, _ in STAGES:
            value, limit = composite.get(stage), limits[stage]
            ok = None if value is None or limit is None else value <= limit
            cells += [
                Cell(value, "cv"),
                Cell(limit, "dec2"),
                Cell({True: "是", False: "否", None: "—"}[ok],
                     band={True: "pass", False: "fail", None: None}[ok]),
            ]
        cells.append(Cell("按2012年综合差异系数口径"))
        rows.append(tuple(cells))
    mode = {"weighted": "按在校生数加权计算", "composite": "综合差异系数口径"}.get(
        str(report.cv_mode), "计算口径未提供"
    )
    return Table(
        sheet="差异系数",
        title="校际差异系数",
        headers=tuple(headers),
        rows=rows,
        widths=(18, 10, 7, 8, 10, 7, 8, 30),
        note=f"差异系数{mode}，显示保留三位小数，比较按完整精度。",
    )


def school_names(report: Report) -> dict[str, str]:
    """School name by code, from ``schools[]``."""
    return {str(s.school_code): str(s.name or "") for s in report.schools}


def shortfall_tables(report: Report | Mapping[str, Any]) -> tuple[Table, Table]:
    """Shortfalls per school and county totals (the report's totals; summed from rows only if absent)."""
    report = as_report(report)
    names = school_names(report)
    rows = []
    for s in report.shortfalls:
        code = str(s.school_code or "")
        rows.append(
            (
                Cell(code),
                Cell(s.school_name or names.get(code) or ""),
                Cell(s.item or ""),
                Cell(s.what or ""),
                Cell(s.amount, "num"),
                Cell(s.unit or ""),
            )
        )
    per_school = Table(
        sheet="短板缺口",
        title="各校短板与缺口",
        headers=("学校代码", "学校", "指标", "缺口内容", "数量", "单位"),
        rows=rows,
        widths=(14, 20, 7, 22, 10, 7),
    )
    totals = report.shortfall_totals
    note = ""
    if totals is None:
        summed: dict[tuple[str, str, str], float] = {}
        for s in report.shortfalls:
            k = (str(s.item or ""), str(s.what or ""), str(s.unit or ""))
            summed[k] = summed.get(k, 0) + (s.amount or 0)
        totals = tuple(ShortfallTotalRow(item=i, what=w, unit=u, amount=a) for (i, w, u), a in summed.items())
        note = "评估结果未提供全县合计，本表由各校明细汇总。"
    total_rows = [
        (Cell(t.item or ""), Cell(t.what or ""), Cell(t.amount, "num"),
         Cell(t.unit or ""), Cell(f"共缺少{format_value(t.amount, 'num')}{t.unit or ''}{t.what or ''}"))
        for t in totals
    ]
    total_table = Table(
        sheet="短板缺口",
        title="全县合计",
        headers=("指标", "缺口内容", "数量", "单位", "表述"),
        rows=total_rows,
        widths=(7, 22, 10, 7, 30),
        note=note,
    )
    return per_school, total_table


LOCAL_SECTIONS = {"resources": "资源配置", "assurance": "政府保障程度", "quality": "教育质量"}


def local_items(report: Report | Mapping[str, Any]) -> list[ReportItem]:
    """The rule-set's own items (codes L1, L2, …; ``figures.local`` true), in report order."""
    return [it for it in as_report(report).items if it.figures.get("local")]


def _local_fmt(unit: Any) -> str:
    return "pct" if unit == "%" else "dec2"


def local_item_table(item: ReportItem) -> Table:
    """One local item: per school part (school indicators) or per ratio (county ratios), the
    numerator, denominator, value, standard and whether it is met, as the engine found them."""
    fig = item.figures
    direction = {"at_least": "≥", "at_most": "≤"}.get(str(fig.get("direction")), "")
    status_of = {True: (COMPLIANCE["pass"], "pass"), False: (COMPLIANCE["fail"], "fail"),
                 None: (COMPLIANCE["pending"], "pending")}
    rows: list[tuple[Cell, ...]] = []
    if fig.get("kind") == "school":
        fmt = _local_fmt(fig.get("unit"))
        for r in fig.get("schools") or []:
            word, band = status_of[r.get("met")]
            if r.get("met") is None and r.get("status") in ("fail", "n/a"):
                word, band = COMPLIANCE[str(r["status"])], STATUS_BAND[str(r["status"])]
            rows.append((Cell(r.get("label") or r.get("name") or r.get("school_code")),
                         Cell(STAGE_LABEL.get(str(r.get("stage")), r.get("stage"))),
                         Cell(r.get("numerator"), "num"), Cell(r.get("denominator"), "num"),
                         Cell(r.get("value"), fmt, None if r.get("value") is None else band),
                         Cell(f"{direction}{format_value(r.get('threshold'), fmt)}"),
                         Cell(word, band=band)))
        headers: tuple[str, ...] = ("学校", "学段", "分子", "分母", str(fig.get("label") or "数值"), "标准", "是否达标")
        widths: tuple[float, ...] = (22, 7, 10, 10, 12, 10, 8)
    else:
        specs = fig.get("ratios_spec") or []
        for spec, r in zip(specs, fig.get("ratios") or [], strict=False):
            fmt = _local_fmt(spec.get("unit"))
            word, band = status_of[r.get("met")]
            unit = "" if spec.get("unit") in ("%", None) else str(spec.get("unit"))
            rows.append((Cell(r.get("label") or spec.get("label")), Cell(r.get("numerator"), "num"),
                         Cell(r.get("denominator"), "num"), Cell(r.get("value"), fmt),
                         Cell(f"{({'at_least': '≥', 'at_most': '≤'}).get(str(spec.get('direction')), '')}"
                              f"{format_value(spec.get('threshold'), fmt)}{unit}"),
                         Cell(word, band=band)))
        headers = ("指标", "分子", "分母", "数值", "标准", "是否达标")
        widths = (26, 12, 12, 10, 12, 8)
    section = LOCAL_SECTIONS.get(str(fig.get("section") or item.area), "")
    return Table(
        sheet="地方指标",
        title=item_heading(item),
        headers=headers,
        rows=rows,
        widths=widths,
        note=f"依据：{fig.get('source') or NOT_GIVEN}；列入{section or '—'}；结论：{COMPLIANCE.get(str(item.status), NOT_GIVEN)}。",
    )


def provenance_tables(report: Report | Mapping[str, Any]) -> tuple[Table, Table]:
    """Rule-set, inputs with SHA-256, generation time and software version."""
    report = as_report(report)
    prov = report.provenance

    def row(label: str, value: Any) -> tuple[Cell, Cell]:
        return Cell(label), Cell(NOT_GIVEN if value in (None, "") else str(value))

    meta = Table(
        "来源", "评估依据与版本",
        ("项目", "内容"),
        [
            row("评估规则", ruleset_name(str(prov.ruleset_id or report.rules or "")) or None),
            row("规则版本", prov.ruleset_version),
            row("规则文件", "、".join(map(str, prov.ruleset_sources)) or None),
            row("规则文件 SHA-256", prov.ruleset_sha256),
            *(row(f"规则文件 {f.get('name')} SHA-256", f.get("sha256"))
              for f in prov.ruleset_files if len(prov.ruleset_files) > 1),
            row("生成时间", beijing_time(prov.generated_at) or None),
            row("软件版本", software_name(prov.software_version) or None),
            *(row(key, value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False))
              for key, value in prov.extra.items()),
        ],
        (20, 70),
    )
    inputs = Table(
        "来源", "输入文件",
        ("文件名", "SHA-256"),
        [(Cell(str(i.get("name") or "")), Cell(str(i.get("sha256") or NOT_GIVEN)))
         for i in prov.inputs],
        (30, 70),
        note="" if prov.inputs else "评估结果未提供输入文件信息。",
    )
    return meta, inputs


def county_line(report: Report) -> str:
    """"广东省某县（行政区划代码 …），评估年度 …，…年通过基本均衡认定"."""
    county = report.county
    parts = [str(v) for v in (county.province, county.name) if v]
    line = "".join(parts) or "（县域名称未提供）"
    if county.code:
        line += f"（行政区划代码 {county.code}）"
    if county.assessment_year:
        line += f"，评估年度 {county.assessment_year}"
    if county.basic_balanced_year:
        line += f"，{county.basic_balanced_year}年通过基本均衡认定"
    return line
