"""Local items (地方指标): items a provincial or county rule-set adds to the national table.

A rule-set declares them under ``local_items`` as data, so a province's variant needs no
code (docs/rules.md §8). Each item has a code ``L<n>`` (L1, L2, …; unique within the merged
rule-set, never one of the national codes 1.1–5), a Chinese ``title`` (the wording of the
local document), its ``source`` (the document and article), the ``section`` of the report
it belongs to (resources 资源配置 / assurance 政府保障程度 / quality 教育质量), and its data
fields (key, Chinese name, type count|number, unit, note, example). Two kinds:

``kind: county`` — one or more county ratios, each
    value = per × county[numerator] / county[denominator], compared with ``threshold``
    in ``direction`` (at_least: value ≥ threshold; at_most: value ≤ threshold), with the
    engine's tolerance (evaluator.outcome.at_least / at_most). The item passes when
    every ratio does. Fields are rows of the county sheet.

``kind: school`` — one indicator judged for every school (of the types in
``applies_to``) and every 学段 it has (小学/初中, a stage with 0 students is no part):
    value = per × school[<numerator>_<stage>] / school[<denominator>_<stage>]
    against ``thresholds[stage]``. Fields are per-stage column stems of the schools sheet
    (``academic_passed`` → columns academic_passed_primary, academic_passed_junior);
    the stems students, teachers, classes and the 1.1–1.3 teacher stems may be used
    without declaring them. The item passes when every school part does.

Like every item, a local item counts toward the verdict: FAIL blocks recognition, and
missing data makes it PENDING, naming the schools and fields in Chinese. A zero
denominator follows the item's ``on_zero_denominator`` (pending | fail | n/a; default
pending [D]), so the choice is stated in the rule-set. Shortfalls (for ``at_least``
school indicators) are the numerator units missing to reach the threshold.

Variants inherit ``local_items`` through ``extends`` and deep merge (a mapping keyed by
code), so a variant may add items or override one field of an inherited item. Unknown
keys are errors (a misspelt optional key never falls back to a default silently); items
may share a field only with an identical declaration. Complete examples:
instruments/rules/dalian-2019.yaml (school indicators) and luoding-2019.yaml (county ratios
and a school indicator over the national ``teachers`` columns).

In report.json a local item is an ordinary ``items[]`` entry (code, title, status, detail,
area = its section, problem, missing) placed after the national codes; its ``figures``
carry ``local: true`` and the rows judged (see evaluator/report/REPORT_SCHEMA.md).

This module declares and loads local items; ``evaluator.local_scoring`` judges them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from evaluator.errors import InstrumentError
from evaluator.outcome import (
    at_least,
    at_most,
    fmt,
)
from evaluator.tables import SCHOOL_TYPES

CODE_PATTERN = re.compile(r"^L[1-9][0-9]?$")
KINDS = ("county", "school")
SECTIONS = {"resources": "资源配置", "assurance": "政府保障程度", "quality": "教育质量"}
DIRECTIONS = {"at_least": "≥", "at_most": "≤"}
FIELD_TYPES = ("count", "number")
ZERO_POLICIES = ("pending", "fail", "n/a")
LOCAL_STAGES = {"primary": "小学", "junior": "初中"}
#: Per-stage stems of the national schools sheet a school indicator may use undeclared.
BUILTIN_SCHOOL_STEMS = {"students": "在校生数", "teachers": "专任教师数", "classes": "班级数",
                        "qualified_teachers": "高于规定学历教师数", "backbone_teachers": "县级以上骨干教师数",
                        "pe_art_teachers": "体育艺术专任教师数"}
_COMMON_KEYS = {"kind", "title", "source", "section", "on_zero_denominator", "fields", "label", "unit"}
_RATIO_KEYS = {"label", "numerator", "denominator", "per", "threshold", "direction", "unit"}
ALLOWED_KEYS = {"county": _COMMON_KEYS | _RATIO_KEYS | {"ratios"},
                "school": _COMMON_KEYS | (_RATIO_KEYS - {"threshold"}) | {"thresholds", "applies_to"}}
_FIELD_KEYS = {"zh", "type", "unit", "note", "example"}


@dataclass(frozen=True)
class LocalField:
    """A data field of a local item: a county key, or a per-stage schools-sheet stem."""

    key: str
    zh: str
    kind: str  # count | number
    unit: str
    note: str
    example: Any


@dataclass(frozen=True)
class LocalRatio:
    """value = per × numerator / denominator, compared with the threshold of its stage
    (``thresholds`` keys: "county" for county ratios, primary/junior for school ones)."""

    label: str
    numerator: str
    denominator: str
    per: float
    thresholds: Mapping[str, float]
    direction: str  # at_least | at_most
    unit: str

    def met(self, value: float, scope: str) -> bool:
        limit = self.thresholds[scope]
        return at_least(value, limit) if self.direction == "at_least" else at_most(value, limit)

    def show(self, value: float | None) -> str:
        """A value (or threshold) as printed: percentages for unit "%", else number + unit."""
        if value is None:
            return "—"
        if self.unit == "%":
            return f"{fmt(value * 100)}%"
        return f"{fmt(value)}{self.unit}"

    def standard(self, scope: str) -> str:
        return f"{DIRECTIONS[self.direction]}{self.show(self.thresholds[scope])}"


@dataclass(frozen=True)
class LocalItem:
    code: str
    kind: str  # county | school
    title: str
    source: str
    section: str
    fields: tuple[LocalField, ...]
    ratios: tuple[LocalRatio, ...]  # county: one or more; school: exactly one
    applies_to: tuple[str, ...]
    on_zero_denominator: str

    def field(self, key: str) -> LocalField | None:
        for f in self.fields:
            if f.key == key:
                return f
        return None


# --------------------------------------------------------------------------- loading
def _err(message: str, file: str, field: str) -> InstrumentError:
    return InstrumentError(message, file=file, field=field)


def _text(node: Mapping[str, Any], key: str, file: str, prefix: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise _err(f"应为非空文字，实际为 {value!r}" if key in node else "缺少必填字段", file, f"{prefix}.{key}")
    return value.strip()


def _number(value: Any, file: str, field: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _err(f"应为数值，实际为 {value!r}", file, field)
    if value < 0 or (positive and value == 0):
        raise _err(f"应为{'正数' if positive else '非负数'}，实际为 {value!r}", file, field)
    return float(value)


def _choice(node: Mapping[str, Any], key: str, choices: tuple[str, ...] | dict[str, str], file: str, prefix: str,
            default: str | None = None) -> str:
    value = node.get(key, default)
    if value is None:
        raise _err("缺少必填字段", file, f"{prefix}.{key}")
    if value not in choices:
        raise _err(f"应为 {'/'.join(choices)} 之一，实际为 {value!r}", file, f"{prefix}.{key}")
    return str(value)


def _fields(node: Any, file: str, prefix: str) -> tuple[LocalField, ...]:
    if node is None:
        return ()
    if not isinstance(node, Mapping):
        raise _err("应为键值映射（字段键 → 中文名、类型、单位）", file, prefix)
    out = []
    for key, spec in node.items():
        fld = f"{prefix}.{key}"
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise _err("字段键应为小写英文字母、数字和下划线，以字母开头", file, fld)
        if not isinstance(spec, Mapping):
            raise _err("应为键值映射（zh、type、unit）", file, fld)
        _known(spec, _FIELD_KEYS, file, fld)
        kind = _choice(spec, "type", FIELD_TYPES, file, fld)
        unit = spec.get("unit", "")
        if not isinstance(unit, str):
            raise _err(f"应为文字，实际为 {unit!r}", file, f"{fld}.unit")
        zh = _text(spec, "zh", file, fld)
        note = spec.get("note", zh)
        if not isinstance(note, str):
            raise _err(f"应为文字，实际为 {note!r}", file, f"{fld}.note")
        example = spec.get("example")
        if example is not None:
            _number(example, file, f"{fld}.example")
            if kind == "count" and float(example) != int(example):
                raise _err(f"计数字段的示例应为整数，实际为 {example!r}", file, f"{fld}.example")
        out.append(LocalField(key, zh, kind, unit, note, example))
    return tuple(out)


def _known(node: Mapping[str, Any], allowed: set[str], file: str, prefix: str) -> None:
    """Unknown keys are errors: a misspelt optional key must not fall back to a default silently."""
    for key in node:
        if key not in allowed:
            raise _err(f"未知的键“{key}”，可用：{'、'.join(sorted(allowed))}", file, f"{prefix}.{key}")


def _ratio(node: Mapping[str, Any], file: str, prefix: str, kind: str, default_label: str,
           default_unit: str) -> LocalRatio:
    label = _text(node, "label", file, prefix, default_label)
    num = _text(node, "numerator", file, prefix)
    den = _text(node, "denominator", file, prefix)
    per = _number(node.get("per", 1), file, f"{prefix}.per", positive=True)
    direction = _choice(node, "direction", DIRECTIONS, file, prefix)
    unit = node.get("unit", default_unit)
    if not isinstance(unit, str):
        raise _err(f"应为文字，实际为 {unit!r}", file, f"{prefix}.unit")
    if kind == "county":
        if "threshold" not in node:
            raise _err("缺少必填字段", file, f"{prefix}.threshold")
        thresholds = {"county": _number(node["threshold"], file, f"{prefix}.threshold")}
    else:
        raw = node.get("thresholds")
        if not isinstance(raw, Mapping) or not raw:
            raise _err("应为各学段标准的键值映射，如 {primary: 0.95, junior: 0.95}", file, f"{prefix}.thresholds")
        for stage in raw:
            if stage not in LOCAL_STAGES:
                raise _err(f"学段应为 {'/'.join(LOCAL_STAGES)}", file, f"{prefix}.thresholds.{stage}")
        thresholds = {st: _number(raw[st], file, f"{prefix}.thresholds.{st}") for st in LOCAL_STAGES if st in raw}
    return LocalRatio(label, num, den, per, MappingProxyType(thresholds), direction, unit)


def parse_local_items(data: Mapping[str, Any], file: str) -> tuple[LocalItem, ...]:
    """Validate the ``local_items`` section of a merged rule-set mapping into LocalItems
    (sorted by code). Declared fields must not clash with the national workbook's columns
    and county keys; numeric national county keys (e.g. full_time_teachers) and the
    per-stage stems of BUILTIN_SCHOOL_STEMS may be used undeclared. Errors name the file
    and the dotted field."""
    from evaluator.workbook.schema import COUNTY_KEYS, SCHOOL_COLUMNS

    builtin_county = {k.key for k in COUNTY_KEYS if k.kind in ("number", "count")}
    reserved_columns = frozenset(c.key for c in SCHOOL_COLUMNS) | frozenset(k.key for k in COUNTY_KEYS)
    section = data.get("local_items")
    if section is None:
        return ()
    if not isinstance(section, Mapping):
        raise _err("应为键值映射（地方指标编号 → 定义）", file, "local_items")
    items: list[LocalItem] = []
    county_owner: dict[str, str] = {}  # declared field → code of the item declaring it
    school_owner: dict[str, str] = {}
    all_fields: dict[str, tuple[LocalField, str]] = {}
    for code, node in section.items():
        prefix = f"local_items.{code}"
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            raise _err("地方指标编号应为 L 加数字（L1、L2…），以免与国家指标编号混淆", file, prefix)
        if not isinstance(node, Mapping):
            raise _err("应为键值映射", file, prefix)
        kind = _choice(node, "kind", KINDS, file, prefix)
        _known(node, ALLOWED_KEYS[kind], file, prefix)
        title = _text(node, "title", file, prefix)
        source = _text(node, "source", file, prefix)
        sec = _choice(node, "section", SECTIONS, file, prefix)
        zero = _choice(node, "on_zero_denominator", ZERO_POLICIES, file, prefix, "pending")
        fields = _fields(node.get("fields"), file, f"{prefix}.fields")
        declared = {f.key: f for f in fields}
        for f in fields:
            first = all_fields.get(f.key)
            if first is not None and first[0] != f:
                raise _err(f"字段“{f.key}”已在 {first[1]} 中以不同的定义声明；共用字段的定义应完全相同", file,
                           f"{prefix}.fields.{f.key}")
            all_fields.setdefault(f.key, (f, code))
        if kind == "county":
            raw_ratios = node.get("ratios")
            if raw_ratios is None:
                raw_ratios = [node]
                if "numerator" not in node:
                    raise _err("县级比率应给出 numerator/denominator/threshold，或 ratios 列表", file, f"{prefix}.ratios")
            elif not isinstance(raw_ratios, list) or not raw_ratios:
                raise _err("应为非空列表", file, f"{prefix}.ratios")
            ratios = []
            for i, rn in enumerate(raw_ratios):
                rp = prefix if rn is node else f"{prefix}.ratios[{i}]"
                if not isinstance(rn, Mapping):
                    raise _err("应为键值映射", file, rp)
                if rn is not node:
                    _known(rn, _RATIO_KEYS, file, rp)
                ratios.append(_ratio(rn, file, rp, "county", title.split("，")[0], ""))
            for f in fields:
                if f.key in reserved_columns:
                    raise _err(f"字段键“{f.key}”与国家数据表的字段重名", file, f"{prefix}.fields.{f.key}")
                if school_owner.get(f.key):
                    raise _err(f"字段键“{f.key}”已被 {school_owner[f.key]} 用作学校字段", file, f"{prefix}.fields.{f.key}")
                county_owner.setdefault(f.key, code)
            for i, r in enumerate(ratios):
                rp = prefix if len(ratios) == 1 and "ratios" not in node else f"{prefix}.ratios[{i}]"
                for part in ("numerator", "denominator"):
                    key = getattr(r, part)
                    if key not in declared and key not in builtin_county and key not in county_owner:
                        raise _err(f"“{key}”既未在 fields 中声明，也不是县级数据表的数值字段", file, f"{rp}.{part}")
            applies: tuple[str, ...] = ()
        else:
            ratio = _ratio(node, file, prefix, "school", title.split("，")[0], "")
            ratios = [ratio]
            for f in fields:
                for st in LOCAL_STAGES:
                    col = f"{f.key}_{st}"
                    if col in reserved_columns or f.key in BUILTIN_SCHOOL_STEMS:
                        raise _err(f"字段“{f.key}”生成的列 {col} 与国家数据表的列重名", file, f"{prefix}.fields.{f.key}")
                if county_owner.get(f.key):
                    raise _err(f"字段键“{f.key}”已被 {county_owner[f.key]} 用作县级字段", file, f"{prefix}.fields.{f.key}")
                school_owner.setdefault(f.key, code)
            for part in ("numerator", "denominator"):
                key = getattr(ratio, part)
                if key not in declared and key not in BUILTIN_SCHOOL_STEMS and key not in school_owner:
                    raise _err(f"“{key}”既未在 fields 中声明，也不是学校数据表的分学段字段"
                               f"（{'、'.join(BUILTIN_SCHOOL_STEMS)}）", file, f"{prefix}.{part}")
            raw_types = node.get("applies_to", list(SCHOOL_TYPES))
            if not isinstance(raw_types, list) or not raw_types:
                raise _err("应为学校类型的非空列表", file, f"{prefix}.applies_to")
            for i, t in enumerate(raw_types):
                if t not in SCHOOL_TYPES:
                    raise _err(f"未知学校类型“{t}”，可选：{'、'.join(SCHOOL_TYPES)}", file, f"{prefix}.applies_to[{i}]")
            applies = tuple(raw_types)
        items.append(LocalItem(code, kind, title, source, sec, fields, tuple(ratios), applies, zero))
    return tuple(sorted(items, key=lambda it: int(it.code[1:])))


# --------------------------------------------------------------------------- data fields
def county_fields(items: tuple[LocalItem, ...]) -> tuple[tuple[LocalField, str], ...]:
    """Declared county fields of the county items, once each, with the first item's code."""
    seen: dict[str, tuple[LocalField, str]] = {}
    for it in items:
        if it.kind == "county":
            for f in it.fields:
                seen.setdefault(f.key, (f, it.code))
    return tuple(seen.values())


def school_fields(items: tuple[LocalItem, ...]) -> tuple[tuple[LocalField, str], ...]:
    """Declared per-stage school stems of the school items, once each, with the item code."""
    seen: dict[str, tuple[LocalField, str]] = {}
    for it in items:
        if it.kind == "school":
            for f in it.fields:
                seen.setdefault(f.key, (f, it.code))
    return tuple(seen.values())
