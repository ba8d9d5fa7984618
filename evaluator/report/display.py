"""Display model shared by the HTML, DOCX and XLSX writers, and the formatting they share.

A report (``evaluator.report.model.Report``, read from the report dict of docs/interfaces.md §4 plus
REPORT_SCHEMA.md) is turned once into an ordered list of :class:`Section` objects holding
Chinese headings, paragraphs and :class:`Table` objects whose cells keep raw numbers plus a
format name (``evaluator.report.view.build_view``). Each writer only lays these out, so the
three formats always carry the same content. Nothing here recomputes a verdict or a
statistic; absent values are shown as "未提供".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from numbers import Integral, Real
from typing import Any

from evaluator.groups import GROUPS
from evaluator.labels import AREAS, COMPLIANCE, VERDICT_SENTENCE
from evaluator.report.model import Indicator, ReportItem, SchoolRow
from evaluator.tables import SPLIT_TYPES, STAGE_LABELS
from evaluator.tables import STAGES as NATIONAL_STAGES

NOT_GIVEN = "未提供"

VERDICT_TEXT = VERDICT_SENTENCE  # the 结论 sentence (evaluator.labels)
STATUS_BAND: dict[str, str] = {"pass": "pass", "fail": "fail", "pending": "pending", "n/a": "na"}

_AREA_BY_PREFIX = {"1": "resources", "2": "assurance", "3": "quality", "4": "veto", "5": "recognition"}

#: Indicator keys of docs/rules.md §2 (contract keys), their item codes and short column labels.
INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("qualified_teachers", "1.1", "高学历教师", "人/百生"),
    ("backbone_teachers", "1.2", "骨干教师", "人/百生"),
    ("pe_art_teachers", "1.3", "体艺教师", "人/百生"),
    ("teaching_area", "1.4", "教学辅助用房", "㎡/生"),
    ("sports_area", "1.5", "体育场馆", "㎡/生"),
    ("equipment_value", "1.6", "仪器设备值", "元/生"),
    ("multimedia_rooms", "1.7", "多媒体教室", "间/百生"),
)
STAGES: tuple[tuple[str, str], ...] = tuple((stage, STAGE_LABELS[stage]) for stage in NATIONAL_STAGES)
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


def school_label(school: SchoolRow) -> str:
    """Display name of a school row: its label, else name plus （小学部）/（初中部） for split schools."""
    if school.label:
        return str(school.label)
    name = str(school.name or school.school_code or "")
    if school.school_type in SPLIT_TYPES:
        return f"{name}（{STAGE_LABEL.get(school.stage, '')}部）"
    return name


def group_label(key: str) -> str:
    """Chinese name of a respondent group key (the key itself when unknown)."""
    group = GROUPS.get(key)
    return group.label if group else key


def item_area(item: ReportItem) -> str:
    """Area key of an item: its ``area`` or the one implied by the code prefix."""
    return str(item.area or _AREA_BY_PREFIX.get(item.code.split(".")[0], ""))


def item_heading(item: ReportItem) -> str:
    """"code title" as in the 指标 column, e.g. "2.3 所有小学、初中每12个班级配备…"."""
    return f"{item.code} {item.title}".strip()


def text_cell(value: Any, empty: str = "") -> Cell:
    return Cell(empty if value in (None, "") else str(value))


def status_cell(status: Any) -> Cell:
    return Cell(COMPLIANCE.get(str(status), NOT_GIVEN), band=STATUS_BAND.get(str(status)))


def sorted_items(items: Iterable[ReportItem]) -> list[ReportItem]:
    """Items in area order (资源配置 … 社会认可度), the report's order within an area."""
    order = {key: i for i, (key, _) in enumerate(AREAS)}
    return sorted(items, key=lambda it: order.get(item_area(it), len(order)))


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


def item_problem(item: ReportItem | Mapping[str, Any]) -> str:
    """The 存在问题 text of an item as the report prints it (also for web pages showing a
    stored item, hence a dict is accepted)."""
    if isinstance(item, Mapping):
        item = ReportItem.from_dict(item)
    problem = str(item.problem or "")
    missing = missing_text(item.missing)
    if missing:
        problem = (problem + "；" if problem else "") + missing
    if not problem:
        return "无" if item.status == "pass" else plain(item.detail)
    return plain(problem)


def indicator_band(ind: Indicator) -> str:
    """Band of one indicator: its ``band``; for contract-only dicts missing / pass / fail."""
    if ind.band:
        return str(ind.band)
    if ind.value is None:
        return "missing"
    return "pass" if ind.met else "fail"


def ci_text(ci: Any) -> str:
    """"80.0%～88.0%" for a (lo, hi) pair, else 未提供."""
    if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
        return f"{format_value(ci[0], 'pct')}～{format_value(ci[1], 'pct')}"
    return NOT_GIVEN


def ci_label(confidence: Any) -> str:
    """"95%置信区间" at the level the estimate was computed with (rule-set recognition.confidence);
    a result that does not say prints no level rather than a guessed "95%"."""
    level = f"{confidence * 100:g}%" if isinstance(confidence, Real) and not isinstance(confidence, bool) else ""
    return f"{level}置信区间"
