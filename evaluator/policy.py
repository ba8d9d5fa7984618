"""Deliberate choices for partial data and scope, read from the rule-set (issue 8).

"Missing data is missing, never 0 and never a pass" (docs/rules.md §2). Where the data are
present but cannot decide an item — a zero denominator, a zero budget, a CV with zero mean
or with fewer than two schools — the rule-set says whether the item is PENDING, FAIL or (only
where stated) N/A. It also says which school types each school item applies to, how rooms
are counted for split schools and what a 村小 is. Nothing here has a default in code: the
national file states every choice, variants override them, and every error names the file
and the dotted field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from evaluator.errors import InstrumentError
from evaluator.tables import SCHOOL_TYPES

LOCALITIES = ("城区", "镇区", "乡村")
# County keys that are denominators of county ratios (2.7–2.15, 3.1, 3.2).
DENOMINATORS = (
    "special_ed_students", "civil_servant_avg_salary", "teachers_360h_in_scope", "rotation_eligible_teachers",
    "rotated_teachers", "full_time_teachers", "admitted_primary", "admitted_junior", "hs_quota_total",
    "migrant_eligible", "retention_entry", "disabled_school_age",
)
# School items and the rule-set field that lists the school types they apply to.
APPLIES_TO = {
    "2.3": "assurance.music_art_rooms.applies_to_types",
    "2.4": "assurance.school_size.applies_to_types",
    "2.5": "assurance.class_size.applies_to_types",
    "3.3": "quality.charter_ict.applies_to_types",
    "3.4": "quality.training_funds.applies_to_types",
    "3.6": "quality.moral_education.applies_to_types",
    "3.7": "quality.curriculum.applies_to_types",
}
UNDECIDED = ("pending", "fail")


@dataclass(frozen=True)
class Policy:
    """The validated choices; statuses are "pending", "fail" or "n/a" as the field allows."""

    zero_denominator: Mapping[str, str]
    zero_budget: str
    cv_zero_mean: str
    cv_too_few_schools: str
    applies_to: Mapping[str, tuple[str, ...]]
    rooms_split: str
    rooms_school_without_rows: str
    village_types: tuple[str, ...]
    village_localities: tuple[str, ...]

    def applies(self, code: str, school_type: object) -> bool:
        """Whether school item ``code`` judges a school of this type."""
        return school_type in self.applies_to.get(code, SCHOOL_TYPES)

    def is_village_school(self, school_type: object, locality: object) -> bool:
        return school_type in self.village_types and locality in self.village_localities


def _get(data: Mapping[str, Any], path: str, file: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise InstrumentError("缺少必填字段", file=file, field=path)
        node = node[part]
    return node


def _choice(data: Mapping[str, Any], path: str, file: str, allowed: tuple[str, ...]) -> str:
    value = _get(data, path, file)
    if value not in allowed:
        raise InstrumentError(f"应为 {' / '.join(allowed)} 之一，实际为 {value!r}", file=file, field=path)
    return str(value)


def _names(data: Mapping[str, Any], path: str, file: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = _get(data, path, file)
    if not isinstance(value, list | tuple) or not value:
        raise InstrumentError(f"应为非空列表，实际为 {value!r}", file=file, field=path)
    for i, v in enumerate(value):
        if v not in allowed:
            raise InstrumentError(f"“{v}”应为 {'、'.join(allowed)} 之一", file=file, field=f"{path}[{i}]")
    return tuple(str(v) for v in value)


def load_policy(data: Mapping[str, Any], file: str) -> Policy:
    """Validate the policy fields of a merged rule-set mapping (see the module docstring)."""
    zd = _get(data, "zero_denominators", file)
    if not isinstance(zd, Mapping):
        raise InstrumentError("应为键值映射", file=file, field="zero_denominators")
    zero: dict[str, str] = {}
    for key in DENOMINATORS:
        zero[key] = _choice(data, f"zero_denominators.{key}", file, ("pending", "fail", "n/a"))
    for key in zd:
        if key not in zero:
            zero[str(key)] = _choice(data, f"zero_denominators.{key}", file, ("pending", "fail", "n/a"))
    senior = _get(data, "assurance.music_art_rooms.senior_classes", file)
    if senior != "excluded":
        raise InstrumentError("只能为 excluded：数据工作簿没有高中班级数，2.3 只核查义务教育阶段班级", file=file,
                              field="assurance.music_art_rooms.senior_classes")
    return Policy(
        zero_denominator=MappingProxyType(zero),
        zero_budget=_choice(data, "quality.training_funds.zero_budget", file, UNDECIDED),
        cv_zero_mean=_choice(data, "resources.cv.zero_mean", file, UNDECIDED),
        cv_too_few_schools=_choice(data, "resources.cv.too_few_schools", file, ("pending", "fail", "n/a")),
        applies_to=MappingProxyType({code: _names(data, path, file, SCHOOL_TYPES) for code, path in APPLIES_TO.items()}),
        rooms_split=_choice(data, "assurance.music_art_rooms.split_schools", file, ("per_part", "whole_school")),
        rooms_school_without_rows=_choice(data, "assurance.music_art_rooms.school_without_rows", file, UNDECIDED),
        village_types=_names(data, "assurance.small_school_funding.village_school.types", file, SCHOOL_TYPES),
        village_localities=_names(data, "assurance.small_school_funding.village_school.localities", file,
                                  LOCALITIES),
    )
