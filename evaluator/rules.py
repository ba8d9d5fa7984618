"""Rule-sets as data (instruments/rules/<id>.yaml).

A rule-set holds every number the evaluation uses: thresholds per 学段, the 6-of-7 and
85% rule, CV limits and mode, split coefficients, caps, county-item thresholds and the
survey threshold. The national file is ``national-2017.yaml`` (教督〔2017〕6号); a
variant names ``extends: <id>`` and overrides only what changes. Merging is a deep
merge: mappings merge key by key, anything else (numbers, lists) is replaced.

Loading validates into frozen dataclasses; every error names the file and the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from evaluator.errors import InstrumentError
from evaluator.outcome import meets
from evaluator.policy import Policy, load_policy
from evaluator.tables import SCHOOL_TYPES, SPLIT_TYPES, STAGE_LABELS, STAGES
from evaluator.workbook.coerce import number

RULES_DIR = Path(__file__).resolve().parent.parent / "instruments" / "rules"
DEFAULT_RULESET = "national-2017"
ROOM_TYPES = ("音乐", "美术")
INDICATOR_KEYS = (
    "qualified_teachers", "backbone_teachers", "pe_art_teachers", "teaching_area",
    "sports_area", "equipment_value", "multimedia_rooms",
)
ITEM_CODES = (
    tuple(f"1.{i}" for i in range(1, 10)) + tuple(f"2.{i}" for i in range(1, 16))
    + tuple(f"3.{i}" for i in range(1, 10)) + tuple(f"4.{i}" for i in range(1, 7)) + ("5",)
)
_CONDITIONS = ("founded_before", "locality", "types", "max_students", "max_classes", "migrant_share_above")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value in ``override`` replaces the base value."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class IndicatorRule:
    """One resource indicator: value = per_students × numerator / students (docs/rules.md §2)."""

    key: str
    code: str
    title: str
    unit: str
    numerator: str
    per_students: float
    thresholds: Mapping[str, float]


@dataclass(frozen=True)
class Relaxation:
    """A per-school relaxation (e.g. 2019 规程): applies when every condition holds."""

    when: Mapping[str, Any]
    values: Mapping[str, float]
    note: str


@dataclass(frozen=True)
class ResourceRules:
    indicators: tuple[IndicatorRule, ...]
    inclusive: bool
    min_met: int
    min_ratio: float
    cv_mode: str
    cv_limits: Mapping[str, float]
    cv_composite_limits: Mapping[str, float]
    cv_min_schools: int
    split: Mapping[str, Mapping[str, float]]
    teaching_point_cutoff: float

    def indicator(self, key: str) -> IndicatorRule:
        for ind in self.indicators:
            if ind.key == key:
                return ind
        raise KeyError(key)


@dataclass(frozen=True)
class AssuranceRules:
    classes_per_room: float
    room_min_area: Mapping[str, float]
    room_relaxations: tuple[Relaxation, ...]
    room_types_required: tuple[str, ...]
    size_max: Mapping[str, float]
    size_relaxations: tuple[Relaxation, ...]
    class_max: Mapping[str, float]
    small_school_floor: float
    small_school_types: tuple[str, ...]
    small_school_rural_primary: bool
    special_ed_min: float
    salary_min_ratio: float
    training_360h_min: float
    rotation_min: float
    rotation_backbone_min: float
    certification_min: float
    zone_min: Mapping[str, float]
    hs_quota_min: float
    migrant_min: float


@dataclass(frozen=True)
class QualityRules:
    retention_min: float
    retention_years: int
    disabled_min: float
    training_funds_min: float
    moral_acceptable: tuple[str, ...]
    monitoring_levels: tuple[str, ...]
    monitoring_min_level: str
    monitoring_max_diff: float


@dataclass(frozen=True)
class VetoRule:
    code: str
    key: str
    title: str


@dataclass(frozen=True)
class RuleSet:
    """A merged, validated rule-set.

    ``sha256`` is the SHA-256 of the named file's bytes (what ``sha256sum <id>.yaml`` prints);
    ``files`` maps every file of the ``extends`` chain (base first) to the SHA-256 of its bytes,
    so each file an evaluation or a survey round used can be checked and frozen on its own."""

    id: str
    version: int
    title: str
    path: Path
    sources: tuple[Path, ...]
    sha256: str
    prerequisite_years: int
    resources: ResourceRules
    assurance: AssuranceRules
    quality: QualityRules
    veto: tuple[VetoRule, ...]
    item_titles: Mapping[str, str]
    raw: Mapping[str, Any]
    policy: Policy  # partial-data and scope choices (evaluator.policy)
    local_items: tuple[Any, ...] = ()  # evaluator.local_items.LocalItem, codes L1, L2, …
    files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def section(self, name: str) -> Mapping[str, Any]:
        """The merged raw mapping of a top-level section (e.g. ``recognition``)."""
        value = self.raw.get(name)
        if not isinstance(value, Mapping):
            raise InstrumentError("缺少该节或该节不是键值映射", file=self.path.name, field=name)
        return value


class _Reader:
    """Typed access to the merged mapping; errors name the file and the dotted field."""

    def __init__(self, data: Mapping[str, Any], file: str) -> None:
        self.data, self.file = data, file

    def get(self, path: str, kind: str, *, default: Any = ..., where: Mapping[str, Any] | None = None,
            prefix: str = "") -> Any:
        node: Any = self.data if where is None else where
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is not ...:
                    return default
                raise InstrumentError("缺少必填字段", file=self.file, field=prefix + path)
            node = node[part]
        return self.check(node, kind, prefix + path)

    def check(self, value: Any, kind: str, field: str) -> Any:
        fail = None
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                fail = "应为数值"
            elif value < 0:
                fail = "不能为负数"
        elif kind == "fraction":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                fail = "应为 0 到 1 之间的数值"
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                fail = "应为非负整数"
        elif kind == "str":
            if not isinstance(value, str) or not value.strip():
                fail = "应为非空文字"
        elif kind == "bool":
            if not isinstance(value, bool):
                fail = "应为 true 或 false"
        elif kind == "map":
            if not isinstance(value, Mapping):
                fail = "应为键值映射"
        elif kind == "list":
            if not isinstance(value, list | tuple):
                fail = "应为列表"
        if fail:
            raise InstrumentError(f"{fail}，实际为 {value!r}", file=self.file, field=field)
        return value

    def stage_numbers(self, path: str, kind: str = "number", keys: tuple[str, ...] = STAGES) -> dict[str, float]:
        node = self.get(path, "map")
        out: dict[str, float] = {}
        for k in keys:
            if k not in node:
                raise InstrumentError("缺少必填字段", file=self.file, field=f"{path}.{k}")
            out[k] = float(self.check(node[k], kind, f"{path}.{k}"))
        return out

    def relaxations(self, path: str, value_key: str, keys: tuple[str, ...]) -> tuple[Relaxation, ...]:
        items = self.get(path, "list", default=[])
        out = []
        for i, item in enumerate(items):
            fld = f"{path}[{i}]"
            self.check(item, "map", fld)
            when = self.check(item.get("when"), "map", f"{fld}.when")
            for cond in when:
                if cond not in _CONDITIONS:
                    raise InstrumentError(f"未知的条件“{cond}”，可选：{'、'.join(_CONDITIONS)}",
                                          file=self.file, field=f"{fld}.when.{cond}")
            values = self.check(item.get(value_key), "map", f"{fld}.{value_key}")
            for k, v in values.items():
                if k not in keys:
                    raise InstrumentError(f"应为 {'/'.join(keys)} 之一", file=self.file, field=f"{fld}.{value_key}.{k}")
                self.check(v, "number", f"{fld}.{value_key}.{k}")
            out.append(Relaxation(_freeze(dict(when)), _freeze(dict(values)), str(item.get("note", ""))))
        return tuple(out)


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") and (path.exists() or path.parent != Path(".")):
        if not path.exists():
            raise InstrumentError("规则集文件不存在", file=text)
        return path
    for suffix in (".yaml", ".yml"):
        candidate = RULES_DIR / f"{text}{suffix}"
        if candidate.exists():
            return candidate
    known = "、".join(sorted(p.stem for p in RULES_DIR.glob("*.yaml")))
    raise InstrumentError(f"找不到规则集“{text}”，可选：{known}，或给出 .yaml 文件路径", field="--rules")


def _read_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], tuple[Path, ...], list[bytes]]:
    if path.resolve() in seen:
        raise InstrumentError("extends 形成循环引用", file=path.name, field="extends")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"YAML 格式错误：{exc}", file=path.name) from None
    if not isinstance(data, dict):
        raise InstrumentError("文件内容应为键值映射", file=path.name)
    parent = data.pop("extends", None)
    if parent is None:
        return data, (path,), [raw]
    if not isinstance(parent, str):
        raise InstrumentError("extends 应为规则集名称", file=path.name, field="extends")
    sibling = path.parent / f"{parent}.yaml"
    base_path = sibling if sibling.exists() else _resolve(parent)
    base, sources, blobs = _read_chain(base_path, seen + (path.resolve(),))
    return deep_merge(base, data), sources + (path,), blobs + [raw]


def load_ruleset(name_or_path: str | Path = DEFAULT_RULESET) -> RuleSet:
    """Load a rule-set by name (in instruments/rules/) or path, merge its ``extends`` chain
    and validate it. Raises InstrumentError naming the file and field."""
    path = _resolve(name_or_path)
    data, sources, blobs = _read_chain(path)
    r = _Reader(data, path.name)
    files = {src.name: hashlib.sha256(blob).hexdigest() for src, blob in zip(sources, blobs, strict=True)}

    rid = r.get("id", "str")
    if rid != path.stem:
        raise InstrumentError(f"id（{rid}）应与文件名（{path.stem}）一致", file=path.name, field="id")
    version = r.get("version", "int")
    title = r.get("title", "str")
    r.get("recognition", "map")  # owned by evaluator.recognition, which validates its contents

    inds = []
    ind_map = r.get("resources.indicators", "map")
    for key in INDICATOR_KEYS:
        if key not in ind_map:
            raise InstrumentError("缺少指标", file=path.name, field=f"resources.indicators.{key}")
    for key in ind_map:
        if key not in INDICATOR_KEYS:
            raise InstrumentError(f"未知指标“{key}”", file=path.name, field=f"resources.indicators.{key}")
    for key in INDICATOR_KEYS:
        p = f"resources.indicators.{key}"
        inds.append(IndicatorRule(
            key=key, code=r.get(f"{p}.code", "str"), title=r.get(f"{p}.title", "str"),
            unit=r.get(f"{p}.unit", "str"), numerator=r.get(f"{p}.numerator", "str"),
            per_students=float(r.get(f"{p}.per_students", "number")),
            thresholds=_freeze(r.stage_numbers(f"{p}.thresholds")),
        ))
    mode = r.get("resources.cv.mode", "str")
    if mode not in ("weighted", "composite"):
        raise InstrumentError("应为 weighted 或 composite", file=path.name, field="resources.cv.mode")
    split_raw = r.get("resources.split", "map")
    split: dict[str, dict[str, float]] = {}
    for stype in SPLIT_TYPES:
        if stype not in split_raw:
            raise InstrumentError("缺少分学段折算系数", file=path.name, field=f"resources.split.{stype}")
        node = r.check(split_raw[stype], "map", f"resources.split.{stype}")
        for k in node:
            if k not in STAGE_LABELS:
                raise InstrumentError(f"学段应为 {'/'.join(STAGE_LABELS)}", file=path.name,
                                      field=f"resources.split.{stype}.{k}")
        split[stype] = {k: float(r.check(v, "number", f"resources.split.{stype}.{k}")) for k, v in node.items()}
    limits = r.stage_numbers("resources.cv.limits")
    resources = ResourceRules(
        indicators=tuple(inds),
        inclusive=r.get("resources.inclusive", "bool"),
        min_met=r.get("resources.school_rule.min_met", "int"),
        min_ratio=float(r.get("resources.school_rule.min_ratio", "fraction")),
        cv_mode=mode,
        cv_limits=_freeze(limits),
        cv_composite_limits=_freeze(r.stage_numbers("resources.cv.composite_limits")
                                    if r.get("resources.cv.composite_limits", "map", default=None) else limits),
        cv_min_schools=max(2, r.get("resources.cv.min_schools", "int")),
        split=_freeze(split),
        teaching_point_cutoff=float(r.get("resources.teaching_point_cutoff", "number")),
    )
    if resources.min_met > len(INDICATOR_KEYS):
        raise InstrumentError("不能大于指标数 7", file=path.name, field="resources.school_rule.min_met")

    a = "assurance"
    room_area = r.get(f"{a}.music_art_rooms.min_area", "map")
    for rt in ROOM_TYPES:
        r.check(room_area.get(rt), "number", f"{a}.music_art_rooms.min_area.{rt}")
    size_max = r.get(f"{a}.school_size.max_students", "map")
    for st in SCHOOL_TYPES:
        r.check(size_max.get(st), "number", f"{a}.school_size.max_students.{st}")
    small_types = r.get(f"{a}.small_school_funding.applies_to_types", "list")
    assurance = AssuranceRules(
        classes_per_room=float(r.get(f"{a}.music_art_rooms.classes_per_room", "number")),
        room_min_area=_freeze({k: float(room_area[k]) for k in ROOM_TYPES}),
        room_relaxations=r.relaxations(f"{a}.music_art_rooms.relaxations", "min_area", ROOM_TYPES),
        room_types_required=tuple(r.get(f"{a}.music_art_rooms.applies_to_types", "list", default=list(SCHOOL_TYPES))),
        size_max=_freeze({k: float(size_max[k]) for k in SCHOOL_TYPES}),
        size_relaxations=r.relaxations(f"{a}.school_size.relaxations", "max_students", SCHOOL_TYPES),
        class_max=_freeze(r.stage_numbers(f"{a}.class_size.max_students")),
        small_school_floor=float(r.get(f"{a}.small_school_funding.floor_students", "number")),
        small_school_types=tuple(small_types),
        small_school_rural_primary=r.get(f"{a}.small_school_funding.applies_to_rural_primary", "bool"),
        special_ed_min=float(r.get(f"{a}.special_ed_funds.min_per_student", "number")),
        salary_min_ratio=float(r.get(f"{a}.teacher_salary.min_ratio", "number")),
        training_360h_min=float(r.get(f"{a}.training_360h.min_rate", "fraction")),
        rotation_min=float(r.get(f"{a}.rotation.min_rate", "fraction")),
        rotation_backbone_min=float(r.get(f"{a}.rotation.min_backbone_share", "fraction")),
        certification_min=float(r.get(f"{a}.certification.min_rate", "fraction")),
        zone_min=_freeze(r.stage_numbers(f"{a}.zone_admission.min_rate", "fraction")),
        hs_quota_min=float(r.get(f"{a}.hs_quota.min_share", "fraction")),
        migrant_min=float(r.get(f"{a}.migrant_children.min_rate", "fraction")),
    )
    for i, st in enumerate(small_types):
        if st not in SCHOOL_TYPES:
            raise InstrumentError(f"未知学校类型“{st}”", file=path.name,
                                  field=f"{a}.small_school_funding.applies_to_types[{i}]")

    q = "quality"
    levels = tuple(str(x) for x in r.get(f"{q}.monitoring.levels", "list"))
    min_level = str(r.get(f"{q}.monitoring.min_level", "str"))
    if min_level not in levels:
        raise InstrumentError(f"应为 levels 之一：{'、'.join(levels)}", file=path.name, field=f"{q}.monitoring.min_level")
    quality = QualityRules(
        retention_min=float(r.get(f"{q}.retention.min_rate", "fraction")),
        retention_years=r.get(f"{q}.retention.cohort_years", "int"),
        disabled_min=float(r.get(f"{q}.disabled_enrolment.min_rate", "fraction")),
        training_funds_min=float(r.get(f"{q}.training_funds.min_share", "fraction")),
        moral_acceptable=tuple(r.get(f"{q}.moral_education.acceptable", "list")),
        monitoring_levels=levels,
        monitoring_min_level=min_level,
        monitoring_max_diff=float(r.get(f"{q}.monitoring.max_diff", "number")),
    )

    veto_raw = r.get("veto", "map")
    veto = []
    for code in (c for c in ITEM_CODES if c.startswith("4.")):
        if code not in veto_raw:
            raise InstrumentError("缺少否决性指标", file=path.name, field=f"veto.{code}")
        node = r.check(veto_raw[code], "map", f"veto.{code}")
        veto.append(VetoRule(code, r.get("key", "str", where=node, prefix=f"veto.{code}."),
                             r.get("title", "str", where=node, prefix=f"veto.{code}.")))

    titles = r.get("items", "map")
    for code in ITEM_CODES:
        r.check(titles.get(code), "str", f"items.{code}")

    return RuleSet(
        id=rid, version=version, title=title, path=path, sources=sources, sha256=files[path.name],
        prerequisite_years=r.get("prerequisite.basic_balanced_min_years", "int"),
        resources=resources, assurance=assurance, quality=quality, veto=tuple(veto),
        item_titles=_freeze({c: str(titles[c]) for c in ITEM_CODES}), raw=_freeze(data),
        policy=load_policy(data, path.name),
        local_items=_local_items(data, path.name),
        files=MappingProxyType(files),
    )


def _local_items(data: Mapping[str, Any], file: str) -> tuple[Any, ...]:
    """The rule-set's own items (``local_items``), validated by evaluator.local_items."""
    from evaluator.local_items import parse_local_items

    return parse_local_items(data, file)


def available_rulesets(directory: Path = RULES_DIR) -> list[str]:
    """Names of the rule-set files in instruments/rules/."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def matching_relaxation(relaxations: tuple[Relaxation, ...], school: Mapping[str, Any]) -> list[Relaxation]:
    """The relaxations whose every condition holds for ``school`` (a schools-sheet row).

    A condition on a missing field does not hold (missing is never a pass).
    Conditions: founded_before (founded_year < n), locality (in list), types (school_type
    in list), max_students (compulsory students ≤ n), max_classes (classes ≤ n),
    migrant_share_above (migrant_students / compulsory students > x)."""
    out = []
    for rel in relaxations:
        ok = True
        for cond, arg in rel.when.items():
            ok = ok and _condition(cond, arg, school)
        if ok:
            out.append(rel)
    return out


def _stage_sum(s: Mapping[str, Any], stem: str) -> float | None:
    """Sum of ``stem``_primary/_junior over the school's compulsory stages; None when one is missing."""
    from evaluator.workbook.schema import TYPE_STAGES  # the schema imports this module

    total = 0.0
    for stage in TYPE_STAGES.get(str(s.get("school_type")), ("primary", "junior")):
        if stage == "senior":
            continue
        v = number(s.get(f"{stem}_{stage}"))
        if v is None:
            return None
        total += v
    return total


def _condition(cond: str, arg: Any, s: Mapping[str, Any]) -> bool:
    """One relaxation condition; a condition on a missing value does not hold."""
    if cond == "founded_before":
        year = number(s.get("founded_year"))
        return year is not None and meets(year, float(arg), "below")
    if cond == "locality":
        return s.get("locality") in tuple(arg)
    if cond == "types":
        return s.get("school_type") in tuple(arg)
    students = _stage_sum(s, "students")
    if cond == "max_students":
        return students is not None and meets(students, float(arg), "at_most")
    if cond == "max_classes":
        classes = _stage_sum(s, "classes")
        return classes is not None and meets(classes, float(arg), "at_most")
    if cond == "migrant_share_above":
        migrants = number(s.get("migrant_students"))
        return (migrants is not None and students is not None and students > 0
                and meets(migrants / students, float(arg), "above"))
    return False
