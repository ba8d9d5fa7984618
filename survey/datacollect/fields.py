"""The data-collection forms: which fields a school of each type fills in, the county sheet's
keys, and parsing a submitted form into typed values (Chinese messages keyed by form field)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluator.checks import (
    Checks,
    Finding,
    school_stages,
)
from evaluator.workbook.schema import (
    COUNTY_KEYS,
    LOCALITIES,
    RATINGS,
    SCHOOL_COLUMNS,
    SUBJECT_NAMES,
    TYPE_STAGES,
    Column,
    CountyKey,
)
from survey.datacollect.models import DataFlag, SchoolSheet

FIXED = ("school_code", "school_name", "school_type")  # from the roster: staff own them
STAGE_STEMS = ("students", "classes", "teachers", "qualified_teachers", "backbone_teachers", "pe_art_teachers")
MONITORED = ("chinese", "math", "science")  # subjects offered on the county form [D]
LEVELS = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ")
EXPLANATION_MAX = 1000


def school_fields(school_type: str) -> list[Column]:
    """The schools-sheet columns a school of this type fills in (other stages are fixed at 0)."""
    stages = set(TYPE_STAGES.get(school_type, ()))
    out = []
    for c in SCHOOL_COLUMNS:
        if c.key in FIXED:
            continue
        stem, _, stage = c.key.rpartition("_")
        if stage in ("primary", "junior", "senior") and stem in STAGE_STEMS and stage not in stages:
            continue
        out.append(c)
    return out


def other_stage_zero(school_type: str) -> dict[str, int]:
    stages = set(TYPE_STAGES.get(school_type, ()))
    out = {}
    for stage in ("primary", "junior"):
        if stage not in stages:
            for stem in STAGE_STEMS:
                out[f"{stem}_{stage}"] = 0
    if "senior" not in stages:
        out["students_senior"] = 0
    return out


def choices(c: Column) -> tuple[str, ...]:
    if c.kind == "yesno":
        return ("是", "否")
    if c.key == "locality":
        return LOCALITIES
    if c.key == "moral_education_rating":
        return RATINGS
    return c.choices


def county_fields() -> list[CountyKey]:
    """The county sheet's keys staff fill in (code, name and year come from the round)."""
    keys = [k for k in COUNTY_KEYS if k.key not in ("county_code", "county_name", "assessment_year")]
    for subject in MONITORED:
        zh = SUBJECT_NAMES[subject]
        keys.append(CountyKey(f"monitoring_{subject}_level", f"3.9 {zh}学业水平等级（Ⅰ–Ⅳ）", "level", "", "Ⅲ"))
        keys.append(CountyKey(f"monitoring_{subject}_diff", f"3.9 {zh}校际差异率（0–1）", "diff", "", 0.12))
    return keys


def parse_value(raw: str | None, kind: str, options: Sequence[str] = (), maximum: float = math.inf) -> Any:
    """A form value as the workbook would read it; raises ValueError with a Chinese message."""
    text = (raw or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    if kind == "yesno":
        if text not in ("是", "否"):
            raise ValueError("请选择 是 或 否")
        return text == "是"
    if kind in ("enum", "level", "status"):
        allowed = options or (LEVELS if kind == "level" else ("已抽测", "未抽测"))
        if text not in allowed:
            raise ValueError(f"应为 {'/'.join(allowed)} 之一")
        return text
    if kind == "text":
        if len(text) > 200:
            raise ValueError("最多 200 字")
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError("应填写数字") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError("应为非负数")
    if kind in ("count", "year") and not number.is_integer():
        raise ValueError("应为整数")
    if kind == "year" and not 1800 <= number <= 2100:
        raise ValueError("年份应在 1800–2100 之间")
    if kind == "diff" and number > 1:
        raise ValueError("应在 0–1 之间")
    if number > maximum:
        raise ValueError(f"超出合理范围（不超过 {maximum:g}），请核对是否多输入了位数")
    return int(number) if kind in ("count", "year") else number


@dataclass
class SheetInput:
    values: dict[str, Any]
    classes: list[dict[str, Any]]
    rooms: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    explanations: dict[str, str] = field(default_factory=dict)  # flag key (rule--field) -> text


def parse_sheet_form(sheet: SchoolSheet, form: Mapping[str, str], checks: Checks) -> SheetInput:
    """The school form (field names: schools-sheet keys, ``c-<i>-stage|grade|students``,
    ``r-<i>-room_type|area``, ``explain-<flag id>``) parsed to typed values; problems go to
    ``errors`` keyed by form field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(other_stage_zero(sheet.school_type))
    for c in school_fields(sheet.school_type):
        try:
            values[c.key] = parse_value(form.get(c.key), c.kind, choices(c), checks.maximum(c.key))
        except ValueError as exc:
            errors[c.key] = str(exc)
    stages = school_stages(sheet.school_type)
    classes: list[dict[str, Any]] = []
    for i in range(_count(form.get("c-n"))):
        raw = {k: (form.get(f"c-{i}-{k}") or "").strip() for k in ("stage", "grade", "students")}
        if len(stages) == 1:
            raw["stage"] = raw["stage"] or stages[0]
        if not raw["grade"] and not raw["students"]:
            continue
        try:
            stage = {"小学": "primary", "初中": "junior"}.get(raw["stage"], raw["stage"])
            if stage not in stages:
                raise ValueError("请选择学段")
            grade = parse_value(raw["grade"], "count", maximum=9)
            students = parse_value(raw["students"], "count", maximum=checks.maximum("class_students"))
            if grade is None or students is None or grade < 1:
                raise ValueError("请填写年级（1–9）和班级学生数")
        except ValueError as exc:
            errors[f"c-{i}"] = f"第 {i + 1} 行：{exc}"
            continue
        classes.append({"stage": stage, "grade": grade, "students": students})
    rooms: list[dict[str, Any]] = []
    for i in range(_count(form.get("r-n"))):
        rtype = (form.get(f"r-{i}-room_type") or "").strip()
        area_raw = (form.get(f"r-{i}-area") or "").strip()
        if not area_raw:
            continue
        try:
            if rtype not in ("音乐", "美术"):
                raise ValueError("请选择 音乐 或 美术")
            area = parse_value(area_raw, "number", maximum=checks.maximum("room_area"))
            if not area:
                raise ValueError("面积应大于 0")
        except ValueError as exc:
            errors[f"r-{i}"] = f"第 {i + 1} 行：{exc}"
            continue
        rooms.append({"room_type": rtype, "area": area})
    explanations: dict[str, str] = {}
    for key, text in form.items():
        if key.startswith("explain-") and (text or "").strip():
            text = text.strip()
            if len(text) > EXPLANATION_MAX:
                errors[key] = f"说明最多 {EXPLANATION_MAX} 字"
            explanations[key[8:]] = text[:EXPLANATION_MAX]
    return SheetInput(values=values, classes=classes, rooms=rooms, errors=errors, explanations=explanations)


def _count(raw: str | None) -> int:
    try:
        return max(0, min(int(raw or 0), 500))  # at most 500 rows per list
    except ValueError:
        return 0


def flag_key(flag: DataFlag) -> str:
    """A flag's name in the form (stable across attempts: rule and field)."""
    return f"{flag.rule}--{flag.field}"


def finding_key(f: Finding) -> str:
    """The form field a finding is shown at."""
    m = re.fullmatch(r"rooms\[(\d+)\]", f.field)
    return f"r-{m.group(1)}" if m else f.field
