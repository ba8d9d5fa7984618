"""Data-entry checks as data (instruments/checks/<id>.yaml): ranges, cross-field rules and
plausibility against history and peers, for the online collection (填报) of the CONTRACTS §2
workbook.

Pure: mappings in, frozen findings out. Loading validates the file into dataclasses; every
error names the file and the field. A *finding* is a data error (a submission is refused);
a *flag* is a plausibility question (the school explains it or bureau staff override it).
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evaluator.errors import InstrumentError
from evaluator.rules import STAGE_LABELS
from evaluator.workbook.coerce import number
from evaluator.workbook.schema import COUNTY_BY_KEY, SCHOOL_COLUMNS, TYPE_STAGES

CHECKS_DIR = Path(__file__).resolve().parent.parent / "instruments" / "checks"
DEFAULT_CHECKS = "national-2017"
KINDS = ("not_more_than", "classes_match", "class_students", "positive_needs", "zero_needs_zero", "room_area",
         "type_requires")
_SCHOOL_KEYS = {c.key for c in SCHOOL_COLUMNS}
_LIST_KEYS = ("class_students", "room_area")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    message: str
    field: str = ""
    limit: str = ""
    needs: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    tolerance: float = 0.0
    min_tolerance: float = 0.0
    min: float = 0.0
    max: float = math.inf


@dataclass(frozen=True)
class YearOverYear:
    factor: float
    min_previous: float
    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Peers:
    threshold: float
    min_schools: int
    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class EvidenceRules:
    max_bytes: int
    types: tuple[str, ...]  # file extensions, lower case, without the dot
    school_items: Mapping[str, str]  # yes/no field of the schools sheet -> item code


EVIDENCE_TYPES = ("pdf", "png", "jpg", "jpeg", "gif", "doc", "docx", "xls", "xlsx", "ppt", "pptx")


@dataclass(frozen=True)
class Checks:
    id: str
    title: str
    file: str
    sha256: str
    ranges: Mapping[str, float]
    rules: tuple[Rule, ...]
    county_parts: tuple[tuple[str, str], ...]
    year_over_year: YearOverYear
    peers: Peers
    evidence: EvidenceRules
    complete_on_submit: bool = True

    def maximum(self, key: str) -> float:
        return self.ranges.get(key, math.inf)


@dataclass(frozen=True)
class Finding:
    """A data error at ``field`` (a schools-sheet key, ``classes``/``rooms`` or a county key)."""

    rule: str
    field: str
    message: str


@dataclass(frozen=True)
class Flag:
    """A plausibility question about ``field``: ``value`` now, ``previous`` last year or the peers' median."""

    rule: str
    field: str
    message: str
    value: float
    previous: float | None


# ----------------------------------------------------------------------------- loading
def _stage_keys(template: str) -> list[str]:
    return [template.format(stage=s) for s in ("primary", "junior")] if "{stage}" in template else [template]


def load_checks(name: str | Path = DEFAULT_CHECKS) -> Checks:
    """Read and validate a checks file (a name in instruments/checks/ or a path)."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = CHECKS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise InstrumentError("核查规则文件不存在", file=str(name))
    raw_bytes = path.read_bytes()
    file = path.name
    try:
        data = yaml.safe_load(raw_bytes.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InstrumentError(f"不是有效的 YAML（{type(exc).__name__}）", file=file) from None
    if not isinstance(data, Mapping):
        raise InstrumentError("文件内容应为键值映射", file=file)

    def need(mapping: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        if not isinstance(mapping, Mapping) or key not in mapping:
            raise InstrumentError("缺少必填字段", file=file, field=f"{where}{key}")
        value = mapping[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InstrumentError(f"类型不正确，实际为 {value!r}", file=file, field=f"{where}{key}")
        return value

    def school_key(key: Any, where: str) -> str:
        for k in _stage_keys(str(key)):
            if k not in _SCHOOL_KEYS:
                raise InstrumentError(f"“{k}”不是 schools 表的字段", file=file, field=where)
        return str(key)

    def number(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InstrumentError(f"应为非负数，实际为 {value!r}", file=file, field=where)
        return float(value)

    ranges_raw = need(data, "ranges", "", Mapping)
    ranges: dict[str, float] = {}
    for key, value in ranges_raw.items():
        if key not in _SCHOOL_KEYS and key not in _LIST_KEYS:
            raise InstrumentError("不是 schools 表的字段（或 class_students、room_area）", file=file,
                                  field=f"ranges.{key}")
        ranges[str(key)] = number(value, f"ranges.{key}")

    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(need(data, "rules", "", list)):
        where = f"rules[{i}]."
        rid = need(r, "id", where, str)
        if rid in seen:
            raise InstrumentError(f"规则编号“{rid}”重复", file=file, field=f"{where}id")
        seen.add(rid)
        kind = need(r, "kind", where, str)
        if kind not in KINDS:
            raise InstrumentError(f"未知的规则类型“{kind}”，可选：{'、'.join(KINDS)}", file=file, field=f"{where}kind")
        message = need(r, "message", where, str)
        kw: dict[str, Any] = {}
        if kind == "not_more_than":
            kw["field"] = school_key(need(r, "field", where, str), f"{where}field")
            kw["limit"] = school_key(need(r, "limit", where, str), f"{where}limit")
        elif kind in ("positive_needs", "zero_needs_zero"):
            kw["field"] = school_key(need(r, "field", where, str), f"{where}field")
            kw["needs"] = tuple(school_key(k, f"{where}needs") for k in need(r, "needs", where, list))
        elif kind == "class_students":
            kw["tolerance"] = number(need(r, "tolerance", where, (int, float)), f"{where}tolerance")
            kw["min_tolerance"] = number(r.get("min_tolerance", 0), f"{where}min_tolerance")
        elif kind == "room_area":
            kw["min"] = number(need(r, "min", where, (int, float)), f"{where}min")
            kw["max"] = number(need(r, "max", where, (int, float)), f"{where}max")
            if kw["min"] >= kw["max"]:
                raise InstrumentError("min 应小于 max", file=file, field=f"{where}min")
        elif kind == "type_requires":
            types = tuple(str(t) for t in need(r, "types", where, list))
            for t in types:
                if t not in TYPE_STAGES:
                    raise InstrumentError(f"未知的学校类型“{t}”", file=file, field=f"{where}types")
            kw["types"] = types
            kw["fields"] = tuple(school_key(k, f"{where}fields") for k in need(r, "fields", where, list))
        rules.append(Rule(id=rid, kind=kind, message=message, **kw))

    parts: list[tuple[str, str]] = []
    for i, pair in enumerate(data.get("county_parts") or []):
        if not isinstance(pair, list) or len(pair) != 2 or any(p not in COUNTY_BY_KEY for p in pair):
            raise InstrumentError("应为两个县级指标键 [部分, 总数]", file=file, field=f"county_parts[{i}]")
        parts.append((str(pair[0]), str(pair[1])))

    plaus = need(data, "plausibility", "", Mapping)
    yoy_raw = need(plaus, "year_over_year", "plausibility.", Mapping)
    where = "plausibility.year_over_year."
    factor = number(need(yoy_raw, "factor", where, (int, float)), f"{where}factor")
    if factor <= 1:
        raise InstrumentError("倍数应大于 1", file=file, field=f"{where}factor")
    yoy = YearOverYear(
        factor=factor, min_previous=number(yoy_raw.get("min_previous", 0), f"{where}min_previous"),
        fields=tuple(school_key(k, f"{where}fields") for k in need(yoy_raw, "fields", where, list)),
        message=need(yoy_raw, "message", where, str))
    peers_raw = need(plaus, "peers", "plausibility.", Mapping)
    where = "plausibility.peers."
    min_schools = need(peers_raw, "min_schools", where, int)
    if min_schools < 3:
        raise InstrumentError("至少需要 3 所学校", file=file, field=f"{where}min_schools")
    peers = Peers(threshold=number(need(peers_raw, "threshold", where, (int, float)), f"{where}threshold"),
                  min_schools=min_schools,
                  fields=tuple(school_key(k, f"{where}fields") for k in need(peers_raw, "fields", where, list)),
                  message=need(peers_raw, "message", where, str))
    ev_raw = need(data, "evidence", "", Mapping)
    where = "evidence."
    max_bytes = need(ev_raw, "max_bytes", where, int)
    if not 1024 <= max_bytes <= 50 * 1024 * 1024:
        raise InstrumentError("应在 1 KB 到 50 MB 之间", file=file, field=f"{where}max_bytes")
    types = tuple(str(t).lower() for t in need(ev_raw, "types", where, list))
    for t in types:
        if t not in EVIDENCE_TYPES:
            raise InstrumentError(f"不支持的文件类型“{t}”，可选：{'、'.join(EVIDENCE_TYPES)}", file=file,
                                  field=f"{where}types")
    items: dict[str, str] = {}
    for key, code in (ev_raw.get("school_items") or {}).items():
        if key not in _SCHOOL_KEYS or field_kind(key) != "yesno":
            raise InstrumentError("应为 schools 表的是/否字段", file=file, field=f"{where}school_items.{key}")
        items[str(key)] = str(code)
    evidence = EvidenceRules(max_bytes=max_bytes, types=types, school_items=items)
    complete = data.get("complete_on_submit", True)
    if not isinstance(complete, bool):
        raise InstrumentError(f"应为 true 或 false，实际为 {complete!r}", file=file, field="complete_on_submit")
    return Checks(id=str(data.get("id") or path.stem), title=str(data.get("title") or path.stem), file=file,
                  sha256=hashlib.sha256(raw_bytes).hexdigest(), ranges=ranges, rules=tuple(rules),
                  county_parts=tuple(parts), year_over_year=yoy, peers=peers,
                  evidence=evidence, complete_on_submit=complete)


# ----------------------------------------------------------------------------- checking

def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def school_stages(school_type: str) -> tuple[str, ...]:
    """The compulsory 学段 (primary/junior) a school of this type has."""
    return tuple(s for s in TYPE_STAGES.get(school_type, ()) if s in ("primary", "junior"))


def check_school(checks: Checks, school_type: str, values: Mapping[str, Any],
                 classes: Sequence[Mapping[str, Any]] = (), rooms: Sequence[Mapping[str, Any]] = ()) -> tuple[Finding, ...]:
    """Every cross-field rule of ``checks`` on one school's row, classes list and rooms list.

    ``classes`` items: {stage: primary|junior, grade, students}; ``rooms``: {room_type, area}.
    A rule whose inputs are missing is not applied (missing data is reported by the evaluation)."""
    stages = school_stages(school_type)
    out: list[Finding] = []
    for rule in checks.rules:
        if rule.kind in ("not_more_than", "positive_needs", "zero_needs_zero"):
            applies = stages if "{stage}" in rule.field else ("",)
            for stage in applies:
                key = rule.field.format(stage=stage)
                label = STAGE_LABELS.get(stage, "")
                value = number(values.get(key))
                if rule.kind == "not_more_than":
                    limit = number(values.get(rule.limit.format(stage=stage)))
                    if value is not None and limit is not None and value > limit:
                        out.append(Finding(rule.id, key, rule.message.format(
                            stage=label, value=_fmt(value), limit=_fmt(limit))))
                elif rule.kind == "zero_needs_zero" and value == 0:
                    for need in rule.needs:
                        nkey = need.format(stage=stage)
                        nv = number(values.get(nkey))
                        if nv is not None and nv > 0:
                            out.append(Finding(rule.id, nkey, rule.message.format(stage=label, value=_fmt(nv))))
                elif rule.kind == "positive_needs" and value is not None and value > 0:
                    for need in rule.needs:
                        nkey = need.format(stage=stage)
                        nv = number(values.get(nkey))
                        if nv is not None and nv <= 0:
                            out.append(Finding(rule.id, nkey, rule.message.format(stage=label)))
        elif rule.kind in ("classes_match", "class_students"):
            for stage in stages:
                label = STAGE_LABELS[stage]
                mine = [c for c in classes if c.get("stage") == stage]
                if rule.kind == "classes_match":
                    declared = number(values.get(f"classes_{stage}"))
                    if declared is not None and len(mine) != declared:
                        out.append(Finding(rule.id, "classes", rule.message.format(
                            stage=label, listed=len(mine), declared=_fmt(declared))))
                else:
                    students = number(values.get(f"students_{stage}"))
                    sizes = [number(c.get("students")) for c in mine]
                    if students is None or not mine or any(s is None for s in sizes):
                        continue
                    listed = sum(s for s in sizes if s is not None)
                    tol = max(rule.min_tolerance, rule.tolerance * students)
                    if abs(listed - students) > tol:
                        out.append(Finding(rule.id, "classes", rule.message.format(
                            stage=label, listed=_fmt(listed), students=_fmt(students), tolerance=_fmt(round(tol, 1)))))
        elif rule.kind == "room_area":
            for i, room in enumerate(rooms):
                area = number(room.get("area"))
                if area is not None and not rule.min <= area <= rule.max:
                    out.append(Finding(rule.id, f"rooms[{i}]", rule.message.format(
                        value=_fmt(area), min=_fmt(rule.min), max=_fmt(rule.max))))
        elif rule.kind == "type_requires" and school_type in rule.types:
            for key in rule.fields:
                v = number(values.get(key))
                if v is not None and v <= 0:
                    out.append(Finding(rule.id, key, rule.message.format(type=school_type)))
    return tuple(out)


def check_county(checks: Checks, values: Mapping[str, Any]) -> tuple[Finding, ...]:
    """County-sheet parts larger than their whole."""
    out = []
    for part, whole in checks.county_parts:
        a, b = number(values.get(part)), number(values.get(whole))
        if a is not None and b is not None and a > b:
            out.append(Finding("county_parts", part, f"{COUNTY_BY_KEY[part].zh}（{_fmt(a)}）不能大于"
                                                     f"{COUNTY_BY_KEY[whole].zh}（{_fmt(b)}）"))
    return tuple(out)


def _students(values: Mapping[str, Any]) -> float | None:
    parts = [number(values.get(k)) for k in ("students_primary", "students_junior", "students_senior")]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def plausibility(checks: Checks, values: Mapping[str, Any], previous: Mapping[str, Any] | None,
                 peers: Sequence[Mapping[str, Any]] = ()) -> tuple[Flag, ...]:
    """Flags for one school: year-over-year change beyond the factor, and per-student values
    far from the other schools of the county.

    Year over year: flag when new/previous > factor or < 1/factor (previous ≥ min_previous;
    a value dropping to 0 is flagged too). Peers: robust z = |r − median| / (1.4826·MAD) of the
    per-student ratio r = field / students over ``peers`` (other schools), flagged above the
    threshold when at least ``min_schools`` peers have the figure and MAD > 0 (Iglewicz and
    Hoaglin's modified z-score, 1993)."""
    out: list[Flag] = []
    yoy = checks.year_over_year
    if previous:
        for key in yoy.fields:
            new, old = number(values.get(key)), number(previous.get(key))
            if new is None or old is None or old < yoy.min_previous or old <= 0:
                continue
            ratio = new / old
            if ratio > yoy.factor or ratio < 1 / yoy.factor:
                out.append(Flag("year_over_year", key, yoy.message.format(
                    previous=_fmt(old), value=_fmt(new), factor=_fmt(yoy.factor)), new, old))
    pc = checks.peers
    mine = _students(values)
    if mine and mine > 0:
        for key in pc.fields:
            v = number(values.get(key))
            if v is None:
                continue
            ratios = []
            for p in peers:
                pv, ps = number(p.get(key)), _students(p)
                if pv is not None and ps:
                    ratios.append(pv / ps)
            if len(ratios) < pc.min_schools:
                continue
            med = statistics.median(ratios)
            mad = statistics.median(abs(r - med) for r in ratios)
            r = v / mine
            if mad > 0 and abs(r - med) / (1.4826 * mad) > pc.threshold:
                out.append(Flag("peers", key, pc.message.format(value=_fmt(round(r, 2)), median=_fmt(round(med, 2))),
                                r, med))
    return tuple(out)


def field_kind(key: str) -> str:
    """The workbook kind of a schools-sheet field (count, number, yesno, enum, …)."""
    for c in SCHOOL_COLUMNS:
        if c.key == key:
            return c.kind
    raise KeyError(key)

