"""The social-recognition part of the printed report: sentences and tables from the typed
recognition summary (``evaluator.recognition.RecognitionSummary``); the breakdowns (groups,
items, schools) are the stored object's tables, read as such."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluator.labels import REACHES, STATUS_WORD
from evaluator.outcome import FAIL, PASS, PENDING, RecognitionSummary
from evaluator.report.display import (
    NOT_GIVEN,
    STATUS_BAND,
    Cell,
    Table,
    ci_label,
    ci_text,
    format_value,
    group_label,
    pct,
)
from evaluator.report.model import Report, as_report
from evaluator.report.sections import school_names

DEFAULT_STANDARD = 0.85  # printed when a stored result does not say its threshold


def standard(rec: RecognitionSummary) -> float:
    """The threshold the result was judged against (0.85 when the stored object has none)."""
    return rec.threshold if rec.threshold is not None else DEFAULT_STANDARD


_STATUS = {code: STATUS_WORD[code] for code in (PASS, FAIL, PENDING)}


def _summary(rec: RecognitionSummary | Mapping[str, Any] | None) -> RecognitionSummary | None:
    if isinstance(rec, Mapping):
        return RecognitionSummary.from_dict(rec) if rec else None
    return rec


def recognition_paragraphs(rec: RecognitionSummary | Mapping[str, Any] | None) -> tuple[str, ...]:
    """The county result, then the quality filters and the 不了解 sensitivity, as sentences."""
    rec = _summary(rec)
    if rec is None:
        return ("未提供社会认可度调查结果，该项待定。",)
    notes = tuple(f"注意：{w}" for w in rec.warnings)
    flagged = (integrity_paragraph(rec),) if rec.without_flagged else ()
    return (recognition_paragraph(rec), filters_paragraph(rec), *flagged, *notes)


def integrity_paragraph(rec: RecognitionSummary) -> str:
    """The score without the responses carrying integrity flags (survey rounds, CONTRACTS §5)."""
    w = rec.without_flagged
    n = w.get("excluded_flagged") or 0
    if not n:
        return "完整性核查未发现带可疑信号的答卷。"
    if w.get("error") or w.get("score") is None:
        return f"完整性核查有{n}份答卷带可疑信号；不计这些答卷时无法计算认可度（{w.get('error') or NOT_GIVEN}）。"
    status = REACHES.get(str(w.get("status")), "未判定是否达到")
    return (f"完整性核查有{n}份答卷带可疑信号（仅为核查证据，未自动删除）；不计这些答卷时认可度为{pct(w['score'])}"
            f"（{ci_label(rec.confidence)}{ci_text(w.get('ci'))}，{format_value(w.get('n_kept'), 'int')}份），{status}标准。")


_DROPPED = (("speeder", "作答过快"), ("straightliner_fast", "快速且答案雷同"), ("empty", "空白"))


def filters_paragraph(rec: RecognitionSummary) -> str:
    """How many answers the quality filters dropped and the result without them."""
    dropped = rec.dropped
    parts = [f"{label}{dropped[key]}份" for key, label in _DROPPED if dropped.get(key) is not None]
    detail = f"（{'、'.join(parts)}）" if parts else ""
    text = (
        f"质量筛查剔除答卷{NOT_GIVEN if rec.n_dropped is None else rec.n_dropped}份{detail}，"
        f"保留{NOT_GIVEN if rec.n_kept is None else rec.n_kept}份。"
    )
    unfiltered = rec.unfiltered
    if unfiltered.get("score") is not None:
        text += (f"不经筛查时认可度为{pct(unfiltered['score'])}（{ci_label(rec.confidence)}{ci_text(unfiltered.get('ci'))}，"
                 f"{format_value(unfiltered.get('n'), 'int')}份）。")
    return text


def recognition_paragraph(rec: RecognitionSummary) -> str:
    """The county result with its CI, the borderline flag and the 不了解 sensitivity."""
    status = REACHES.get(str(rec.status), "未判定是否达到")
    text = (
        f"社会认可度为{pct(rec.score)}（{ci_label(rec.confidence)}{ci_text(rec.ci)}），"
        f"{status}{pct(standard(rec))}的标准。"
    )
    if rec.borderline:
        text += "置信区间包含标准值，结论处于临界状态。"
    if rec.dont_know_rate is not None:
        text += f"“不了解”占全部回答的{pct(rec.dont_know_rate)}。"
    if rec.dont_know_as_no is not None:
        text += f"若将“不了解”计为不认可，认可度为{pct(rec.dont_know_as_no)}"
        flip = REACHES.get(str(rec.dont_know_as_no_status))
        text += f"，{flip}标准" if flip else ""
        if flip and rec.dont_know_as_no_status != rec.status:
            text += "（结论随之改变）"
        text += "。"
    return text


def recognition_tables(report: Report | Mapping[str, Any]) -> tuple[Table, ...]:
    """Overview, per group, per item and per school tables of the recognition object."""
    report = as_report(report)
    rec = report.recognition
    if rec is None:
        return ()
    deff = rec.deff
    unfiltered = rec.unfiltered
    dropped = rec.dropped
    status = _STATUS.get(str(rec.status), NOT_GIVEN)
    interval = ci_label(rec.confidence)

    def row(label: str, value: Any, fmt: str = "text") -> tuple[Cell, ...]:
        return (Cell(label), Cell(NOT_GIVEN if value is None else value, fmt))

    overview_rows = [
        row("社会认可度（加权）", rec.score, "pct"),
        (Cell(interval), Cell(ci_text(rec.ci))),
        row("标准误", rec.se, "cv"),
        row("自由度", rec.df, "int"),
        row("标准", rec.threshold, "pct"),
        (Cell("结论"), Cell(status, band=STATUS_BAND.get(str(rec.status)))),
        (Cell("临界（置信区间包含标准值）"), Cell("是" if rec.borderline else "否")),
        row("有效样本（质量筛查后）", rec.n_kept, "int"),
        row("剔除样本", rec.n_dropped, "int"),
        *(row(f"其中：{label}", dropped.get(key), "int") for key, label in _DROPPED
          if key != "empty" or key in dropped),
        row("未经筛查的认可度", unfiltered.get("score"), "pct"),
        (Cell(f"未经筛查的{interval}"), Cell(ci_text(unfiltered.get("ci")))),
        row("未经筛查的样本量", unfiltered.get("n"), "int"),
        row("“不了解”比例", rec.dont_know_rate, "pct"),
        row("“不了解”计为不认可时的认可度", rec.dont_know_as_no, "pct"),
        (Cell("“不了解”计为不认可时的结论"),
         Cell(_STATUS.get(str(rec.dont_know_as_no_status), NOT_GIVEN),
              band=STATUS_BAND.get(str(rec.dont_know_as_no_status)))),
        row("设计效应（整群）", deff.get("cluster"), "dec2"),
        row("设计效应（权重）", deff.get("kish"), "dec2"),
        row("设计效应（合计）", deff.get("total"), "dec2"),
    ]
    overview = Table("社会认可度", "总体结果", ("项目", "数值"), overview_rows, (30, 18))
    group_rows = []
    for key, g in rec.groups.items():
        group_deff = g.get("deff")
        group_rows.append(
            (
                Cell(g.get("label") or group_label(key)),
                Cell(g.get("weight"), "pct"),
                Cell(g.get("n"), "int"),
                Cell(g.get("score"), "pct"),
                Cell(g.get("se"), "cv"),
                Cell(ci_text(g.get("ci"))),
                Cell(g.get("dont_know_rate"), "pct"),
                Cell(g.get("dont_know_as_no"), "pct"),
                Cell(group_deff.get("total") if isinstance(group_deff, Mapping) else group_deff, "dec2"),
            )
        )
    groups = Table(
        "社会认可度", "分群体结果",
        ("群体", "权重", "样本量", "认可度", "标准误", interval, "不了解比例", "不了解计为不认可", "设计效应"),
        group_rows, (10, 7, 7, 8, 8, 17, 8, 9, 8),
    )
    item_rows = []
    for key, it in rec.items.items():
        item_rows.append(
            (
                Cell(key),
                Cell(it.get("text") or ""),
                Cell(it.get("n"), "int"),
                Cell(it.get("score"), "pct"),
                Cell(it.get("se"), "cv"),
                Cell(it.get("dont_know_rate"), "pct"),
            )
        )
    items = Table(
        "社会认可度", "分题目结果", ("题号", "题目", "样本量", "认可度", "标准误", "不了解比例"),
        item_rows, (8, 40, 8, 9, 9, 10),
    )
    names = school_names(report)
    school_rows = []
    for code, s in rec.schools.items():
        suppressed = bool(s.get("suppressed"))
        school_rows.append(
            (
                Cell(code),
                Cell(names.get(str(code), "")),
                Cell(s.get("n"), "int"),
                Cell("样本过少，不予公布" if suppressed else s.get("score"), "text" if suppressed else "pct"),
                Cell(None if suppressed else s.get("se"), "cv"),
            )
        )
    min_cell = rec.min_cell
    schools = Table(
        "社会认可度", "分学校结果", ("学校代码", "学校", "样本量", "认可度", "标准误"),
        school_rows, (14, 22, 8, 16, 9),
        note=f"样本量少于{min_cell}人的学校不公布认可度。" if min_cell else "",
    )
    return overview, groups, items, schools
