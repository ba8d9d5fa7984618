"""Display model shared by the HTML, DOCX and XLSX writers.

The report dict (CONTRACTS.md §4 plus REPORT_SCHEMA.md) is turned once into an ordered list of
:class:`Section` objects holding Chinese headings, paragraphs and :class:`Table` objects whose
cells keep raw numbers plus a format name. Each writer only lays these out, so the three formats
always carry the same content. Nothing here recomputes a verdict or a statistic: statuses, bands,
CVs, scores and totals are read from the dict; absent keys are shown as "未提供".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from numbers import Integral, Real
from typing import Any

from evaluator.groups import GROUPS
from evaluator.outcome import at_most

NOT_GIVEN = "未提供"

VERDICT_TEXT: dict[str, str] = {
    "recognized": "达到县域义务教育优质均衡发展督导评估认定标准",
    "not_recognized": "未达到县域义务教育优质均衡发展督导评估认定标准",
    "incomplete": "评估未完成：存在待定指标，暂不能作出认定结论",
}

#: 是否达标 column of seed 002. Veto items (4.x) keep the seed's polarity: status "pass" means
#: the practice is absent, which the seed shows as 是 (达标).
COMPLIANCE: dict[str, str] = {"pass": "是", "fail": "否", "pending": "待定", "n/a": "不适用"}
STATUS_BAND: dict[str, str] = {"pass": "pass", "fail": "fail", "pending": "pending", "n/a": "na"}

AREAS: tuple[tuple[str, str], ...] = (
    ("resources", "资源配置"),
    ("assurance", "政府保障程度"),
    ("quality", "教育质量"),
    ("veto", "否决性指标"),
    ("recognition", "社会认可度"),
)
_AREA_BY_PREFIX = {"1": "resources", "2": "assurance", "3": "quality", "4": "veto", "5": "recognition"}

#: Indicator keys of DOMAIN.md §2 (contract keys), their item codes and short column labels.
INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("qualified_teachers", "1.1", "高学历教师", "人/百生"),
    ("backbone_teachers", "1.2", "骨干教师", "人/百生"),
    ("pe_art_teachers", "1.3", "体艺教师", "人/百生"),
    ("teaching_area", "1.4", "教学辅助用房", "㎡/生"),
    ("sports_area", "1.5", "体育场馆", "㎡/生"),
    ("equipment_value", "1.6", "仪器设备值", "元/生"),
    ("multimedia_rooms", "1.7", "多媒体教室", "间/百生"),
)
STAGES: tuple[tuple[str, str], ...] = (("primary", "小学"), ("junior", "初中"))
STAGE_LABEL = dict(STAGES)

#: Excel number formats by cell format name; the display text uses the same precision.
NUMBER_FORMATS: dict[str, str] = {
    "int": "0",
    "dec1": "0.0",
    "dec2": "0.00",
    "cv": "0.000",
    "pct": "0.0%",
    "num": "General",
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: a raw value, a format name (see NUMBER_FORMATS or "text") and a band.

    ``band`` drives colouring: pass / near / fail / missing for indicator values, pass / fail /
    pending / na for statuses, None for plain cells.
    """

    value: Any
    fmt: str = "text"
    band: str | None = None

    @property
    def text(self) -> str:
        """The cell as printed (numbers with the precision of their Excel format)."""
        return format_value(self.value, self.fmt)

    @property
    def align(self) -> str | None:
        """Horizontal alignment: numbers right, short status marks (cells with a band) centred."""
        if self.fmt != "text" and isinstance(self.value, Real):
            return "right"
        return "center" if self.band is not None and len(self.text) <= 6 else None


@dataclass(frozen=True)
class Table:
    """A titled table. ``sheet`` names the XLSX sheet; tables sharing a sheet are stacked.

    ``groups`` optionally gives a group label per row (the area of an item); writers print a
    group row whenever it changes (HTML/DOCX) or a leading column (XLSX).
    """

    sheet: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    widths: tuple[float, ...]
    groups: list[str] | None = None
    group_header: str = "评估内容"
    note: str = ""
    compact: bool = False  # many columns: smaller type in DOCX/HTML
    primary: bool = False  # first on its XLSX sheet (frozen header) whatever the print order


@dataclass(frozen=True)
class Section:
    """A heading (level 1 → 一、, level 2 → （一）) with paragraphs, an optional chart and tables."""

    title: str
    level: int
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    chart: str | None = None  # "matrix" | "cv" | "recognition"
    page_break: bool = False


@dataclass(frozen=True)
class ReportView:
    """Everything the writers print, in order."""

    title: str
    subtitle: str
    verdict: str
    verdict_text: str
    sections: list[Section] = field(default_factory=list)


_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """Drop control characters that XML (DOCX, XLSX) cannot carry."""
    return _INVALID.sub("", text)


CN_NUMBERS = "一二三四五六七八九十"


def heading_number(level: int, index: int) -> str:
    """一、 for level 1 and （一） for level 2 (公文 numbering), for index 1…99."""
    if index <= 10:
        word = CN_NUMBERS[index - 1]
    else:
        tens, ones = divmod(index, 10)
        word = (CN_NUMBERS[tens - 1] if tens > 1 else "") + "十" + (CN_NUMBERS[ones - 1] if ones else "")
    return f"{word}、" if level == 1 else f"（{word}）"


def numbered(view: ReportView) -> list[tuple[str, Section]]:
    """Pair each section with its printed number (一、 … and （一） restarting under each 一、)."""
    out, top, sub = [], 0, 0
    for section in view.sections:
        if section.level == 1:
            top, sub = top + 1, 0
            out.append((heading_number(1, top), section))
        else:
            sub += 1
            out.append((heading_number(2, sub), section))
    return out


def format_value(value: Any, fmt: str = "text") -> str:
    """Format a raw cell value for print; None (absent) prints as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if fmt == "text" or not isinstance(value, Real):
        return clean(str(value))
    if not math.isfinite(value):
        return "—"
    value = int(value) if isinstance(value, Integral) else float(value)  # numpy scalars too
    if fmt == "int":
        return f"{value:.0f}"
    if fmt == "dec1":
        return f"{value:.1f}"
    if fmt == "dec2":
        return f"{value:.2f}"
    if fmt == "cv":
        return f"{value:.3f}"
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):  # "num": up to 2 decimals, never scientific notation
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def pct(value: Any) -> str:
    """A rate as a percentage with one decimal, or 未提供."""
    return format_value(value, "pct") if isinstance(value, Real) else NOT_GIVEN


def indicator_fmt(key: str) -> str:
    """Number format of an indicator value (equipment value in whole 元, the rest 2 decimals)."""
    return "int" if key == "equipment_value" else "dec2"


def school_label(school: Mapping[str, Any]) -> str:
    """Display name of a school row: the dict's label, else name plus （小学部）/（初中部） for split schools."""
    if school.get("label"):
        return str(school["label"])
    name = str(school.get("name") or school.get("school_code") or "")
    if school.get("school_type") in ("九年一贯制", "十二年一贯制", "完全中学"):
        return f"{name}（{STAGE_LABEL.get(school.get('stage', ''), '')}部）"
    return name


def group_label(key: str) -> str:
    """Chinese name of a respondent group key (the key itself when unknown)."""
    group = GROUPS.get(key)
    return group.label if group else key


def item_area(item: Mapping[str, Any]) -> str:
    """Area key of an item: the dict's ``area`` or the one implied by the code prefix."""
    return str(item.get("area") or _AREA_BY_PREFIX.get(str(item.get("code", "")).split(".")[0], ""))


def item_heading(item: Mapping[str, Any]) -> str:
    """"code title" as in the 指标 column, e.g. "2.3 所有小学、初中每12个班级配备…"."""
    return f"{item.get('code', '')} {item.get('title', '')}".strip()


def _text(value: Any, empty: str = "") -> Cell:
    return Cell(empty if value in (None, "") else str(value))


def _status(status: Any) -> Cell:
    return Cell(COMPLIANCE.get(str(status), NOT_GIVEN), band=STATUS_BAND.get(str(status)))


def _sorted_items(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    order = {key: i for i, (key, _) in enumerate(AREAS)}
    return sorted(report.get("items") or [], key=lambda it: order.get(item_area(it), len(order)))


@cache
def _field_names() -> dict[str, str]:
    """Chinese names of data-workbook fields (evaluator.workbook), for the 缺少数据 lists."""
    names = {"responses": "社会认可度调查答卷", "classes": "班级表（classes）", "rooms": "专用教室表（rooms）"}
    try:
        from evaluator.workbook import schema as workbook
    except ImportError:  # the writers do not depend on the workbook reader being present
        return names
    for attr in ("SCHOOL_COLUMNS", "CLASS_COLUMNS", "ROOM_COLUMNS", "COUNTY_KEYS"):
        for col in getattr(workbook, attr, ()):
            if getattr(col, "key", None) and getattr(col, "zh", None):
                names.setdefault(str(col.key), str(col.zh))
    return names


def missing_text(missing: Iterable[Any]) -> str:
    """"缺少数据：中文名（key）、…" for a list of absent field keys ("" when none)."""
    names = _field_names()
    parts = [f"{names[k]}（{k}）" if k in names and names[k] != k else str(k) for k in map(str, missing)]
    return "缺少数据：" + "、".join(parts) if parts else ""


_KEY_IS = re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)=(是|否)")
_BARE_KEY = re.compile(r"(?<![A-Za-z0-9_（(])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![A-Za-z0-9_）)=])")
_CLI_HINTS = {"（--responses 或 --round）": "（上传社会认可度答卷文件或选择调查轮次）"}


def plain(text: Any) -> str:
    """A detail as a reader sees it: data-workbook keys shown by their Chinese names
    (``performance_pay_ok=是`` → ``绩效工资…：是``; a bare key in ``缺少数据：equipment_value`` →
    its Chinese name), command-line hints in words. Keys already given beside their Chinese
    name (``中文名（key）``) and unknown words stay as they are."""
    out = str(text or "")
    if not out:
        return out
    names = _field_names()
    out = _KEY_IS.sub(lambda m: f"{names[m.group(1)]}：{m.group(2)}" if m.group(1) in names else m.group(0), out)
    out = _BARE_KEY.sub(lambda m: names.get(m.group(1), m.group(1)), out)
    for hint, words in _CLI_HINTS.items():
        out = out.replace(hint, words)
    return out


def beijing_time(value: Any) -> str:
    """An ISO 8601 time (UTC in report.json) as 2026年12月1日 18:15（北京时间）; other text unchanged."""
    import datetime as dt

    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    bj = when.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return f"{bj.year}年{bj.month}月{bj.day}日 {bj:%H:%M}（北京时间）"


def software_name(value: Any) -> str:
    """``evaluator 0.1`` → 优质均衡督导评估工具 0.1 版."""
    text = str(value or "")
    m = re.fullmatch(r"evaluator\s+([\w.]+)", text)
    return f"优质均衡督导评估工具 {m.group(1)} 版" if m else text


@cache
def ruleset_name(rule_id: str) -> str:
    """The rule-set's Chinese title with its id, when the rule-set is one of ours."""
    try:
        from evaluator.rules import load_ruleset

        return f"{load_ruleset(rule_id).title}（{rule_id}）"
    except Exception:  # noqa: BLE001 - an unknown or external rule-set prints by its id
        return rule_id


def _problem(item: Mapping[str, Any]) -> str:
    problem = str(item.get("problem") or "")
    missing = missing_text(item.get("missing") or [])
    if missing:
        problem = (problem + "；" if problem else "") + missing
    if not problem:
        return "无" if item.get("status") == "pass" else plain(item.get("detail"))
    return plain(problem)


def item_problem(item: Mapping[str, Any]) -> str:
    """The 存在问题 text of an item as the report prints it (for pages showing the same item)."""
    return _problem(item)


def items_table(report: Mapping[str, Any]) -> Table:
    """The national item table in seed 002's columns, grouped by area."""
    area_label = dict(AREAS)
    rows: list[tuple[Cell, ...]] = []
    groups: list[str] = []
    for item in _sorted_items(report):
        rect = item.get("rectification") or {}
        title = item_heading(item)
        rows.append(
            (
                Cell(title),
                _status(item.get("status")),
                Cell(_problem(item)),
                _text(rect.get("measures")),
                _text(rect.get("deadline")),
                _text(rect.get("department")),
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


def rectification_table(report: Mapping[str, Any]) -> Table:
    """The rectification tasks (items carrying ``rectification``) by deadline, grouped by year
    like the year-by-year roadmap of seed 000 (时间表及路线图)."""
    tasks = [it for it in _sorted_items(report) if it.get("rectification")]
    keyed = sorted(((_deadline_key(str(it["rectification"].get("deadline") or "")), it) for it in tasks),
                   key=lambda pair: pair[0])
    rows = [
        (
            _text(it["rectification"].get("deadline"), "未定"),
            Cell(item_heading(it)),
            _status(it.get("status")),
            _text(it["rectification"].get("measures")),
            _text(it["rectification"].get("department")),
        )
        for _, it in keyed
    ]
    groups = [f"{key[0]}年" if key[0] < 9999 else "时限未定" for key, _ in keyed]
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


def summary_table(report: Mapping[str, Any]) -> Table:
    """Counts of items by status per area (read from the item statuses, nothing recomputed)."""
    rows: list[tuple[Cell, ...]] = []
    items = report.get("items") or []
    for key, label in AREAS:
        statuses = [str(it.get("status")) for it in items if item_area(it) == key]
        counts = [statuses.count(s) for s in ("pass", "fail", "pending", "n/a")]
        rows.append((Cell(label), Cell(len(statuses), "int"), *(Cell(c, "int") for c in counts)))
    return Table(
        sheet="指标汇总",
        title="各方面指标达成情况统计",
        headers=("评估内容", "指标数", "达标", "未达标", "待定", "不适用"),
        rows=rows,
        widths=(16, 8, 8, 8, 8, 8),
    )


def key_figures_table(report: Mapping[str, Any]) -> Table:
    """Headline figures read off the dict: schools judged and failing, CVs over their limit,
    vetoes present, recognition score. Counts only; no verdict is derived here."""
    schools = [s for s in report.get("schools") or [] if not s.get("excluded")]
    failing = [school_label(s) for s in schools if s.get("pass") is False]
    pending = sum(1 for s in schools if s.get("pass") is None)
    cv, limits = report.get("cv") or {}, cv_limits(report)
    values = [(stage, v) for stage, _ in STAGES for v in (cv.get(stage) or {}).values()]
    over = sum(1 for stage, v in values if v is not None and limits[stage] is not None
               and not at_most(v, limits[stage]))
    null = sum(1 for _, v in values if v is None)
    vetoes = [item_heading(it) for it in report.get("items") or []
              if item_area(it) == "veto" and it.get("status") == "fail"]
    rec = report.get("recognition")
    rows = [
        (Cell("参评学校（部）"), Cell(len(schools), "int")),
        (Cell("未达到1.8要求的学校（部）"), Cell(len(failing), "int", "fail" if failing else "pass")),
        (Cell("1.8待定的学校（部）"), Cell(pending, "int", "pending" if pending else None)),
        (Cell("差异系数超过限值"), Cell(f"{over}项（共{len(values)}项，{null}项无法计算）",
                                      band="fail" if over else "pass")),
        (Cell("存在的否决性情形"), Cell("；".join(vetoes) or "无", band="fail" if vetoes else "pass")),
        (Cell("社会认可度"), Cell(f"{pct(rec.get('score'))}（{_ci_label(rec)}{_ci(rec.get('ci'))}）" if rec else NOT_GIVEN)),
    ]
    return Table("指标汇总", "主要数据", ("项目", "数值"), rows, (30, 50))


def _stage_thresholds(schools: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for school in schools:
        stage = school.get("stage", "")
        for key, ind in (school.get("indicators") or {}).items():
            found.setdefault(key, {}).setdefault(stage, ind.get("threshold"))
    return found


def indicator_band(ind: Mapping[str, Any]) -> str:
    """Band of one indicator: the dict's ``band``; for contract-only dicts missing / pass / fail."""
    if ind.get("band"):
        return str(ind["band"])
    if ind.get("value") is None:
        return "missing"
    return "pass" if ind.get("met") else "fail"


def matrix_table(report: Mapping[str, Any]) -> Table:
    """School × indicator matrix: values with band colours, met count and the 1.8 result."""
    schools = report.get("schools") or []
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
        inds = school.get("indicators") or {}
        cells = [
            Cell(school_label(school)),
            Cell(STAGE_LABEL.get(school.get("stage", ""), school.get("stage"))),
            Cell(school.get("students"), "int"),
        ]
        for key, *_ in INDICATORS:
            ind = inds.get(key)
            if ind is None:
                cells.append(Cell(None, band="missing"))
            else:
                cells.append(Cell(ind.get("value"), indicator_fmt(key), indicator_band(ind)))
        cells.append(Cell(school.get("met_count"), "int"))
        if school.get("excluded"):
            cells.append(Cell("不参评", band="na"))
        else:
            passed = school.get("pass")
            cells.append(
                Cell("是" if passed else ("否" if passed is False else "待定"),
                     band="pass" if passed else ("fail" if passed is False else "pending"))
            )
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


def thresholds_table(report: Mapping[str, Any]) -> Table:
    """The thresholds the dict's school rows were judged against, per indicator and stage."""
    found = _stage_thresholds(report.get("schools") or [])
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


def _item_title(report: Mapping[str, Any], code: str) -> str:
    title = next((str(it.get("title") or "") for it in report.get("items") or [] if it.get("code") == code), "")
    return _THRESHOLD_NOTE.sub("", title.split("：")[0])


def school_issue_table(report: Mapping[str, Any]) -> Table:
    """Schools that fail or are pending in 1.8, with the engine's reason and missing fields."""
    rows: list[tuple[Cell, ...]] = []
    for school in report.get("schools") or []:
        passed = school.get("pass")
        if school.get("excluded") or passed is True:
            continue
        reason = str(school.get("reason") or "")
        missing = missing_text(school.get("missing") or [])
        if missing and "缺少数据" not in reason:  # the engine's reason already names them in Chinese
            reason = (reason + "；" if reason else "") + missing
        rows.append(
            (
                Cell(school_label(school)),
                Cell(STAGE_LABEL.get(school.get("stage", ""), school.get("stage"))),
                Cell("否" if passed is False else "待定", band="fail" if passed is False else "pending"),
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


def cv_limits(report: Mapping[str, Any]) -> dict[str, Any]:
    """CV limits per stage from the dict (``cv_limits``), None when absent."""
    limits = report.get("cv_limits") or {}
    return {stage: limits.get(stage) for stage, _ in STAGES}


def cv_table(report: Mapping[str, Any]) -> Table:
    """One row per indicator: CV and limit for each stage, whether it is within, and why a CV is null."""
    cv = report.get("cv") or {}
    notes = report.get("cv_notes") or {}
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
    composite = report.get("cv_composite")
    if report.get("cv_mode") == "composite" and composite:
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
        str(report.get("cv_mode")), "计算口径未提供"
    )
    return Table(
        sheet="差异系数",
        title="校际差异系数",
        headers=tuple(headers),
        rows=rows,
        widths=(18, 10, 7, 8, 10, 7, 8, 30),
        note=f"差异系数{mode}，显示保留三位小数，比较按完整精度。",
    )


def _names(report: Mapping[str, Any]) -> dict[str, str]:
    return {str(s.get("school_code")): str(s.get("name") or "") for s in report.get("schools") or []}


def shortfall_tables(report: Mapping[str, Any]) -> tuple[Table, Table]:
    """Shortfalls per school and county totals (the dict's totals; summed from rows only if absent)."""
    names = _names(report)
    rows = []
    for s in report.get("shortfalls") or []:
        code = str(s.get("school_code") or "")
        rows.append(
            (
                Cell(code),
                Cell(s.get("school_name") or names.get(code) or ""),
                Cell(s.get("item") or ""),
                Cell(s.get("what") or ""),
                Cell(s.get("amount"), "num"),
                Cell(s.get("unit") or ""),
            )
        )
    per_school = Table(
        sheet="短板缺口",
        title="各校短板与缺口",
        headers=("学校代码", "学校", "指标", "缺口内容", "数量", "单位"),
        rows=rows,
        widths=(14, 20, 7, 22, 10, 7),
    )
    totals = report.get("shortfall_totals")
    note = ""
    if totals is None:
        summed: dict[tuple[str, str, str], float] = {}
        for s in report.get("shortfalls") or []:
            k = (str(s.get("item") or ""), str(s.get("what") or ""), str(s.get("unit") or ""))
            summed[k] = summed.get(k, 0) + (s.get("amount") or 0)
        totals = [{"item": i, "what": w, "unit": u, "amount": a} for (i, w, u), a in summed.items()]
        note = "评估结果未提供全县合计，本表由各校明细汇总。"
    total_rows = [
        (Cell(t.get("item") or ""), Cell(t.get("what") or ""), Cell(t.get("amount"), "num"),
         Cell(t.get("unit") or ""), Cell(f"共缺少{format_value(t.get('amount'), 'num')}{t.get('unit') or ''}{t.get('what') or ''}"))
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


def local_items(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rule-set's own items (codes L1, L2, …; ``figures.local`` true), in report order."""
    return [it for it in report.get("items") or [] if (it.get("figures") or {}).get("local")]


def _local_fmt(unit: Any) -> str:
    return "pct" if unit == "%" else "dec2"


def local_item_table(item: Mapping[str, Any]) -> Table:
    """One local item: per school part (school indicators) or per ratio (county ratios), the
    numerator, denominator, value, standard and whether it is met, as the engine found them."""
    fig = item.get("figures") or {}
    direction = {"at_least": "≥", "at_most": "≤"}.get(str(fig.get("direction")), "")
    status_of = {True: ("是", "pass"), False: ("否", "fail"), None: ("待定", "pending")}
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
    section = LOCAL_SECTIONS.get(str(fig.get("section") or item.get("area")), "")
    return Table(
        sheet="地方指标",
        title=item_heading(item),
        headers=headers,
        rows=rows,
        widths=widths,
        note=f"依据：{fig.get('source') or NOT_GIVEN}；列入{section or '—'}；结论：{COMPLIANCE.get(str(item.get('status')), NOT_GIVEN)}。",
    )


def _ci(ci: Any) -> str:
    if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
        return f"{format_value(ci[0], 'pct')}～{format_value(ci[1], 'pct')}"
    return NOT_GIVEN


_REC_STATUS = {"pass": "达到", "fail": "未达到", "pending": "暂无法判定是否达到"}


def _ci_label(rec: Mapping[str, Any]) -> str:
    confidence = rec.get("confidence")
    # the level the estimate was computed with (rule-set recognition.confidence); a dict
    # that does not say prints no level rather than a guessed "95%"
    level = f"{confidence * 100:g}%" if isinstance(confidence, Real) and not isinstance(confidence, bool) else ""
    return f"{level}置信区间"


def recognition_paragraphs(rec: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The county result, then the quality filters and the 不了解 sensitivity, as sentences."""
    if not rec:
        return ("未提供社会认可度调查结果，该项待定。",)
    notes = tuple(f"注意：{w}" for w in rec.get("warnings") or [])
    flagged = (integrity_paragraph(rec),) if rec.get("without_flagged") else ()
    return (recognition_paragraph(rec), filters_paragraph(rec), *flagged, *notes)


def integrity_paragraph(rec: Mapping[str, Any]) -> str:
    """The score without the responses carrying integrity flags (survey rounds, CONTRACTS §5)."""
    w = rec["without_flagged"]
    n = w.get("excluded_flagged") or 0
    if not n:
        return "完整性核查未发现带可疑信号的答卷。"
    if w.get("error") or w.get("score") is None:
        return f"完整性核查有{n}份答卷带可疑信号；不计这些答卷时无法计算认可度（{w.get('error') or NOT_GIVEN}）。"
    status = _REC_STATUS.get(str(w.get("status")), "未判定是否达到")
    return (f"完整性核查有{n}份答卷带可疑信号（仅为核查证据，未自动删除）；不计这些答卷时认可度为{pct(w['score'])}"
            f"（{_ci_label(rec)}{_ci(w.get('ci'))}，{format_value(w.get('n_kept'), 'int')}份），{status}标准。")


_DROPPED = (("speeder", "作答过快"), ("straightliner_fast", "快速且答案雷同"), ("empty", "空白"))


def filters_paragraph(rec: Mapping[str, Any]) -> str:
    """How many answers the quality filters dropped and the result without them."""
    dropped = rec.get("dropped") or {}
    parts = [f"{label}{dropped[key]}份" for key, label in _DROPPED if dropped.get(key) is not None]
    detail = f"（{'、'.join(parts)}）" if parts else ""
    n_dropped = rec.get("n_dropped")
    text = (
        f"质量筛查剔除答卷{NOT_GIVEN if n_dropped is None else n_dropped}份{detail}，"
        f"保留{NOT_GIVEN if rec.get('n_kept') is None else rec['n_kept']}份。"
    )
    unfiltered = rec.get("unfiltered") or {}
    if unfiltered.get("score") is not None:
        text += (f"不经筛查时认可度为{pct(unfiltered['score'])}（{_ci_label(rec)}{_ci(unfiltered.get('ci'))}，"
                 f"{format_value(unfiltered.get('n'), 'int')}份）。")
    return text


def recognition_paragraph(rec: Mapping[str, Any]) -> str:
    """The county result with its CI, the borderline flag and the 不了解 sensitivity."""
    status = _REC_STATUS.get(str(rec.get("status")), "未判定是否达到")
    threshold = rec.get("threshold", 0.85)
    text = (
        f"社会认可度为{pct(rec.get('score'))}（{_ci_label(rec)}{_ci(rec.get('ci'))}），"
        f"{status}{pct(threshold)}的标准。"
    )
    if rec.get("borderline"):
        text += "置信区间包含标准值，结论处于临界状态。"
    if rec.get("dont_know_rate") is not None:
        text += f"“不了解”占全部回答的{pct(rec['dont_know_rate'])}。"
    if rec.get("dont_know_as_no") is not None:
        text += f"若将“不了解”计为不认可，认可度为{pct(rec.get('dont_know_as_no'))}"
        flip = _REC_STATUS.get(str(rec.get("dont_know_as_no_status")))
        text += f"，{flip}标准" if flip else ""
        if flip and rec.get("dont_know_as_no_status") != rec.get("status"):
            text += "（结论随之改变）"
        text += "。"
    return text


def recognition_tables(report: Mapping[str, Any]) -> tuple[Table, ...]:
    """Overview, per group, per item and per school tables of the recognition object."""
    rec = report.get("recognition")
    if not rec:
        return ()
    deff = rec.get("deff") or {}
    unfiltered = rec.get("unfiltered") or {}
    dropped = rec.get("dropped") or {}
    status = {"pass": "达标", "fail": "未达标", "pending": "待定"}.get(str(rec.get("status")), NOT_GIVEN)
    ci_label = _ci_label(rec)

    def row(label: str, value: Any, fmt: str = "text") -> tuple[Cell, ...]:
        return (Cell(label), Cell(NOT_GIVEN if value is None else value, fmt))

    overview_rows = [
        row("社会认可度（加权）", rec.get("score"), "pct"),
        (Cell(ci_label), Cell(_ci(rec.get("ci")))),
        row("标准误", rec.get("se"), "cv"),
        row("自由度", rec.get("df"), "int"),
        row("标准", rec.get("threshold"), "pct"),
        (Cell("结论"), Cell(status, band=STATUS_BAND.get(str(rec.get("status"))))),
        (Cell("临界（置信区间包含标准值）"), Cell("是" if rec.get("borderline") else "否")),
        row("有效样本（质量筛查后）", rec.get("n_kept"), "int"),
        row("剔除样本", rec.get("n_dropped"), "int"),
        *(row(f"其中：{label}", dropped.get(key), "int") for key, label in _DROPPED
          if key != "empty" or key in dropped),
        row("未经筛查的认可度", unfiltered.get("score"), "pct"),
        (Cell(f"未经筛查的{ci_label}"), Cell(_ci(unfiltered.get("ci")))),
        row("未经筛查的样本量", unfiltered.get("n"), "int"),
        row("“不了解”比例", rec.get("dont_know_rate"), "pct"),
        row("“不了解”计为不认可时的认可度", rec.get("dont_know_as_no"), "pct"),
        (Cell("“不了解”计为不认可时的结论"),
         Cell({"pass": "达标", "fail": "未达标", "pending": "待定"}.get(str(rec.get("dont_know_as_no_status")), NOT_GIVEN),
              band=STATUS_BAND.get(str(rec.get("dont_know_as_no_status"))))),
        row("设计效应（整群）", deff.get("cluster"), "dec2"),
        row("设计效应（权重）", deff.get("kish"), "dec2"),
        row("设计效应（合计）", deff.get("total"), "dec2"),
    ]
    overview = Table("社会认可度", "总体结果", ("项目", "数值"), overview_rows, (30, 18))
    group_rows = []
    for key, g in (rec.get("groups") or {}).items():
        group_deff = g.get("deff")
        group_rows.append(
            (
                Cell(g.get("label") or group_label(key)),
                Cell(g.get("weight"), "pct"),
                Cell(g.get("n"), "int"),
                Cell(g.get("score"), "pct"),
                Cell(g.get("se"), "cv"),
                Cell(_ci(g.get("ci"))),
                Cell(g.get("dont_know_rate"), "pct"),
                Cell(g.get("dont_know_as_no"), "pct"),
                Cell(group_deff.get("total") if isinstance(group_deff, Mapping) else group_deff, "dec2"),
            )
        )
    groups = Table(
        "社会认可度", "分群体结果",
        ("群体", "权重", "样本量", "认可度", "标准误", ci_label, "不了解比例", "不了解计为不认可", "设计效应"),
        group_rows, (10, 7, 7, 8, 8, 17, 8, 9, 8),
    )
    item_rows = []
    for key, it in (rec.get("items") or {}).items():
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
    names = _names(report)
    school_rows = []
    for code, s in (rec.get("schools") or {}).items():
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
    min_cell = rec.get("min_cell")
    schools = Table(
        "社会认可度", "分学校结果", ("学校代码", "学校", "样本量", "认可度", "标准误"),
        school_rows, (14, 22, 8, 16, 9),
        note=f"样本量少于{min_cell}人的学校不公布认可度。" if min_cell else "",
    )
    return overview, groups, items, schools


_KNOWN_PROVENANCE = {"ruleset_id", "ruleset_version", "ruleset_sha256", "ruleset_sources", "ruleset_files", "inputs",
                     "generated_at", "software_version"}


def provenance_tables(report: Mapping[str, Any]) -> tuple[Table, Table]:
    """Rule-set, inputs with SHA-256, generation time and software version."""
    prov = report.get("provenance") or {}

    def row(label: str, value: Any) -> tuple[Cell, Cell]:
        return Cell(label), Cell(NOT_GIVEN if value in (None, "") else str(value))

    meta = Table(
        "来源", "评估依据与版本",
        ("项目", "内容"),
        [
            row("评估规则", ruleset_name(str(prov.get("ruleset_id") or report.get("rules") or "")) or None),
            row("规则版本", prov.get("ruleset_version")),
            row("规则文件", "、".join(map(str, prov.get("ruleset_sources") or [])) or None),
            row("规则文件 SHA-256", prov.get("ruleset_sha256")),
            *(row(f"规则文件 {f.get('name')} SHA-256", f.get("sha256"))
              for f in prov.get("ruleset_files") or [] if len(prov.get("ruleset_files") or []) > 1),
            row("生成时间", beijing_time(prov.get("generated_at")) or None),
            row("软件版本", software_name(prov.get("software_version")) or None),
            *(row(key, value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False))
              for key, value in prov.items() if key not in _KNOWN_PROVENANCE),
        ],
        (20, 70),
    )
    inputs = Table(
        "来源", "输入文件",
        ("文件名", "SHA-256"),
        [(Cell(str(i.get("name") or "")), Cell(str(i.get("sha256") or NOT_GIVEN)))
         for i in prov.get("inputs") or []],
        (30, 70),
        note="" if prov.get("inputs") else "评估结果未提供输入文件信息。",
    )
    return meta, inputs


def _county_line(report: Mapping[str, Any]) -> str:
    county = report.get("county") or {}
    parts = [str(county[k]) for k in ("province", "name") if county.get(k)]
    line = "".join(parts) or "（县域名称未提供）"
    if county.get("code"):
        line += f"（行政区划代码 {county['code']}）"
    if county.get("assessment_year"):
        line += f"，评估年度 {county['assessment_year']}"
    if county.get("basic_balanced_year"):
        line += f"，{county['basic_balanced_year']}年通过基本均衡认定"
    return line


def build_view(report: Mapping[str, Any]) -> ReportView:
    """Build the ordered sections every writer prints."""
    verdict = str(report.get("verdict") or "")
    verdict_text = VERDICT_TEXT.get(verdict, f"结论未提供（{verdict or '空'}）")
    reasons = [plain(r) for r in report.get("reasons") or []]
    if reasons:
        reason_pars = ("主要原因：", *(f"{i}. {r}" for i, r in enumerate(reasons, 1)))
    elif verdict == "recognized":
        reason_pars = ("各项指标均达到要求，无否决性情形。",)
    else:
        reason_pars = ("评估结果未列出原因，请查看下表中未达标和待定的指标。",)
    county = _county_line(report)
    prereq = report.get("prerequisite")
    if prereq:
        status = COMPLIANCE.get(str(prereq.get("status")), NOT_GIVEN)
        prereq_par = f"前提条件（通过基本均衡认定满规定年限）：{status}。{plain(prereq.get('detail'))}"
    else:
        prereq_par = f"前提条件（通过基本均衡认定满规定年限）：{NOT_GIVEN}。"
    rec = report.get("recognition")
    borderline = (
        (f"提示：社会认可度{pct(rec.get('score'))}的置信区间{_ci(rec.get('ci'))}包含{pct(rec.get('threshold', 0.85))}，"
         "结论处于临界状态，建议扩大样本或复核。",)
        if rec and rec.get("borderline") else ()
    )
    per_school, totals = shortfall_tables(report)
    meta, inputs = provenance_tables(report)
    local = local_items(report)
    sections = [
        Section(
            "评估结论", 1,
            (f"评估对象：{county}。", f"评估规则：{ruleset_name(str(report.get('rules'))) if report.get('rules') else NOT_GIVEN}。",
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
            chart="recognition" if rec else None, page_break=True,
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
