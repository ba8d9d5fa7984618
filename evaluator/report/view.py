"""The ordered sections every writer prints (``build_view``), from a typed ``Report``.

The display model (Cell, Table, Section, ReportView) and the shared formatting live in
``evaluator.report.display``; the tables in ``evaluator.report.sections`` and
``evaluator.report.recognition_view``.
Nothing here recomputes a verdict or a statistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from evaluator.labels import COMPLIANCE
from evaluator.report.display import (
    NOT_GIVEN,
    VERDICT_TEXT,
    ReportView,
    Section,
    ci_text,
    clean,
    pct,
    plain,
    ruleset_name,
)
from evaluator.report.model import Report, as_report
from evaluator.report.recognition_view import recognition_paragraphs, recognition_tables, standard
from evaluator.report.sections import (
    county_line,
    cv_table,
    items_table,
    key_figures_table,
    local_item_table,
    local_items,
    matrix_table,
    provenance_tables,
    rectification_table,
    school_issue_table,
    shortfall_tables,
    summary_table,
    thresholds_table,
)

__all__ = ["VERDICT_TEXT", "build_view"]


def build_view(report: Report | Mapping[str, Any]) -> ReportView:
    """Build the ordered sections every writer prints."""
    report = as_report(report)
    verdict = report.verdict
    verdict_text = VERDICT_TEXT.get(verdict, f"结论未提供（{verdict or '空'}）")
    reasons = [plain(r) for r in report.reasons]
    if reasons:
        reason_pars = ("主要原因：", *(f"{i}. {r}" for i, r in enumerate(reasons, 1)))
    elif verdict == "recognized":
        reason_pars = ("各项指标均达到要求，无否决性情形。",)
    else:
        reason_pars = ("评估结果未列出原因，请查看下表中未达标和待定的指标。",)
    county = county_line(report)
    prereq = report.prerequisite
    if prereq is not None:
        status = COMPLIANCE.get(str(prereq.status), NOT_GIVEN)
        prereq_par = f"前提条件（通过基本均衡认定满规定年限）：{status}。{plain(prereq.detail)}"
    else:
        prereq_par = f"前提条件（通过基本均衡认定满规定年限）：{NOT_GIVEN}。"
    rec = report.recognition
    borderline = (
        (f"提示：社会认可度{pct(rec.score)}的置信区间{ci_text(rec.ci)}包含{pct(standard(rec))}，"
         "结论处于临界状态，建议扩大样本或复核。",)
        if rec is not None and rec.borderline else ()
    )
    per_school, totals = shortfall_tables(report)
    meta, inputs = provenance_tables(report)
    local = local_items(report)
    sections = [
        Section(
            "评估结论", 1,
            (f"评估对象：{county}。", f"评估规则：{ruleset_name(str(report.rules)) if report.rules else NOT_GIVEN}。",
             prereq_par, f"结论：{verdict_text}。", *reason_pars, *borderline),
            (key_figures_table(report),),
        ),
        Section(
            "指标达成情况及整改计划", 1,
            ("按《县域义务教育优质均衡发展督导评估办法》（教督〔2017〕6号）指标逐项列出。"
             "否决性指标“是否达标”为“是”表示不存在该情形。"
             + ("编号以 L 开头的是本规则集的地方指标，列在所属方面之后，同样计入结论。" if local else ""),),
            (summary_table(report), items_table(report)),
            page_break=True,
        ),
        Section("资源配置", 1),  # follows on: the item table before it may end with a short tail
        Section("学校指标达成情况", 2, (), (matrix_table(report), school_issue_table(report), thresholds_table(report)),
                chart="matrix"),
        Section("校际差异系数", 2, (), (cv_table(report),), chart="cv"),
        *([Section("地方指标", 1,
                   ("本规则集在国家指标之外增加的地方指标（编号以 L 开头），与国家指标一样计入评估结论："
                    "未达标即不能认定，数据缺失为待定。",),
                   tuple(local_item_table(it) for it in local), page_break=True)] if local else []),
        Section("短板与缺口", 1, (), (per_school, totals), page_break=True),
        Section(
            "社会认可度", 1, recognition_paragraphs(rec), recognition_tables(report),
            chart="recognition" if rec is not None else None, page_break=True,
        ),
        Section("整改任务清单", 1, (), (rectification_table(report),), page_break=True),
        Section("数据来源与版本", 1, (), (meta, inputs)),
    ]
    sections = [replace(s, paragraphs=tuple(clean(p) for p in s.paragraphs)) for s in sections]
    return ReportView(
        title="县域义务教育优质均衡发展督导评估报告",
        subtitle=clean(county),
        verdict=verdict,
        verdict_text=clean(verdict_text),
        sections=sections,
    )
